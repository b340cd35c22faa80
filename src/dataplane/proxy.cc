// The HTTP/1.1 proxy connection handler. Read docs/life-of-a-request.md first; the comments here
// explain why, and cite the RFC 9110/9112 section that decides each behaviour.
#include "dataplane/proxy.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>
#include <optional>
#include <span>

#include "dataplane/filters/ext_authz.h"
#include "dataplane/filters/path_modifier.h"
#include "dataplane/filters/rule_filters.h"
#include "dataplane/frame_pool.h"
#include "dataplane/http1/conn_internal.h"
#include "dataplane/http1/syntax.h"
#include "dataplane/http1/wire.h"
#include "dataplane/http2/server.h"
#include "dataplane/io/read_readiness.h"
#include "dataplane/tls/backend_sessions.h"
#include "dataplane/tls/client_context.h"
#include "dataplane/tls/fd_tls.h"
#include "dataplane/tls/server_context.h"
#include "dataplane/upstream/h1_to_h2.h"
#include "dataplane/upstream/mirror.h"
#include "dataplane/upstream/session.h"

namespace gantry::dataplane {

using asio::awaitable;
using asio::ip::tcp;

namespace {

using http1::appendDec;
using http1::appendHex;
using http1::clientIp;
using http1::reasonPhrase;

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr ssize_t kWouldBlock = -1;
constexpr ssize_t kIoError = -2;
constexpr ssize_t kWantWrite = -3;
constexpr ssize_t kNotTried = -4;  // readUp(wait_first): wait before any read attempt
constexpr uint32_t kMaxResponseHeadBytes = 64 * 1024;
constexpr uint32_t kMaxResponseHeaders = 200;

const asio::const_buffer kCrlf("\r\n", 2);
const asio::const_buffer kLastChunk("0\r\n", 3);

bool wouldBlock(const asio::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// Every helper below works on a socket, with TLS on it when `ssl` is set (tls/fd_tls.h: OpenSSL
// reads and writes the non-blocking fd itself, so the try-then-wait shape is the same).

// Non-blocking read attempt: >0 bytes, 0 EOF, kWouldBlock, kWantWrite (TLS only), kIoError.
ssize_t tryRead(tcp::socket& s, SSL* ssl, char* p, size_t n) {
  if (ssl != nullptr) {
    tls::IoResult r = tls::tryRead(ssl, p, n);
    if (r.n > 0) return static_cast<ssize_t>(r.n);
    if (r.closed) return 0;
    if (r.want == tls::IoWant::kRead) return kWouldBlock;
    if (r.want == tls::IoWant::kWrite) return kWantWrite;
    return kIoError;
  }
  asio::error_code ec;
  size_t r = s.read_some(asio::buffer(p, n), ec);
  if (!ec) return static_cast<ssize_t>(r);
  if (ec == asio::error::eof) return 0;
  if (wouldBlock(ec)) return kWouldBlock;
  return kIoError;
}

// Slow path of a read: wait for readability (cancellable by the worker's timeout sweep). `want`
// is what the failed try said (kWantWrite: TLS must send before it can read).
awaitable<ssize_t> readSlow(tcp::socket& s, SSL* ssl, ConnEntry& e, char* p, size_t n,
                            ssize_t want = kWouldBlock) {
  if (ssl == nullptr) {
    // Plain TCP: asio's read operation, not async_wait + read. An async_wait re-arms the socket
    // with epoll_ctl(EPOLL_CTL_MOD) every time (asio cannot know whether the edge-triggered
    // readiness was already consumed); a read operation is queued on the existing registration
    // and performed by the reactor on EPOLLIN, so a wait costs no epoll_ctl (bench/README.md
    // "Where the time goes"). TLS keeps async_wait: OpenSSL must do the read itself.
    // Right after a read returned EAGAIN (no event loop turn since), Asio's own read attempt
    // would only repeat it (io/read_readiness.h). kNotTried (readUp's wait_first) proves
    // nothing here: proxy() marked the socket before writing the request, and the reactor has
    // set the flag back if anything arrived since.
    if (want == kWouldBlock) io::markReadDrained(s);
    if (e.timed_out) co_return kIoError;
    auto [ec, got] = co_await s.async_read_some(asio::buffer(p, n), kNoThrow);
    if (e.timed_out) co_return kIoError;
    if (ec == asio::error::eof) co_return 0;
    if (ec) co_return kIoError;
    co_return static_cast<ssize_t>(got);
  }
  for (;;) {
    if (e.timed_out) co_return kIoError;
    auto [ec] = co_await s.async_wait(
        want == kWantWrite ? tcp::socket::wait_write : tcp::socket::wait_read, kNoThrow);
    if (ec || e.timed_out) co_return kIoError;
    ssize_t r = tryRead(s, ssl, p, n);
    if (r != kWouldBlock && r != kWantWrite) co_return r;
    want = r;
  }
}

// Advances iov[first..] past n written bytes.
void advanceIov(std::vector<asio::const_buffer>& iov, size_t& first, size_t n) {
  while (n > 0) {
    auto& b = iov[first];
    if (n >= b.size()) {
      n -= b.size();
      ++first;
    } else {
      b += n;
      n = 0;
    }
  }
  while (first < iov.size() && iov[first].size() == 0) ++first;
}

// TLS has no writev: small pieces (head, chunk lines, body slices) are gathered into one record's
// worth of plaintext so that they go out as one record, not one record each. The gathered bytes
// are a pure function of iov[first..], so a retry after WANT_WRITE passes the same bytes, as
// OpenSSL requires (the buffer may move: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).
constexpr size_t kTlsGather = 16 * 1024;
thread_local char tls_gather[kTlsGather];

bool trySendTls(SSL* ssl, std::vector<asio::const_buffer>& iov, size_t& first, asio::error_code& ec,
                bool* want_read) {
  while (first < iov.size()) {
    const char* data = static_cast<const char*>(iov[first].data());
    size_t len = iov[first].size();
    if (first + 1 < iov.size() && len < kTlsGather) {
      len = 0;
      for (size_t i = first; i < iov.size() && len < kTlsGather; ++i) {
        size_t take = std::min(iov[i].size(), kTlsGather - len);
        std::memcpy(tls_gather + len, iov[i].data(), take);
        len += take;
      }
      data = tls_gather;
    }
    tls::IoResult r = tls::tryWrite(ssl, data, len);
    if (r.n == 0) {
      if (r.want != tls::IoWant::kNone) {
        ec = asio::error::would_block;
        if (want_read != nullptr) *want_read = r.want == tls::IoWant::kRead;
      } else {
        ec = asio::error::connection_reset;
      }
      return false;
    }
    advanceIov(iov, first, r.n);
  }
  return true;
}

// Writes iov[first..] without blocking; true when all is written. On would_block, *want_read
// says whether TLS waits for readability (rare: renegotiation is off) instead of writability.
bool trySend(tcp::socket& s, SSL* ssl, std::vector<asio::const_buffer>& iov, size_t& first,
             asio::error_code& ec, bool* want_read = nullptr) {
  while (first < iov.size() && iov[first].size() == 0) ++first;
  if (ssl != nullptr) return trySendTls(ssl, iov, first, ec, want_read);
  while (first < iov.size()) {
    size_t n = s.write_some(
        std::span<const asio::const_buffer>(iov.data() + first, iov.size() - first), ec);
    if (ec) return false;
    advanceIov(iov, first, n);
  }
  return true;
}

awaitable<bool> sendSlow(tcp::socket& s, SSL* ssl, ConnEntry& e,
                         std::vector<asio::const_buffer>& iov, size_t first, bool want_read) {
  for (;;) {
    if (e.timed_out) co_return false;
    auto [ec] = co_await s.async_wait(want_read ? tcp::socket::wait_read : tcp::socket::wait_write,
                                      kNoThrow);
    if (ec || e.timed_out) co_return false;
    asio::error_code wec;
    want_read = false;
    if (trySend(s, ssl, iov, first, wec, &want_read)) co_return true;
    if (!wouldBlock(wec)) co_return false;
  }
}

// Sends everything in iov (then clears it). The fast path is a plain non-blocking writev.
awaitable<bool> sendAll(tcp::socket& s, SSL* ssl, ConnEntry& e,
                        std::vector<asio::const_buffer>& iov) {
  size_t first = 0;
  asio::error_code ec;
  bool want_read = false;
  bool ok = trySend(s, ssl, iov, first, ec, &want_read);
  if (!ok && wouldBlock(ec)) ok = co_await sendSlow(s, ssl, e, iov, first, want_read);
  iov.clear();
  co_return ok;
}

// Sends a TLS close_notify once (RFC 8446 6.1), before the TCP FIN; best effort, non-blocking.
void closeNotify(SSL* ssl) {
  if (ssl != nullptr && (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) == 0) tls::shutdownFd(ssl);
}

// Hop-by-hop fields (RFC 9110 7.6.1) plus the ones gantry re-generates itself.
bool isHopByHop(std::string_view name) {
  using http1::iequals;
  switch (name.size()) {
    case 2:
      return iequals(name, "te");
    case 7:
      return iequals(name, "upgrade");
    case 10:
      return iequals(name, "connection") || iequals(name, "keep-alive");
    case 14:
      return iequals(name, "content-length");
    case 17:
      return iequals(name, "transfer-encoding");
    default:
      break;
  }
  // Proxy-Connection, Proxy-Authorization, Proxy-Authenticate... (Proxy-*).
  return name.size() > 6 && iequals(name.substr(0, 6), "proxy-");
}

struct ListedTokens {
  // Values of the Connection header(s); fields they name are hop-by-hop too (RFC 9110 7.6.1).
  std::string_view values[4];
  int count = 0;
  bool overflow = false;
  void add(std::string_view v) {
    if (count < 4) {
      values[count++] = v;
    } else {
      overflow = true;
    }
  }
  bool lists(std::string_view name) const {
    for (int i = 0; i < count; ++i) {
      if (http1::hasToken(values[i], name)) return true;
    }
    return false;
  }
};

// How a body is delimited on one side.
enum class Framing : uint8_t { kNone, kLength, kChunked, kEof };

// Collects the decoded body slices of one parser feed as iovecs (zero copy: they point into the
// read buffer, which is not touched again before they are sent).
class SliceSink : public http1::BodySink {
 public:
  explicit SliceSink(std::vector<asio::const_buffer>& iov) : iov_(iov) {}
  void onBody(const char* data, size_t len) override {
    iov_.emplace_back(data, len);
    total_ += len;
  }
  size_t total() const { return total_; }

 private:
  std::vector<asio::const_buffer>& iov_;
  size_t total_ = 0;
};

// Feeds buf's bytes to the strict chunk validator (if any) and the parser, and appends the body
// re-framed for `out` to iov. Returns false on a framing error (smuggling defence).
bool frameBody(http1::Parser& p, http1::ChunkedValidator* v, ByteBuf& buf, Framing out,
               std::vector<asio::const_buffer>& iov, std::string& chunk_line) {
  const char* data = buf.begin();
  size_t len = buf.size();
  http1::ChunkedValidator::Result vr = http1::ChunkedValidator::kMore;
  size_t vused = 0;
  if (v != nullptr) {
    vr = v->feed(data, len, &vused);
    if (vr == http1::ChunkedValidator::kBad) return false;
  }
  SliceSink sink(iov);
  size_t slot = iov.size();
  if (out == Framing::kChunked) iov.emplace_back();
  size_t n = p.feedBody(data, len, &sink);
  if (p.failed()) return false;
  if (v != nullptr) {
    bool vdone = vr == http1::ChunkedValidator::kDone;
    if (vdone != p.done() || (vdone && vused != n)) return false;
  }
  buf.consume(n);
  if (out == Framing::kChunked) {
    if (sink.total() > 0) {
      chunk_line.clear();
      appendHex(chunk_line, sink.total());
      chunk_line.append("\r\n");
      iov[slot] = asio::buffer(chunk_line);
      iov.push_back(kCrlf);
    }
    if (p.done()) {
      // RFC 9112 7.1.2: trailer section after the last chunk.
      iov.push_back(kLastChunk);
      if (!p.trailers().empty()) iov.push_back(asio::buffer(p.trailers()));
      iov.push_back(kCrlf);
    }
  }
  return true;
}

class Conn;
}  // namespace
}  // namespace gantry::dataplane
// Conn's member coroutines (~7 frames per request) recycle their frames per worker thread
// (frame_pool.h). Declared before Conn's in-class coroutines are defined.
GANTRY_POOLED_FRAMES(gantry::dataplane::Conn);
namespace gantry::dataplane {
namespace {

// One downstream connection. Lives in the frame of serveConnection().
class Conn {
 public:
  static void armIdle(std::unique_ptr<Conn> self);
  // Starts a new connection: TLS handshake first on HTTPS ports, then idle.
  static void start(std::unique_ptr<Conn> self);

  Conn(Worker& w, tcp::socket s, std::shared_ptr<const PortKey> port)
      : w_(w), sock_(std::move(s)), port_(std::move(port)) {
    entry_.down = &sock_;
    w_.registerConn(&entry_);
    asio::error_code ec;
    sock_.non_blocking(true, ec);
    io::watchPeerClose(sock_);  // lets a short read prove the socket drained (io::noteRead)
    sock_.set_option(tcp::no_delay(true), ec);  // fails harmlessly on a socketpair
    peer_ = sock_.remote_endpoint(ec);
  }
  ~Conn() {
    if (ctx_ != nullptr) w_.releaseCtx(ctx_);
    w_.unregisterConn(&entry_);
    if (ssl_ != nullptr) {
      // Before the socket closes (the SSL holds its fd number).
      closeNotify(ssl_);
      SSL_free(ssl_);
    }
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  static awaitable<void> burst(std::unique_ptr<Conn> self);
  static awaitable<void> handshake(std::unique_ptr<Conn> self);

 private:
  struct Exchange;

  void setDeadline(uint32_t ms) {
    entry_.timed_out = false;
    entry_.deadline_ms = upstream::earliestDeadline(ms == 0 ? 0 : w_.nowMs() + ms, cap_deadline_);
  }
  awaitable<ssize_t> readDown(ByteBuf& b) {
    const size_t asked = b.cap - b.end;
    ssize_t r = tryRead(sock_, ssl_, b.data.get() + b.end, asked);
    if (r == kWouldBlock || r == kWantWrite) {
      r = co_await readSlow(sock_, ssl_, entry_, b.data.get() + b.end, asked, r);
    }
    if (r > 0) {
      b.end += static_cast<size_t>(r);
      // A short read: the next wait for this client (hot or cold idle) needs no system call.
      if (ssl_ == nullptr) io::noteRead(sock_, static_cast<size_t>(r), asked);
    }
    co_return r;
  }
  awaitable<ssize_t> readUp(UpstreamConn& up, ByteBuf& b, bool wait_first = false) {
    // Decrypted bytes may already wait inside OpenSSL while the socket is not readable.
    if (up.ssl != nullptr && SSL_has_pending(up.ssl) == 1) wait_first = false;
    ssize_t r =
        wait_first ? kNotTried : tryRead(up.sock, up.ssl, b.data.get() + b.end, b.cap - b.end);
    if (r == kWouldBlock || r == kWantWrite || r == kNotTried) {
      r = co_await readSlow(up.sock, up.ssl, entry_, b.data.get() + b.end, b.cap - b.end, r);
    }
    if (r > 0) b.end += static_cast<size_t>(r);
    co_return r;
  }

  awaitable<bool> handleRequest();
  awaitable<bool> sendLocal(Exchange& x, unsigned status, std::string_view body, bool close,
                            std::string_view extra = {});
  awaitable<bool> sendRedirect(Exchange& x, const filters::Redirect& r, bool close);
  awaitable<bool> readBodyPrefix(Exchange& x, filters::BodyPrefix& bp);
  awaitable<bool> sendPreflight(Exchange& x, const filters::Cors& cors,
                                const filters::CorsRequest& req, bool close);
  awaitable<bool> proxy(Exchange& x, const CompiledBackend& backend);
  awaitable<bool> upstreamHandshake(UpstreamConn& up, const tls::ClientContext& ctx,
                                    const CompiledBackend& backend, uint32_t timeout_ms,
                                    int* verify_result);
  awaitable<std::unique_ptr<UpstreamConn>> connectUpstream(Exchange& x,
                                                           const CompiledBackend& backend,
                                                           uint32_t start, uint32_t timeout_ms,
                                                           bool& reused, bool& timed_out,
                                                           bool& tls_failed);
  // Retry, timeout and mirror hooks (dataplane/upstream/resilience.h).
  bool requestExpired(const Exchange& x) const;
  bool canRetry(const Exchange& x) const;
  void mirror(Exchange& x);
  awaitable<void> requestPump(Exchange& x, UpstreamConn& up, http1::ChunkedValidator* rv);
  awaitable<bool> relayResponse(Exchange& x, std::unique_ptr<UpstreamConn>& up);
  awaitable<void> tunnel(UpstreamConn& up);
  awaitable<void> pump(tcp::socket& from, SSL* from_ssl, tcp::socket& to, SSL* to_ssl, ByteBuf& buf,
                       bool& done_flag);

  Worker& w_;
  tcp::socket sock_;
  std::shared_ptr<const PortKey> port_;
  tcp::endpoint peer_;
  ConnEntry entry_;
  RequestCtx* ctx_ = nullptr;
  SSL* ssl_ = nullptr;  // HTTPS: TLS on sock_ (owned)
  bool tunnel_dead_ = false;
  bool first_ = true;  // no request yet: the first wait uses the header timeout
  // Route timeouts (HTTPRouteTimeouts) of the exchange in progress: no deadline set while it runs
  // may be later than this (0 = none). Cleared when a local answer is sent.
  int64_t cap_deadline_ = 0;
};

enum class ReqFailure : uint8_t { kNone, kClientGone, kTimeout, kBadBody };

struct Conn::Exchange {
  bool reused = false;           // upstream connection came from the pool
  bool up_write_failed = false;  // the upstream stopped accepting the request
  bool pump_running = false;     // requestPump() is streaming the body concurrently
  bool pump_abort = false;       // the response is over: requestPump() must stop
  ReqFailure req_failed = ReqFailure::kNone;
  uint32_t connect_timeout_ms = 0;
  uint32_t response_timeout_ms = 0;
  bool http11 = true;
  bool keep_alive = true;
  bool is_head = false;
  bool has_body = false;
  Framing req_framing = Framing::kNone;
  uint64_t content_length = 0;
  bool has_cl_header = false;
  bool expect_continue = false;
  bool upgrade = false;
  bool has_query = false;
  bool body_done = true;  // request body fully read from the client
  std::string_view method;
  std::string_view host_value;  // forwarded as Host (absolute-form: the target's authority)
  std::string_view query;
  std::string_view upgrade_value;
  ListedTokens connection;
  size_t head_len = 0;
  int64_t start_ms = 0;
  LocalTableRef table;
  const CompiledRule* rule = nullptr;
  const CompiledBackend* backend = nullptr;  // set by proxy()
  // HTTPRoute filters for the picked backendRef (dataplane/filters), null when none apply.
  const dataplane::filters::BackendFilters* filters = nullptr;
  std::string_view resp_extra;  // response field lines added by the CORS filter
  bool cors_applied = false;
  // ExternalAuth allowed the request with these field changes (filters/ext_authz.h).
  dataplane::filters::AuthEdits auth;
  // The input buffer the request head was read into, when forwardBody had to replace it with a
  // larger one: the head's views (method, Host, fields) point into it.
  BufMem head_buf;
  // Resilience (dataplane/upstream/): set by proxy() per attempt, read by relayResponse().
  uint32_t backend_pos = 0;  // index into rule->backends of the picked backendRef
  int64_t request_deadline = 0;
  bool retry_policy = false;   // the rule has a retry policy (it replaces the implicit retry)
  bool retry_allowed = false;  // another attempt remains for this one
  bool mirrored = false;
  upstream::AttemptFailure failure = upstream::AttemptFailure::kNone;
  upstream::SessionChoice session;
};

// Idle: the connection is only this object, owned by the pending readability wait's handler (no
// coroutine frame, no buffer: docs/life-of-a-request.md "Memory"). If the worker is destroyed
// with the wait pending, destroying the handler destroys the connection.
void Conn::armIdle(std::unique_ptr<Conn> self) {
  Conn* c = self.get();
  c->entry_.idle = true;
  if (c->w_.draining()) return;  // closes
  const Options& o = c->w_.options();
  c->setDeadline(c->first_ ? o.header_timeout_ms : o.idle_timeout_ms);
  if (c->ssl_ != nullptr && SSL_has_pending(c->ssl_) == 1) {
    // OpenSSL already holds bytes of the next record: the socket may never become readable.
    c->entry_.idle = false;
    c->ctx_ = c->w_.acquireCtx();
    asio::co_spawn(c->w_.io(), burst(std::move(self)), asio::detached);
    return;
  }
  auto on_readable = [self = std::move(self)](const asio::error_code& ec) mutable {
    Conn* c = self.get();
    if (ec || c->entry_.timed_out || c->w_.draining()) return;  // closes
    c->entry_.idle = false;
    c->ctx_ = c->w_.acquireCtx();
    asio::co_spawn(c->w_.io(), burst(std::move(self)), asio::detached);
  };
  if (c->ssl_ == nullptr) {
    // No epoll_ctl when the last read proved the socket drained (io/read_readiness.h).
    io::asyncWaitReadable(c->sock_, std::move(on_readable));
  } else {
    c->sock_.async_wait(tcp::socket::wait_read, std::move(on_readable));
  }
}

void Conn::start(std::unique_ptr<Conn> self) {
  Conn* c = self.get();
  LocalTableRef t = c->w_.currentTable();
  const RouteTable* table = t ? t->table.get() : nullptr;
  const int pi = table != nullptr ? table->findPort(c->port_->address, c->port_->port) : -1;
  if (pi < 0 || !table->portIsHttps(pi)) {
    armIdle(std::move(self));
    return;
  }
  // HTTPS: the SSL comes from the contexts of the current snapshot and keeps them alive by
  // itself, so a certificate rotated later does not affect this connection.
  const tls::ServerContextSet* set = table->portTls(pi);
  if (set == nullptr) return;  // no usable certificate: refuse (closes)
  c->ssl_ = set->newSsl();
  if (c->ssl_ == nullptr || !tls::attachFd(c->ssl_, c->sock_)) return;
  asio::co_spawn(c->w_.io(), handshake(std::move(self)), asio::detached);
}

// The TLS handshake runs under the header timeout (a client that opens a connection and never
// completes a handshake is a slowloris too); a drain cancels it like an idle connection.
awaitable<void> Conn::handshake(std::unique_ptr<Conn> self) {
  Conn& c = *self;
  c.setDeadline(c.w_.options().header_timeout_ms);
  asio::error_code ec = co_await tls::handshakeFd(c.ssl_, c.sock_);
  if (ec || c.entry_.timed_out || c.w_.draining()) {
    spdlog::debug("TLS handshake from {} failed: {}", c.peer_.address().to_string(),
                  c.entry_.timed_out ? "timeout" : ec.message());
    // A failed handshake already sent its alert; nothing more may be written.
    SSL_set_quiet_shutdown(c.ssl_, 1);
    co_return;
  }
  if (tls::selectedAlpn(c.ssl_) == "h2") {
    // RFC 9113 3.2: ALPN chose HTTP/2; its handler owns the connection (and the SSL) from here.
    SSL* ssl = std::exchange(c.ssl_, nullptr);
    http2::serveHttp2(c.w_, std::move(c.sock_), http2::SslPtr(ssl), c.port_, {});
    co_return;
  }
  armIdle(std::move(self));
}

// Active: serves requests (pipelined ones back to back) until the connection is idle again or
// must close. The coroutine frame owns the connection meanwhile.
awaitable<void> Conn::burst(std::unique_ptr<Conn> self) {
  Conn& c = *self;
  for (;;) {
    bool keep = co_await c.handleRequest();
    c.first_ = false;
    if (!keep) {
      // Orderly close: stop sending, and let the client see our last response before the RST
      // that unread input would trigger.
      asio::error_code ec;
      closeNotify(c.ssl_);
      c.sock_.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
    if (!c.ctx_->in.empty()) continue;  // a pipelined request is already there
    if (c.ssl_ == nullptr && c.w_.enterHotIdle(&c.entry_)) {
      // Hot idle (Worker::enterHotIdle): wait for the next request right here, reading into the
      // buffer we still hold. The tick demotes us (cancels this read) after a whole tick without
      // a request; the idle timeout and drain apply as to a cold idle connection (armIdle).
      c.entry_.idle = true;
      c.setDeadline(c.w_.options().idle_timeout_ms);
      ByteBuf& in = c.ctx_->in;
      in.clear();
      auto [ec, n] =
          co_await c.sock_.async_read_some(asio::buffer(in.data.get(), in.cap), kNoThrow);
      c.w_.leaveHotIdle(&c.entry_);
      if (!ec && !c.entry_.timed_out && !c.w_.draining()) {
        c.entry_.idle = false;
        in.end = n;
        io::noteRead(c.sock_, n, in.cap);
        continue;
      }
      if (!c.entry_.demoted || ec != asio::error::operation_aborted || c.entry_.timed_out ||
          c.w_.draining()) {
        co_return;  // client closed, error, idle timeout or drain: closes, as armIdle's would
      }
    }
    c.w_.releaseCtx(c.ctx_);
    c.ctx_ = nullptr;
    armIdle(std::move(self));
    co_return;
  }
}

awaitable<bool> Conn::sendLocal(Exchange& x, unsigned status, std::string_view body, bool close,
                                std::string_view extra) {
  cap_deadline_ = 0;  // the answer itself gets the normal send timeout
  std::string& out = ctx_->out;
  out.clear();
  out.append("HTTP/1.1 ");
  appendDec(out, status);
  out.push_back(' ');
  out.append(reasonPhrase(status));
  out.append("\r\n");
  // RFC 9110 8.6: no Content-Length in 1xx and 204 responses.
  if (status >= 200 && status != 204 && status != 304) {
    out.append("content-type: text/plain\r\ncontent-length: ");
    appendDec(out, body.size());
    out.append("\r\n");
  }
  out.append(extra);
  if (close) out.append("connection: close\r\n");
  out.append("\r\n");
  if (!x.is_head) out.append(body);
  auto& iov = ctx_->iov;
  iov.clear();
  iov.push_back(asio::buffer(out));
  setDeadline(w_.options().idle_timeout_ms);
  bool ok = co_await sendAll(sock_, ssl_, entry_, iov);
  co_return ok && !close;
}

awaitable<bool> Conn::sendRedirect(Exchange& x, const filters::Redirect& r, bool close) {
  // HTTPRoute RequestRedirect (RFC 9110 15.4): Location from the filter and the request.
  std::string& loc = ctx_->scratch;
  loc.clear();
  r.appendLocation(ctx_->host, ctx_->path, x.has_query, x.query, loc);
  co_return co_await sendLocal(x, r.status(), "", close, loc);
}

awaitable<bool> Conn::sendPreflight(Exchange& x, const filters::Cors& cors,
                                    const filters::CorsRequest& req, bool close) {
  // HTTPCORSFilter: "The status code of a successful response to a "preflight" request is always
  // an OK status"; for an origin that is not allowed the answer carries no CORS fields, so the
  // browser does not send the actual request.
  std::string& extra = ctx_->scratch;
  extra.clear();
  if (cors.allows(req.origin)) cors.appendPreflight(req, extra);
  co_return co_await sendLocal(x, 204, "", close, extra);
}

awaitable<bool> Conn::handleRequest() {
  RequestCtx& c = *ctx_;
  ByteBuf& in = c.in;
  Exchange x;
  const Options& opt = w_.options();

  // 1. Read and parse the head (RFC 9112 2.2, 5; slowloris: header timeout). llhttp reads each
  // byte once, as it arrives; Parser::feedHead adds the strict checks it lacks.
  setDeadline(opt.header_timeout_ms);
  http1::Parser& p = c.req;
  p.beginHead(HTTP_REQUEST, &c.req_headers, opt.max_request_header_bytes, opt.max_request_headers);
  for (;;) {
    if (first_ && ssl_ == nullptr) {
      // RFC 9113 3.3: HTTP/2 with prior knowledge starts with the client preface; the HTTP/2
      // handler takes the connection over, with what we read.
      auto m = http2::matchPreface({in.begin(), in.size()});
      if (m == http2::PrefaceMatch::kComplete) {
        http2::serveHttp2(w_, std::move(sock_), nullptr, port_, {in.begin(), in.size()});
        in.clear();
        co_return false;
      }
      if (m == http2::PrefaceMatch::kPartial) {
        if (co_await readDown(in) <= 0) co_return false;
        continue;
      }
    }
    http1::HeadStatus st = p.feedHead(in.begin(), in.size());
    if (st == http1::HeadStatus::kComplete) break;
    if (st == http1::HeadStatus::kBad) co_return co_await sendLocal(x, 400, "bad request\n", true);
    if (st != http1::HeadStatus::kIncomplete) {
      co_return co_await sendLocal(x, 431, "request header fields too large\n", true);
    }
    if (in.end == in.cap) {
      if (in.start > 0) {
        // A pipelined head started mid-buffer (the parser follows the move: feedHead).
        in.compact();
      } else {
        in.grow(std::max<size_t>(in.cap * 2, opt.max_request_header_bytes + 1));
      }
    }
    ssize_t r = co_await readDown(in);
    if (r == 0) co_return false;  // client closed between or inside a head
    if (r < 0) {
      // RFC 9110 15.5.9: 408 when the client did not send a complete request in time.
      if (entry_.timed_out && !in.empty() && !entry_.killed) {
        co_await sendLocal(x, 408, "request timeout\n", true);
      }
      co_return false;
    }
  }
  x.start_ms = w_.nowMs();
  ++w_.stats().requests;
  x.head_len = p.headLen();

  // 2. What the parser found.
  if (p.major() != 1) co_return co_await sendLocal(x, 505, "http version not supported\n", true);
  x.http11 = p.minor() >= 1;
  x.keep_alive = p.keepAlive();
  x.method = p.methodName();
  x.is_head = p.method() == HTTP_HEAD;
  if (p.method() == HTTP_CONNECT) {
    co_return co_await sendLocal(x, 405, "method not allowed\n", true);
  }

  // 3. Field semantics the parser does not enforce.
  int host_count = 0, cl_count = 0, te_count = 0;
  std::string_view host_field, te_value;
  for (const auto& h : c.req_headers) {
    using http1::iequals;
    if (iequals(h.name, "host")) {
      ++host_count;
      host_field = http1::trimOws(h.value);
    } else if (iequals(h.name, "content-length")) {
      ++cl_count;
    } else if (iequals(h.name, "transfer-encoding")) {
      ++te_count;
      te_value = http1::trimOws(h.value);
    } else if (iequals(h.name, "connection")) {
      x.connection.add(h.value);
    } else if (iequals(h.name, "upgrade")) {
      x.upgrade_value = http1::trimOws(h.value);
    } else if (iequals(h.name, "expect")) {
      // RFC 9110 10.1.1: only 100-continue is defined.
      if (!iequals(http1::trimOws(h.value), "100-continue")) {
        co_return co_await sendLocal(x, 417, "expectation failed\n", true);
      }
      x.expect_continue = true;
    }
  }
  // RFC 9112 6.1 / 6.3: both CL and TE, several CLs, a TE in HTTP/1.0 -> faulty framing.
  if ((cl_count > 0 && te_count > 0) || cl_count > 1 || te_count > 1 ||
      (te_count > 0 && !x.http11) || x.connection.overflow) {
    co_return co_await sendLocal(x, 400, "bad request\n", true);
  }
  if (te_count > 0 && !(http1::iequals(te_value, "chunked") && p.chunked())) {
    // RFC 9112 6.1: a transfer coding we do not understand -> 501 and close.
    co_return co_await sendLocal(x, 501, "transfer coding not implemented\n", true);
  }
  if (p.chunked()) {
    x.req_framing = Framing::kChunked;
    x.has_body = true;
  } else if (p.hasContentLength()) {
    x.has_cl_header = true;
    x.content_length = p.contentLength();
    x.has_body = x.content_length > 0;
    if (x.has_body) x.req_framing = Framing::kLength;
  }
  x.body_done = !x.has_body;
  // RFC 9110 7.8: an upgrade needs both Upgrade and "Connection: upgrade"; we do not upgrade a
  // request that carries a body (the parser would treat its bytes as the new protocol).
  x.upgrade = !x.upgrade_value.empty() && x.connection.lists("upgrade") && !x.has_body;
  if (p.upgradeFlag() && !x.upgrade && x.has_body) {
    co_return co_await sendLocal(x, 400, "bad request\n", true);
  }

  // 4. Request target (RFC 9112 3.2) -> routing host, normalised path, query.
  std::string_view target = p.target();
  std::string_view raw_path;
  if (!target.empty() && target[0] == '/') {
    size_t q = target.find('?');
    raw_path = target.substr(0, q);
    if (q != std::string_view::npos) {
      x.has_query = true;
      x.query = target.substr(q + 1);
    }
    if (host_count != 1 && (x.http11 || host_count > 1)) {
      // RFC 9112 3.2: 400 for a missing (HTTP/1.1) or duplicated Host.
      co_return co_await sendLocal(x, 400, "bad host\n", true);
    }
    x.host_value = host_field;
  } else if (target.size() > 7 &&
             (http1::iequals(target.substr(0, 7), "http://") ||
              (target.size() > 8 && http1::iequals(target.substr(0, 8), "https://")))) {
    // Absolute-form (RFC 9112 3.2.2): the target's authority replaces Host.
    size_t scheme_end = target.find("://") + 3;
    size_t auth_end = target.find_first_of("/?", scheme_end);
    if (auth_end == std::string_view::npos) auth_end = target.size();
    x.host_value = target.substr(scheme_end, auth_end - scheme_end);
    if (x.host_value.find('@') != std::string_view::npos || host_count > 1) {
      co_return co_await sendLocal(x, 400, "bad host\n", true);
    }
    std::string_view rest = target.substr(auth_end);
    size_t q = rest.find('?');
    raw_path = rest.substr(0, q);
    if (q != std::string_view::npos) {
      x.has_query = true;
      x.query = rest.substr(q + 1);
    }
    if (raw_path.empty()) raw_path = "/";
  } else {
    // asterisk-form or authority-form outside CONNECT: nothing here can route it.
    co_return co_await sendLocal(x, target == "*" ? 404 : 400, "bad request target\n", true);
  }
  // RFC 9110 4.2.1: an "http" URI with an empty host is invalid; only an HTTP/1.0 request
  // without any Host field is served with an empty routing host.
  if (!http1::parseHost(x.host_value, &c.host) || (c.host.empty() && host_count > 0) ||
      (c.host.empty() && x.http11)) {
    co_return co_await sendLocal(x, 400, "bad host\n", true);
  }
  if (!http1::normalizePath(raw_path, &c.path) || !http1::validQuery(x.query)) {
    co_return co_await sendLocal(x, 400, "bad path\n", true);
  }
  in.consume(x.head_len);
  // A locally answered request with an unread body ends the connection (we do not drain it).
  const bool close_local = x.has_body || !x.keep_alive || w_.draining();
  if (ssl_ != nullptr && !c.host.empty() && tls::ServerContextSet::isMisdirected(ssl_, c.host)) {
    // RFC 9110 15.5.20: this connection's certificate (chosen by SNI) is not the one for this
    // host (e.g. a client reusing a connection for another name the certificate covers). An
    // HTTP/1.0 request without Host names no host: it is routed like on any connection.
    co_return co_await sendLocal(x, 421, "misdirected request\n", close_local);
  }

  // 5. Route (the worker's current table; the request keeps it until it ends).
  x.table = w_.currentTable();
  const RouteTable* table = x.table ? x.table->table.get() : nullptr;
  if (table == nullptr) co_return co_await sendLocal(x, 404, "no route\n", close_local);
  RequestInfo ri;
  ri.method = x.method;
  ri.host = c.host;
  ri.path = c.path;
  ri.query = x.query;
  ri.headers = &c.req_headers;
  x.rule = table->route(table->findPort(port_->address, port_->port), ri);
  if (x.rule == nullptr) co_return co_await sendLocal(x, 404, "no route\n", close_local);
  const ir::Rule& rule = *x.rule->ir;
  if (rule.direct_status != 0) {
    co_return co_await sendLocal(x, rule.direct_status, "", close_local);
  }
  if (x.rule->ext_auth != nullptr) {
    // ExternalAuth (filters/ext_authz.h) runs before every other filter; it fails closed.
    if (x.rule->ext_auth_backend < 0) {
      co_return co_await sendLocal(x, 500, "authorization backend unavailable\n", close_local);
    }
    const auto abi = static_cast<uint32_t>(x.rule->ext_auth_backend);
    filters::AuthRequest areq{x.method, c.path, x.query, x.has_query, x.host_value, &c.req_headers};
    areq.tls = ssl_ != nullptr;
    areq.peer = &peer_;
    // ForwardBody: the first maxSize bytes go to the auth server; the raw bytes stay in c.in and
    // are all forwarded afterwards.
    std::optional<filters::BodyPrefix> bp;
    if (x.rule->ext_auth->forward_body_max > 0) {
      areq.body_size = 0;
      if (x.has_body) {
        bp.emplace(x.req_framing == Framing::kChunked, x.content_length,
                   std::min<size_t>(x.rule->ext_auth->forward_body_max, filters::kMaxForwardBody));
        if (!co_await readBodyPrefix(x, *bp)) co_return false;
        areq.body = bp->body();
        areq.body_size = bp->size();
      }
    }
    filters::AuthResult ares;
    co_await filters::checkExternalAuth(w_, entry_, table->backend(abi), x.table->backend_rr[abi],
                                        *x.rule->ext_auth, areq, &ares);
    if (entry_.killed) co_return false;
    if (ares.kind == filters::AuthResult::Kind::kError) {
      co_return co_await sendLocal(x, 403, "external authorization failed\n", close_local);
    }
    if (ares.kind == filters::AuthResult::Kind::kDeny) {
      std::string& out = c.out;
      filters::buildDenialResponse(ares, x.is_head, close_local, &out);
      auto& iov = c.iov;
      iov.clear();
      iov.push_back(asio::buffer(out));
      setDeadline(opt.idle_timeout_ms);
      bool ok = co_await sendAll(sock_, ssl_, entry_, iov);
      co_return ok && !close_local;
    }
    x.auth = std::move(ares.edits);
  }
  // HTTPRoute filters answered by the gateway itself (dataplane/filters/rule_filters.h).
  const filters::RuleFilters* rf = x.rule->filters.get();
  filters::CorsRequest cors_req;
  if (rf != nullptr) {
    if (rf->cors) {
      cors_req = filters::CorsRequest::inspect(x.method, c.req_headers);
      if (cors_req.preflight())
        co_return co_await sendPreflight(x, *rf->cors, cors_req, close_local);
    }
    if (rf->redirect) co_return co_await sendRedirect(x, *rf->redirect, close_local);
  }
  if (x.rule->total_weight == 0) {
    // No usable backendRef (Gateway API: all invalid -> 500).
    co_return co_await sendLocal(x, 500, "no backend\n", close_local);
  }
  // SessionPersistence: a valid session picks its backendRef and endpoint.
  if (!x.rule->session_targets.empty()) {
    x.session = upstream::findSession(*x.rule, c.req_headers, upstream::wallClockSeconds());
  }
  uint32_t bi = x.session.position >= 0 ? static_cast<uint32_t>(x.session.position)
                                        : x.rule->picker.pick(x.table->rule_rr[x.rule->slot]);
  x.backend_pos = bi;
  int32_t bidx = x.rule->backends[bi];
  if (bidx == kInvalidBackend) {
    // HTTPRoute BackendRef: "requests that would have been sent to an invalid backend MUST
    // receive a 500 status code".
    co_return co_await sendLocal(x, 500, "invalid backend\n", close_local);
  }
  if (bidx < 0 || table->backend(static_cast<uint32_t>(bidx)).total_weight == 0) {
    co_return co_await sendLocal(x, 503, "no healthy upstream\n", close_local);
  }
  if (rf != nullptr) {
    // Filters of the picked backendRef (composed with the rule's).
    const filters::BackendFilters* bf = rf->forBackend(x.rule->backend_refs[bi]);
    x.filters = bf;
    const filters::Cors* cors = rf->cors ? &*rf->cors : nullptr;
    if (bf != nullptr) {
      if (bf->redirect) co_return co_await sendRedirect(x, *bf->redirect, close_local);
      if (bf->cors && !rf->cors) {
        cors = &*bf->cors;
        cors_req = filters::CorsRequest::inspect(x.method, c.req_headers);
        if (cors_req.preflight()) co_return co_await sendPreflight(x, *cors, cors_req, close_local);
      }
      if (bf->rewritesPath()) {
        // URLRewrite: the rewritten path is what is forwarded (routing already happened).
        c.scratch.clear();
        filters::modifyPath(bf->path, rf->prefixes, c.path, c.scratch);
        std::swap(c.path, c.scratch);
      }
    }
    if (cors != nullptr && cors_req.has_origin && cors->allows(cors_req.origin)) {
      c.scratch.clear();
      cors->appendActual(cors_req, c.scratch);
      x.resp_extra = c.scratch;
      x.cors_applied = true;
    }
  }
  co_return co_await proxy(x, table->backend(static_cast<uint32_t>(bidx)));
}

// ExternalAuth forwardBody: reads the request body into c.in, unconsumed (proxy() forwards every
// raw byte afterwards), until `bp` has its prefix or the whole body. False when the connection
// is done (client gone or stalled, or a framing error answered with 400).
awaitable<bool> Conn::readBodyPrefix(Exchange& x, filters::BodyPrefix& bp) {
  RequestCtx& c = *ctx_;
  const Options& opt = w_.options();
  if (x.expect_continue && c.in.empty()) {
    // RFC 9110 10.1.1: the client waits for this before sending its body; proxy() must not send
    // a second one.
    static const asio::const_buffer k100("HTTP/1.1 100 Continue\r\n\r\n", 25);
    c.iov.clear();
    c.iov.push_back(k100);
    if (!co_await sendAll(sock_, ssl_, entry_, c.iov)) co_return false;
  }
  x.expect_continue = false;
  // Chunk framing can make the raw bytes larger than the decoded prefix; past this much raw
  // input the prefix is sent as it is.
  const size_t raw_limit = 2 * filters::kMaxForwardBody + 64 * 1024;
  size_t fed = 0;
  for (;;) {
    if (!bp.feed(c.in.begin() + fed, c.in.size() - fed)) {
      co_await sendLocal(x, 400, "bad request body\n", true);
      co_return false;
    }
    fed = c.in.size();
    if (bp.full() || fed >= raw_limit) co_return true;
    if (c.in.end == c.in.cap || (c.in.empty() && !x.head_buf)) {
      // Another buffer for the body (larger when this one is full). Never compact() or grow(),
      // nor read over consumed bytes (an empty buffer restarts at 0): the request head's views
      // point into the buffer it was read into, which must stay as it is until the request ends.
      BufMem old = std::move(c.in.data);
      const char* live = old.get() + c.in.start;
      const size_t n = c.in.size();
      c.in.allocate(c.in.end == c.in.cap ? std::min(c.in.cap * 2, raw_limit + 1) : c.in.cap);
      std::memcpy(c.in.data.get(), live, n);
      c.in.end = n;
      if (!x.head_buf) x.head_buf = std::move(old);
    }
    setDeadline(opt.idle_timeout_ms);
    ssize_t r = co_await readDown(c.in);
    if (r <= 0) {
      if (entry_.timed_out) co_await sendLocal(x, 408, "request body timeout\n", true);
      co_return false;
    }
  }
}

awaitable<std::unique_ptr<UpstreamConn>> Conn::connectUpstream(Exchange& x,
                                                               const CompiledBackend& backend,
                                                               uint32_t start, uint32_t timeout_ms,
                                                               bool& reused, bool& timed_out,
                                                               bool& tls_failed) {
  // An idle pooled connection, else connect (weighted round robin); an endpoint that cannot be
  // connected to is retried on the next one (nothing was sent yet).
  std::unique_ptr<UpstreamConn> up;
  const size_t n_eps = backend.endpoints.size();
  reused = false;
  const tls::ClientContext* up_tls = backend.tls.get();
  for (size_t attempt = 0; attempt < std::min<size_t>(n_eps, 3) && !up; ++attempt) {
    if (requestExpired(x)) break;
    const tcp::endpoint& ep = backend.endpoints[(start + attempt) % n_eps];
    // retryable: the same condition as the retry on a pooled connection found closed
    // (relayResponse), which lets the pool skip its liveness check for a recently used one.
    up = w_.takeIdleUpstream(ep, up_tls != nullptr ? up_tls->context() : nullptr,
                             /*retryable=*/!x.has_body && !x.upgrade && !x.retry_policy);
    if (up) {
      reused = true;
      ++w_.stats().upstream_reuses;
      break;
    }
    auto fresh = std::make_unique<UpstreamConn>(w_.io());
    fresh->ep = ep;
    asio::error_code ec;
    fresh->sock.open(ep.protocol(), ec);
    if (ec) continue;
    fresh->sock.non_blocking(true, ec);
    entry_.up = &fresh->sock;
    setDeadline(timeout_ms);
    auto [cec] = co_await fresh->sock.async_connect(ep, kNoThrow);
    entry_.up = nullptr;
    if (cec || entry_.timed_out) {
      if (entry_.killed) co_return nullptr;
      timed_out = timed_out || entry_.timed_out;
      spdlog::debug("upstream connect to {}:{} failed: {}", ep.address().to_string(), ep.port(),
                    entry_.timed_out ? "timeout" : cec.message());
      continue;
    }
    fresh->sock.set_option(tcp::no_delay(true), ec);
    ++w_.stats().upstream_connects;
    if (up_tls != nullptr) {
      // BackendTLSPolicy: handshake within the connect timeout; verification failures are
      // logged with OpenSSL's reason and answered 502 (the backend's identity is not trusted).
      int verify = X509_V_OK;
      if (!co_await upstreamHandshake(*fresh, *up_tls, backend, timeout_ms, &verify)) {
        if (entry_.killed) co_return nullptr;
        timed_out = timed_out || entry_.timed_out;
        tls_failed = !entry_.timed_out;
        spdlog::warn("backend {} at {}:{}: TLS handshake failed: {}", backend.ir->name,
                     ep.address().to_string(), ep.port(),
                     entry_.timed_out      ? "timeout"
                     : verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                           : "handshake error");
        continue;
      }
    }
    up = std::move(fresh);
  }
  co_return std::move(up);
}

bool Conn::requestExpired(const Exchange& x) const {
  return x.request_deadline != 0 && w_.nowMs() >= x.request_deadline;
}

// A failed attempt may be retried only if nothing reached the client yet (checked by the
// caller), the whole request body is in the replay buffer, and time and attempts remain.
bool Conn::canRetry(const Exchange& x) const {
  return x.retry_allowed && x.body_done && !x.pump_running && x.req_failed == ReqFailure::kNone &&
         ctx_->replay.complete() && !requestExpired(x) && !entry_.killed && !w_.draining();
}

// RequestMirror: once the request is complete in the replay buffer, send a copy to one endpoint
// of each mirror backend that samples this request (rule-level mirrors, and those of the picked
// backendRef). A body larger than the replay bound is not mirrored (docs/request-mirror.md).
void Conn::mirror(Exchange& x) {
  const RequestCtx& c = *ctx_;
  if (x.mirrored || x.rule->mirrors.empty() || !x.body_done || !c.replay.complete()) return;
  x.mirrored = true;
  upstream::mirrorHttp1Request(w_, *x.table.get(), *x.rule, x.backend_pos, c.replay.head(),
                               c.replay.body(), x.is_head);
}

awaitable<bool> Conn::proxy(Exchange& x, const CompiledBackend& backend) {
  RequestCtx& c = *ctx_;
  const Options& opt = w_.options();
  const bool close_local = x.has_body || !x.keep_alive || w_.draining();
  const ir::Rule& rule = *x.rule->ir;
  uint32_t& rr = x.table->backend_rr[static_cast<size_t>(&backend - &x.table->table->backend(0))];
  if (backend.ir->app_protocol == ir::AppProtocol::kH2c ||
      backend.ir->app_protocol == ir::AppProtocol::kHttp2Tls) {
    // h2c backend (appProtocol kubernetes.io/h2c), or h2 over TLS (the same with a
    // BackendTLSPolicy): one stream of the worker's HTTP/2 pool.
    struct Down final : upstream::Downstream {
      explicit Down(Conn& c) : c(c) {}
      awaitable<ssize_t> read(ByteBuf& b) override { return c.readDown(b); }
      awaitable<bool> send(std::vector<asio::const_buffer>& iov) override {
        return sendAll(c.sock_, c.ssl_, c.entry_, iov);
      }
      Conn& c;
    } down(*this);
    upstream::H1Request h2r{.io = down,
                            .down = sock_,
                            .entry = entry_,
                            .ctx = *ctx_,
                            .peer = peer_,
                            .method = x.method,
                            .host_value = x.host_value,
                            .query = x.query,
                            .has_query = x.has_query,
                            .http11 = x.http11,
                            .keep_alive = x.keep_alive,
                            .is_head = x.is_head,
                            .expect_continue = x.expect_continue,
                            .upgrade = x.upgrade,
                            .has_body = x.has_body,
                            .chunked = x.req_framing == Framing::kChunked,
                            .has_cl_header = x.has_cl_header,
                            .content_length = x.content_length,
                            .start_ms = x.start_ms,
                            .tls = ssl_ != nullptr,
                            .filters = x.filters,
                            .resp_extra = x.resp_extra,
                            .cors_applied = x.cors_applied,
                            .rule = *x.rule,
                            .table = *x.table.get(),
                            .backend_pos = x.backend_pos,
                            .session = x.session};
    co_return co_await upstream::proxyHttp1ToH2(w_, h2r, *x.rule->ir, backend, &rr);
  }

  // 6. Route timeouts and retries (dataplane/upstream/resilience.h). The request deadline starts
  // now, as the head has just been received; the worker's clock is refreshed first because it is
  // only as fresh as its last tick.
  const bool retry_on = upstream::retryEnabled(rule.retry) && !x.upgrade;
  if (retry_on || rule.timeouts.request_ms != 0 || rule.timeouts.backend_request_ms != 0) {
    w_.updateNow();
  }
  x.request_deadline = upstream::requestDeadline(rule.timeouts, w_.nowMs());
  x.retry_policy = retry_on;
  struct ExchangeEnd {
    Conn& conn;
    ~ExchangeEnd() {
      conn.cap_deadline_ = 0;
      conn.ctx_->replay.shrink();
    }
  } exchange_end{*this};
  c.resp_extra.clear();
  if (backend.tlsRequired() && !backend.tls) {
    // BackendTLSPolicy applies but its context could not be built: never fall back to clear text.
    co_return co_await sendLocal(x, 503, "upstream TLS not available\n", close_local);
  }
  x.backend = &backend;

  // 7. Upstream request head: same normalised path as routed on; hop-by-hop fields removed;
  // X-Forwarded-* appended; Host preserved; framing regenerated.
  std::string& out = c.out;
  out.clear();
  out.append(x.method).push_back(' ');
  out.append(c.path);
  if (x.has_query) out.append("?").append(x.query);
  out.append(" HTTP/1.1\r\n");
  const filters::BackendFilters* bf = x.filters;
  out.append("Host: ")
      .append(bf != nullptr && bf->rewrite_host ? std::string_view(bf->host) : x.host_value)
      .append("\r\n");
  for (const auto& h : c.req_headers) {
    using http1::iequals;
    if (isHopByHop(h.name) || x.connection.lists(h.name) || iequals(h.name, "host") ||
        iequals(h.name, "expect") || iequals(h.name, "x-forwarded-for") ||
        iequals(h.name, "x-forwarded-proto") || iequals(h.name, "x-forwarded-host")) {
      continue;
    }
    if (bf != nullptr && bf->request.drops(h.name)) continue;  // RequestHeaderModifier
    if (!x.auth.empty() && x.auth.drops(h.name)) continue;     // ExternalAuth set or removed it
    http1::appendField(out, h.name, h.value);
  }
  if (bf != nullptr) out.append(bf->request.lines());
  for (const auto& [name, value] : x.auth.set) {
    http1::appendField(out, name, value);
  }
  for (const auto& [name, value] : x.auth.append) {
    http1::appendField(out, name, value);
  }
  // X-Forwarded-*: every received line's values, in order, then ours (de-facto standard; several
  // lines of one field are one comma-separated list, RFC 9110 5.3).
  auto appendForwarded = [&](std::string_view name, std::string_view ours) {
    out.append(name).append(": ");
    for (const auto& h : c.req_headers) {
      if (http1::iequals(h.name, name)) out.append(http1::trimOws(h.value)).append(", ");
    }
    out.append(ours).append("\r\n");
  };
  char ipbuf[INET6_ADDRSTRLEN];
  // A RequestHeaderModifier that removes or sets one of these replaces gantry's own.
  auto ours = [&](std::string_view name) { return bf == nullptr || !bf->request.drops(name); };
  if (ours("x-forwarded-for")) appendForwarded("x-forwarded-for", clientIp(peer_, ipbuf));
  if (ours("x-forwarded-proto")) {
    appendForwarded("x-forwarded-proto", ssl_ != nullptr ? "https" : "http");
  }
  if (!x.host_value.empty() && ours("x-forwarded-host")) {
    appendForwarded("x-forwarded-host", x.host_value);
  }
  if (x.req_framing == Framing::kChunked) {
    out.append("transfer-encoding: chunked\r\n");
  } else if (x.has_cl_header) {
    out.append("content-length: ");
    appendDec(out, x.content_length);
    out.append("\r\n");
  }
  if (x.upgrade)
    out.append("connection: upgrade\r\nupgrade: ").append(x.upgrade_value).append("\r\n");
  out.append("\r\n");

  auto& iov = c.iov;
  iov.clear();
  iov.push_back(asio::buffer(out));
  http1::Parser& rp = c.req;
  http1::ChunkedValidator req_validator(opt.max_request_header_bytes);
  http1::ChunkedValidator* rv = x.req_framing == Framing::kChunked ? &req_validator : nullptr;
  bool body_error = false;
  if (x.has_body && !c.in.empty()) {
    if (!frameBody(rp, rv, c.in, x.req_framing, iov, c.chunk_line)) body_error = true;
  }
  if (body_error) co_return co_await sendLocal(x, 400, "bad request body\n", true);
  x.body_done = !x.has_body || rp.done();
  if ((retry_on || !x.rule->mirrors.empty()) && !x.upgrade) {
    // Keep the request for retries and mirrors; the pump adds body pieces as they go out.
    c.replay.begin(out);
    c.replay.capture(iov, 1);
  }
  mirror(x);

  // 7b. Upstream connection; with a retry policy, failed attempts are repeated (HTTPRouteRetry)
  // from the replay buffer, on another endpoint when the backend has several.
  const size_t n_eps = backend.endpoints.size();
  uint32_t connect_timeout =
      backend.ir->connect_timeout_ms != 0
          ? std::min(backend.ir->connect_timeout_ms, opt.upstream_connect_timeout_ms)
          : opt.upstream_connect_timeout_ms;
  x.connect_timeout_ms = connect_timeout;
  x.response_timeout_ms = opt.upstream_response_timeout_ms;
  cap_deadline_ = upstream::attemptDeadline(rule.timeouts, w_.nowMs(), x.request_deadline);
  uint32_t start =
      x.session.endpoint >= 0 ? static_cast<uint32_t>(x.session.endpoint) : backend.picker.pick(rr);
  bool reused = false;
  bool timed_out_connect = false;
  bool tls_failed = false;
  std::unique_ptr<UpstreamConn> up = co_await connectUpstream(
      x, backend, start, connect_timeout, reused, timed_out_connect, tls_failed);
  struct UpGuard {
    ConnEntry& e;
    ~UpGuard() { e.up = nullptr; }
  } up_guard{entry_};
  bool keep = false;
  tcp::endpoint last_ep;  // of the previous failed attempt: a retry prefers another endpoint
  for (uint32_t attempt = 0;; ++attempt) {
    if (!up && entry_.killed) co_return false;
    x.retry_allowed = retry_on && attempt < rule.retry.attempts;
    x.failure = upstream::AttemptFailure::kNone;
    if (!up) {
      x.failure = upstream::AttemptFailure::kConnect;
      if (!canRetry(x)) {
        if (requestExpired(x)) co_return co_await sendLocal(x, 504, "upstream timeout\n", true);
        if (tls_failed) co_return co_await sendLocal(x, 502, "upstream TLS error\n", close_local);
        co_return co_await sendLocal(
            x, 503, timed_out_connect ? "upstream connect timeout\n" : "upstream connect error\n",
            close_local);
      }
    } else {
      entry_.up = &up->sock;
      if (rule.session_persistence.type != ir::SessionPersistenceType::kNone) {
        c.resp_extra.clear();
        upstream::appendSessionResponse(rule.session_persistence, x.session, backend.ir->name,
                                        up->ep, upstream::wallClockSeconds(), c.resp_extra);
      }
      if (attempt > 0) {
        // A retry: the request again, exactly as first sent.
        out.assign(c.replay.head());
        iov.clear();
        iov.push_back(asio::buffer(out));
        iov.push_back(asio::buffer(c.replay.body()));
      }
      setDeadline(opt.idle_timeout_ms);
      // Nothing can arrive before the upstream has the request: the response read skips Asio's
      // read attempt unless an edge comes first (io/read_readiness.h; marked before the write,
      // so an early answer during a write that had to wait is not missed).
      if (up->ssl == nullptr) io::markReadDrained(up->sock);
      bool up_write_failed = !co_await sendAll(up->sock, up->ssl, entry_, iov);

      // 8. Request body, streamed with backpressure: read from the client only once the previous
      // piece has been written upstream, so at most one buffer is in memory. It runs CONCURRENTLY
      // with the response (RFC 9110 6.4: a response may start before the request ends; an early
      // 413 must reach a client that is still uploading), in requestPump().
      x.reused = reused;
      x.up_write_failed = up_write_failed;
      if (!up_write_failed && !x.body_done) {
        if (x.expect_continue && c.in.empty()) {
          // RFC 9110 10.1.1: we answer 100-continue ourselves once the upstream is connected.
          static const asio::const_buffer k100("HTTP/1.1 100 Continue\r\n\r\n", 25);
          iov.push_back(k100);
          if (!co_await sendAll(sock_, ssl_, entry_, iov)) co_return false;
        }
        using namespace asio::experimental::awaitable_operators;
        x.pump_running = true;
        keep = co_await (requestPump(x, *up, rv) && relayResponse(x, up));
      } else {
        keep = co_await relayResponse(x, up);
      }
      entry_.up = nullptr;
      if (x.failure == upstream::AttemptFailure::kNone) break;
      last_ep = up->ep;
      up.reset();  // a failed attempt's connection is not reused
    }

    // Retry after the backoff (never past the request deadline).
    spdlog::debug("{}: retrying after attempt {} failed ({})", rule.route, attempt + 1,
                  static_cast<int>(x.failure));
    uint32_t wait_ms = upstream::backoffMs(rule.retry, attempt + 1);
    if (wait_ms != 0) {
      if (x.request_deadline != 0) {
        wait_ms = static_cast<uint32_t>(
            std::clamp<int64_t>(x.request_deadline - w_.nowMs(), 0, int64_t{wait_ms}));
      }
      asio::steady_timer backoff(w_.io(), std::chrono::milliseconds(wait_ms));
      auto [tec] = co_await backoff.async_wait(kNoThrow);
      (void)tec;
      w_.updateNow();
    }
    if (entry_.killed) co_return false;
    if (requestExpired(x)) co_return co_await sendLocal(x, 504, "upstream timeout\n", true);
    cap_deadline_ = upstream::attemptDeadline(rule.timeouts, w_.nowMs(), x.request_deadline);
    // The endpoint after the one that failed (without advancing the round robin, so that first
    // attempts keep their share): a retry lands elsewhere when the backend has several.
    auto failed = std::find(backend.endpoints.begin(), backend.endpoints.end(), last_ep);
    if (failed != backend.endpoints.end()) {
      start = static_cast<uint32_t>((failed - backend.endpoints.begin() + 1) % n_eps);
    }
    timed_out_connect = false;
    tls_failed = false;
    up = co_await connectUpstream(x, backend, start, connect_timeout, reused, timed_out_connect,
                                  tls_failed);
  }
  mirror(x);
  co_return keep;
}

awaitable<bool> Conn::upstreamHandshake(UpstreamConn& up, const tls::ClientContext& ctx,
                                        const CompiledBackend& backend, uint32_t timeout_ms,
                                        int* verify_result) {
  // Pooled connections resume this worker's last session with the backend (no lock).
  up.ssl = ctx.newSsl(&w_.backendSessions().slot(backend.ir->name, ctx.context()));
  if (up.ssl == nullptr || !tls::attachFd(up.ssl, up.sock)) co_return false;
  entry_.up = &up.sock;
  setDeadline(timeout_ms);
  asio::error_code ec = co_await tls::handshakeFd(up.ssl, up.sock);
  entry_.up = nullptr;
  *verify_result = static_cast<int>(SSL_get_verify_result(up.ssl));
  if (ec || entry_.timed_out) {
    SSL_set_quiet_shutdown(up.ssl, 1);
    co_return false;
  }
  co_return true;
}

awaitable<void> Conn::requestPump(Exchange& x, UpstreamConn& up, http1::ChunkedValidator* rv) {
  RequestCtx& c = *ctx_;
  const Options& opt = w_.options();
  while (!x.body_done && !x.pump_abort) {
    setDeadline(opt.idle_timeout_ms);
    c.in.clear();
    ssize_t r = co_await readDown(c.in);
    if (x.pump_abort) break;
    if (r <= 0) {
      // Client went away (or idle timeout) mid-body: stop the response side too.
      x.req_failed = entry_.timed_out ? ReqFailure::kTimeout : ReqFailure::kClientGone;
      asio::error_code ec;
      up.sock.cancel(ec);
      break;
    }
    if (!frameBody(c.req, rv, c.in, x.req_framing, c.req_iov, c.req_chunk_line)) {
      x.req_failed = ReqFailure::kBadBody;
      asio::error_code ec;
      up.sock.cancel(ec);
      break;
    }
    x.body_done = c.req.done();
    c.replay.capture(c.req_iov);
    if (!co_await sendAll(up.sock, up.ssl, entry_, c.req_iov)) {
      // The upstream stopped reading (it may have answered early): the response side decides.
      x.up_write_failed = true;
      break;
    }
  }
  c.req_iov.clear();
  x.pump_running = false;
  if (x.req_failed == ReqFailure::kNone && !x.pump_abort) {
    setDeadline(x.response_timeout_ms != 0 ? x.response_timeout_ms : opt.idle_timeout_ms);
  }
}

awaitable<bool> Conn::relayResponse(Exchange& x, std::unique_ptr<UpstreamConn>& up) {
  RequestCtx& c = *ctx_;
  const Options& opt = w_.options();
  const bool close_local = x.has_body || !x.keep_alive || w_.draining();
  auto& iov = c.iov;
  std::string& out = c.out;
  bool& reused = x.reused;
  const uint32_t connect_timeout = x.connect_timeout_ms;
  const uint32_t response_timeout = x.response_timeout_ms;
  const bool response_timed = response_timeout != 0;
  bool& up_write_failed = x.up_write_failed;
  // However this ends, a still-running request pump must stop (its client read and upstream
  // write are cancelled; it sees pump_abort).
  struct PumpStopper {
    Exchange& x;
    tcp::socket& down;
    std::unique_ptr<UpstreamConn>& up;
    ~PumpStopper() {
      if (!x.pump_running) return;
      x.pump_abort = true;
      asio::error_code ec;
      down.cancel(ec);
      if (up) up->sock.cancel(ec);
    }
  } pump_stopper{x, sock_, up};

  // 9. Response head. 1xx interim responses are relayed (except 100: we sent ours), 101 only for
  // an upgrade we asked for.
  ByteBuf& ub = c.up;
  ub.clear();
  http1::Parser& sp = c.resp;
  size_t resp_head_len = 0;
  const char* rhead = nullptr;
  size_t rhead_bytes = 0;
  unsigned status = 0;
  bool retried = false;
  // After an interim (1xx) response the final one may already have arrived while that response
  // was being relayed (a client write that waited lets the reactor see, and consume, the upstream's
  // readiness edge): from then on a read must try before it waits (io/read_readiness.h).
  bool interim_seen = false;
  for (;;) {
    if (!x.pump_running) setDeadline(response_timed ? response_timeout : opt.idle_timeout_ms);
    // Parsed as it arrives, like the request head (Parser::feedHead); HEAD, 1xx, 204 and 304
    // responses have no body (RFC 9112 6.3).
    sp.beginHead(HTTP_RESPONSE, &c.resp_headers, kMaxResponseHeadBytes, kMaxResponseHeaders,
                 x.is_head);
    http1::HeadStatus st;
    bool got_any = !ub.empty() || interim_seen;
    while ((st = sp.feedHead(ub.begin(), ub.size())) == http1::HeadStatus::kIncomplete) {
      if (ub.end == ub.cap) {
        if (ub.start > 0) {
          ub.compact();
        } else {
          ub.grow(kMaxResponseHeadBytes + 1);
        }
      }
      // The request has just been written: the response cannot be there yet, so wait for
      // readability first instead of spending a read() on EAGAIN.
      ssize_t r = co_await readUp(*up, ub, /*wait_first=*/!got_any);
      if (r > 0) {
        got_any = true;
        continue;
      }
      if (entry_.killed || x.req_failed == ReqFailure::kClientGone) co_return false;
      if (x.req_failed == ReqFailure::kBadBody) {
        co_return co_await sendLocal(x, 400, "bad request body\n", true);
      }
      if (entry_.timed_out || x.req_failed == ReqFailure::kTimeout) {
        if (entry_.timed_out && canRetry(x)) {
          x.failure = upstream::AttemptFailure::kTimeout;  // backendRequest timeout: retry
          co_return false;
        }
        co_return co_await sendLocal(x, 504, "upstream timeout\n", true);
      }
      if (reused && !got_any && !x.has_body && !x.upgrade && !retried && !x.retry_policy) {
        // A pooled connection the upstream closed just as we reused it: nothing was processed,
        // so retry once on a fresh connection (RFC 9112 9.3.1).
        retried = true;
        reused = false;
        auto fresh = std::make_unique<UpstreamConn>(w_.io());
        fresh->ep = up->ep;
        asio::error_code ec;
        fresh->sock.open(fresh->ep.protocol(), ec);
        fresh->sock.non_blocking(true, ec);
        entry_.up = &fresh->sock;
        setDeadline(connect_timeout);
        auto [cec] = co_await fresh->sock.async_connect(fresh->ep, kNoThrow);
        if (cec || entry_.timed_out) {
          if (entry_.killed) co_return false;
          // The endpoint is gone (e.g. it closed its pooled connections on its way down): the
          // request was not processed, so it may go to the backend's other endpoints.
          std::unique_ptr<UpstreamConn> other;
          if (x.backend != nullptr && x.backend->endpoints.size() > 1) {
            auto it = std::find(x.backend->endpoints.begin(), x.backend->endpoints.end(), up->ep);
            auto next = static_cast<uint32_t>(
                it == x.backend->endpoints.end() ? 0 : (it - x.backend->endpoints.begin() + 1));
            bool other_reused = false, other_timed_out = false, other_tls_failed = false;
            other = co_await connectUpstream(x, *x.backend, next, connect_timeout, other_reused,
                                             other_timed_out, other_tls_failed);
          }
          if (!other) {
            if (entry_.killed) co_return false;
            co_return co_await sendLocal(x, 503, "upstream connect error\n", close_local);
          }
          fresh = std::move(other);
        } else {
          fresh->sock.set_option(tcp::no_delay(true), ec);
        }
        if (x.backend != nullptr && x.backend->tls && fresh->ssl == nullptr) {
          int verify = X509_V_OK;
          if (!co_await upstreamHandshake(*fresh, *x.backend->tls, *x.backend, connect_timeout,
                                          &verify)) {
            if (entry_.killed) co_return false;
            co_return co_await sendLocal(x, 502, "upstream TLS error\n", close_local);
          }
          entry_.up = &fresh->sock;
        }
        up = std::move(fresh);
        ++w_.stats().upstream_connects;
        if (x.backend != nullptr &&
            x.rule->ir->session_persistence.type != ir::SessionPersistenceType::kNone) {
          c.resp_extra.clear();  // the session names the endpoint that answers
          upstream::appendSessionResponse(x.rule->ir->session_persistence, x.session,
                                          x.backend->ir->name, up->ep, upstream::wallClockSeconds(),
                                          c.resp_extra);
        }
        iov.push_back(asio::buffer(out));
        setDeadline(response_timed ? response_timeout : opt.idle_timeout_ms);
        if (up->ssl == nullptr) io::markReadDrained(up->sock);  // as for the first write
        if (!co_await sendAll(up->sock, up->ssl, entry_, iov)) {
          co_return co_await sendLocal(x, 502, "upstream reset\n", true);
        }
        ub.clear();
        continue;
      }
      if (canRetry(x)) {
        x.failure = upstream::AttemptFailure::kReset;
        co_return false;
      }
      co_return co_await sendLocal(x, 502, "upstream reset\n", true);
    }
    if (st != http1::HeadStatus::kComplete) {
      co_return co_await sendLocal(x, 502, "malformed upstream response\n", true);
    }
    resp_head_len = sp.headLen();
    rhead = ub.begin() + sp.startLineOffset();
    rhead_bytes = resp_head_len - sp.startLineOffset();
    if (sp.major() != 1) {
      co_return co_await sendLocal(x, 502, "malformed upstream response\n", true);
    }
    status = sp.status();
    if (status >= 100 && status < 200 && status != 101) {
      if (status != 100 && x.http11) {
        // Relay interim responses such as 103 Early Hints (RFC 9110 15.2) unchanged.
        iov.push_back(asio::const_buffer(rhead, rhead_bytes));
        if (!co_await sendAll(sock_, ssl_, entry_, iov)) co_return false;
      }
      ub.consume(resp_head_len);
      interim_seen = true;
      continue;
    }
    if (upstream::retryableStatus(x.rule->ir->retry, status) && canRetry(x)) {
      x.failure = upstream::AttemptFailure::kStatus;  // HTTPRouteRetry.codes
      co_return false;
    }
    break;
  }

  // Response validation: the same smuggling rules as for requests (502 instead of 400).
  int rcl = 0, rte = 0;
  std::string_view rte_value, rupgrade;
  ListedTokens rconn;
  for (const auto& h : c.resp_headers) {
    using http1::iequals;
    if (iequals(h.name, "content-length")) {
      ++rcl;
    } else if (iequals(h.name, "transfer-encoding")) {
      ++rte;
      rte_value = http1::trimOws(h.value);
    } else if (iequals(h.name, "connection")) {
      rconn.add(h.value);
    } else if (iequals(h.name, "upgrade")) {
      rupgrade = h.value;
    }
  }
  const bool no_body =
      x.is_head || (status >= 100 && status < 200) || status == 204 || status == 304;
  if ((rcl > 0 && rte > 0) || rcl > 1 || rte > 1 || rconn.overflow ||
      (rte > 0 && !(http1::iequals(rte_value, "chunked") && sp.chunked()))) {
    co_return co_await sendLocal(x, 502, "malformed upstream response\n", true);
  }
  if (status == 101 && !x.upgrade) {
    co_return co_await sendLocal(x, 502, "unexpected upgrade\n", true);
  }

  // 10. Response framing towards the client.
  Framing in_framing = Framing::kNone;
  if (!no_body && status != 101) {
    if (sp.chunked()) {
      in_framing = Framing::kChunked;
    } else if (sp.hasContentLength()) {
      in_framing = sp.contentLength() > 0 ? Framing::kLength : Framing::kNone;
    } else {
      in_framing = Framing::kEof;
    }
  }
  Framing out_framing = in_framing;
  if (in_framing == Framing::kChunked || in_framing == Framing::kEof) {
    out_framing = x.http11 ? Framing::kChunked : Framing::kEof;
  }
  bool keep_down = x.keep_alive && x.body_done && !w_.draining() && out_framing != Framing::kEof &&
                   status != 101;
  out.clear();
  out.append("HTTP/1.1 ");
  appendDec(out, status);
  out.push_back(' ');
  {
    // Reason phrase as sent by the upstream (status-line = version SP code SP [reason]).
    std::string_view line(rhead, rhead_bytes);
    line = line.substr(0, line.find("\r\n"));
    if (line.size() > 13) out.append(line.substr(13));
  }
  out.append("\r\n");
  const filters::BackendFilters* bf = x.filters;
  for (const auto& h : c.resp_headers) {
    if (isHopByHop(h.name) || rconn.lists(h.name)) continue;
    if (bf != nullptr && bf->response.drops(h.name)) continue;  // ResponseHeaderModifier
    if (x.cors_applied && filters::isCorsResponseField(h.name)) continue;
    http1::appendField(out, h.name, h.value);
  }
  if (bf != nullptr) out.append(bf->response.lines());
  out.append(x.resp_extra);
  out.append(c.resp_extra);
  if (out_framing == Framing::kChunked) {
    out.append("transfer-encoding: chunked\r\n");
  } else if (sp.hasContentLength() && status != 204 && !(status >= 100 && status < 200)) {
    // Also for HEAD and 304: Content-Length describes the representation (RFC 9110 8.6).
    out.append("content-length: ");
    appendDec(out, sp.contentLength());
    out.append("\r\n");
  }
  if (status == 101) {
    out.append("connection: upgrade\r\nupgrade: ").append(rupgrade).append("\r\n");
  } else if (!keep_down) {
    out.append("connection: close\r\n");
  } else if (!x.http11) {
    out.append("connection: keep-alive\r\n");
  }
  out.append("\r\n");
  ub.consume(resp_head_len);
  iov.push_back(asio::buffer(out));

  if (status == 101) {
    // 11a. Upgrade: relay bytes both ways until both sides are done.
    if (!co_await sendAll(sock_, ssl_, entry_, iov)) co_return false;
    co_await tunnel(*up);
    co_return false;
  }

  // 11. Response body, streamed with backpressure.
  http1::ChunkedValidator resp_validator(kMaxResponseHeadBytes);
  http1::ChunkedValidator* sv = in_framing == Framing::kChunked ? &resp_validator : nullptr;
  bool resp_done = sp.done() || in_framing == Framing::kNone;
  bool upstream_clean = true;
  if (!resp_done && !ub.empty()) {
    if (!frameBody(sp, sv, ub, out_framing, iov, c.chunk_line)) {
      // Nothing sent to the client yet: a clean 502 instead of a truncated response.
      co_return co_await sendLocal(x, 502, "malformed upstream response\n", true);
    }
    resp_done = sp.done();
  }
  if (!x.pump_running) setDeadline(opt.idle_timeout_ms);
  if (!co_await sendAll(sock_, ssl_, entry_, iov)) co_return false;
  while (!resp_done) {
    if (!x.pump_running) setDeadline(opt.idle_timeout_ms);
    ub.clear();
    ssize_t r = co_await readUp(*up, ub);
    if (r == 0 && in_framing == Framing::kEof) {
      SliceSink sink(iov);
      sp.feedEof(&sink);
      if (out_framing == Framing::kChunked) {
        iov.push_back(kLastChunk);
        iov.push_back(kCrlf);
      }
      upstream_clean = false;
      resp_done = true;
    } else if (r <= 0) {
      // Upstream reset or timeout after the head went out: all we can do is abort the client
      // connection so that it sees a truncated message, not a complete one.
      co_return false;
    } else if (!frameBody(sp, sv, ub, out_framing, iov, c.chunk_line)) {
      co_return false;
    } else {
      resp_done = sp.done();
    }
    if (!co_await sendAll(sock_, ssl_, entry_, iov)) co_return false;
  }

  // 12. Reuse the upstream connection only when the exchange ended cleanly on both sides.
  // Bytes after the response would be read as the next response (the pool's MSG_PEEK check sees
  // the socket only, not what OpenSSL already decrypted): such a connection is not reused.
  if (upstream_clean && sp.keepAlive() && x.body_done && !up_write_failed && ub.empty() &&
      !rconn.lists("close") && (up->ssl == nullptr || SSL_has_pending(up->ssl) == 0)) {
    entry_.up = nullptr;
    w_.putIdleUpstream(std::move(up));
  }
  co_return keep_down;
}

awaitable<void> Conn::pump(tcp::socket& from, SSL* from_ssl, tcp::socket& to, SSL* to_ssl,
                           ByteBuf& buf, bool& done_flag) {
  std::vector<asio::const_buffer> iov;
  while (!tunnel_dead_) {
    buf.clear();
    ssize_t r = tryRead(from, from_ssl, buf.data.get(), buf.cap);
    if (r == kWouldBlock || r == kWantWrite) {
      r = co_await readSlow(from, from_ssl, entry_, buf.data.get(), buf.cap, r);
    }
    if (r <= 0) {
      asio::error_code ec;
      if (r == 0) {
        closeNotify(to_ssl);
        to.shutdown(tcp::socket::shutdown_send, ec);  // half-close propagates
      } else {
        tunnel_dead_ = true;  // stop the other direction too
        from.cancel(ec);
        to.cancel(ec);
      }
      break;
    }
    setDeadline(w_.options().idle_timeout_ms);
    iov.assign(1, asio::const_buffer(buf.data.get(), static_cast<size_t>(r)));
    if (!co_await sendAll(to, to_ssl, entry_, iov)) {
      asio::error_code ec;
      tunnel_dead_ = true;
      from.cancel(ec);
      to.cancel(ec);
      break;
    }
  }
  done_flag = true;
}

awaitable<void> Conn::tunnel(UpstreamConn& up) {
  using namespace asio::experimental::awaitable_operators;
  RequestCtx& c = *ctx_;
  std::vector<asio::const_buffer> iov;
  // Bytes that arrived early on either side belong to the new protocol.
  if (!c.up.empty()) {
    iov.push_back(asio::const_buffer(c.up.begin(), c.up.size()));
    if (!co_await sendAll(sock_, ssl_, entry_, iov)) co_return;
    c.up.clear();
  }
  if (!c.in.empty()) {
    iov.push_back(asio::const_buffer(c.in.begin(), c.in.size()));
    if (!co_await sendAll(up.sock, up.ssl, entry_, iov)) co_return;
    c.in.clear();
  }
  setDeadline(w_.options().idle_timeout_ms);
  bool a = false, b = false;
  co_await (pump(sock_, ssl_, up.sock, up.ssl, c.in, a) &&
            pump(up.sock, up.ssl, sock_, ssl_, c.up, b));
}

}  // namespace

void serveConnection(Worker& worker, tcp::socket socket, std::shared_ptr<const PortKey> port) {
  Conn::start(std::make_unique<Conn>(worker, std::move(socket), std::move(port)));
}

awaitable<void> acceptLoop(Worker& worker, std::shared_ptr<tcp::acceptor> acceptor,
                           std::shared_ptr<const PortKey> port) {
  for (;;) {
    auto [ec, sock] = co_await acceptor->async_accept(kNoThrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      spdlog::warn("accept on {}:{} failed: {}", port->address, port->port, ec.message());
      asio::steady_timer t(worker.io(), std::chrono::milliseconds(50));
      co_await t.async_wait(kNoThrow);
      continue;
    }
    if (worker.connectionCount() >= worker.options().max_connections_per_worker) {
      asio::error_code ignore;
      sock.close(ignore);  // over the per-worker limit: refuse by closing
      continue;
    }
    worker.startConnection(std::move(sock), port);
  }
}

}  // namespace gantry::dataplane
