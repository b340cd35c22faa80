// Read readiness known to the proxy, handed to Asio's reactor (Asio 1.22, epoll).
//
// Asio starts every socket read operation with a speculative recv() unless its reactor has seen
// the descriptor drained, and it only counts a read returning EOF as "drained"
// (reactive_socket_recv_op::do_perform -> done_and_exhausted). So after any successful read, the
// next async_read_some costs a recv() that returns EAGAIN whenever nothing has arrived yet: on
// every proxied request, for the upstream response (read right after the request was written)
// and often for the next request of a keep-alive client (bench/README.md "Where the time goes").
// nginx clears its own `ready` flag on EAGAIN and pays neither.
//
// markReadDrained(s) tells the reactor what the caller has just proven: nothing is readable on
// `s` now (a read returned EAGAIN) or nothing can be (the request was just written and the peer
// cannot have answered it). The next async_read_some is then queued on the socket's existing
// edge-triggered registration without a recv() and without an epoll_ctl; bytes, EOF or an error
// arriving later raise a new edge, and Asio's reactor performs the queued read on it (and resets
// its flag, epoll_reactor::descriptor_state::perform_io). Marking a socket that still has unread
// bytes or a pending FIN would leave the read waiting for an edge that never comes, so callers
// mark only after such proof.
#pragma once

#include <asio/ip/tcp.hpp>

namespace gantry::dataplane::io {

// Plain TCP only (a TLS socket's readiness is OpenSSL's business). A no-op on a closed socket and
// on Asio versions other than the one this was checked against (1.22.1): they keep the
// speculative read, which is correct, only slower.
void markReadDrained(asio::ip::tcp::socket& s);

}  // namespace gantry::dataplane::io
