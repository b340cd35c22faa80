// Worker: one thread, one asio::io_context, and everything that thread owns -- its acceptors (one
// SO_REUSEPORT socket per ir::Port per worker), its downstream connections, its upstream
// connection pools, its buffer pool and its view of the current RouteTable.
//
// Threading: the methods marked "any thread" post to the worker; everything else runs on the
// worker thread only. Nothing on the request path takes a lock or touches a shared atomic: the
// route table reaches a request through a worker-local, non-atomically refcounted LocalTable
// (RCU, docs/architecture.md "Snapshots").
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/router/route_table.h"

namespace gantry::dataplane {

namespace upstream {
class H2Pool;
}

struct Options {
  uint32_t max_request_header_bytes = 64 * 1024;
  uint32_t max_request_headers = 100;
  uint32_t idle_timeout_ms = 60'000;
  uint32_t header_timeout_ms = 10'000;
  uint32_t max_connections_per_worker = 100'000;
  uint32_t upstream_connect_timeout_ms = 5'000;
  uint32_t upstream_response_timeout_ms = 0;
  uint32_t drain_timeout_ms = 15'000;
  uint32_t upstream_idle_timeout_ms = 30'000;  // pooled upstream connections older are closed
  // An HTTP/2 client runs up to 100 streams per connection, each on its own HTTP/1.1 upstream
  // connection: a smaller pool closes and reopens upstream connections under steady load.
  uint32_t max_idle_upstream_per_endpoint = 256;
  uint32_t tick_ms = 100;  // timeout sweep granularity
};

// A worker-local view of one RouteTable plus this worker's mutable load-balancing state for it.
// Refcounted WITHOUT atomics: only its worker thread touches it. A request holds a reference for
// its whole life, so it keeps the table it started with; the table's shared_ptr is released (one
// atomic op per publish per worker, never per request) when the last request on the old one ends.
struct LocalTable {
  RouteTablePtr table;
  std::vector<uint32_t> rule_rr;     // per CompiledRule::slot
  std::vector<uint32_t> backend_rr;  // per backend index
  std::vector<uint32_t> l4_rr;       // per l4::L4Entry::slot
  uint32_t refs = 0;
};

class LocalTableRef {
 public:
  LocalTableRef() = default;
  explicit LocalTableRef(LocalTable* t) : t_(t) {
    if (t_) ++t_->refs;
  }
  LocalTableRef(const LocalTableRef&) = delete;
  LocalTableRef& operator=(const LocalTableRef&) = delete;
  LocalTableRef(LocalTableRef&& o) noexcept : t_(o.t_) { o.t_ = nullptr; }
  LocalTableRef& operator=(LocalTableRef&& o) noexcept {
    if (this != &o) {
      reset();
      t_ = o.t_;
      o.t_ = nullptr;
    }
    return *this;
  }
  ~LocalTableRef() { reset(); }
  void reset() {
    if (t_ && --t_->refs == 0) delete t_;
    t_ = nullptr;
  }
  LocalTable* get() const { return t_; }
  LocalTable* operator->() const { return t_; }
  explicit operator bool() const { return t_ != nullptr; }

 private:
  LocalTable* t_ = nullptr;
};

// The (address, port) an acceptor is bound to; connections keep it to find their ir::Port.
// `protocol` says what the acceptor serves (HTTP/1 here, L4 in dataplane/l4); kUdp keys a UDP
// socket, which may share its number with a TCP port.
struct PortKey {
  std::string address;
  uint16_t port = 0;
  ir::Protocol protocol = ir::Protocol::kHttp;
};

namespace l4 {
class UdpListener;
}

// Registration of one live downstream connection with its worker, for timeouts (a sweep every
// tick, instead of a timer per connection) and for drain. Lives inside the connection's coroutine
// frame.
struct ConnEntry {
  ConnEntry* prev = nullptr;
  ConnEntry* next = nullptr;
  asio::ip::tcp::socket* down = nullptr;
  asio::ip::tcp::socket* up = nullptr;  // upstream socket in use, if any
  int64_t deadline_ms = 0;              // 0 = none; compared with Worker::nowMs()
  bool timed_out = false;               // set by the sweep before it cancels the sockets
  bool idle = true;                     // between requests: may be closed at once on drain
  bool killed = false;                  // drain deadline passed: give up
  // Hot idle (Worker::enterHotIdle): idle but still in its coroutine with its RequestCtx, reading.
  bool hot = false;
  bool demoted = false;   // the tick cancelled the hot read: go cold, do not close
  uint16_t hot_tick = 0;  // the worker's tick counter when it went hot
};

struct RequestCtx;
struct UpstreamConn;
namespace tls {
class BackendSessions;
}

// Counters: plain integers, read by tests; a stats endpoint would sum them across workers.
struct WorkerStats {
  uint64_t connections_accepted = 0;
  uint64_t requests = 0;
  uint64_t upstream_connects = 0;
  uint64_t upstream_reuses = 0;
};

class Worker {
 public:
  Worker(unsigned id, const Options& options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  asio::io_context& io() { return *io_; }
  unsigned id() const { return id_; }
  const Options& options() const { return options_; }

  // --- any thread -----------------------------------------------------------------------------
  void setTable(RouteTablePtr table);
  // Takes a bound, listening acceptor (created on the control thread for this io_context).
  void addAcceptor(std::unique_ptr<asio::ip::tcp::acceptor> acceptor, PortKey key);
  // Takes a bound UDP socket (SO_REUSEPORT) for a UDPRoute port (dataplane/l4/udp.h).
  void addUdpListener(std::unique_ptr<asio::ip::udp::socket> socket, PortKey key);
  // Closes the acceptor (or, for a kUdp key, the UDP listener) bound at key's address and port.
  void removeAcceptor(PortKey key);
  // Stop accepting, close idle connections, let in-flight requests finish; after
  // drain_timeout_ms, abort what is left. The io_context stops when no connection remains.
  void beginDrain();

  // --- worker thread --------------------------------------------------------------------------
  // Runs the event loop until drained (thread body).
  void run();
  // Serves one accepted connection (also used by the fuzz target over a socketpair).
  void startConnection(asio::ip::tcp::socket socket, std::shared_ptr<const PortKey> port);

  int64_t nowMs() const { return now_ms_; }
  bool draining() const { return draining_; }
  size_t connectionCount() const { return conn_count_; }
  LocalTableRef currentTable() { return LocalTableRef(current_); }
  WorkerStats& stats() { return stats_; }

  // Internal (used by the connection code in proxy.cc).
  void registerConn(ConnEntry* e);
  void unregisterConn(ConnEntry* e);
  RequestCtx* acquireCtx();
  void releaseCtx(RequestCtx* ctx);
  // Hot idle: a connection whose request just ended keeps its RequestCtx and waits for the next
  // request inside its coroutine (a read into its buffer). That saves a coroutine spawn and a
  // RequestCtx hand-over per request on a busy keep-alive connection. Bounded: at most
  // kMaxHotIdle per worker, and the tick demotes a connection that stayed hot for a whole tick:
  // it then goes cold (no coroutine, no buffer), so idle connections still cost no buffer.
  bool enterHotIdle(ConnEntry* e);
  void leaveHotIdle(ConnEntry* e);
  // An idle pooled connection to ep made with the given backend TLS context (nullptr: plain).
  // It is checked alive with a non-blocking peek, except a plain one pooled very recently when
  // `retryable` (the caller retries the request on a fresh connection if it fails before any
  // response byte).
  std::unique_ptr<UpstreamConn> takeIdleUpstream(const asio::ip::tcp::endpoint& ep,
                                                 const void* tls_context = nullptr,
                                                 bool retryable = false);
  void putIdleUpstream(std::unique_ptr<UpstreamConn> c);
  // Multiplexed HTTP/2 upstream connections (upstream/h2_client.h), created on first use.
  upstream::H2Pool& h2Pool();
  void updateNow();
  // This worker's last TLS sessions with backends (BackendTLSPolicy resumption, no lock).
  tls::BackendSessions& backendSessions() { return *backend_sessions_; }

 private:
  void startTicker();
  void onTick();
  void closeIdleUpstreams(bool all);
  void trimCtxPool();
  void maybeStop();

  struct EndpointHash {
    size_t operator()(const asio::ip::tcp::endpoint& e) const;
  };
  struct Acceptor {
    std::shared_ptr<asio::ip::tcp::acceptor> acceptor;  // shared with its accept loop
    std::shared_ptr<const PortKey> key;
  };

  unsigned id_;
  Options options_;
  // Declared before io_ and the pools: outlives every SSL that may store a session into it.
  std::unique_ptr<tls::BackendSessions> backend_sessions_;
  // Destroyed explicitly first in ~Worker: destroying the context destroys suspended connection
  // coroutines, whose destructors still use the members below.
  std::unique_ptr<asio::io_context> io_;
  std::optional<asio::steady_timer> ticker_;
  int64_t now_ms_ = 0;
  int64_t drain_deadline_ms_ = 0;
  bool draining_ = false;
  bool stopped_ = false;
  LocalTable* current_ = nullptr;  // holds one ref
  std::vector<Acceptor> acceptors_;
  std::vector<std::shared_ptr<l4::UdpListener>> udp_listeners_;
  ConnEntry conns_;  // list head (sentinel)
  size_t conn_count_ = 0;
  std::vector<RequestCtx*> free_ctx_;
  size_t free_ctx_low_ = 0;  // lowest free_ctx_.size() since the last tick (pool trimming)
  size_t hot_count_ = 0;
  uint16_t tick_count_ = 0;
  std::unordered_map<asio::ip::tcp::endpoint, std::vector<std::unique_ptr<UpstreamConn>>,
                     EndpointHash>
      idle_upstream_;
  std::unique_ptr<upstream::H2Pool> h2_pool_;
  WorkerStats stats_;
};

}  // namespace gantry::dataplane
