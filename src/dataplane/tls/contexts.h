// The OpenSSL contexts of one snapshot: a ServerContextSet per HTTPS/TLS-terminate port and a
// ClientContext per backend with BackendTLSPolicy, built when the RouteTable is built (control
// thread) and kept in it, so that a new snapshot (e.g. a Secret with a rotated certificate) gives
// new connections the new contexts while open connections keep the ones their SSL was created from.
//
// Building a context parses PEM and keys, which is far slower than the rest of a publish; most
// publishes change routes, not certificates. So the last context built for each port (address,
// port) and for each backend name is remembered, and reused while its inputs are byte-for-byte
// identical. Reuse also keeps the upstream pool key (the backend's SSL_CTX) stable across
// unrelated snapshots, so pooled backend TLS connections survive route changes.
//
// Session tickets: every ServerContextSet shares one process-wide TicketKeys ring, so a ticket
// issued under one snapshot is still accepted under the next one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dataplane/tls/client_context.h"
#include "dataplane/tls/server_context.h"
#include "ir/ir.h"

namespace gantry::dataplane::tls {

// ALPN protocols HTTPS listeners offer, in server preference order: "h2" (served by
// http2::serveHttp2, RFC 9113 3.2) then "http/1.1".
const std::vector<std::string>& httpsAlpn();

// The contexts for an HTTPS or TLS-terminate port (nullptr with a warning when no certificate is
// usable: the port then refuses TLS connections, its listeners' status already says why).
std::shared_ptr<const ServerContextSet> serverContextsFor(const ir::Port& port,
                                                          std::vector<std::string>* warnings);

// The client context for a backend with `tls` set (nullptr with a warning when it cannot be
// built: requests to it then fail with 503 instead of going out in clear text).
std::shared_ptr<const ClientContext> clientContextFor(const ir::Backend& backend,
                                                      std::vector<std::string>* warnings);

}  // namespace gantry::dataplane::tls
