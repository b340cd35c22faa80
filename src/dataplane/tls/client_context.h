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
// Session resumption to backends is not implemented yet (each connection does a full handshake;
// pooled connections amortise it).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "ir/ir.h"

namespace gantry::dataplane::tls {

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
  SSL* newSsl() const;
  SSL_CTX* context() const { return ctx_; }
  const std::string& sni() const { return sni_; }

 private:
  ClientContext() = default;
  SSL_CTX* ctx_ = nullptr;  // one reference owned
  std::string sni_;
  bool check_sans_ = false;  // identity checked against subject_alt_names in the verify callback
};

}  // namespace gantry::dataplane::tls
