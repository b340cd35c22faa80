// Client-side TLS to backends (BackendTLSPolicy, ir::BackendTls), on OpenSSL 3.
//
// One ClientContext per ir::Backend with `tls` set, built when the snapshot is applied (control
// thread), immutable, shared by all workers. Per upstream connection a worker calls newSsl() and
// hands the SSL to asio::ssl::stream (tls/stream.h).
//
// Verification (Gateway API BackendTLSPolicy, validation):
//   - trust anchors: the CA PEMs (caCertificateRefs) and/or the system store
//     (wellKnownCACertificates: System -> SSL_CTX_set_default_verify_paths, i.e. Debian's
//     /etc/ssl/certs); at least one is required;
//   - SNI: validation.hostname is always sent as server_name;
//   - identity: if subjectAltNames is empty, the certificate must be valid for validation.hostname
//     (X509_VERIFY_PARAM_set1_host, RFC 6125 rules, no partial wildcards); otherwise it must carry
//     at least one of the listed SANs -- a DNS name matched like a hostname, or, for entries
//     containing "://", a URI SAN compared exactly (e.g. SPIFFE IDs).
// TLS 1.2 and 1.3 only, OpenSSL default client cipher list (it has no weak suites in 3.x with
// Debian's security level 2). ALPN: ClientOptions::alpn ({"h2"} for appProtocol kubernetes.io/h2
// and kHttp2Tls; {"http/1.1"} otherwise); read the outcome with selectedAlpn().
//
// Session resumption to backends: optional, through a worker-local ClientSessionSlot (below), so
// that no lock is shared between workers: newSsl(&slot) offers the slot's last session and
// OpenSSL's new-session callback stores every session (ticket) the backend issues into it.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "ir/ir.h"

namespace gantry::dataplane::tls {

// The last resumable session for one backend on one worker. Not thread-safe: owned by the worker
// (e.g. next to its upstream pool for that backend) and used only on its thread. It must outlive
// the SSLs created with it (or call detach(ssl) first); sessions it holds stay valid after the
// ClientContext is replaced, and are simply not accepted by a backend that changed.
class ClientSessionSlot {
 public:
  ClientSessionSlot() = default;
  ~ClientSessionSlot() { clear(); }
  ClientSessionSlot(const ClientSessionSlot&) = delete;
  ClientSessionSlot& operator=(const ClientSessionSlot&) = delete;

  void clear() {
    if (session_ != nullptr) SSL_SESSION_free(session_);
    session_ = nullptr;
  }
  bool empty() const { return session_ == nullptr; }
  // Takes ownership of s (replacing the previous session).
  void store(SSL_SESSION* s) {
    clear();
    session_ = s;
  }
  SSL_SESSION* get() const { return session_; }
  // Stop `ssl` from storing into this slot (when the slot dies first).
  static void detach(SSL* ssl);

 private:
  SSL_SESSION* session_ = nullptr;
};

struct ClientOptions {
  std::vector<std::string> alpn;  // offered protocols in preference order; empty = no ALPN
};

class ClientContext {
 public:
  // Control thread. Fails on unusable CA PEMs, no trust anchor at all, or an empty SNI.
  static StatusOr<std::shared_ptr<const ClientContext>> build(const ir::BackendTls& tls,
                                                              const ClientOptions& options);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // A new client SSL (any worker thread) with SNI and identity verification configured. The
  // caller owns it. nullptr on allocation failure. The SSL keeps what it needs alive itself; the
  // ClientContext may be destroyed while connections using it are open.
  SSL* newSsl() const { return newSsl(nullptr); }
  // Same, resuming `slot`'s session if it has one and storing new sessions into it.
  SSL* newSsl(ClientSessionSlot* slot) const;
  SSL_CTX* context() const { return ctx_; }
  const std::string& sni() const { return sni_; }

 private:
  ClientContext() = default;
  SSL_CTX* ctx_ = nullptr;  // one reference owned
  std::string sni_;
  bool check_sans_ = false;  // identity checked against subject_alt_names in the verify callback
};

}  // namespace gantry::dataplane::tls
