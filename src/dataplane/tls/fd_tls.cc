#include "dataplane/tls/fd_tls.h"

#include <openssl/err.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace gantry::dataplane::tls {

namespace {

// Maps an SSL_read_ex/SSL_write_ex/SSL_do_handshake failure to what the caller should do.
IoResult classify(SSL* ssl, int ret) {
  IoResult r;
  switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
      r.want = IoWant::kRead;
      break;
    case SSL_ERROR_WANT_WRITE:
      r.want = IoWant::kWrite;
      break;
    case SSL_ERROR_ZERO_RETURN:  // close_notify received
      r.closed = true;
      break;
    case SSL_ERROR_SSL:
      // OpenSSL 3 reports a TCP EOF without close_notify as SSL_R_UNEXPECTED_EOF_WHILE_READING;
      // HTTP clients do that all the time, so it is a close, not an error.
      if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        r.closed = true;
      } else {
        r.error = true;
      }
      break;
    default:  // SSL_ERROR_SYSCALL and the rest
      r.error = true;
      break;
  }
  // The error queue is per thread and shared by every connection of the worker: leave it empty.
  ERR_clear_error();
  return r;
}

}  // namespace

bool attachFd(SSL* ssl, asio::ip::tcp::socket& socket) {
  asio::error_code ec;
  // An accepted connection is usually non-blocking already: no second ioctl(FIONBIO).
  if (!socket.non_blocking()) socket.non_blocking(true, ec);
  if (ec) return false;
  if (SSL_set_fd(ssl, static_cast<int>(socket.native_handle())) != 1) {
    ERR_clear_error();
    return false;
  }
  // The role was fixed by the method of the context the SSL came from (TLS_server_method for
  // ServerContextSet, TLS_client_method for ClientContext); SSL_do_handshake needs it set.
  if (SSL_is_server(ssl) == 1) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
  }
  // Partial writes report progress as soon as one record went out; the retried buffer may be
  // at a different address (the caller's buffers move).
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_RELEASE_BUFFERS);
  return true;
}

IoResult tryRead(SSL* ssl, char* data, size_t size) {
  size_t n = 0;
  int ret = SSL_read_ex(ssl, data, size, &n);
  if (ret == 1) {
    IoResult r;
    r.n = n;
    return r;
  }
  return classify(ssl, ret);
}

IoResult tryWrite(SSL* ssl, const char* data, size_t size) {
  size_t n = 0;
  int ret = SSL_write_ex(ssl, data, size, &n);
  if (ret == 1) {
    IoResult r;
    r.n = n;
    return r;
  }
  return classify(ssl, ret);
}

asio::awaitable<asio::error_code> handshakeFd(SSL* ssl, asio::ip::tcp::socket& socket) {
  for (;;) {
    int ret = SSL_do_handshake(ssl);
    if (ret == 1) co_return asio::error_code();
    IoResult r = classify(ssl, ret);
    if (r.want == IoWant::kNone) co_return asio::error::connection_aborted;
    auto [ec] =
        co_await socket.async_wait(r.want == IoWant::kRead ? asio::ip::tcp::socket::wait_read
                                                           : asio::ip::tcp::socket::wait_write,
                                   asio::experimental::as_tuple(asio::use_awaitable));
    if (ec) co_return ec;
  }
}

void shutdownFd(SSL* ssl) {
  if (SSL_is_init_finished(ssl) == 1) SSL_shutdown(ssl);
  ERR_clear_error();
}

}  // namespace gantry::dataplane::tls
