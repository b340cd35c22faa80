// L4 connection handling (TLSRoute passthrough and terminate, TCPRoute): one coroutine per
// accepted connection on a TLS or TCP port. docs/l4.md describes the behaviour.
//
//   TLS Passthrough: read the ClientHello (tls/stream.h readClientHello: never decrypted), route
//     by its SNI (L4Table::route), connect to a weighted backend, forward the ClientHello bytes,
//     then splice both ways.
//   TLS Terminate: handshake with the port's certificates (tls/fd_tls.h + ServerContextSet),
//     route by the SNI the client sent, connect, splice plaintext <-> TLS.
//   TCP: connect to a weighted backend and splice.
//
// The splice copies one 16 KiB buffer per direction with backpressure (the next read waits for
// the previous write), propagates half-close (EOF on one side -> shutdown(SHUT_WR) / close_notify
// on the other) and ends when both directions are done or either fails. The connection is
// registered with the worker (ConnEntry): the ClientHello/handshake is bounded by the header
// timeout, the connect by the connect timeout, the splice by the idle timeout (no byte either
// way); on drain the connection lives until the drain deadline.
#pragma once

#include <asio/ip/tcp.hpp>
#include <memory>

#include "dataplane/worker.h"

namespace gantry::dataplane::l4 {

// Serves one accepted connection on an L4 port (returns at once). Worker thread only.
void serveConnection(Worker& worker, asio::ip::tcp::socket socket,
                     std::shared_ptr<const PortKey> port);

}  // namespace gantry::dataplane::l4
