#include "dataplane/tls/server_context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

namespace gantry::dataplane::tls {

namespace {

// Mozilla "intermediate" configuration (https://ssl-config.mozilla.org/, guidelines v5.7):
// TLS 1.2 with ECDHE/DHE AEAD suites only, TLS 1.3 with its three standard suites, client cipher
// preference (every offered suite is strong).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kTls13Suites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr const char* kGroups = "X25519:prime256v1:secp384r1";

// Data hung on the front SSL_CTX (freed with it): the per-config contexts, so that an SSL still in
// its handshake can be moved onto one even after the ServerContextSet is gone.
struct FrontData {
  std::shared_ptr<const HostIndex> index;
  std::vector<SSL_CTX*> ctxs;  // one reference each
  std::shared_ptr<const TicketKeys> tickets;
  ~FrontData() {
    for (SSL_CTX* c : ctxs) SSL_CTX_free(c);
  }
};

// Data hung on each per-config SSL_CTX (freed with it).
struct ConfigData {
  int index = -1;
  std::string hostname;
  std::shared_ptr<const HostIndex> host_index;
  std::string alpn_wire;
  bool validate_client = false;
  bool insecure_fallback = false;
  std::shared_ptr<const TicketKeys> tickets;
};

void freeFront(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<FrontData*>(ptr);
}
void freeConfig(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<ConfigData*>(ptr);
}

int frontIndex() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeFront);
  return idx;
}
int configIndex() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, freeConfig);
  return idx;
}
// Per-SSL flag: the client certificate failed verification but AllowInsecureFallback kept the
// handshake going. (Value: non-null pointer = failed.)
int verifyFailedIndex() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return idx;
}

const ConfigData* configOf(const SSL* ssl) {
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  if (ctx == nullptr) return nullptr;
  return static_cast<const ConfigData*>(SSL_CTX_get_ex_data(ctx, configIndex()));
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Lower-cases `in` into buf (kMaxHost bytes); strips one trailing dot. False if too long.
constexpr size_t kMaxHost = 255;
bool normaliseHost(std::string_view in, char* buf, std::string_view* out) {
  if (!in.empty() && in.back() == '.') in.remove_suffix(1);
  if (in.size() > kMaxHost) return false;
  for (size_t i = 0; i < in.size(); ++i) buf[i] = lower(in[i]);
  *out = std::string_view(buf, in.size());
  return true;
}

// AllowInsecureFallback: request a client certificate, never fail the handshake over it, but
// remember that it did not verify (Gateway API FrontendTLSValidation mode AllowInsecureFallback:
// "connections are accepted even if the client certificate is invalid or missing").
int acceptAnyVerify(int preverify_ok, X509_STORE_CTX* store) {
  if (!preverify_ok) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl != nullptr) SSL_set_ex_data(ssl, verifyFailedIndex(), reinterpret_cast<void*>(1));
  }
  return 1;
}

// Acknowledges the server_name extension (RFC 6066 section 3: empty extension in ServerHello /
// EncryptedExtensions) -- the choice itself was made in the ClientHello callback.
int servernameAck(SSL* ssl, int*, void*) {
  return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) != nullptr ? SSL_TLSEXT_ERR_OK
                                                                       : SSL_TLSEXT_ERR_NOACK;
}

int alpnSelect(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void* arg) {
  const auto* cd = static_cast<const ConfigData*>(arg);
  if (cd == nullptr || cd->alpn_wire.empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  // Server preference: the first protocol of OUR list the client also offers.
  int r = SSL_select_next_proto(&selected, outlen,
                                reinterpret_cast<const unsigned char*>(cd->alpn_wire.data()),
                                static_cast<unsigned int>(cd->alpn_wire.size()), in, inlen);
  if (r != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Parses the raw server_name extension body handed out by SSL_client_hello_get0_ext (RFC 6066
// section 3, one host_name entry as OpenSSL itself requires). Empty host = no usable name.
bool parseSniExtension(const unsigned char* p, size_t len, char* buf, std::string_view* host) {
  if (len < 5) return false;
  size_t list_len = (size_t{p[0]} << 8) | p[1];
  if (list_len != len - 2) return false;
  if (p[2] != TLSEXT_NAMETYPE_host_name) return false;
  size_t name_len = (size_t{p[3]} << 8) | p[4];
  if (name_len != list_len - 3 || name_len == 0 || name_len > kMaxHost) return false;
  for (size_t i = 0; i < name_len; ++i) {
    if (p[5 + i] == 0) return false;
  }
  return normaliseHost(std::string_view(reinterpret_cast<const char*>(p + 5), name_len), buf, host);
}

// Runs inside SSL_do_handshake on the worker thread, once per connection, before OpenSSL looks at
// sessions, ALPN or certificates: the right moment to move the SSL onto the selected config.
int clientHelloSelect(SSL* ssl, int* alert, void* arg) {
  const auto* fd = static_cast<const FrontData*>(arg);
  char buf[kMaxHost];
  std::string_view host;
  const unsigned char* ext = nullptr;
  size_t ext_len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1) {
    if (!parseSniExtension(ext, ext_len, buf, &host)) {
      *alert = SSL_AD_DECODE_ERROR;
      return SSL_CLIENT_HELLO_ERROR;
    }
  }
  int idx = fd->index->select(host);
  if (idx < 0 || static_cast<size_t>(idx) >= fd->ctxs.size()) {
    // RFC 6066 section 3: the server MAY abort with a fatal unrecognized_name alert.
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  SSL_CTX* ctx = fd->ctxs[static_cast<size_t>(idx)];
  if (SSL_set_SSL_CTX(ssl, ctx) != ctx) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  // SSL_set_SSL_CTX swaps certificates, CA names, trust store and session id context but not
  // the verify mode, which was copied from the front context by SSL_new.
  SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
  return SSL_CLIENT_HELLO_SUCCESS;
}

const TicketKeys* ticketsFor(SSL* ssl) {
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl);
  if (ctx == nullptr) return nullptr;
  if (const auto* cd = static_cast<const ConfigData*>(SSL_CTX_get_ex_data(ctx, configIndex()))) {
    return cd->tickets.get();
  }
  if (const auto* fd = static_cast<const FrontData*>(SSL_CTX_get_ex_data(ctx, frontIndex()))) {
    return fd->tickets.get();
  }
  return nullptr;
}

// Ticket protection with shared keys (SSL_CTX_set_tlsext_ticket_key_evp_cb(3)): AES-256-CBC for
// the ticket, HMAC-SHA256 over it, key_name selects the key. Returns 1 (ok), 2 (ok, but renew the
// ticket under the current key), 0 (unknown key: full handshake), -1 (error).
int ticketKeyCb(SSL* ssl, unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cctx,
                EVP_MAC_CTX* hctx, int enc) {
  const TicketKeys* keys = ticketsFor(ssl);
  if (keys == nullptr) return -1;
  const TicketKeys::Key* k = nullptr;
  if (enc) {
    k = &keys->current();
    std::memcpy(key_name, k->name, sizeof k->name);
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
  } else {
    k = keys->find(key_name);
    if (k == nullptr) return 0;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(k->hmac),
                                        sizeof k->hmac),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_CTX_set_params(hctx, params) != 1) return -1;
  if (enc) {
    if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, k->aes, iv) != 1) return -1;
    return 1;
  }
  if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, k->aes, iv) != 1) return -1;
  return k == &keys->current() ? 1 : 2;
}

// Settings every context of the set shares (front and per config): OpenSSL reads some of them
// from the context the SSL was created from and some from the one it was moved to.
Status applyCommon(SSL_CTX* ctx, const ServerOptions& options) {
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return Status::error("cannot restrict protocol versions: " + opensslErrors());
  }
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1) {
    return Status::error("cannot set cipher suites: " + opensslErrors());
  }
  if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) {
    return Status::error("cannot set groups: " + opensslErrors());
  }
  SSL_CTX_set_dh_auto(ctx, 1);  // DHE-RSA suites use RFC 7919 groups sized to the key
  // Read ahead: one recv fills OpenSSL's record buffer with whatever the socket holds, instead of
  // a 5-byte record header and then its body (two system calls per record, plus the EAGAIN of
  // the next try). Callers wait on the socket only when OpenSSL asks and check SSL_has_pending
  // before an idle wait (tls/fd_tls.h). bench/README.md "TLS handshakes".
  SSL_CTX_set_read_ahead(ctx, 1);
  // Renegotiation is a DoS vector and never needed by HTTP/2 (RFC 9113 section 9.2.1 forbids
  // it); compression is CRIME.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Stateless tickets only: the internal session cache is one locked table per SSL_CTX that all
  // workers would contend on, and it grows with connections.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_timeout(ctx, static_cast<long>(options.session_timeout_s));
  if (options.ticket_keys) {
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticketKeyCb) != 1) {
      return Status::error("cannot install ticket key callback: " + opensslErrors());
    }
  }
  return Status::ok();
}

struct PemPassNone {
  static int cb(char*, int, int, void*) { return 0; }  // encrypted keys are not supported
};

std::vector<X509*> readCerts(const std::string& pem) {
  std::vector<X509*> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return out;
  while (X509* x = PEM_read_bio_X509(bio, nullptr, PemPassNone::cb, nullptr)) out.push_back(x);
  ERR_clear_error();  // the loop ends with a "no start line" error
  BIO_free(bio);
  return out;
}

void freeCerts(std::vector<X509*>& v) {
  for (X509* x : v) X509_free(x);
  v.clear();
}

}  // namespace

StatusOr<int> loadCertificate(SSL_CTX* ctx, const ir::Certificate& cert,
                              const std::vector<int>& loaded_types) {
  std::vector<X509*> chain = readCerts(cert.cert_pem);
  if (chain.empty()) return Status::error("no PEM certificate");
  BIO* kb = BIO_new_mem_buf(cert.key_pem.data(), static_cast<int>(cert.key_pem.size()));
  EVP_PKEY* key = kb ? PEM_read_bio_PrivateKey(kb, nullptr, PemPassNone::cb, nullptr) : nullptr;
  BIO_free(kb);
  if (key == nullptr) {
    freeCerts(chain);
    return Status::error("no usable PEM private key (encrypted keys are not supported): " +
                         opensslErrors());
  }
  Status st;
  int type = EVP_PKEY_get_base_id(X509_get0_pubkey(chain[0]));
  if (std::find(loaded_types.begin(), loaded_types.end(), type) != loaded_types.end()) {
    st = Status::error(
        "another certificate of the same key type is already loaded for this hostname");
  } else if (X509_check_private_key(chain[0], key) != 1) {
    st = Status::error("private key does not match the certificate");
  } else if (SSL_CTX_use_certificate(ctx, chain[0]) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
    st = Status::error("OpenSSL refused the certificate or key: " + opensslErrors());
  } else {
    for (size_t i = 1; i < chain.size() && st.isOk(); ++i) {
      if (SSL_CTX_add1_chain_cert(ctx, chain[i]) != 1) {
        st = Status::error("cannot add chain certificate: " + opensslErrors());
      }
    }
  }
  EVP_PKEY_free(key);
  freeCerts(chain);
  if (!st.isOk()) return st;
  return type;
}

namespace {

Status loadClientValidation(SSL_CTX* ctx, const ir::FrontendValidation& v, int* ca_count) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  if (store == nullptr || names == nullptr) {
    sk_X509_NAME_free(names);
    return Status::error("out of memory");
  }
  *ca_count = 0;
  for (const std::string& pem : v.ca_pems) {
    std::vector<X509*> cas = readCerts(pem);
    for (X509* ca : cas) {
      if (X509_STORE_add_cert(store, ca) == 1) {
        ++*ca_count;
        if (X509_NAME* n = X509_NAME_dup(X509_get_subject_name(ca))) sk_X509_NAME_push(names, n);
      }
    }
    ERR_clear_error();  // duplicate certificates in bundles are harmless
    freeCerts(cas);
  }
  // The CertificateRequest lists the acceptable CAs (RFC 8446 section 4.2.4), so clients holding
  // several certificates can pick the right one.
  SSL_CTX_set_client_CA_list(ctx, names);
  if (v.allow_insecure_fallback) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, acceptAnyVerify);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return Status::ok();
}

// 32-byte session id context from everything that decides whether resuming is safe.
Status setSidContext(SSL_CTX* ctx, const ir::TlsConfig& cfg) {
  std::string material = "gantry-tls\n" + cfg.hostname + "\n";
  if (cfg.client_validation) {
    material += cfg.client_validation->allow_insecure_fallback ? "fallback\n" : "required\n";
    for (const auto& pem : cfg.client_validation->ca_pems) material += pem;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(material.data(), material.size(), md, &md_len, EVP_sha256(), nullptr) != 1) {
    return Status::error("sha256 failed: " + opensslErrors());
  }
  if (md_len > SSL_MAX_SID_CTX_LENGTH) md_len = SSL_MAX_SID_CTX_LENGTH;
  if (SSL_CTX_set_session_id_context(ctx, md, md_len) != 1) {
    return Status::error("cannot set session id context: " + opensslErrors());
  }
  return Status::ok();
}

}  // namespace

// --- TicketKeys ------------------------------------------------------------------------------

std::shared_ptr<const TicketKeys> TicketKeys::generate() {
  auto k = std::shared_ptr<TicketKeys>(new TicketKeys());
  Key key;
  if (RAND_bytes(key.name, sizeof key.name) != 1 || RAND_bytes(key.aes, sizeof key.aes) != 1 ||
      RAND_bytes(key.hmac, sizeof key.hmac) != 1) {
    return nullptr;
  }
  k->keys_.push_back(key);
  return k;
}

std::shared_ptr<const TicketKeys> TicketKeys::rotated() const {
  auto fresh = generate();
  if (!fresh) return nullptr;
  auto k = std::shared_ptr<TicketKeys>(new TicketKeys());
  k->keys_.push_back(fresh->current());
  for (size_t i = 0; i < keys_.size() && k->keys_.size() < kKeep; ++i) k->keys_.push_back(keys_[i]);
  return k;
}

const TicketKeys::Key* TicketKeys::find(const unsigned char name[16]) const {
  for (const Key& k : keys_) {
    if (CRYPTO_memcmp(k.name, name, sizeof k.name) == 0) return &k;
  }
  return nullptr;
}

// --- HostIndex -------------------------------------------------------------------------------

HostIndex::HostIndex(const std::vector<std::string>& hostnames) {
  for (size_t i = 0; i < hostnames.size(); ++i) {
    std::string h;
    h.reserve(hostnames[i].size());
    for (char c : hostnames[i]) h.push_back(lower(c));
    if (!h.empty() && h.back() == '.') h.pop_back();
    int idx = static_cast<int>(i);
    if (h.empty() || h == "*") {
      if (default_ < 0) default_ = idx;
    } else if (h.size() > 2 && h[0] == '*' && h[1] == '.') {
      suffixes_.emplace_back(h.substr(1), idx);  // keep the dot: ".example.com"
    } else {
      exact_.emplace_back(std::move(h), idx);
    }
  }
  auto byName = [](const auto& a, const auto& b) { return a.first < b.first; };
  auto sameName = [](const auto& a, const auto& b) { return a.first == b.first; };
  for (auto* v : {&exact_, &suffixes_}) {
    std::stable_sort(v->begin(), v->end(), byName);  // stable: the first duplicate stays first
    v->erase(std::unique(v->begin(), v->end(), sameName), v->end());
  }
}

namespace {
int lookup(const std::vector<std::pair<std::string, int>>& v, std::string_view key) {
  auto it = std::lower_bound(v.begin(), v.end(), key,
                             [](const auto& e, std::string_view k) { return e.first < k; });
  return (it != v.end() && it->first == key) ? it->second : -1;
}
}  // namespace

int HostIndex::select(std::string_view host) const {
  char buf[kMaxHost];
  std::string_view h;
  if (host.empty() || !normaliseHost(host, buf, &h) || h.empty()) return default_;
  if (int i = lookup(exact_, h); i >= 0) return i;
  // Gateway API Listener.hostname: "*.example.com" matches "test.example.com" and
  // "foo.test.example.com" but not "example.com". Scanning dots left to right tries the longest
  // suffix first, i.e. the most specific wildcard.
  if (!suffixes_.empty()) {
    for (size_t pos = 1; pos < h.size(); ++pos) {
      if (h[pos] != '.') continue;
      if (int i = lookup(suffixes_, h.substr(pos)); i >= 0) return i;
    }
  }
  return default_;
}

// --- ServerContextSet ------------------------------------------------------------------------

const char* toString(ClientCertStatus s) {
  switch (s) {
    case ClientCertStatus::kNotRequested:
      return "not-requested";
    case ClientCertStatus::kNotPresented:
      return "not-presented";
    case ClientCertStatus::kVerified:
      return "verified";
    case ClientCertStatus::kFailedAllowed:
      return "failed-allowed";
  }
  return "?";
}

StatusOr<std::shared_ptr<const ServerContextSet>> ServerContextSet::build(
    const std::vector<ir::TlsConfig>& configs, const ServerOptions& options,
    std::vector<std::string>* warnings) {
  auto warn = [&](std::string w) {
    if (warnings != nullptr) warnings->push_back(std::move(w));
  };
  if (frontIndex() < 0 || configIndex() < 0 || verifyFailedIndex() < 0) {
    return Status::error("OpenSSL ex_data index allocation failed");
  }
  StatusOr<std::string> alpn = encodeAlpn(options.alpn);
  if (!alpn) return alpn.status();

  auto front_data = std::make_unique<FrontData>();
  front_data->tickets = options.ticket_keys;
  std::vector<std::string> hostnames;
  std::vector<std::unique_ptr<ConfigData>> datas;

  for (const ir::TlsConfig& cfg : configs) {
    const std::string label = cfg.hostname.empty() ? std::string("(default)") : cfg.hostname;
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return Status::error("SSL_CTX_new failed: " + opensslErrors());
    auto fail = [&](const std::string& why) {
      warn("tls config " + label + ": " + why);
      SSL_CTX_free(ctx);
    };
    if (Status st = applyCommon(ctx, options); !st.isOk()) {
      SSL_CTX_free(ctx);
      return st;
    }
    std::vector<int> types;
    for (size_t i = 0; i < cfg.certificates.size(); ++i) {
      StatusOr<int> t = loadCertificate(ctx, cfg.certificates[i], types);
      if (!t) {
        warn("tls config " + label + ": certificate " + std::to_string(i) +
             " skipped: " + t.status().message());
        continue;
      }
      types.push_back(*t);
    }
    if (types.empty()) {
      fail("no usable certificate; hostname left out");
      continue;
    }
    if (Status st = setSidContext(ctx, cfg); !st.isOk()) {
      fail(st.message());
      continue;
    }
    auto cd = std::make_unique<ConfigData>();
    cd->index = static_cast<int>(hostnames.size());
    cd->hostname = cfg.hostname;
    cd->alpn_wire = *alpn;
    cd->tickets = options.ticket_keys;
    if (cfg.client_validation) {
      int ca_count = 0;
      if (Status st = loadClientValidation(ctx, *cfg.client_validation, &ca_count); !st.isOk()) {
        fail(st.message());
        continue;
      }
      if (ca_count == 0) {
        // Fail closed: with AllowValidOnly no client can connect; that is what the config says.
        warn("tls config " + label + ": client validation has no usable CA certificate");
      }
      cd->validate_client = true;
      cd->insecure_fallback = cfg.client_validation->allow_insecure_fallback;
    }
    SSL_CTX_set_tlsext_servername_callback(ctx, servernameAck);
    SSL_CTX_set_alpn_select_cb(ctx, alpnSelect, cd.get());
    if (SSL_CTX_set_ex_data(ctx, configIndex(), cd.get()) != 1) {
      fail("SSL_CTX_set_ex_data failed");
      continue;
    }
    cd.release();  // owned by ctx now (freeConfig)
    hostnames.push_back(cfg.hostname);
    front_data->ctxs.push_back(ctx);
  }
  if (hostnames.empty()) return Status::error("no usable TLS configuration on this port");

  auto index = std::make_shared<const HostIndex>(hostnames);
  front_data->index = index;
  for (SSL_CTX* c : front_data->ctxs) {
    static_cast<ConfigData*>(SSL_CTX_get_ex_data(c, configIndex()))->host_index = index;
  }

  SSL_CTX* front = SSL_CTX_new(TLS_server_method());
  if (front == nullptr) return Status::error("SSL_CTX_new failed: " + opensslErrors());
  if (Status st = applyCommon(front, options); !st.isOk()) {
    SSL_CTX_free(front);
    return st;
  }
  static const unsigned char kFrontSid[] = "gantry-front";
  SSL_CTX_set_session_id_context(front, kFrontSid, sizeof kFrontSid - 1);
  FrontData* fd = front_data.get();
  if (SSL_CTX_set_ex_data(front, frontIndex(), fd) != 1) {
    SSL_CTX_free(front);
    return Status::error("SSL_CTX_set_ex_data failed");
  }
  front_data.release();  // owned by front now (freeFront frees the per-config contexts)
  SSL_CTX_set_client_hello_cb(front, clientHelloSelect, fd);

  auto set = std::shared_ptr<ServerContextSet>(new ServerContextSet());
  set->front_ = front;
  set->index_ = std::move(index);
  set->hostnames_ = std::move(hostnames);
  return std::shared_ptr<const ServerContextSet>(std::move(set));
}

ServerContextSet::~ServerContextSet() { SSL_CTX_free(front_); }

SSL* ServerContextSet::newSsl() const { return SSL_new(front_); }

Selection ServerContextSet::selection(const SSL* ssl) {
  const ConfigData* cd = configOf(ssl);
  if (cd == nullptr) return {};
  return Selection{cd->index, cd->hostname};
}

bool ServerContextSet::isMisdirected(const SSL* ssl, std::string_view host) {
  const ConfigData* cd = configOf(ssl);
  if (cd == nullptr || !cd->host_index) return true;
  // Gateway API Listener.hostname: 421 when another listener of the port matches the host; when
  // none does, the request is routed here (and gets the 404 the spec requires).
  const int selected = cd->host_index->select(host);
  return selected >= 0 && selected != cd->index;
}

ClientCertStatus ServerContextSet::clientCertStatus(const SSL* ssl) {
  const ConfigData* cd = configOf(ssl);
  if (cd == nullptr || !cd->validate_client) return ClientCertStatus::kNotRequested;
  // On a resumed session the peer certificate and verify result come from the session.
  if (SSL_get0_peer_certificate(ssl) == nullptr) return ClientCertStatus::kNotPresented;
  if (SSL_get_verify_result(ssl) == X509_V_OK &&
      SSL_get_ex_data(ssl, verifyFailedIndex()) == nullptr) {
    return ClientCertStatus::kVerified;
  }
  return ClientCertStatus::kFailedAllowed;
}

// --- helpers ---------------------------------------------------------------------------------

std::string_view selectedAlpn(const SSL* ssl) {
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &p, &len);
  if (p == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(p), len);
}

std::string_view sentSni(const SSL* ssl) {
  const char* s = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return s != nullptr ? std::string_view(s) : std::string_view();
}

StatusOr<std::string> encodeAlpn(const std::vector<std::string>& protocols) {
  std::string out;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) return Status::error("bad ALPN protocol name '" + p + "'");
    out.push_back(static_cast<char>(p.size()));
    out += p;
  }
  return out;
}

std::string opensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("(no OpenSSL error)") : out;
}

}  // namespace gantry::dataplane::tls
