// ClientContext (BackendTLSPolicy): in-memory handshakes against a ServerContextSet playing the
// backend.
#include "dataplane/tls/client_context.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include "dataplane/tls/server_context.h"
#include "unit/tls/test_pki.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace gantry::dataplane::tls {
namespace {

using testing::TestCa;

struct BackendPki {
  TestCa ca{"backend CA"};
  TestCa other{"unrelated CA"};
  ir::Certificate svc;
  BackendPki() {
    svc = ca.issue("backend", {.dns = {"backend.internal", "*.svc.example"},
                               .uris = {"spiffe://cluster.local/ns/shop/sa/api"}});
  }
};

const BackendPki& pki() {
  static const BackendPki* p = new BackendPki();
  return *p;
}

std::shared_ptr<const ServerContextSet> backendServer() {
  auto s = ServerContextSet::build({{"", {pki().svc}, std::nullopt}}, {});
  EXPECT_TRUE(s.isOk()) << s.status().message();
  return *s;
}

struct Result {
  bool ok = false;
  long verify_result = -1;
  std::string alpn;
  std::string server_saw_sni;
};

Result dial(const ir::BackendTls& tls, const ClientOptions& opts = {}) {
  Result r;
  auto ctx = ClientContext::build(tls, opts);
  EXPECT_TRUE(ctx.isOk()) << ctx.status().message();
  if (!ctx.isOk()) return r;
  auto server = backendServer();
  SSL* c = (*ctx)->newSsl();
  SSL* s = server->newSsl();
  r.ok = testing::handshakeInMemory(c, s);
  r.verify_result = SSL_get_verify_result(c);
  r.alpn = std::string(selectedAlpn(c));
  r.server_saw_sni = std::string(sentSni(s));
  SSL_free(c);
  SSL_free(s);
  return r;
}

TEST(ClientContextTest, VerifiesHostnameAgainstCa) {
  Result r = dial({.sni = "backend.internal", .ca_pems = {pki().ca.pem()}});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.verify_result, X509_V_OK);
  EXPECT_EQ(r.server_saw_sni, "backend.internal");
  // Wildcard certificate names are honoured (one label).
  EXPECT_TRUE(dial({.sni = "api.svc.example", .ca_pems = {pki().ca.pem()}}).ok);
  EXPECT_FALSE(dial({.sni = "a.b.svc.example", .ca_pems = {pki().ca.pem()}}).ok);
}

TEST(ClientContextTest, HostnameMismatchFails) {
  Result r = dial({.sni = "other.internal", .ca_pems = {pki().ca.pem()}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.verify_result, X509_V_ERR_HOSTNAME_MISMATCH);
}

TEST(ClientContextTest, UntrustedCaFails) {
  Result r = dial({.sni = "backend.internal", .ca_pems = {pki().other.pem()}});
  EXPECT_FALSE(r.ok);
  // The backend sends its CA in the chain: an untrusted self-signed root.
  EXPECT_EQ(r.verify_result, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
  // The system store does not know the test CA either.
  Result sys = dial({.sni = "backend.internal", .use_system_cas = true});
  EXPECT_FALSE(sys.ok);
  EXPECT_NE(sys.verify_result, X509_V_OK);
  // A bundle with several CAs: any of them may anchor the chain.
  EXPECT_TRUE(
      dial({.sni = "backend.internal", .ca_pems = {pki().other.pem() + pki().ca.pem()}}).ok);
}

TEST(ClientContextTest, SubjectAltNamesReplaceTheHostnameCheck) {
  const std::string ca = pki().ca.pem();
  // SNI "svc.local" is not in the certificate, but a listed SAN is.
  EXPECT_TRUE(
      dial({.sni = "svc.local", .ca_pems = {ca}, .subject_alt_names = {"backend.internal"}}).ok);
  EXPECT_TRUE(
      dial({.sni = "svc.local",
            .ca_pems = {ca},
            .subject_alt_names = {"nope.internal", "spiffe://cluster.local/ns/shop/sa/api"}})
          .ok);
  Result bad = dial({.sni = "backend.internal",
                     .ca_pems = {ca},
                     .subject_alt_names = {"nope.internal", "spiffe://cluster.local/ns/x/sa/y"}});
  EXPECT_FALSE(bad.ok);  // the SNI matching is not enough once SANs are listed
  EXPECT_EQ(bad.verify_result, X509_V_ERR_HOSTNAME_MISMATCH);
  // SAN checks do not bypass chain verification.
  EXPECT_FALSE(dial({.sni = "svc.local",
                     .ca_pems = {pki().other.pem()},
                     .subject_alt_names = {"backend.internal"}})
                   .ok);
}

TEST(ClientContextTest, AlpnForH2Upstreams) {
  const std::string ca = pki().ca.pem();
  EXPECT_EQ(dial({.sni = "backend.internal", .ca_pems = {ca}}, {.alpn = {"h2"}}).alpn, "h2");
  EXPECT_EQ(dial({.sni = "backend.internal", .ca_pems = {ca}}, {.alpn = {"http/1.1"}}).alpn,
            "http/1.1");
  EXPECT_EQ(dial({.sni = "backend.internal", .ca_pems = {ca}}).alpn, "");
}

// Gateway spec.tls.backend.clientCertificateRef: the certificate is presented when the backend
// asks for one, and the backend verifies it against its own CA.
TEST(ClientContextTest, PresentsTheClientCertificateWhenAsked) {
  testing::TestCa client_ca("client CA");
  const ir::Certificate client = client_ca.issue("gantry-client", {.client = true});
  auto server = ServerContextSet::build(
      {{"", {pki().svc}, ir::FrontendValidation{{client_ca.pem()}, false}}}, {});
  ASSERT_TRUE(server.isOk()) << server.status().message();
  auto handshake = [&](const ir::BackendTls& tls) {
    auto ctx = ClientContext::build(tls, {});
    EXPECT_TRUE(ctx.isOk()) << ctx.status().message();
    SSL* c = (*ctx)->newSsl();
    SSL* s = (*server)->newSsl();
    bool ok = testing::handshakeInMemory(c, s);
    std::string cn;
    if (X509* peer = SSL_get1_peer_certificate(s)) {
      char buf[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof buf);
      cn = buf;
      X509_free(peer);
    }
    ok = ok && SSL_get_verify_result(s) == X509_V_OK;
    SSL_free(c);
    SSL_free(s);
    return std::make_pair(ok, cn);
  };
  ir::BackendTls tls{.sni = "backend.internal", .ca_pems = {pki().ca.pem()}};
  EXPECT_FALSE(handshake(tls).first);  // no certificate: the backend refuses
  tls.client_certificate = client;
  EXPECT_EQ(handshake(tls), std::make_pair(true, std::string("gantry-client")));
  // A key that does not belong to the certificate is a build error, not a silent omission.
  tls.client_certificate->key_pem = pki().svc.key_pem;
  EXPECT_FALSE(ClientContext::build(tls, {}).isOk());
}

TEST(ClientContextTest, BuildErrors) {
  EXPECT_FALSE(ClientContext::build({.sni = "", .ca_pems = {pki().ca.pem()}}, {}).isOk());
  EXPECT_FALSE(ClientContext::build({.sni = "x"}, {}).isOk());
  EXPECT_FALSE(ClientContext::build({.sni = "x", .ca_pems = {"garbage"}}, {}).isOk());
  EXPECT_FALSE(
      ClientContext::build({.sni = "x", .ca_pems = {pki().ca.pem()}}, {.alpn = {""}}).isOk());
  EXPECT_TRUE(ClientContext::build({.sni = "x", .use_system_cas = true}, {}).isOk());
}

TEST(ClientContextTest, ContextMayDieBeforeItsConnections) {
  auto ctx = ClientContext::build({.sni = "backend.internal", .ca_pems = {pki().ca.pem()}}, {});
  ASSERT_TRUE(ctx.isOk());
  SSL* c = (*ctx)->newSsl();
  ctx = Status::error("dropped");  // the snapshot that built it is gone
  auto server = backendServer();
  SSL* s = server->newSsl();
  EXPECT_TRUE(testing::handshakeInMemory(c, s));
  EXPECT_EQ(SSL_get_verify_result(c), X509_V_OK);
  SSL_free(c);
  SSL_free(s);
}

TEST(ClientContextTest, SessionSlotResumesUpstreamSessions) {
  auto server = backendServer();
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto ctx = ClientContext::build({.sni = "backend.internal", .ca_pems = {pki().ca.pem()}}, {});
    ASSERT_TRUE(ctx.isOk());
    SSL_CTX_set_max_proto_version((*ctx)->context(), v);
    ClientSessionSlot slot;
    for (int i = 0; i < 3; ++i) {
      SSL* c = (*ctx)->newSsl(&slot);
      SSL* s = server->newSsl();
      ASSERT_TRUE(testing::handshakeInMemory(c, s)) << v << " #" << i;
      EXPECT_EQ(SSL_session_reused(c) == 1, i > 0) << v << " #" << i;
      EXPECT_FALSE(slot.empty());
      // No TLS shutdown, as when an upstream connection is simply dropped: the slot's copy stays
      // resumable.
      SSL_free(c);
      SSL_free(s);
    }
    // Without a slot nothing is resumed.
    SSL* c = (*ctx)->newSsl();
    SSL* s = server->newSsl();
    ASSERT_TRUE(testing::handshakeInMemory(c, s));
    EXPECT_EQ(SSL_session_reused(c), 0);
    SSL_free(c);
    SSL_free(s);
  }
}

}  // namespace
}  // namespace gantry::dataplane::tls
