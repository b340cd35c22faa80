// Server-side TLS for HTTPS and TLS-terminate listeners: one ServerContextSet per ir::Port per
// snapshot, built from the port's ir::TlsConfig list on OpenSSL 3.
//
// What it does
//   - One SSL_CTX per TlsConfig (one per listener hostname), each holding all of that hostname's
//     certificates: an RSA and an ECDSA certificate may both be loaded and OpenSSL picks the one
//     the client's signature_algorithms/cipher suites allow. Plus one certificate-less "front"
//     SSL_CTX from which every connection's SSL is created.
//   - During the handshake a ClientHello callback (SSL_CTX_set_client_hello_cb, which runs before
//     session resumption and ALPN are decided) reads the SNI, picks the most specific TlsConfig
//     (exact hostname, then the longest matching "*." wildcard, then the "" default; see
//     HostIndex) and moves the SSL onto that config's SSL_CTX with SSL_set_SSL_CTX. With no match
//     and no default the handshake fails with an unrecognized_name alert (RFC 6066 section 3).
//   - TLS 1.2 and 1.3 only; Mozilla "intermediate" cipher suites and groups; renegotiation off.
//   - Session resumption by stateless tickets (TLS 1.2 RFC 5077 and TLS 1.3 PSK); no server-side
//     session cache (it would be a lock shared by all workers). The session id context is derived
//     from the TlsConfig (hostname + client validation), so a session is only resumed under the
//     config it was established with. Tickets survive snapshot changes when the ports share one
//     TicketKeys object (ServerOptions::ticket_keys); otherwise each set has its own random key.
//   - ALPN: the server's list (ServerOptions::alpn, default h2 then http/1.1) in server preference
//     order; no overlap means no ALPN (the HTTP layer then speaks HTTP/1.1), as nginx does, rather
//     than the no_application_protocol alert RFC 7301 section 3.2 permits.
//   - Frontend client-certificate validation per TlsConfig (ir::FrontendValidation, Gateway API
//     spec.tls.frontend): the CA bundle is the trust store and the CertificateRequest's CA list;
//     AllowValidOnly requires a certificate that verifies; AllowInsecureFallback requests one
//     but completes the handshake whatever the client sends (clientCertStatus tells which).
//
// Threads and lifetime
//   - build() runs on the control thread (it parses PEM and is not for the request path).
//   - The set is immutable once built and shared (shared_ptr<const>) by all workers; newSsl() and
//     the static accessors may be called from any worker concurrently (SSL_CTX is thread-safe for
//     SSL_new; nothing here mutates shared state).
//   - An SSL created by newSsl() keeps everything it needs alive by itself (the SSL_CTXs are
//     reference counted and carry their own data): dropping the set on the next snapshot does not
//     affect connections that are still open or even mid-handshake. Certificate rotation is
//     simply a new snapshot -> a new set for new connections.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ir/ir.h"

namespace gantry::dataplane::tls {

// Session-ticket encryption keys, shared by every ServerContextSet that gets the same object, so
// that tickets issued under one snapshot are still accepted under the next. Immutable: rotation
// makes a new object (rotated()) that issues with a fresh key and still accepts the previous
// ones. Tickets are encrypted with AES-256-CBC + HMAC-SHA256 through OpenSSL's
// SSL_CTX_set_tlsext_ticket_key_evp_cb (the scheme OpenSSL uses for its own default keys).
class TicketKeys {
 public:
  static constexpr size_t kKeep = 3;  // current key + 2 previous ones accepted for decryption
  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
  };
  // New random key ring (RAND_bytes); nullptr if the RNG fails.
  static std::shared_ptr<const TicketKeys> generate();
  // A ring with a fresh current key, keeping up to kKeep - 1 previous keys.
  std::shared_ptr<const TicketKeys> rotated() const;

  const Key& current() const { return keys_.front(); }
  const Key* find(const unsigned char name[16]) const;

 private:
  std::vector<Key> keys_;  // front = current
};

struct ServerOptions {
  // ALPN protocols offered by this port, in server preference order (RFC 7301 section 3.2).
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  uint32_t session_timeout_s = 7200;  // ticket lifetime hint and resumption limit
  // Optional ticket keys shared across snapshots (see TicketKeys); null = a random key per set.
  std::shared_ptr<const TicketKeys> ticket_keys;
};

// Outcome of frontend client-certificate validation for one connection.
enum class ClientCertStatus : uint8_t {
  kNotRequested,   // the selected TlsConfig has no client validation
  kNotPresented,   // requested, the client sent none (AllowInsecureFallback only)
  kVerified,       // the client certificate chains to one of the configured CAs
  kFailedAllowed,  // sent but failed to verify; accepted by AllowInsecureFallback
};
const char* toString(ClientCertStatus s);

// Hostname -> TlsConfig index, Gateway API listener hostname semantics: "*.example.com" matches
// any name ending in ".example.com" (one or more labels; not example.com itself). Precedence:
// exact, then the longest wildcard, then the "" default. Case-insensitive. Immutable.
class HostIndex {
 public:
  HostIndex() = default;
  // `hostnames[i]` is the i-th config's hostname. The first of duplicates wins.
  explicit HostIndex(const std::vector<std::string>& hostnames);
  // Index of the config serving `host` (no port, no trailing dot), or -1.
  int select(std::string_view host) const;

 private:
  std::vector<std::pair<std::string, int>> exact_;     // sorted by name
  std::vector<std::pair<std::string, int>> suffixes_;  // ".example.com" for "*.example.com"
  int default_ = -1;
};

// What the handshake chose for one connection (read after the handshake).
struct Selection {
  int index = -1;             // into the set's configs; -1 if none (handshake failed before)
  std::string_view hostname;  // the TlsConfig::hostname pattern that was selected
};

class ServerContextSet {
 public:
  // Builds the set (control thread). A TlsConfig whose certificates cannot be used (bad PEM, key
  // not matching, two certificates of one key type) is reported in *warnings and left out --
  // one bad Secret must not take the whole port down; its hostname then falls to the next less
  // specific config. Fails if no config is usable or OpenSSL cannot set up a context.
  static StatusOr<std::shared_ptr<const ServerContextSet>> build(
      const std::vector<ir::TlsConfig>& configs, const ServerOptions& options,
      std::vector<std::string>* warnings = nullptr);

  ~ServerContextSet();
  ServerContextSet(const ServerContextSet&) = delete;
  ServerContextSet& operator=(const ServerContextSet&) = delete;

  // A new server-side SSL for one accepted connection (any worker thread). The caller owns it
  // (hand it to asio::ssl::stream's native-handle constructor, or SSL_free it). nullptr only on
  // allocation failure.
  SSL* newSsl() const;
  // The context newSsl() creates SSLs from (for callers that construct the SSL themselves).
  SSL_CTX* frontContext() const { return front_; }

  // Index of the config `host` selects (same rules as the SNI callback), or -1.
  int select(std::string_view host) const { return index_->select(host); }
  size_t size() const { return hostnames_.size(); }
  // Hostname pattern of config i (i < size()).
  const std::string& hostname(size_t i) const { return hostnames_[i]; }

  // --- Per connection, after the handshake (any thread; work from the SSL alone, whatever set
  // --- created it).
  static Selection selection(const SSL* ssl);
  // RFC 9110 section 15.5.20 / RFC 9113 section 9.1.1: true when a request for `host` (the
  // :authority or Host without port) arriving on this connection would select a different
  // TlsConfig than the connection's SNI did (different certificate or client validation), so the
  // HTTP layer must answer 421 Misdirected Request instead of routing it. A host that selects no
  // config at all is not misdirected (Gateway API: "If no other Listener matches the Host, the
  // Gateway MUST return a 404").
  static bool isMisdirected(const SSL* ssl, std::string_view host);
  static ClientCertStatus clientCertStatus(const SSL* ssl);

 private:
  ServerContextSet() = default;
  SSL_CTX* front_ = nullptr;  // one reference owned
  std::shared_ptr<const HostIndex> index_;
  std::vector<std::string> hostnames_;  // of the usable configs, in index order
};

// ALPN protocol the handshake selected ("" if none) and the SNI the client sent ("" if none);
// valid while the SSL lives. Usable on client and server SSLs.
std::string_view selectedAlpn(const SSL* ssl);
std::string_view sentSni(const SSL* ssl);

// Encodes protocol names in ALPN wire format (length-prefixed). Fails on an empty or >255-byte
// name.
StatusOr<std::string> encodeAlpn(const std::vector<std::string>& protocols);

// The last OpenSSL error queue entries as text (clears the queue), for Status messages.
std::string opensslErrors();

// Loads one certificate (PEM chain, leaf first, + unencrypted PEM key) into ctx: server
// certificates, and the client certificate of a ClientContext. Fails when the key does not match,
// or when a certificate of the same key type is in `loaded_types`. Returns the key type
// (EVP_PKEY_RSA, EVP_PKEY_EC, ...).
StatusOr<int> loadCertificate(SSL_CTX* ctx, const ir::Certificate& cert,
                              const std::vector<int>& loaded_types);

}  // namespace gantry::dataplane::tls
