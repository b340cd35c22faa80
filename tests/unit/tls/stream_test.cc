// asio::ssl::stream with C++20 coroutines over real loopback TCP: a server using ServerContextSet
// and a client using ClientContext, as the data plane will run them (one io_context, one thread).
#include "dataplane/tls/stream.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <functional>

#include "unit/tls/test_pki.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#if defined(__GNUC__) && !defined(__clang__)
// g++ 12 at -O1 and above reports asio's awaitable frame operator delete as mismatched with its
// operator new (a false positive on coroutine frames; both are asio's own pair).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace gantry::dataplane::tls {
namespace {

using asio::ip::tcp;
using testing::TestCa;

struct StreamPki {
  TestCa ca{"stream CA"};
  TestCa client_ca{"stream client CA"};
  ir::Certificate a, dflt, mtls, client;
  StreamPki() {
    a = ca.issue("a", {.dns = {"a.example.com"}});
    dflt = ca.issue("default", {.dns = {"default.example.com"}});
    mtls = ca.issue("mtls", {.dns = {"mtls.example.com"}});
    client = client_ca.issue("alice", {.client = true});
  }
};

const StreamPki& pki() {
  static const StreamPki* p = new StreamPki();
  return *p;
}

std::shared_ptr<const ServerContextSet> serverSet(bool with_default = true) {
  const StreamPki& p = pki();
  std::vector<ir::TlsConfig> cfgs = {
      {"a.example.com", {p.a}, std::nullopt},
      {"mtls.example.com", {p.mtls}, ir::FrontendValidation{{p.client_ca.pem()}, false}},
  };
  if (with_default) cfgs.push_back({"", {p.dflt}, std::nullopt});
  auto s = ServerContextSet::build(cfgs, {});
  EXPECT_TRUE(s.isOk()) << s.status().message();
  return *s;
}

struct ServerSeen {
  asio::error_code handshake_ec;
  std::string alpn, sni, selected, version, received;
  ClientCertStatus client_cert = ClientCertStatus::kNotRequested;
  bool resumed = false;
};

struct ClientSeen {
  asio::error_code handshake_ec;
  asio::error_code io_ec;
  std::string alpn, received;
  bool resumed = false;
  SSL_SESSION* session = nullptr;  // owned by the test
};

asio::awaitable<void> serveOne(tcp::acceptor& acceptor, const ServerContextSet& set,
                               ServerSeen* seen) {
  asio::error_code ec;
  tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  std::optional<TlsStream> tls = makeServerStream(std::move(sock), set);
  if (!tls) co_return;
  seen->handshake_ec = co_await handshake(*tls, asio::ssl::stream_base::server);
  if (seen->handshake_ec) co_return;
  HandshakeInfo hi = describe(tls->native_handle());
  seen->alpn = std::string(hi.alpn);
  seen->sni = std::string(hi.sni);
  seen->selected = std::string(hi.selection.hostname);
  seen->version = std::string(hi.version);
  seen->client_cert = hi.client_cert;
  seen->resumed = hi.resumed;
  char buf[4];
  co_await asio::async_read(*tls, asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  seen->received.assign(buf, sizeof buf);
  co_await asio::async_write(*tls, asio::buffer("pong", 4),
                             asio::redirect_error(asio::use_awaitable, ec));
  co_await tls->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> dialOne(tcp::endpoint ep, const ClientContext& ctx, ClientSeen* seen,
                              SSL_SESSION* resume, const ir::Certificate* client_cert) {
  asio::error_code ec;
  tcp::socket sock(co_await asio::this_coro::executor);
  co_await sock.async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    seen->handshake_ec = ec;
    co_return;
  }
  std::optional<TlsStream> tls = makeClientStream(std::move(sock), ctx);
  if (!tls) co_return;
  if (resume != nullptr) SSL_set_session(tls->native_handle(), resume);
  if (client_cert != nullptr) testing::useClientCert(tls->native_handle(), *client_cert);
  seen->handshake_ec = co_await handshake(*tls, asio::ssl::stream_base::client);
  if (seen->handshake_ec) co_return;
  HandshakeInfo hi = describe(tls->native_handle());
  seen->alpn = std::string(hi.alpn);
  seen->resumed = hi.resumed;
  co_await asio::async_write(*tls, asio::buffer("ping", 4),
                             asio::redirect_error(asio::use_awaitable, seen->io_ec));
  if (seen->io_ec) co_return;
  char buf[4];
  co_await asio::async_read(*tls, asio::buffer(buf),
                            asio::redirect_error(asio::use_awaitable, seen->io_ec));
  if (seen->io_ec) co_return;
  seen->received.assign(buf, sizeof buf);
  // TLS 1.3 tickets arrived with the data above; the session is now resumable.
  seen->session = SSL_get1_session(tls->native_handle());
  co_await tls->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
}

struct Exchange {
  ServerSeen server;
  ClientSeen client;
};

Exchange runOnce(const ServerContextSet& set, const ClientContext& ctx,
                 SSL_SESSION* resume = nullptr, const ir::Certificate* client_cert = nullptr) {
  Exchange r;
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::co_spawn(io, serveOne(acceptor, set, &r.server), asio::detached);
  asio::co_spawn(io, dialOne(acceptor.local_endpoint(), ctx, &r.client, resume, client_cert),
                 asio::detached);
  io.run_for(std::chrono::seconds(10));
  return r;
}

std::shared_ptr<const ClientContext> clientFor(const std::string& sni,
                                               std::vector<std::string> alpn = {"h2", "http/1.1"}) {
  auto c = ClientContext::build({.sni = sni, .ca_pems = {pki().ca.pem()}}, {.alpn = alpn});
  EXPECT_TRUE(c.isOk()) << c.status().message();
  return *c;
}

TEST(TlsStreamTest, HandshakeOverLoopbackThenResumption) {
  auto set = serverSet();
  auto client = clientFor("a.example.com");
  Exchange first = runOnce(*set, *client);
  ASSERT_FALSE(first.server.handshake_ec) << first.server.handshake_ec.message();
  ASSERT_FALSE(first.client.handshake_ec) << first.client.handshake_ec.message();
  EXPECT_EQ(first.server.selected, "a.example.com");
  EXPECT_EQ(first.server.sni, "a.example.com");
  EXPECT_EQ(first.server.alpn, "h2");
  EXPECT_EQ(first.client.alpn, "h2");
  EXPECT_EQ(first.server.version, "TLSv1.3");
  EXPECT_EQ(first.server.client_cert, ClientCertStatus::kNotRequested);
  EXPECT_FALSE(first.server.resumed);
  EXPECT_EQ(first.server.received, "ping");
  EXPECT_EQ(first.client.received, "pong");
  ASSERT_NE(first.client.session, nullptr);

  Exchange second = runOnce(*set, *client, first.client.session);
  ASSERT_FALSE(second.client.handshake_ec) << second.client.handshake_ec.message();
  EXPECT_TRUE(second.server.resumed);
  EXPECT_TRUE(second.client.resumed);
  EXPECT_EQ(second.server.selected, "a.example.com");
  EXPECT_EQ(second.client.received, "pong");
  SSL_SESSION_free(first.client.session);
  SSL_SESSION_free(second.client.session);
}

TEST(TlsStreamTest, Http11OnlyClientAndDefaultCertificate) {
  auto set = serverSet();
  Exchange r = runOnce(*set, *clientFor("default.example.com", {"http/1.1"}));
  ASSERT_FALSE(r.client.handshake_ec) << r.client.handshake_ec.message();
  EXPECT_EQ(r.server.selected, "");  // the default config served it
  EXPECT_EQ(r.server.alpn, "http/1.1");
  EXPECT_EQ(r.client.received, "pong");
  SSL_SESSION_free(r.client.session);
}

TEST(TlsStreamTest, ClientCertificateVerification) {
  auto set = serverSet();
  auto client = clientFor("mtls.example.com");
  Exchange ok = runOnce(*set, *client, nullptr, &pki().client);
  ASSERT_FALSE(ok.server.handshake_ec) << ok.server.handshake_ec.message();
  EXPECT_EQ(ok.server.client_cert, ClientCertStatus::kVerified);
  EXPECT_EQ(ok.client.received, "pong");
  SSL_SESSION_free(ok.client.session);

  Exchange none = runOnce(*set, *client);
  EXPECT_TRUE(none.server.handshake_ec);  // certificate required
  // TLS 1.3: the client finishes its side first and learns of the refusal on its next read.
  EXPECT_TRUE(none.client.handshake_ec || none.client.io_ec);
  EXPECT_EQ(none.client.received, "");
  EXPECT_EQ(none.server.received, "");
}

TEST(TlsStreamTest, UnknownSniWithoutDefaultIsRefused) {
  auto set = serverSet(/*with_default=*/false);
  Exchange r = runOnce(*set, *clientFor("nobody.example.net"));
  EXPECT_TRUE(r.server.handshake_ec);
  EXPECT_TRUE(r.client.handshake_ec);
}

TEST(TlsStreamTest, BackendCertificateForAnotherNameIsRejected) {
  auto set = serverSet();
  // The server answers "b.example.com" with its default certificate (default.example.com), which
  // the client must refuse.
  Exchange r = runOnce(*set, *clientFor("b.example.com"));
  EXPECT_TRUE(r.client.handshake_ec);
  EXPECT_EQ(r.server.received, "");
}

TEST(TlsStreamTest, PassthroughPeeksTheClientHelloOverTcp) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  PeekResult result;
  ClientHelloInfo info;
  size_t filled = 0;
  asio::error_code read_ec;
  std::vector<uint8_t> buf(16 * 1024);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
        result = co_await readClientHello(s, buf.data(), buf.size(), &filled, &info, &read_ec);
        s.close();  // a real passthrough would now connect to the backend chosen by SNI
      },
      asio::detached);
  ClientSeen seen;
  auto client = clientFor("passthrough.example.com", {"h2"});
  asio::co_spawn(io, dialOne(acceptor.local_endpoint(), *client, &seen, nullptr, nullptr),
                 asio::detached);
  io.run_for(std::chrono::seconds(10));
  ASSERT_EQ(result.status, PeekStatus::kOk) << result.reason << " " << read_ec.message();
  EXPECT_EQ(info.sni(), "passthrough.example.com");
  ASSERT_EQ(info.alpnCount(), 1u);
  EXPECT_EQ(info.alpn(0), "h2");
  EXPECT_EQ(info.wire_bytes, filled);
  EXPECT_TRUE(seen.handshake_ec);  // nobody answered the ClientHello
}

TEST(TlsStreamTest, PassthroughPeekSeesPlaintext) {
  asio::io_context io(1);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  PeekResult result;
  ClientHelloInfo info;
  size_t filled = 0;
  asio::error_code ec;
  uint8_t buf[512];
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
        result = co_await readClientHello(s, buf, sizeof buf, &filled, &info, &ec);
      },
      asio::detached);
  tcp::socket c(io);
  c.connect(acceptor.local_endpoint());
  asio::write(c, asio::buffer(std::string("GET / HTTP/1.1\r\n\r\n")));
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(result.status, PeekStatus::kNotTls);
  EXPECT_GT(filled, 0u);
}

}  // namespace
}  // namespace gantry::dataplane::tls
