// ServerContextSet: real OpenSSL handshakes in memory (BIO pairs) between OpenSSL test clients
// and SSLs made by the set, with certificates generated at test time.
#include "dataplane/tls/server_context.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "unit/tls/test_pki.h"

// Designated initializers leave the other fields at their defaults on purpose; g++ 12's -Wextra
// would flag every one of them.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace gantry::dataplane::tls {
namespace {

using testing::KeyType;
using testing::TestCa;

// --- HostIndex -------------------------------------------------------------------------------

TEST(HostIndexTest, ExactThenLongestWildcardThenDefault) {
  HostIndex idx({"", "*.example.com", "a.example.com", "*.b.example.com", "Exact.Org"});
  EXPECT_EQ(idx.select("a.example.com"), 2);
  EXPECT_EQ(idx.select("A.Example.COM"), 2);   // case-insensitive
  EXPECT_EQ(idx.select("a.example.com."), 2);  // trailing dot of an absolute name
  EXPECT_EQ(idx.select("x.b.example.com"), 3);
  EXPECT_EQ(idx.select("y.x.b.example.com"), 3);  // wildcards match several labels
  EXPECT_EQ(idx.select("b.example.com"), 1);      // "*.b.example.com" needs a label before
  EXPECT_EQ(idx.select("z.example.com"), 1);
  EXPECT_EQ(idx.select("deep.z.example.com"), 1);
  EXPECT_EQ(idx.select("example.com"), 0);  // "*.example.com" does not match the apex
  EXPECT_EQ(idx.select("exact.org"), 4);
  EXPECT_EQ(idx.select("other.net"), 0);
  EXPECT_EQ(idx.select(""), 0);
  EXPECT_EQ(idx.select(std::string(300, 'a')), 0);
}

TEST(HostIndexTest, NoDefaultMeansNoMatch) {
  HostIndex idx({"*.example.com", "a.example.org"});
  EXPECT_EQ(idx.select("x.example.com"), 0);
  EXPECT_EQ(idx.select("a.example.org"), 1);
  EXPECT_EQ(idx.select("b.example.org"), -1);
  EXPECT_EQ(idx.select(""), -1);
  EXPECT_EQ(idx.select("xexample.com"), -1);
}

TEST(HostIndexTest, FirstDuplicateWins) {
  HostIndex idx({"a.com", "*.a.com", "A.com", "*.A.COM", "", ""});
  EXPECT_EQ(idx.select("a.com"), 0);
  EXPECT_EQ(idx.select("x.a.com"), 1);
  EXPECT_EQ(idx.select("zzz"), 4);
}

// --- Handshakes --------------------------------------------------------------------------------

struct Pki {
  TestCa server_ca{"server CA"};
  TestCa client_ca{"client CA"};
  TestCa other_ca{"other CA"};
  ir::Certificate a_ec, a_rsa, wild, wild_b, dflt, mtls, opt;
  ir::Certificate client_ok, client_other;
  Pki() {
    a_ec = server_ca.issue("a-ec", {.dns = {"a.example.com"}, .key = KeyType::kEcdsa});
    a_rsa = server_ca.issue("a-rsa", {.dns = {"a.example.com"}, .key = KeyType::kRsa});
    wild = server_ca.issue("wild", {.dns = {"*.example.com"}});
    wild_b = server_ca.issue("wild-b", {.dns = {"*.b.example.com"}});
    dflt = server_ca.issue("default", {.dns = {"default.local"}});
    mtls = server_ca.issue("mtls", {.dns = {"mtls.example.org"}});
    opt = server_ca.issue("opt", {.dns = {"opt.example.org"}});
    client_ok = client_ca.issue("alice", {.client = true});
    client_other = other_ca.issue("mallory", {.client = true});
  }
};

const Pki& pki() {
  static const Pki* p = new Pki();
  return *p;
}

std::vector<ir::TlsConfig> standardConfigs(bool with_default = true) {
  const Pki& p = pki();
  std::vector<ir::TlsConfig> v;
  v.push_back({"a.example.com", {p.a_ec, p.a_rsa}, std::nullopt});
  v.push_back({"*.example.com", {p.wild}, std::nullopt});
  v.push_back({"*.b.example.com", {p.wild_b}, std::nullopt});
  v.push_back({"mtls.example.org", {p.mtls}, ir::FrontendValidation{{p.client_ca.pem()}, false}});
  v.push_back({"opt.example.org", {p.opt}, ir::FrontendValidation{{p.client_ca.pem()}, true}});
  if (with_default) v.push_back({"", {p.dflt}, std::nullopt});
  return v;
}

std::shared_ptr<const ServerContextSet> buildSet(const std::vector<ir::TlsConfig>& cfgs,
                                                 const ServerOptions& o = {}) {
  std::vector<std::string> warnings;
  auto s = ServerContextSet::build(cfgs, o, &warnings);
  EXPECT_TRUE(s.isOk()) << s.status().message();
  EXPECT_TRUE(warnings.empty()) << (warnings.empty() ? "" : warnings.front());
  return s.isOk() ? *s : nullptr;
}

struct ClientSpec {
  std::string sni;
  std::vector<std::string> alpn;
  std::string sigalgs;  // restrict the client's signature algorithms
  std::string groups;   // client's supported groups (the first gets a key share)
  int max_version = TLS1_3_VERSION;
  const ir::Certificate* client_cert = nullptr;
  SSL_SESSION* session = nullptr;  // resume this session
};

struct Outcome {
  bool ok = false;
  std::string peer_cn;
  int peer_key_type = 0;
  Selection selection;
  std::string selected_hostname;
  std::string alpn;
  std::string version;
  int group = 0;  // key exchange group NID
  ClientCertStatus client_cert = ClientCertStatus::kNotRequested;
  bool resumed = false;
  std::string server_sni;
  std::vector<std::string> requested_cas;  // CA names in the CertificateRequest
  std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)> session{nullptr, SSL_SESSION_free};
};

std::string cnOf(const X509_NAME* n) {
  char buf[256] = {};
  X509_NAME_get_text_by_NID(const_cast<X509_NAME*>(n), NID_commonName, buf, sizeof buf);
  return buf;
}

Outcome connect(const ServerContextSet& set, const ClientSpec& c) {
  Outcome out;
  SSL_CTX* cctx = testing::testClientCtx(pki().server_ca.pem(), /*verify=*/true);
  SSL_CTX_set_max_proto_version(cctx, c.max_version);
  if (c.max_version < TLS1_2_VERSION) SSL_CTX_set_min_proto_version(cctx, 0);
  SSL* client = SSL_new(cctx);
  SSL* server = set.newSsl();
  if (!c.sni.empty()) SSL_set_tlsext_host_name(client, c.sni.c_str());
  if (!c.alpn.empty()) {
    auto wire = encodeAlpn(c.alpn);
    SSL_set_alpn_protos(client, reinterpret_cast<const unsigned char*>(wire->data()),
                        static_cast<unsigned>(wire->size()));
  }
  if (!c.sigalgs.empty()) {
    EXPECT_EQ(SSL_set1_sigalgs_list(client, c.sigalgs.c_str()), 1);
  }
  if (!c.groups.empty()) {
    EXPECT_EQ(SSL_set1_groups_list(client, c.groups.c_str()), 1);
  }
  if (c.client_cert != nullptr) testing::useClientCert(client, *c.client_cert);
  if (c.session != nullptr) SSL_set_session(client, c.session);
  out.ok = testing::handshakeInMemory(client, server);
  if (out.ok) {
    X509* peer = SSL_get0_peer_certificate(client);
    out.peer_cn = cnOf(X509_get_subject_name(peer));
    out.peer_key_type = EVP_PKEY_get_base_id(X509_get0_pubkey(peer));
    out.selection = ServerContextSet::selection(server);
    out.selected_hostname = std::string(out.selection.hostname);
    out.alpn = std::string(selectedAlpn(server));
    EXPECT_EQ(out.alpn, selectedAlpn(client));
    out.version = SSL_get_version(server);
    out.group = SSL_get_negotiated_group(server);
    out.client_cert = ServerContextSet::clientCertStatus(server);
    out.resumed = SSL_session_reused(server) == 1;
    EXPECT_EQ(out.resumed, SSL_session_reused(client) == 1);
    out.server_sni = std::string(sentSni(server));
    if (STACK_OF(X509_NAME)* cas = SSL_get_client_CA_list(client)) {
      for (int i = 0; i < sk_X509_NAME_num(cas); ++i) {
        out.requested_cas.push_back(cnOf(sk_X509_NAME_value(cas, i)));
      }
    }
    out.session.reset(SSL_get1_session(client));
    testing::shutdownBoth(client, server);
  }
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(cctx);
  return out;
}

TEST(ServerContextSetTest, SniSelectsMostSpecificConfig) {
  auto set = buildSet(standardConfigs());
  ASSERT_TRUE(set);
  ASSERT_EQ(set->size(), 6u);
  struct Case {
    std::string sni, hostname, cn;
  };
  for (const Case& k : std::vector<Case>{
           {"a.example.com", "a.example.com", "a-ec"},
           {"A.EXAMPLE.COM", "a.example.com", "a-ec"},
           {"x.b.example.com", "*.b.example.com", "wild-b"},
           {"z.example.com", "*.example.com", "wild"},
           {"deep.z.example.com", "*.example.com", "wild"},
           {"other.net", "", "default"},
           {"", "", "default"},
       }) {
    Outcome o = connect(*set, {.sni = k.sni});
    ASSERT_TRUE(o.ok) << k.sni;
    EXPECT_EQ(o.selected_hostname, k.hostname) << k.sni;
    EXPECT_EQ(o.peer_cn, k.cn) << k.sni;
    EXPECT_EQ(set->hostname(static_cast<size_t>(o.selection.index)), k.hostname);
  }
}

TEST(ServerContextSetTest, UnknownSniWithoutDefaultIsRefused) {
  auto set = buildSet(standardConfigs(/*with_default=*/false));
  ASSERT_TRUE(set);
  EXPECT_TRUE(connect(*set, {.sni = "a.example.com"}).ok);
  EXPECT_FALSE(connect(*set, {.sni = "other.net"}).ok);
  EXPECT_FALSE(connect(*set, {.sni = ""}).ok);
}

TEST(ServerContextSetTest, RsaOrEcdsaByClientCapabilities) {
  auto set = buildSet(standardConfigs());
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Outcome ec =
        connect(*set, {.sni = "a.example.com", .sigalgs = "ECDSA+SHA256", .max_version = v});
    ASSERT_TRUE(ec.ok);
    EXPECT_EQ(ec.peer_key_type, EVP_PKEY_EC);
    EXPECT_EQ(ec.peer_cn, "a-ec");
    Outcome rsa = connect(
        *set, {.sni = "a.example.com", .sigalgs = "RSA-PSS+SHA256:RSA+SHA256", .max_version = v});
    ASSERT_TRUE(rsa.ok);
    EXPECT_EQ(rsa.peer_key_type, EVP_PKEY_RSA);
    EXPECT_EQ(rsa.peer_cn, "a-rsa");
  }
}

TEST(ServerContextSetTest, HelloRetryRequestKeepsTheSelection) {
  // The client's first key share (X448) is not among the server's groups: TLS 1.3 answers with a
  // HelloRetryRequest and the client sends a second ClientHello, which must be served by the
  // config the first one selected (the ClientHello callback runs once).
  auto set = buildSet(standardConfigs());
  Outcome o = connect(*set, {.sni = "x.b.example.com", .alpn = {"h2"}, .groups = "X448:P-256"});
  ASSERT_TRUE(o.ok);
  EXPECT_EQ(o.selected_hostname, "*.b.example.com");
  EXPECT_EQ(o.peer_cn, "wild-b");
  EXPECT_EQ(o.alpn, "h2");
  EXPECT_EQ(o.group, NID_X9_62_prime256v1);  // not the X448 share of the first ClientHello
  Outcome m = connect(
      *set, {.sni = "mtls.example.org", .groups = "X448:P-256", .client_cert = &pki().client_ok});
  ASSERT_TRUE(m.ok);
  EXPECT_EQ(m.client_cert, ClientCertStatus::kVerified);
  EXPECT_FALSE(connect(*set, {.sni = "mtls.example.org", .groups = "X448:P-256"}).ok);
}

TEST(ServerContextSetTest, AlpnServerPreference) {
  auto set = buildSet(standardConfigs());
  EXPECT_EQ(connect(*set, {.sni = "a.example.com", .alpn = {"http/1.1", "h2"}}).alpn, "h2");
  EXPECT_EQ(connect(*set, {.sni = "a.example.com", .alpn = {"http/1.1"}}).alpn, "http/1.1");
  Outcome none = connect(*set, {.sni = "a.example.com", .alpn = {"spdy/3"}});
  EXPECT_TRUE(none.ok);  // no overlap: no ALPN, handshake still succeeds
  EXPECT_EQ(none.alpn, "");
  EXPECT_EQ(connect(*set, {.sni = "a.example.com"}).alpn, "");

  ServerOptions h1_only;
  h1_only.alpn = {"http/1.1"};
  auto set1 = buildSet(standardConfigs(), h1_only);
  EXPECT_EQ(connect(*set1, {.sni = "z.example.com", .alpn = {"h2", "http/1.1"}}).alpn, "http/1.1");
}

TEST(ServerContextSetTest, OnlyTls12And13) {
  auto set = buildSet(standardConfigs());
  EXPECT_EQ(connect(*set, {.sni = "a.example.com", .max_version = TLS1_2_VERSION}).version,
            "TLSv1.2");
  EXPECT_EQ(connect(*set, {.sni = "a.example.com"}).version, "TLSv1.3");
  EXPECT_FALSE(connect(*set, {.sni = "a.example.com", .max_version = TLS1_1_VERSION}).ok);
  EXPECT_FALSE(connect(*set, {.sni = "a.example.com", .max_version = TLS1_VERSION}).ok);
}

TEST(ServerContextSetTest, ServerSeesSni) {
  auto set = buildSet(standardConfigs());
  EXPECT_EQ(connect(*set, {.sni = "z.example.com"}).server_sni, "z.example.com");
  EXPECT_EQ(connect(*set, {.sni = ""}).server_sni, "");
}

TEST(ServerContextSetTest, MisdirectedRequests) {
  auto set = buildSet(standardConfigs());
  SSL_CTX* cctx = testing::testClientCtx(pki().server_ca.pem(), true);
  auto check = [&](const std::string& sni, const std::vector<std::pair<std::string, bool>>& hosts) {
    SSL* c = SSL_new(cctx);
    SSL* s = set->newSsl();
    if (!sni.empty()) SSL_set_tlsext_host_name(c, sni.c_str());
    ASSERT_TRUE(testing::handshakeInMemory(c, s));
    for (const auto& [host, misdirected] : hosts) {
      EXPECT_EQ(ServerContextSet::isMisdirected(s, host), misdirected)
          << "sni " << sni << " host " << host;
    }
    SSL_free(c);
    SSL_free(s);
  };
  check("a.example.com", {{"a.example.com", false},
                          {"A.Example.Com.", false},
                          {"z.example.com", true},
                          {"other.net", true},
                          {"mtls.example.org", true}});
  check("z.example.com", {{"y.example.com", false},  // same wildcard config: same certificate
                          {"a.example.com", true},
                          {"q.b.example.com", true}});
  // No SNI selected the default: hosts that have their own config are misdirected (they may
  // need another certificate or client validation), others are fine.
  check("", {{"other.net", false}, {"a.example.com", true}, {"mtls.example.org", true}});
  SSL_CTX_free(cctx);
}

// Gateway API Listener.hostname (HTTPS): "If no other Listener matches the Host, the Gateway MUST
// return a 404" -- not a 421: a host no config selects is routed (and gets its 404) on this
// connection.
TEST(ServerContextSetTest, HostNoConfigSelectsIsNotMisdirected) {
  auto set = buildSet(standardConfigs(/*with_default=*/false));
  SSL_CTX* cctx = testing::testClientCtx(pki().server_ca.pem(), true);
  SSL* c = SSL_new(cctx);
  SSL* s = set->newSsl();
  SSL_set_tlsext_host_name(c, "a.example.com");
  ASSERT_TRUE(testing::handshakeInMemory(c, s));
  EXPECT_FALSE(ServerContextSet::isMisdirected(s, "other.net"));
  EXPECT_TRUE(ServerContextSet::isMisdirected(s, "z.example.com"));
  EXPECT_FALSE(ServerContextSet::isMisdirected(s, "a.example.com"));
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
}

TEST(ServerContextSetTest, ClientCertificateRequired) {
  auto set = buildSet(standardConfigs());
  const Pki& p = pki();
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Outcome ok =
        connect(*set, {.sni = "mtls.example.org", .max_version = v, .client_cert = &p.client_ok});
    ASSERT_TRUE(ok.ok) << v;
    EXPECT_EQ(ok.client_cert, ClientCertStatus::kVerified);
    EXPECT_EQ(ok.requested_cas, std::vector<std::string>{"client CA"});
    EXPECT_FALSE(connect(*set, {.sni = "mtls.example.org", .max_version = v}).ok) << v;
    EXPECT_FALSE(
        connect(*set, {.sni = "mtls.example.org", .max_version = v, .client_cert = &p.client_other})
            .ok)
        << v;
  }
  // Other hostnames on the same port do not ask for a certificate.
  Outcome plain = connect(*set, {.sni = "a.example.com", .client_cert = &p.client_ok});
  ASSERT_TRUE(plain.ok);
  EXPECT_EQ(plain.client_cert, ClientCertStatus::kNotRequested);
  EXPECT_TRUE(plain.requested_cas.empty());
}

TEST(ServerContextSetTest, ClientCertificateInsecureFallback) {
  auto set = buildSet(standardConfigs());
  const Pki& p = pki();
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Outcome none = connect(*set, {.sni = "opt.example.org", .max_version = v});
    ASSERT_TRUE(none.ok);
    EXPECT_EQ(none.client_cert, ClientCertStatus::kNotPresented);
    Outcome bad =
        connect(*set, {.sni = "opt.example.org", .max_version = v, .client_cert = &p.client_other});
    ASSERT_TRUE(bad.ok);
    EXPECT_EQ(bad.client_cert, ClientCertStatus::kFailedAllowed);
    Outcome good =
        connect(*set, {.sni = "opt.example.org", .max_version = v, .client_cert = &p.client_ok});
    ASSERT_TRUE(good.ok);
    EXPECT_EQ(good.client_cert, ClientCertStatus::kVerified);

    // A resumed session keeps the first handshake's verdict.
    Outcome bad2 = connect(*set, {.sni = "opt.example.org",
                                  .max_version = v,
                                  .client_cert = &p.client_other,
                                  .session = bad.session.get()});
    ASSERT_TRUE(bad2.ok);
    EXPECT_TRUE(bad2.resumed) << v;
    EXPECT_EQ(bad2.client_cert, ClientCertStatus::kFailedAllowed) << v;
    Outcome good2 =
        connect(*set, {.sni = "opt.example.org", .max_version = v, .session = good.session.get()});
    ASSERT_TRUE(good2.ok);
    EXPECT_TRUE(good2.resumed) << v;
    EXPECT_EQ(good2.client_cert, ClientCertStatus::kVerified) << v;
  }
}

TEST(ServerContextSetTest, SessionResumptionWithTickets) {
  auto set = buildSet(standardConfigs());
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    Outcome first = connect(*set, {.sni = "a.example.com", .alpn = {"h2"}, .max_version = v});
    ASSERT_TRUE(first.ok);
    EXPECT_FALSE(first.resumed);
    ASSERT_TRUE(first.session);
    Outcome second = connect(
        *set,
        {.sni = "a.example.com", .alpn = {"h2"}, .max_version = v, .session = first.session.get()});
    ASSERT_TRUE(second.ok);
    EXPECT_TRUE(second.resumed) << v;
    EXPECT_EQ(second.selected_hostname, "a.example.com");
    EXPECT_EQ(second.alpn, "h2");
    // A session from one hostname's config is not resumed under another config.
    Outcome other =
        connect(*set, {.sni = "z.example.com", .max_version = v, .session = first.session.get()});
    ASSERT_TRUE(other.ok);
    EXPECT_FALSE(other.resumed) << v;
    EXPECT_EQ(other.selected_hostname, "*.example.com");
  }
}

TEST(ServerContextSetTest, TicketsSurviveNewSnapshotOnlyWithSharedKeys) {
  auto keys = TicketKeys::generate();
  ASSERT_TRUE(keys);
  ServerOptions shared;
  shared.ticket_keys = keys;
  auto set1 = buildSet(standardConfigs(), shared);
  Outcome first = connect(*set1, {.sni = "z.example.com"});
  ASSERT_TRUE(first.ok);
  auto set2 = buildSet(standardConfigs(), shared);  // next snapshot, same keys
  Outcome again = connect(*set2, {.sni = "z.example.com", .session = first.session.get()});
  ASSERT_TRUE(again.ok);
  EXPECT_TRUE(again.resumed);

  ServerOptions rotated;
  rotated.ticket_keys = keys->rotated();  // old key still accepted for decryption
  auto set3 = buildSet(standardConfigs(), rotated);
  Outcome after = connect(*set3, {.sni = "z.example.com", .session = first.session.get()});
  ASSERT_TRUE(after.ok);
  EXPECT_TRUE(after.resumed);

  ServerOptions fresh;
  fresh.ticket_keys = TicketKeys::generate();  // unknown key: full handshake
  auto set4 = buildSet(standardConfigs(), fresh);
  Outcome unknown = connect(*set4, {.sni = "z.example.com", .session = first.session.get()});
  ASSERT_TRUE(unknown.ok);
  EXPECT_FALSE(unknown.resumed);

  auto own_keys = buildSet(standardConfigs());  // no shared keys: each set its own random key
  Outcome own = connect(*own_keys, {.sni = "z.example.com", .session = first.session.get()});
  ASSERT_TRUE(own.ok);
  EXPECT_FALSE(own.resumed);
}

TEST(ServerContextSetTest, ConnectionOutlivesTheSet) {
  auto set = buildSet(standardConfigs());
  SSL_CTX* cctx = testing::testClientCtx(pki().server_ca.pem(), true);
  SSL* c = SSL_new(cctx);
  SSL* s = set->newSsl();
  set.reset();  // next snapshot published; this connection is still handshaking
  SSL_set_tlsext_host_name(c, "x.b.example.com");
  ASSERT_TRUE(testing::handshakeInMemory(c, s));
  EXPECT_EQ(ServerContextSet::selection(s).hostname, "*.b.example.com");
  EXPECT_FALSE(ServerContextSet::isMisdirected(s, "y.b.example.com"));
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
}

TEST(ServerContextSetTest, CertificateRotationIsANewSet) {
  const Pki& p = pki();
  auto v1 = buildSet({{"a.example.com", {p.a_ec}, std::nullopt}});
  SSL_CTX* cctx = testing::testClientCtx(p.server_ca.pem(), true);
  SSL* c1 = SSL_new(cctx);
  SSL* s1 = v1->newSsl();
  SSL_set_tlsext_host_name(c1, "a.example.com");
  ASSERT_TRUE(testing::handshakeInMemory(c1, s1));
  EXPECT_EQ(cnOf(X509_get_subject_name(SSL_get0_peer_certificate(c1))), "a-ec");

  // The Secret changed: the next snapshot builds a new set and the old one is dropped.
  auto v2 = buildSet({{"a.example.com", {p.a_rsa}, std::nullopt}});
  v1.reset();
  Outcome fresh = connect(*v2, {.sni = "a.example.com"});
  ASSERT_TRUE(fresh.ok);
  EXPECT_EQ(fresh.peer_cn, "a-rsa");
  // The connection made before the rotation keeps working on its own SSL.
  char b = 'q';
  EXPECT_EQ(SSL_write(c1, &b, 1), 1);
  EXPECT_EQ(SSL_read(s1, &b, 1), 1);
  EXPECT_EQ(b, 'q');
  SSL_free(c1);
  SSL_free(s1);
  SSL_CTX_free(cctx);
}

TEST(ServerContextSetTest, BadCertificatesAreLeftOutWithWarnings) {
  const Pki& p = pki();
  ir::Certificate mismatched{p.a_ec.cert_pem, p.wild.key_pem};
  ir::Certificate garbage{"not a pem", "nor this"};
  std::vector<ir::TlsConfig> cfgs = {
      {"a.example.com", {mismatched}, std::nullopt},        // unusable -> left out
      {"*.example.com", {garbage, p.wild}, std::nullopt},   // one bad cert, one good
      {"dup.example.com", {p.a_ec, p.wild}, std::nullopt},  // two ECDSA certs: second skipped
      {"", {p.dflt}, std::nullopt},
  };
  std::vector<std::string> warnings;
  auto set = ServerContextSet::build(cfgs, {}, &warnings);
  ASSERT_TRUE(set.isOk()) << set.status().message();
  std::string all;
  for (const auto& w : warnings) all += w + "\n";
  EXPECT_EQ(warnings.size(), 4u) << all;
  ASSERT_EQ((*set)->size(), 3u);
  // a.example.com falls to the wildcard config.
  Outcome o = connect(**set, {.sni = "a.example.com"});
  ASSERT_TRUE(o.ok);
  EXPECT_EQ(o.selected_hostname, "*.example.com");
  EXPECT_EQ(connect(**set, {.sni = "dup.example.com"}).peer_cn, "a-ec");

  auto none = ServerContextSet::build({{"a.example.com", {garbage}, std::nullopt}}, {}, nullptr);
  EXPECT_FALSE(none.isOk());
  ServerOptions bad_alpn;
  bad_alpn.alpn = {""};
  EXPECT_FALSE(ServerContextSet::build(standardConfigs(), bad_alpn).isOk());
}

}  // namespace
}  // namespace gantry::dataplane::tls
