#include "dataplane/tls/client_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "dataplane/tls/server_context.h"

namespace gantry::dataplane::tls {

namespace {

// Hung on the client SSL_CTX, freed with it.
struct ClientData {
  std::vector<std::string> dns_sans;
  std::vector<std::string> uri_sans;
};

void freeClientData(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ClientData*>(ptr);
}

int clientDataIndex() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeClientData);
  return idx;
}

bool certHasUri(X509* cert, const std::string& uri) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    if (gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
    found = static_cast<size_t>(ASN1_STRING_length(s)) == uri.size() &&
            std::memcmp(ASN1_STRING_get0_data(s), uri.data(), uri.size()) == 0;
  }
  GENERAL_NAMES_free(names);
  return found;
}

// BackendTLSPolicy subjectAltNames: "the certificate served from the backend MUST have at least
// one Subject Alternate Name matching one of the specified SubjectAltNames". Checked on the leaf
// once its chain has verified.
int verifySans(int preverify_ok, X509_STORE_CTX* store) {
  if (!preverify_ok || X509_STORE_CTX_get_error_depth(store) != 0) return preverify_ok;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  if (ssl == nullptr) return 0;
  const auto* cd =
      static_cast<const ClientData*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), clientDataIndex()));
  if (cd == nullptr) return preverify_ok;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  for (const std::string& dns : cd->dns_sans) {
    if (X509_check_host(leaf, dns.data(), dns.size(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                        nullptr) == 1) {
      return 1;
    }
  }
  for (const std::string& uri : cd->uri_sans) {
    if (certHasUri(leaf, uri)) return 1;
  }
  X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
  return 0;
}

int slotIndex() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

// OpenSSL calls this for every session the backend establishes (TLS 1.3: for each
// NewSessionTicket, after the handshake). A copy is kept: the connection's own session object is
// marked not resumable if the connection is freed without a TLS shutdown (OpenSSL's
// ssl_clear_bad_session), which upstream connections often are. Returns 0: OpenSSL keeps its
// reference.
int storeNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<ClientSessionSlot*>(SSL_get_ex_data(ssl, slotIndex()));
  if (slot == nullptr || SSL_SESSION_is_resumable(session) != 1) return 0;
  if (SSL_SESSION* copy = SSL_SESSION_dup(session)) slot->store(copy);
  return 0;
}

}  // namespace

void ClientSessionSlot::detach(SSL* ssl) { SSL_set_ex_data(ssl, slotIndex(), nullptr); }

StatusOr<std::shared_ptr<const ClientContext>> ClientContext::build(const ir::BackendTls& tls,
                                                                    const ClientOptions& options) {
  if (tls.sni.empty()) return Status::error("backend TLS needs a hostname (SNI)");
  if (tls.ca_pems.empty() && !tls.use_system_cas) {
    return Status::error("backend TLS has no CA certificates and does not use the system CAs");
  }
  if (clientDataIndex() < 0) return Status::error("OpenSSL ex_data index allocation failed");
  StatusOr<std::string> alpn = encodeAlpn(options.alpn);
  if (!alpn) return alpn.status();

  auto self = std::shared_ptr<ClientContext>(new ClientContext());
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return Status::error("SSL_CTX_new failed: " + opensslErrors());
  self->ctx_ = ctx;  // freed by ~ClientContext on every path below
  self->sni_ = tls.sni;
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return Status::error("cannot restrict protocol versions: " + opensslErrors());
  }
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Sessions go to the caller's worker-local ClientSessionSlot through the callback, never to
  // OpenSSL's internal (locked, shared) cache.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, storeNewSession);

  if (tls.use_system_cas && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return Status::error("cannot load the system CA store: " + opensslErrors());
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  for (const std::string& pem : tls.ca_pems) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    if (bio == nullptr) return Status::error("out of memory");
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      if (X509_STORE_add_cert(store, x) == 1) ++added;
      X509_free(x);
    }
    BIO_free(bio);
    ERR_clear_error();
  }
  if (!tls.ca_pems.empty() && added == 0) {
    return Status::error("no usable CA certificate in the backend TLS CA bundle");
  }

  // Gateway spec.tls.backend.clientCertificateRef: sent when the backend's CertificateRequest
  // asks for one (TLS 1.2 and 1.3 alike; OpenSSL checks it fits the requested signature
  // algorithms).
  if (tls.client_certificate) {
    StatusOr<int> loaded = loadCertificate(ctx, *tls.client_certificate, {});
    if (!loaded) return Status::error("client certificate: " + loaded.status().message());
  }

  if (!alpn->empty() &&
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn->data()),
                              static_cast<unsigned int>(alpn->size())) != 0) {
    return Status::error("cannot set ALPN: " + opensslErrors());
  }

  if (!tls.subject_alt_names.empty()) {
    auto cd = std::make_unique<ClientData>();
    for (const std::string& san : tls.subject_alt_names) {
      (san.find("://") != std::string::npos ? cd->uri_sans : cd->dns_sans).push_back(san);
    }
    if (SSL_CTX_set_ex_data(ctx, clientDataIndex(), cd.get()) != 1) {
      return Status::error("SSL_CTX_set_ex_data failed");
    }
    cd.release();
    self->check_sans_ = true;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verifySans);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  return std::shared_ptr<const ClientContext>(std::move(self));
}

ClientContext::~ClientContext() { SSL_CTX_free(ctx_); }

SSL* ClientContext::newSsl(ClientSessionSlot* slot) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  if (slot != nullptr) {
    if (slotIndex() < 0 || SSL_set_ex_data(ssl, slotIndex(), slot) != 1) {
      SSL_free(ssl);
      return nullptr;
    }
    // The connection gets its own copy: OpenSSL marks the session object of a connection freed
    // without a TLS shutdown not resumable, and the slot's must stay usable (a resumed TLS 1.2
    // session gets no new ticket to replace it).
    if (SSL_SESSION* s = slot->get()) {
      SSL_SESSION* copy = SSL_SESSION_dup(s);
      if (copy == nullptr || SSL_set_session(ssl, copy) != 1) slot->clear();
      if (copy != nullptr) SSL_SESSION_free(copy);
    }
  }
  // SNI is a DNS name; an IP literal must not be sent (RFC 6066 section 3) -- the translator only
  // puts hostnames here (BackendTLSPolicy validation.hostname is a PreciseHostname).
  if (SSL_set_tlsext_host_name(ssl, sni_.c_str()) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  if (!check_sans_) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (X509_VERIFY_PARAM_set1_host(param, sni_.data(), sni_.size()) != 1) {
      SSL_free(ssl);
      return nullptr;
    }
  }
  return ssl;
}

}  // namespace gantry::dataplane::tls
