// Read readiness known to the proxy, handed to Asio's reactor (Asio 1.22, epoll).
//
// Asio starts every socket read operation with a speculative recv() unless its reactor has seen
// the descriptor drained, and it only counts a read returning EOF as "drained"
// (reactive_socket_recv_op::do_perform -> done_and_exhausted). So after any successful read, the
// next async_read_some costs a recv() that returns EAGAIN whenever nothing has arrived yet: on
// every proxied request, for the upstream response (read right after the request was written)
// and often for the next request of a keep-alive client; and every async_wait costs an
// epoll_ctl(EPOLL_CTL_MOD) (bench/README.md "Where the time goes"). nginx keeps a `ready` flag
// per connection, cleared by a short read or EAGAIN, and pays neither.
//
// The reactor's flag (descriptor_state::try_speculative_[read_op]) can hold exactly that: false
// means "nothing to read, and no edge since"; Asio sets it back to true on every epoll event for
// the socket (epoll_reactor::descriptor_state::perform_io) and performs the queued read then.
// These helpers clear it when the caller has proof, and use it to wait without a system call.
// Marking a socket that still has unread bytes or a pending FIN would leave a read waiting for an
// edge that never comes, hence the proofs: a read returned EAGAIN; a read returned fewer bytes
// than asked and the socket's last epoll event did not report the peer's FIN (EPOLLRDHUP,
// registered by watchPeerClose); or the request was just written and the peer cannot have
// answered it yet.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/version.hpp>
#include <memory>
#include <utility>

#if ASIO_VERSION == 102201 && defined(ASIO_HAS_EPOLL) && !defined(ASIO_HAS_IO_URING_AS_DEFAULT)
#define GANTRY_READINESS_HINT 1
#include <asio/detail/reactive_wait_op.hpp>
#endif

namespace gantry::dataplane::io {

// All of these are for plain TCP sockets (a TLS socket's readiness is OpenSSL's business) run by
// one thread (ASIO_CONCURRENCY_HINT_UNSAFE_IO: no descriptor lock). On Asio versions other than
// the one this was checked against (1.22.1, epoll) they do nothing and waits are async_wait: the
// speculative reads and epoll_ctl calls come back, nothing else changes.

// Nothing is readable on `s` now (a read just returned EAGAIN, or nothing can have arrived).
void markReadDrained(asio::ip::tcp::socket& s);

// Adds EPOLLRDHUP to the socket's registration; it takes effect with the next epoll_ctl Asio
// makes for it (the first idle wait of a connection). Without it noteRead never marks.
void watchPeerClose(asio::ip::tcp::socket& s);

// A read returned `got` > 0 bytes of `asked`: a short read drained the socket unless a FIN is
// pending behind the bytes (the last epoll event reported EPOLLRDHUP).
void noteRead(asio::ip::tcp::socket& s, size_t got, size_t asked);

// True when the reactor's flag says drained with no epoll event since.
bool readDrained(asio::ip::tcp::socket& s);

namespace detail {
#ifdef GANTRY_READINESS_HINT
void startReadWait(asio::ip::tcp::socket& s, asio::detail::reactor_op* op);
#endif
}  // namespace detail

// s.async_wait(wait_read, handler) without the epoll_ctl when the socket is known drained: the
// wait is queued on the existing edge-triggered registration (Asio would re-arm it with
// EPOLL_CTL_MOD because it cannot know). Cancellation and close behave as for async_wait.
template <class Handler>
void asyncWaitReadable(asio::ip::tcp::socket& s, Handler handler) {
#ifdef GANTRY_READINESS_HINT
  if (readDrained(s)) {
    using Op = asio::detail::reactive_wait_op<Handler, asio::any_io_executor>;
    typename Op::ptr p = {std::addressof(handler), Op::ptr::allocate(handler), nullptr};
    p.p = new (p.v) Op(asio::error_code(), handler, s.get_executor());
    detail::startReadWait(s, p.p);
    p.v = p.p = nullptr;
    return;
  }
#endif
  s.async_wait(asio::ip::tcp::socket::wait_read, std::move(handler));
}

}  // namespace gantry::dataplane::io
