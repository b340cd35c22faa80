#include "dataplane/worker.h"

#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <chrono>

#include "dataplane/clock.h"
#include "dataplane/http1/conn_internal.h"
#include "dataplane/l4/l4_conn.h"
#include "dataplane/l4/l4_table.h"
#include "dataplane/l4/udp.h"
#include "dataplane/proxy.h"
#include "dataplane/tls/backend_sessions.h"
#include "dataplane/tls/client_context.h"
#include "dataplane/upstream/h2_client.h"

namespace gantry::dataplane {

using asio::ip::tcp;

namespace {
constexpr size_t kMaxPooledCtx = 256;
constexpr int64_t kTrustIdleMs = 1000;
// Pooled RequestCtx kept even when unused (the surplus is freed on the tick after it stayed
// unused for a whole tick).
constexpr size_t kMinPooledCtx = 4;
// Hot idle connections per worker. Since a hot read that finds nothing waits for its epoll
// event instead of completing at once (io/read_readiness.h), connections stay hot a little longer
// and at 32 more of them overflowed to the cold path (a coroutine spawn and a RequestCtx hand-over,
// ~1,500 instructions). Measured (bench/README.md, session 4): 32 -> 64 cuts 25,270 -> 24,105
// instructions per request at 64 clients and raises idle memory 792 -> 831 bytes per connection
// (the larger burst residue; 128: 24,017 and 900 bytes).
constexpr size_t kMaxHotIdle = 64;
}  // namespace

size_t Worker::EndpointHash::operator()(const tcp::endpoint& e) const {
  size_t h = e.port();
  if (e.address().is_v4()) {
    h ^= static_cast<size_t>(e.address().to_v4().to_uint()) << 16;
  } else {
    auto b = e.address().to_v6().to_bytes();
    for (unsigned char c : b) h = h * 131 + c;
  }
  return h;
}

Worker::Worker(unsigned id, const Options& options)
    : id_(id),
      options_(options),
      backend_sessions_(std::make_unique<tls::BackendSessions>()),
      // One thread runs this io_context and only that thread starts or completes operations on
      // its sockets, so the per-descriptor reactor mutex (taken on every operation) is dropped.
      // The scheduler and the descriptor registration keep their locks: other threads post to
      // the worker (setTable, addAcceptor) and open acceptors for it (Server::publish).
      io_(std::make_unique<asio::io_context>(ASIO_CONCURRENCY_HINT_UNSAFE_IO)) {
  ticker_.emplace(*io_);
  conns_.prev = conns_.next = &conns_;
  now_ms_ = steadyMs();
  startTicker();
}

Worker::~Worker() {
  stopped_ = true;
  ticker_.reset();
  acceptors_.clear();
  udp_listeners_.clear();
  idle_upstream_.clear();
  h2_pool_.reset();
  io_.reset();  // destroys suspended connection coroutines (they unregister themselves)
  if (current_ != nullptr && --current_->refs == 0) delete current_;
  current_ = nullptr;
  for (RequestCtx* c : free_ctx_) delete c;
}

void Worker::updateNow() { now_ms_ = steadyMs(); }

void Worker::setTable(RouteTablePtr table) {
  asio::post(*io_, [this, table = std::move(table)]() mutable {
    auto* lt = new LocalTable;
    lt->rule_rr.assign(table ? table->ruleCount() : 0, 0);
    lt->backend_rr.assign(table ? table->backendCount() : 0, 0);
    lt->l4_rr.assign(table && table->l4() ? table->l4()->entryCount() : 0, 0);
    // Spread workers over endpoints from the start rather than all hitting endpoint 0.
    for (auto& v : lt->backend_rr) v = id_;
    lt->table = std::move(table);
    lt->refs = 1;
    LocalTable* old = current_;
    current_ = lt;
    if (old != nullptr && --old->refs == 0) delete old;
  });
}

void Worker::addAcceptor(std::unique_ptr<tcp::acceptor> acceptor, PortKey key) {
  asio::post(*io_, [this, acc = std::move(acceptor), key = std::move(key)]() mutable {
    if (draining_) return;
    Acceptor a{std::shared_ptr<tcp::acceptor>(std::move(acc)),
               std::make_shared<const PortKey>(std::move(key))};
    auto acceptor = a.acceptor;
    auto port = a.key;
    acceptors_.push_back(std::move(a));
    asio::co_spawn(*io_, acceptLoop(*this, std::move(acceptor), std::move(port)), asio::detached);
  });
}

void Worker::addUdpListener(std::unique_ptr<asio::ip::udp::socket> socket, PortKey key) {
  asio::post(*io_, [this, sock = std::move(socket), key = std::move(key)]() mutable {
    if (draining_) return;
    auto l = std::make_shared<l4::UdpListener>(*this, std::move(sock),
                                               std::make_shared<const PortKey>(std::move(key)));
    l->start();
    udp_listeners_.push_back(std::move(l));
  });
}

void Worker::removeAcceptor(PortKey key) {
  asio::post(*io_, [this, key = std::move(key)] {
    if (key.protocol == ir::Protocol::kUdp) {
      for (auto it = udp_listeners_.begin(); it != udp_listeners_.end(); ++it) {
        if ((*it)->key().address == key.address && (*it)->key().port == key.port) {
          (*it)->close();
          udp_listeners_.erase(it);
          return;
        }
      }
      return;
    }
    for (auto it = acceptors_.begin(); it != acceptors_.end(); ++it) {
      if (it->key->address == key.address && it->key->port == key.port) {
        asio::error_code ec;
        it->acceptor->close(ec);  // the accept loop (co-owner) ends on operation_aborted
        acceptors_.erase(it);
        return;
      }
    }
  });
}

void Worker::beginDrain() {
  asio::post(*io_, [this] {
    if (draining_) return;
    draining_ = true;
    updateNow();
    drain_deadline_ms_ = now_ms_ + options_.drain_timeout_ms;
    for (auto& a : acceptors_) {
      asio::error_code ec;
      a.acceptor->close(ec);
    }
    acceptors_.clear();
    for (auto& l : udp_listeners_) l->close();
    udp_listeners_.clear();
    for (ConnEntry* e = conns_.next; e != &conns_; e = e->next) {
      if (e->idle && e->down) {
        asio::error_code ec;
        e->down->cancel(ec);
      }
    }
    closeIdleUpstreams(true);
    maybeStop();
  });
}

void Worker::maybeStop() {
  if (draining_ && conn_count_ == 0 && !stopped_) {
    stopped_ = true;
    ticker_->cancel();
    closeIdleUpstreams(true);
    io_->stop();
  }
}

void Worker::run() { io_->run(); }

void Worker::startTicker() {
  ticker_->expires_after(std::chrono::milliseconds(options_.tick_ms));
  ticker_->async_wait([this](const asio::error_code& ec) {
    if (ec || stopped_) return;
    onTick();
    startTicker();
  });
}

void Worker::onTick() {
  updateNow();
  bool kill = draining_ && now_ms_ >= drain_deadline_ms_;
  for (ConnEntry* e = conns_.next; e != &conns_; e = e->next) {
    if (e->hot && e->hot_tick != tick_count_ && !e->demoted) {
      // Hot for at least a whole tick: not a busy connection; it gives its RequestCtx back.
      e->demoted = true;
      asio::error_code ec;
      if (e->down) e->down->cancel(ec);
    }
    if (kill || (e->deadline_ms != 0 && now_ms_ >= e->deadline_ms)) {
      e->timed_out = true;
      e->killed = e->killed || kill;
      e->deadline_ms = 0;
      asio::error_code ec;
      if (e->down) e->down->cancel(ec);
      if (e->up) e->up->cancel(ec);
    }
  }
  closeIdleUpstreams(false);
  trimCtxPool();
  ++tick_count_;
  maybeStop();
}

void Worker::trimCtxPool() {
  // Contexts that stayed in the pool for a whole tick are surplus (a load burst ended, hot
  // connections were demoted): free them, least recently used first. Their buffers are mmap'd
  // (ByteBuf), so this gives the memory back to the kernel and idle connections do not keep the
  // memory of past bursts resident.
  size_t surplus = free_ctx_low_ > kMinPooledCtx ? free_ctx_low_ - kMinPooledCtx : 0;
  if (surplus > 0) {
    for (size_t i = 0; i < surplus; ++i) delete free_ctx_[i];
    free_ctx_.erase(free_ctx_.begin(), free_ctx_.begin() + static_cast<ptrdiff_t>(surplus));
  }
  free_ctx_low_ = free_ctx_.size();
}

bool Worker::enterHotIdle(ConnEntry* e) {
  if (hot_count_ >= kMaxHotIdle || draining_) return false;
  e->hot = true;
  e->demoted = false;
  e->hot_tick = tick_count_;
  ++hot_count_;
  return true;
}

void Worker::leaveHotIdle(ConnEntry* e) {
  if (!e->hot) return;
  e->hot = false;
  --hot_count_;
}

void Worker::registerConn(ConnEntry* e) {
  e->next = &conns_;
  e->prev = conns_.prev;
  conns_.prev->next = e;
  conns_.prev = e;
  ++conn_count_;
}

void Worker::unregisterConn(ConnEntry* e) {
  leaveHotIdle(e);
  e->prev->next = e->next;
  e->next->prev = e->prev;
  e->prev = e->next = nullptr;
  --conn_count_;
  if (draining_ && conn_count_ == 0 && !stopped_) asio::post(*io_, [this] { maybeStop(); });
}

RequestCtx* Worker::acquireCtx() {
  if (!free_ctx_.empty()) {
    RequestCtx* c = free_ctx_.back();
    free_ctx_.pop_back();
    free_ctx_low_ = std::min(free_ctx_low_, free_ctx_.size());
    return c;
  }
  return new RequestCtx;
}

void Worker::releaseCtx(RequestCtx* ctx) {
  if (free_ctx_.size() >= kMaxPooledCtx) {
    delete ctx;
    return;
  }
  // A head larger than the default buffer grew it; give the memory back.
  if (ctx->in.cap > kBufferSize) ctx->in.allocate(kBufferSize);
  if (ctx->up.cap > kBufferSize) ctx->up.allocate(kBufferSize);
  ctx->in.clear();
  ctx->up.clear();
  if (ctx->out.capacity() > 64 * 1024) std::string().swap(ctx->out);
  if (ctx->scratch.capacity() > 64 * 1024) std::string().swap(ctx->scratch);
  free_ctx_.push_back(ctx);
}

std::unique_ptr<UpstreamConn> Worker::takeIdleUpstream(const tcp::endpoint& ep,
                                                       const void* tls_context, bool retryable) {
  auto it = idle_upstream_.find(ep);
  if (it == idle_upstream_.end()) return nullptr;
  auto& list = it->second;
  for (size_t i = list.size(); i-- > 0;) {
    if (list[i]->tlsContext() != tls_context) continue;
    std::unique_ptr<UpstreamConn> c = std::move(list[i]);
    list.erase(list.begin() + static_cast<ptrdiff_t>(i));
    // A plain connection pooled less than kTrustIdleMs ago is taken without a check for a
    // retryable request: a backend that closed it that soon is rare (keep-alive timeouts are
    // seconds), and the proxy then retries once on a fresh connection (RFC 9112 9.3.1). That is
    // one system call less per request on a busy pool (bench/README.md "Where the time goes").
    if (retryable && tls_context == nullptr && now_ms_ - c->idle_since_ms < kTrustIdleMs) return c;
    // The upstream may have closed the idle connection (or sent garbage): a non-blocking peek
    // tells us before we write a request into a dead socket.
    char byte;
    ssize_t r = ::recv(c->sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return c;
    asio::error_code ec;
    c->sock.close(ec);
  }
  return nullptr;
}

void Worker::putIdleUpstream(std::unique_ptr<UpstreamConn> c) {
  if (draining_) return;
  auto& list = idle_upstream_[c->ep];
  if (list.size() >= options_.max_idle_upstream_per_endpoint) return;
  c->idle_since_ms = now_ms_;
  list.push_back(std::move(c));
}

upstream::H2Pool& Worker::h2Pool() {
  if (!h2_pool_) h2_pool_ = std::make_unique<upstream::H2Pool>(*this);
  return *h2_pool_;
}

void Worker::closeIdleUpstreams(bool all) {
  if (h2_pool_) h2_pool_->sweep(now_ms_, options_.upstream_idle_timeout_ms, all);
  for (auto it = idle_upstream_.begin(); it != idle_upstream_.end();) {
    auto& list = it->second;
    size_t keep = 0;
    for (auto& c : list) {
      if (all || now_ms_ - c->idle_since_ms > options_.upstream_idle_timeout_ms) continue;
      list[keep++] = std::move(c);
    }
    list.resize(keep);
    if (list.empty()) {
      it = idle_upstream_.erase(it);
    } else {
      ++it;
    }
  }
}

void Worker::startConnection(tcp::socket socket, std::shared_ptr<const PortKey> port) {
  ++stats_.connections_accepted;
  if (l4::isL4(port->protocol)) {
    l4::serveConnection(*this, std::move(socket), std::move(port));
    return;
  }
  serveConnection(*this, std::move(socket), std::move(port));
}

}  // namespace gantry::dataplane
