#include "dataplane/l4/udp.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>

#include "dataplane/l4/l4_table.h"
#include "dataplane/router/route_table.h"

namespace gantry::dataplane::l4 {
namespace {

using asio::awaitable;
using asio::ip::udp;

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kMaxDatagram = 65535;
// Datagrams relayed per wake-up before yielding to other work on the worker.
constexpr int kBatch = 64;

bool wouldBlock(const asio::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

size_t UdpListener::EndpointHash::operator()(const udp::endpoint& e) const {
  size_t h = e.port();
  if (e.address().is_v4()) {
    h ^= static_cast<size_t>(e.address().to_v4().to_uint()) << 16;
  } else {
    auto b = e.address().to_v6().to_bytes();
    for (unsigned char c : b) h = h * 131 + c;
  }
  return h;
}

UdpListener::UdpListener(Worker& worker, std::unique_ptr<udp::socket> socket,
                         std::shared_ptr<const PortKey> key)
    : worker_(worker),
      socket_(std::move(socket)),
      key_(std::move(key)),
      sweep_timer_(worker.io()),
      buf_(new char[kMaxDatagram]) {}

UdpListener::~UdpListener() = default;

void UdpListener::start() {
  asio::error_code ec;
  socket_->non_blocking(true, ec);
  asio::co_spawn(worker_.io(), receiveLoop(shared_from_this()), asio::detached);
  startSweep();
}

void UdpListener::close() {
  if (closed_) return;
  closed_ = true;
  asio::error_code ec;
  socket_->close(ec);
  sweep_timer_.cancel();
  // Each session loop wakes up (operation_aborted), sees `ended` and removes its session.
  for (auto& [client, s] : sessions_) {
    s->ended = true;
    s->up.cancel(ec);
  }
}

awaitable<void> UdpListener::receiveLoop(std::shared_ptr<UdpListener> self) {
  udp::endpoint from;
  while (!closed_) {
    auto [wec] = co_await socket_->async_wait(udp::socket::wait_read, kNoThrow);
    if (closed_) break;
    if (wec) {
      if (wec == asio::error::operation_aborted) break;
      continue;
    }
    // Read and relay synchronously, so that the one buffer is never shared by two datagrams.
    for (int i = 0; i < kBatch && !closed_; ++i) {
      asio::error_code ec;
      size_t n = socket_->receive_from(asio::buffer(buf_.get(), kMaxDatagram), from, 0, ec);
      if (ec) {
        if (!wouldBlock(ec)) spdlog::debug("udp {}: receive: {}", key_->port, ec.message());
        break;
      }
      Session* s = nullptr;
      auto it = sessions_.find(from);
      if (it != sessions_.end() && !it->second->ended) {
        s = it->second.get();
      } else if (it == sessions_.end()) {
        s = newSession(from);
      }
      if (s == nullptr) continue;  // no route or no backend: the datagram is dropped
      s->last_ms = worker_.nowMs();
      s->up.send(asio::buffer(buf_.get(), n), 0, ec);  // full buffer: dropped, as on a network
    }
  }
}

UdpListener::Session* UdpListener::newSession(const udp::endpoint& client) {
  LocalTableRef table = worker_.currentTable();
  if (!table || !table->table || table->table->l4() == nullptr) return nullptr;
  const L4Port* port = table->table->l4()->find(key_->address, key_->port, true);
  if (port == nullptr) return nullptr;
  const L4Entry* route = L4Table::route(*port, {});
  if (route == nullptr || route->total_weight == 0) return nullptr;
  int32_t idx = L4Table::pick(*route, table->l4_rr[route->slot]);
  if (idx < 0) return nullptr;  // invalid backendRef: its share of sessions is rejected
  const CompiledBackend& b = table->table->backend(static_cast<uint32_t>(idx));
  if (b.endpoints.empty() || b.total_weight == 0) return nullptr;
  const asio::ip::tcp::endpoint& tep =
      b.endpoints[b.picker.pick(table->backend_rr[static_cast<size_t>(idx)])];
  udp::endpoint ep(tep.address(), tep.port());

  auto s = std::make_unique<Session>(worker_.io());
  s->client = client;
  asio::error_code ec;
  s->up.open(ep.protocol(), ec);
  if (!ec) s->up.non_blocking(true, ec);
  if (!ec) s->up.connect(ep, ec);  // UDP connect: no packet, fixes the peer (and filters replies)
  if (ec) {
    spdlog::debug("udp {}: cannot open a socket to {}:{}: {}", key_->port, ep.address().to_string(),
                  ep.port(), ec.message());
    return nullptr;
  }
  s->last_ms = worker_.nowMs();
  Session* raw = s.get();
  sessions_.emplace(client, std::move(s));
  asio::co_spawn(worker_.io(), sessionLoop(shared_from_this(), raw), asio::detached);
  return raw;
}

awaitable<void> UdpListener::sessionLoop(std::shared_ptr<UdpListener> self, Session* s) {
  while (!s->ended) {
    auto [wec] = co_await s->up.async_wait(udp::socket::wait_read, kNoThrow);
    if (s->ended || wec == asio::error::operation_aborted) break;
    for (int i = 0; i < kBatch && !closed_; ++i) {
      asio::error_code ec;
      size_t n = s->up.receive(asio::buffer(buf_.get(), kMaxDatagram), 0, ec);
      if (ec) break;  // EAGAIN, or an ICMP error (port unreachable) reported on the socket
      s->last_ms = worker_.nowMs();
      socket_->send_to(asio::buffer(buf_.get(), n), s->client, 0, ec);
    }
  }
  sessions_.erase(s->client);  // destroys the session and its socket
}

void UdpListener::startSweep() {
  // A tenth of the idle timeout (at least 50 ms): sessions end within ~10% of it.
  uint32_t every = std::clamp<uint32_t>(worker_.options().idle_timeout_ms / 10, 50, 1000);
  sweep_timer_.expires_after(std::chrono::milliseconds(every));
  sweep_timer_.async_wait([weak = weak_from_this()](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->closed_) return;
    self->sweep();
    self->startSweep();
  });
}

void UdpListener::sweep() {
  int64_t now = worker_.nowMs();
  int64_t idle = worker_.options().idle_timeout_ms;
  for (auto& [client, s] : sessions_) {
    if (!s->ended && now - s->last_ms >= idle) {
      s->ended = true;
      asio::error_code ec;
      s->up.cancel(ec);
    }
  }
}

}  // namespace gantry::dataplane::l4
