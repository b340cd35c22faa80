#include "unit/tls/test_pki.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace gantry::testing {

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    ERR_print_errors_fp(stderr);
    throw std::runtime_error(std::string("test PKI: ") + what);
  }
}

std::string bioString(BIO* b) {
  char* p = nullptr;
  long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

void addExt(X509* x, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "extension");
  check(X509_add_ext(x, ext, -1) == 1, "add extension");
  X509_EXTENSION_free(ext);
}

long serial() {
  static long s = 1000;
  return ++s;
}

X509* makeCert(const std::string& cn, EVP_PKEY* pub, X509* issuer, EVP_PKEY* issuer_key, long from,
               long to) {
  X509* x = X509_new();
  check(x != nullptr, "X509_new");
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial());
  X509_gmtime_adj(X509_getm_notBefore(x), from);
  X509_gmtime_adj(X509_getm_notAfter(x), to);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("gantry tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x, pub);
  (void)issuer_key;
  return x;
}

}  // namespace

EVP_PKEY* generateKey(KeyType t) {
  EVP_PKEY* k = t == KeyType::kRsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})
                                   : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  check(k != nullptr, "keygen");
  return k;
}

std::string keyPem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  check(PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr) == 1, "key pem");
  return bioString(b);
}

std::string certPem(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  check(PEM_write_bio_X509(b, x) == 1, "cert pem");
  return bioString(b);
}

TestCa::TestCa(const std::string& cn, KeyType key) {
  key_ = generateKey(key);
  cert_ = makeCert(cn, key_, nullptr, key_, -86400, 10 * 86400);
  addExt(cert_, cert_, NID_basic_constraints, "critical,CA:TRUE");
  addExt(cert_, cert_, NID_key_usage, "critical,keyCertSign,cRLSign");
  addExt(cert_, cert_, NID_subject_key_identifier, "hash");
  check(X509_sign(cert_, key_, EVP_sha256()) > 0, "sign CA");
  pem_ = certPem(cert_);
}

TestCa::~TestCa() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

ir::Certificate TestCa::issue(const std::string& cn, const IssueOptions& o) const {
  EVP_PKEY* k = generateKey(o.key);
  X509* x = makeCert(cn, k, cert_, key_, o.valid_from_s, o.valid_to_s);
  addExt(x, cert_, NID_basic_constraints, "critical,CA:FALSE");
  addExt(x, cert_, NID_ext_key_usage, o.client ? "clientAuth" : "serverAuth");
  addExt(x, cert_, NID_authority_key_identifier, "keyid");
  std::string san;
  for (const auto& d : o.dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& u : o.uris) san += (san.empty() ? "" : ",") + std::string("URI:") + u;
  if (!san.empty()) addExt(x, cert_, NID_subject_alt_name, san);
  check(X509_sign(x, key_, EVP_sha256()) > 0, "sign leaf");
  ir::Certificate c;
  c.cert_pem = certPem(x) + pem_;
  c.key_pem = keyPem(k);
  X509_free(x);
  EVP_PKEY_free(k);
  return c;
}

bool handshakeInMemory(SSL* client, SSL* server, bool exchange) {
  BIO* c_bio = nullptr;
  BIO* s_bio = nullptr;
  // One BIO pair: what the client writes the server reads and vice versa.
  check(BIO_new_bio_pair(&c_bio, 0, &s_bio, 0) == 1, "bio pair");
  SSL_set_bio(client, c_bio, c_bio);
  SSL_set_bio(server, s_bio, s_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  bool c_done = false, s_done = false;
  for (int i = 0; i < 100 && !(c_done && s_done); ++i) {
    if (!c_done) {
      int r = SSL_do_handshake(client);
      if (r == 1) {
        c_done = true;
      } else {
        int e = SSL_get_error(client, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
      }
    }
    if (!s_done) {
      int r = SSL_do_handshake(server);
      if (r == 1) {
        s_done = true;
      } else {
        int e = SSL_get_error(server, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) return false;
      }
    }
  }
  if (!(c_done && s_done)) return false;
  if (!exchange) return true;
  // TLS 1.3: the server's verdict on a client certificate and its session tickets arrive after
  // the client considers the handshake done; exchanging data surfaces both.
  char byte = 'x';
  if (SSL_write(client, &byte, 1) != 1) return false;
  if (SSL_read(server, &byte, 1) != 1) return false;
  if (SSL_write(server, &byte, 1) != 1) return false;
  if (SSL_read(client, &byte, 1) != 1) return false;
  return true;
}

void shutdownBoth(SSL* client, SSL* server) {
  SSL_shutdown(client);  // sends close_notify
  SSL_shutdown(server);  // receives it and answers
  SSL_shutdown(client);  // receives the answer
}

SSL_CTX* testClientCtx(const std::string& ca_pem, bool verify) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  check(ctx != nullptr, "client ctx");
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!ca_pem.empty()) {
    BIO* b = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
    while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x);
      X509_free(x);
    }
    ERR_clear_error();
    BIO_free(b);
  }
  SSL_CTX_set_verify(ctx, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  // No client cache: freeing a context flushes its cache, which marks the flushed sessions not
  // resumable, and the tests carry sessions from one client context to the next.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

void useClientCert(SSL* ssl, const ir::Certificate& c) {
  BIO* b = BIO_new_mem_buf(c.cert_pem.data(), static_cast<int>(c.cert_pem.size()));
  X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  b = BIO_new_mem_buf(c.key_pem.data(), static_cast<int>(c.key_pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  check(x != nullptr && k != nullptr, "client cert");
  check(SSL_use_certificate(ssl, x) == 1 && SSL_use_PrivateKey(ssl, k) == 1, "use client cert");
  X509_free(x);
  EVP_PKEY_free(k);
}

}  // namespace gantry::testing
