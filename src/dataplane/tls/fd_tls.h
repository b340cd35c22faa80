// Readiness-style TLS for the data plane's connection loop, which reads with a non-blocking
// "try" and only then waits with socket.async_wait (src/dataplane/proxy.cc: tryRead/readSlow,
// trySend/sendSlow). Here OpenSSL itself does the recv/send on the non-blocking socket (its
// socket BIO, SSL_set_fd): no BIO pair, no extra copy, and nothing TLS-related written by hand.
// asio::ssl::stream (tls/stream.h) is the alternative for code written against async_read_some.
//
// Usage, on the connection's worker thread:
//   SSL* ssl = set.newSsl();  attachFd(ssl, socket);          // socket stays owned by the caller
//   if (co_await handshakeFd(ssl, socket)) -> close
//   for (;;) {
//     IoResult r = tryRead(ssl, buf, n);
//     if (r.n > 0) { consume; continue; }            // call again: OpenSSL may hold more bytes
//     if (r.want == IoWant::kRead)  co_await socket.async_wait(wait_read, ...);
//     else if (r.want == IoWant::kWrite) co_await socket.async_wait(wait_write, ...);
//     else break;                                     // r.closed or r.error
//   }
//   tryWrite works the same way; a write that returned kWrite/kRead must be retried with the
//   same bytes (the buffer may move: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER is set).
//   Before close: shutdownFd(ssl) (sends close_notify, does not wait for the peer's).
// Wait only when `want` says so: after a read that returned data, decrypted bytes may already be
// buffered inside OpenSSL while the socket is not readable. Server SSLs read ahead (whole socket
// contents, several records, even right after the handshake): before waiting for the next
// message of an idle connection, check SSL_has_pending (not SSL_pending, which only counts
// decrypted bytes).
// The SSL must be freed before the socket is closed (it holds the fd number, not a dup).
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>

namespace gantry::dataplane::tls {

enum class IoWant : uint8_t { kNone, kRead, kWrite };

struct IoResult {
  size_t n = 0;                 // bytes read / written (> 0 means progress)
  IoWant want = IoWant::kNone;  // no progress: wait for this readiness, then retry
  bool closed = false;          // peer closed (close_notify or TCP EOF without it)
  bool error = false;           // fatal TLS or socket error; the connection is unusable
};

// Binds ssl to the socket's file descriptor and makes the socket non-blocking. False on failure.
bool attachFd(SSL* ssl, asio::ip::tcp::socket& socket);

IoResult tryRead(SSL* ssl, char* data, size_t size);
IoResult tryWrite(SSL* ssl, const char* data, size_t size);

// Drives SSL_do_handshake, waiting on the socket as OpenSSL asks. The role comes from the SSL
// (server SSLs from ServerContextSet, client ones from ClientContext). Returns an empty
// error_code on success; asio::error::connection_aborted (or the wait's error, e.g.
// operation_aborted when the timeout sweep cancels the socket) otherwise.
asio::awaitable<asio::error_code> handshakeFd(SSL* ssl, asio::ip::tcp::socket& socket);

// Sends close_notify once (best effort, non-blocking); does not wait for the peer's.
void shutdownFd(SSL* ssl);

}  // namespace gantry::dataplane::tls
