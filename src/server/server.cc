// Server: N workers (thread per core), snapshot distribution (RCU) and graceful shutdown.
#include "server/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "dataplane/http1/parser.h"
#include "dataplane/router/route_table.h"
#include "dataplane/worker.h"

namespace gantry::server {
namespace {

using asio::ip::tcp;

// A bound socket: address, port, and whether it is UDP (a TCP and a UDP port may share a number).
using BindKey = std::tuple<std::string, uint16_t, bool>;

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(const ServerOptions& o) : options_(o), guard_(asio::make_work_guard(ctl_)) {
    dataplane::Options d;
    d.max_request_header_bytes = o.max_request_header_bytes;
    d.max_request_headers = o.max_request_headers;
    d.idle_timeout_ms = o.idle_timeout_ms;
    d.header_timeout_ms = o.header_timeout_ms;
    d.max_connections_per_worker = o.max_connections_per_worker;
    d.upstream_connect_timeout_ms = o.upstream_connect_timeout_ms;
    d.upstream_response_timeout_ms = o.upstream_response_timeout_ms;
    d.drain_timeout_ms = o.drain_timeout_ms;
    // Keep each tick well below the shortest timeout so that it is honoured within ~10%.
    uint32_t shortest = std::min({o.idle_timeout_ms, o.header_timeout_ms,
                                  o.upstream_connect_timeout_ms, o.drain_timeout_ms});
    if (o.upstream_response_timeout_ms != 0)
      shortest = std::min(shortest, o.upstream_response_timeout_ms);
    d.tick_ms = std::clamp<uint32_t>(shortest / 10, 10, 100);
    unsigned n = o.workers != 0 ? o.workers : std::max(1u, std::thread::hardware_concurrency());
    // The trailer section of a chunked body is bounded like a head (process-wide).
    dataplane::http1::Parser::setMaxTrailerBytes(
        std::max<uint32_t>(o.max_request_header_bytes * 2, 80 * 1024));
    for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<dataplane::Worker>(i, d));
    for (auto& w : workers_) threads_.emplace_back([wp = w.get()] { wp->run(); });
    reclaim_thread_ = std::thread([this] { reclaim_.run(); });
  }

  ~ServerImpl() override {
    beginDrain();  // run() has returned (or never ran): no other thread touches ctl_ state
    joinAll();
    reclaim_guard_.reset();
    reclaim_thread_.join();
  }

  Status publish(ir::SnapshotPtr snapshot) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!snapshot) return Status::error("null snapshot");
    std::vector<std::string> warnings;
    const auto t0 = std::chrono::steady_clock::now();
    auto table = dataplane::RouteTable::build(snapshot, &warnings);
    PublishTimings timings;
    timings.version = snapshot->version;
    timings.route_table_us = usSince(t0);
    spdlog::debug("publish: snapshot {}: route table built in {} us", snapshot->version,
                  timings.route_table_us);
    {
      std::lock_guard<std::mutex> tl(timings_mu_);
      timings_ = timings;  // before the workers are told, so that their acknowledgement counts
    }
    for (const auto& w : warnings) spdlog::warn("snapshot {}: {}", snapshot->version, w);

    std::string errors;
    std::map<BindKey, ir::Protocol> wanted;
    for (const auto& p : snapshot->ports) {
      wanted[{p.address, p.port, p.protocol == ir::Protocol::kUdp}] = p.protocol;
    }
    // Unbind ports that disappeared or now serve another protocol (rebound below).
    for (auto it = bound_.begin(); it != bound_.end();) {
      auto w = wanted.find(it->first);
      if (w == wanted.end() || w->second != it->second) {
        for (auto& wk : workers_)
          wk->removeAcceptor(
              dataplane::PortKey{std::get<0>(it->first), std::get<1>(it->first), it->second});
        it = bound_.erase(it);
      } else {
        ++it;
      }
    }
    // RCU: each worker swaps its own pointer; in-flight requests keep the old table. Posted before
    // the new acceptors, so that a worker's first connection on a new port already sees the table
    // that has it (an HTTPS port accepted under the previous table would be served as HTTP).
    for (auto& w : workers_) w->setTable(table);
    // Each worker runs its posts in order: this one runs right after its swap. The last worker to
    // get there records the time and has the reclaim thread release the tables no longer used.
    auto pending = std::make_shared<std::atomic<size_t>>(workers_.size());
    const uint64_t version = snapshot->version;
    for (auto& w : workers_) {
      asio::post(w->io(), [this, pending, version, t0] {
        if (pending->fetch_sub(1) != 1) return;
        const uint64_t us = usSince(t0);
        {
          std::lock_guard<std::mutex> tl(timings_mu_);
          if (timings_.version == version) timings_.swapped_us = us;
        }
        asio::post(reclaim_, [this] { releaseRetiredTables(); });
      });
    }
    if (current_table_) retired_.push_back(std::move(current_table_));
    current_table_ = table;
    // Bind new ports: one SO_REUSEPORT socket per worker, so the kernel spreads connections.
    for (const auto& [key, protocol] : wanted) {
      if (bound_.count(key) != 0) continue;
      const auto& [address, port, udp] = key;
      std::string err;
      if (udp) {
        std::vector<std::unique_ptr<asio::ip::udp::socket>> socks;
        for (auto& w : workers_) {
          auto sock = std::make_unique<asio::ip::udp::socket>(w->io());
          if (!openUdp(*sock, address, port, &err)) break;
          socks.push_back(std::move(sock));
        }
        if (!err.empty()) {
          errors += fmt::format("{}:{}/udp: {}; ", address, port, err);
          continue;
        }
        for (size_t i = 0; i < workers_.size(); ++i)
          workers_[i]->addUdpListener(std::move(socks[i]),
                                      dataplane::PortKey{address, port, protocol});
        bound_[key] = protocol;
        continue;
      }
      std::vector<std::unique_ptr<tcp::acceptor>> accs;
      for (auto& w : workers_) {
        auto acc = std::make_unique<tcp::acceptor>(w->io());
        if (!openAcceptor(*acc, address, port, &err)) break;
        accs.push_back(std::move(acc));
      }
      if (!err.empty()) {
        errors += fmt::format("{}:{}: {}; ", address, port, err);
        continue;
      }
      for (size_t i = 0; i < workers_.size(); ++i)
        workers_[i]->addAcceptor(std::move(accs[i]), dataplane::PortKey{address, port, protocol});
      bound_[key] = protocol;
    }
    current_ = std::move(snapshot);
    {
      std::lock_guard<std::mutex> tl(timings_mu_);
      if (timings_.version == timings.version) timings_.total_us = usSince(t0);
    }
    if (!errors.empty()) {
      errors.resize(errors.size() - 2);
      spdlog::error("publish: {}", errors);
      return Status::error(errors);
    }
    return Status::ok();
  }

  ir::SnapshotPtr current() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }

  PublishTimings lastPublishTimings() const override {
    std::lock_guard<std::mutex> tl(timings_mu_);
    return timings_;
  }

  void run() override {
    signals_.async_wait([this](const asio::error_code& ec, int sig) {
      if (ec) return;
      spdlog::info("signal {}: draining (up to {} ms)", sig, options_.drain_timeout_ms);
      beginDrain();
    });
    ctl_.run();
    joinAll();
  }

  void shutdown() override {
    asio::post(ctl_, [this] { beginDrain(); });
  }

 private:
  void beginDrain() {
    if (draining_) return;
    draining_ = true;
    for (auto& w : workers_) w->beginDrain();
    guard_.reset();
    ctl_.stop();
  }

  static uint64_t usSince(std::chrono::steady_clock::time_point t0) {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  }

  // Retired tables that nothing but this list holds any more (every worker swapped away and no
  // request still uses them). use_count() == 1 is final: only this list could copy it again.
  std::vector<dataplane::RouteTablePtr> takeUnusedLocked() {
    std::vector<dataplane::RouteTablePtr> out;
    for (auto it = retired_.begin(); it != retired_.end();) {
      if (it->use_count() == 1) {
        out.push_back(std::move(*it));
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  // On the reclaim thread: a 10,000-route table and its snapshot take ~12 ms to free, which a
  // worker would otherwise spend (delaying its connections) when it drops its last reference.
  // A table still used by an in-flight request stays listed until the next sweep.
  void releaseRetiredTables() {
    std::vector<dataplane::RouteTablePtr> unused;
    {
      std::lock_guard<std::mutex> lock(mu_);
      unused = takeUnusedLocked();
    }
    unused.clear();  // destroyed here, outside the lock
  }

  void joinAll() {
    std::lock_guard<std::mutex> lock(join_mu_);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  static bool openAcceptor(tcp::acceptor& acc, const std::string& address, uint16_t port,
                           std::string* err) {
    asio::error_code ec;
    auto addr = asio::ip::make_address(address, ec);
    if (ec) {
      *err = "bad address";
      return false;
    }
    tcp::endpoint ep(addr, port);
    acc.open(ep.protocol(), ec);
    if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = asio::error_code(errno, asio::system_category());
    }
    if (!ec) acc.bind(ep, ec);
    if (!ec) acc.listen(4096, ec);
    if (!ec) acc.non_blocking(true, ec);
    if (ec) {
      *err = ec.message();
      return false;
    }
    return true;
  }

  static bool openUdp(asio::ip::udp::socket& sock, const std::string& address, uint16_t port,
                      std::string* err) {
    asio::error_code ec;
    auto addr = asio::ip::make_address(address, ec);
    if (ec) {
      *err = "bad address";
      return false;
    }
    asio::ip::udp::endpoint ep(addr, port);
    sock.open(ep.protocol(), ec);
    if (!ec) sock.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      if (::setsockopt(sock.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = asio::error_code(errno, asio::system_category());
    }
    if (!ec) sock.bind(ep, ec);
    if (!ec) sock.non_blocking(true, ec);
    if (ec) {
      *err = ec.message();
      return false;
    }
    return true;
  }

  ServerOptions options_;
  asio::io_context ctl_;
  // Registered at construction, before any port is bound: a SIGTERM that arrives while the
  // process starts up (ports already accepting, run() not called yet) is queued and then drains,
  // instead of killing the process with the default action.
  asio::signal_set signals_{ctl_, SIGINT, SIGTERM};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::vector<std::unique_ptr<dataplane::Worker>> workers_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::mutex join_mu_;
  std::map<BindKey, ir::Protocol> bound_;
  ir::SnapshotPtr current_;
  // The published table, and earlier ones not yet known to be unused (see releaseRetiredTables).
  dataplane::RouteTablePtr current_table_;
  std::vector<dataplane::RouteTablePtr> retired_;
  // Frees retired tables (and the snapshots they hold) off the workers and off the publisher.
  asio::io_context reclaim_;
  asio::executor_work_guard<asio::io_context::executor_type> reclaim_guard_ =
      asio::make_work_guard(reclaim_);
  std::thread reclaim_thread_;
  mutable std::mutex timings_mu_;
  PublishTimings timings_;
  bool draining_ = false;
};

}  // namespace

StatusOr<std::unique_ptr<Server>> Server::create(const ServerOptions& options) {
  return std::unique_ptr<Server>(new ServerImpl(options));
}

}  // namespace gantry::server
