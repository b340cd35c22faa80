// Readiness-style TLS (fd_tls.h) over loopback TCP: an echo server written like the data plane's
// connection loop (try, then async_wait), against asio::ssl::stream and against itself.
#include "dataplane/tls/fd_tls.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "dataplane/tls/stream.h"
#include "unit/tls/test_pki.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // see stream_test.cc
#endif

namespace gantry::dataplane::tls {
namespace {

using asio::ip::tcp;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

struct FdPki {
  testing::TestCa ca{"fd CA"};
  ir::Certificate cert;
  FdPki() { cert = ca.issue("echo", {.dns = {"echo.example.com"}}); }
};
const FdPki& pki() {
  static const FdPki* p = new FdPki();
  return *p;
}

struct EchoSeen {
  asio::error_code handshake_ec;
  std::string alpn, selected;
  size_t bytes = 0;
  bool closed = false;
  bool error = false;
  size_t write_waits = 0;  // times a write had to wait for the socket
};

asio::awaitable<bool> waitFor(tcp::socket& s, IoWant w) {
  auto [ec] = co_await s.async_wait(
      w == IoWant::kRead ? tcp::socket::wait_read : tcp::socket::wait_write, kNoThrow);
  co_return !ec;
}

asio::awaitable<void> echoServer(tcp::acceptor& acceptor, const ServerContextSet& set,
                                 EchoSeen* seen) {
  tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
  // A small send buffer so that writes really hit "would block" (SSL_ERROR_WANT_WRITE).
  s.set_option(asio::socket_base::send_buffer_size(4096));
  SSL* ssl = set.newSsl();
  EXPECT_TRUE(attachFd(ssl, s));
  seen->handshake_ec = co_await handshakeFd(ssl, s);
  if (!seen->handshake_ec) {
    seen->alpn = std::string(selectedAlpn(ssl));
    seen->selected = std::string(ServerContextSet::selection(ssl).hostname);
    std::vector<char> buf(16 * 1024);
    for (;;) {
      IoResult r = tryRead(ssl, buf.data(), buf.size());
      if (r.n > 0) {
        seen->bytes += r.n;
        size_t off = 0;
        while (off < r.n && !seen->error) {
          IoResult w = tryWrite(ssl, buf.data() + off, r.n - off);
          if (w.n > 0) {
            off += w.n;
          } else if (w.want == IoWant::kNone || !co_await waitFor(s, w.want)) {
            seen->error = true;
          } else {
            ++seen->write_waits;
          }
        }
        if (seen->error) break;
        continue;
      }
      if (r.want != IoWant::kNone) {
        if (!co_await waitFor(s, r.want)) break;
        continue;
      }
      seen->closed = r.closed;
      seen->error = r.error;
      break;
    }
    shutdownFd(ssl);
  }
  SSL_free(ssl);  // before the socket closes: the SSL holds its fd number
}

std::shared_ptr<const ServerContextSet> echoSet() {
  auto s = ServerContextSet::build({{"", {pki().cert}, std::nullopt}}, {});
  EXPECT_TRUE(s.isOk()) << s.status().message();
  return *s;
}

std::shared_ptr<const ClientContext> echoClient() {
  auto c = ClientContext::build({.sni = "echo.example.com", .ca_pems = {pki().ca.pem()}},
                                {.alpn = {"h2"}});
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return *c;
}

TEST(FdTlsTest, EchoesAMegabyteToAnAsioSslClient) {
  auto set = echoSet();
  auto client = echoClient();
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  EchoSeen seen;
  asio::co_spawn(io, echoServer(acceptor, *set, &seen), asio::detached);

  std::string payload(1 << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 + (i >> 9));
  std::string echoed(payload.size(), '\0');
  asio::error_code client_hs, client_read;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket sock(io);
        co_await sock.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
        auto tls = makeClientStream(std::move(sock), *client);
        client_hs = co_await handshake(*tls, asio::ssl::stream_base::client);
        if (client_hs) co_return;
        // Write and read at once (one outstanding operation each way is allowed), or the echo
        // would fill both socket buffers and stall.
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
              asio::error_code ec;
              co_await asio::async_write(*tls, asio::buffer(payload),
                                         asio::redirect_error(asio::use_awaitable, ec));
            },
            asio::detached);
        co_await asio::async_read(*tls, asio::buffer(echoed),
                                  asio::redirect_error(asio::use_awaitable, client_read));
        asio::error_code ec;
        co_await tls->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
      },
      asio::detached);
  io.run_for(std::chrono::seconds(20));
  ASSERT_FALSE(client_hs) << client_hs.message();
  ASSERT_FALSE(seen.handshake_ec) << seen.handshake_ec.message();
  EXPECT_EQ(seen.alpn, "h2");
  EXPECT_EQ(seen.selected, "");
  EXPECT_FALSE(client_read) << client_read.message();
  EXPECT_EQ(seen.bytes, payload.size());
  EXPECT_TRUE(echoed == payload);
  EXPECT_GT(seen.write_waits, 0u);
  EXPECT_TRUE(seen.closed);  // close_notify from the client
  EXPECT_FALSE(seen.error);
}

TEST(FdTlsTest, FdClientAndTcpEofWithoutCloseNotifyIsAClose) {
  auto set = echoSet();
  auto client = echoClient();
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  EchoSeen seen;
  asio::co_spawn(io, echoServer(acceptor, *set, &seen), asio::detached);
  asio::error_code client_hs;
  std::string got;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket sock(io);
        co_await sock.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
        SSL* ssl = client->newSsl();
        EXPECT_TRUE(attachFd(ssl, sock));
        client_hs = co_await handshakeFd(ssl, sock);
        if (!client_hs) {
          for (IoResult w = tryWrite(ssl, "hello", 5); w.n != 5; w = tryWrite(ssl, "hello", 5)) {
            if (w.want == IoWant::kNone || !co_await waitFor(sock, w.want)) break;
          }
          char buf[16];
          while (got.size() < 5) {
            IoResult r = tryRead(ssl, buf, sizeof buf);
            if (r.n > 0) {
              got.append(buf, r.n);
            } else if (r.want == IoWant::kNone || !co_await waitFor(sock, r.want)) {
              break;
            }
          }
        }
        SSL_free(ssl);  // no close_notify: the TCP connection just ends
        sock.close();
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  ASSERT_FALSE(client_hs) << client_hs.message();
  EXPECT_EQ(got, "hello");
  EXPECT_EQ(seen.alpn, "h2");
  EXPECT_TRUE(seen.closed);
  EXPECT_FALSE(seen.error);
}

TEST(FdTlsTest, HandshakeFailureIsReported) {
  auto set = echoSet();
  // Client expecting another name: it aborts the handshake; both sides report it.
  auto c = ClientContext::build({.sni = "wrong.example.com", .ca_pems = {pki().ca.pem()}}, {});
  ASSERT_TRUE(c.isOk());
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  EchoSeen seen;
  asio::co_spawn(io, echoServer(acceptor, *set, &seen), asio::detached);
  asio::error_code client_hs;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket sock(io);
        co_await sock.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
        SSL* ssl = (*c)->newSsl();
        attachFd(ssl, sock);
        client_hs = co_await handshakeFd(ssl, sock);
        EXPECT_EQ(SSL_get_verify_result(ssl), X509_V_ERR_HOSTNAME_MISMATCH);
        SSL_free(ssl);
      },
      asio::detached);
  io.run_for(std::chrono::seconds(10));
  EXPECT_TRUE(client_hs);
  EXPECT_TRUE(seen.handshake_ec);
}

}  // namespace
}  // namespace gantry::dataplane::tls
