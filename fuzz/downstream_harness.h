// The shared half of the downstream connection fuzz targets (fuzz/http1_downstream,
// fuzz/http2_downstream): a worker with a route table that exercises every request outcome, an
// in-process HTTP/1.1 origin on the same io_context (so exchanges complete deterministically), and
// the loop that feeds one input to the REAL connection handler (dataplane::serveConnection, as for
// an accepted socket) over a socketpair.
//
// Routes: proxying to the origin (/trailers answers chunked with trailers, /big with 200 KiB so
// that flow control and backpressure run, anything else a small body), a direct status (/direct),
// an invalid backendRef (500, /invalid), a backend without endpoints (503, /empty), a redirect
// (/redirect), a regex path, a wildcard host, and no route (404).
#pragma once

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "dataplane/proxy.h"
#include "dataplane/router/route_table.h"
#include "dataplane/worker.h"

namespace gantry::fuzz {

using asio::ip::tcp;

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

// A minimal origin: answers every request head it sees, reading and discarding everything else
// (request bodies included, whatever their framing).
inline asio::awaitable<void> upstreamConn(tcp::socket s) {
  std::string pending;
  char buf[4096];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kNoThrow);
    if (ec) co_return;
    pending.append(buf, n);
    size_t pos;
    while ((pos = pending.find("\r\n\r\n")) != std::string::npos) {
      std::string head = pending.substr(0, pos);
      pending.erase(0, pos + 4);
      std::string resp;
      if (head.find(" /trailers") != std::string::npos) {
        resp =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-t\r\n\r\n"
            "5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n";
      } else if (head.find(" /big") != std::string::npos) {
        resp = "HTTP/1.1 200 OK\r\nContent-Length: 204800\r\n\r\n";
        resp.append(204800, 'b');
      } else {
        resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Up: 1\r\n\r\nhello";
      }
      auto [wec, w] = co_await asio::async_write(s, asio::buffer(resp), kNoThrow);
      if (wec) co_return;
    }
    if (pending.size() > 8192) pending.erase(0, pending.size() - 4);
  }
}

inline asio::awaitable<void> upstreamAccept(tcp::acceptor& a) {
  for (;;) {
    auto [ec, s] = co_await a.async_accept(kNoThrow);
    if (ec) co_return;
    asio::co_spawn(a.get_executor(), upstreamConn(std::move(s)), asio::detached);
  }
}

struct Env {
  Env() {
    spdlog::set_level(spdlog::level::off);
    dataplane::Options o;
    o.header_timeout_ms = 200;
    o.idle_timeout_ms = 200;
    o.upstream_connect_timeout_ms = 200;
    o.upstream_response_timeout_ms = 200;
    o.tick_ms = 10;
    o.max_request_header_bytes = 8192;
    o.max_request_headers = 32;
    worker = std::make_unique<dataplane::Worker>(0, o);
    upstream = std::make_unique<tcp::acceptor>(
        worker->io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::co_spawn(worker->io(), upstreamAccept(*upstream), asio::detached);

    auto s = std::make_shared<ir::Snapshot>();
    ir::Backend up;
    up.name = "up";
    up.endpoints.push_back({"127.0.0.1", upstream->local_endpoint().port(), 1});
    s->backends.push_back(up);
    ir::Backend empty;
    empty.name = "empty";
    s->backends.push_back(empty);
    ir::Port p;
    p.address = "127.0.0.1";
    p.port = 1;
    ir::HttpListener l;
    auto rule = [&](std::string backend, uint16_t direct = 0) {
      ir::Rule r;
      r.route = "HTTPRoute/fuzz/" + backend;
      r.direct_status = direct;
      r.backends.push_back(ir::WeightedBackend{backend, 1, {}});
      l.rules.push_back(r);
      return static_cast<uint32_t>(l.rules.size() - 1);
    };
    auto add = [&](std::string host, ir::PathMatchType t, std::string path, uint32_t rule_idx) {
      ir::RouteEntry e;
      e.hostname = std::move(host);
      e.match.path = {t, std::move(path)};
      e.rule = rule_idx;
      l.entries.push_back(e);
    };
    add("", ir::PathMatchType::kExact, "/direct", rule("up", 418));
    add("", ir::PathMatchType::kPathPrefix, "/invalid", rule(""));
    add("", ir::PathMatchType::kPathPrefix, "/empty", rule("empty"));
    uint32_t redirect = rule("up");
    ir::Filter f;
    f.type = ir::FilterType::kRequestRedirect;
    f.redirect.hostname = "elsewhere.example";
    f.redirect.status_code = 301;
    l.rules[redirect].filters.push_back(f);
    add("", ir::PathMatchType::kPathPrefix, "/redirect", redirect);
    add("", ir::PathMatchType::kRegularExpression, "/re/[a-z]+", rule("up"));
    add("*.example.com", ir::PathMatchType::kPathPrefix, "/", rule("up"));
    add("", ir::PathMatchType::kPathPrefix, "/api", rule("up"));
    add("", ir::PathMatchType::kPathPrefix, "/trailers", rule("up"));
    add("", ir::PathMatchType::kPathPrefix, "/big", rule("up"));
    p.http_listeners.push_back(l);
    s->ports.push_back(p);
    worker->setTable(dataplane::RouteTable::build(s, nullptr));
    port = std::make_shared<const dataplane::PortKey>(dataplane::PortKey{"127.0.0.1", 1});
    worker->io().poll();
  }
  std::unique_ptr<dataplane::Worker> worker;
  std::unique_ptr<tcp::acceptor> upstream;
  std::shared_ptr<const dataplane::PortKey> port;
};

// Feeds `input` to a new downstream connection and runs the worker until the connection is gone.
// shut_when_sent: the client half-closes as soon as everything is written (HTTP/1: a close while
// a request may still be in flight); otherwise only once the exchanges have settled (HTTP/2: the
// client goes away, which ends the connection).
inline void runConnection(Env& env, std::string_view input, bool shut_when_sent) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return;
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  tcp::socket sock(env.worker->io());
  asio::error_code ec;
  sock.assign(tcp::v4(), fds[0], ec);
  if (ec) {
    ::close(fds[0]);
    ::close(fds[1]);
    return;
  }
  size_t before = env.worker->connectionCount();
  env.worker->startConnection(std::move(sock), env.port);

  size_t written = 0;
  bool shut = false;
  int quiet = 0;  // consecutive loop turns without any handler run
  char sink[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (env.worker->connectionCount() > before) {
    if (written < input.size()) {
      ssize_t w = ::send(fds[1], input.data() + written, input.size() - written, MSG_NOSIGNAL);
      if (w > 0) written += static_cast<size_t>(w);
    }
    if (written == input.size() && !shut && (shut_when_sent || quiet >= 2)) {
      ::shutdown(fds[1], SHUT_WR);
      shut = true;
    }
    quiet = env.worker->io().run_one_for(std::chrono::milliseconds(2)) == 0 ? quiet + 1 : 0;
    while (::recv(fds[1], sink, sizeof sink, MSG_DONTWAIT) > 0) {
    }
    if (std::chrono::steady_clock::now() > deadline) break;  // reported as a hang by -timeout
  }
  ::close(fds[1]);
  // Let the connection observe the close and unwind.
  while (env.worker->connectionCount() > before) {
    env.worker->io().run_one_for(std::chrono::milliseconds(5));
  }
  env.worker->io().poll();
}

}  // namespace gantry::fuzz
