// One HTTP/2 request stream: validation, routing (the same RouteTable, path normalisation and
// status semantics as HTTP/1, docs/life-of-a-request.md steps 10-12) and proxying to an HTTP/1.1
// upstream from the worker's connection pool. The request body is streamed under HTTP/2 flow
// control (the client's window reopens only for bytes written upstream); the response body is
// streamed back through nghttp2's data provider, reading from the upstream only while little is
// queued for the client.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/experimental/awaitable_operators.hpp>
#include <optional>
#include <span>

#include "dataplane/filters/ext_authz.h"
#include "dataplane/filters/path_modifier.h"
#include "dataplane/filters/rule_filters.h"
#include "dataplane/frame_pool.h"
#include "dataplane/grpc/grpc_proxy.h"
#include "dataplane/http1/conn_internal.h"
#include "dataplane/http1/syntax.h"
#include "dataplane/http1/wire.h"
#include "dataplane/http2/session.h"
#include "dataplane/tls/backend_sessions.h"
#include "dataplane/tls/client_context.h"
#include "dataplane/tls/fd_tls.h"
#include "dataplane/tls/server_context.h"
#include "dataplane/upstream/mirror.h"
#include "dataplane/upstream/resilience.h"
#include "dataplane/upstream/session.h"

namespace gantry::dataplane::http2 {

using asio::awaitable;
using asio::ip::tcp;

namespace {

using http1::appendHex;

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr ssize_t kIoError = -1;
constexpr uint32_t kMaxResponseHeadBytes = 64 * 1024;
constexpr uint32_t kMaxResponseHeaders = 200;
// Response body queued for the client (not yet framed by nghttp2) above which we stop reading
// from the upstream: backpressure from the client's flow-control window to the upstream socket.
constexpr size_t kResponseHighWater = 64 * 1024;
constexpr size_t kRequestPiece = 64 * 1024;

// Header names are ASCII (RFC 9110 5.1): no locale lookup per character as std::tolower does.
char lowerChar(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

bool wouldBlock(const asio::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// Per-stream registration with the worker: the upstream socket's deadlines (connect, response,
// idle) are swept like an HTTP/1 connection's; the drain deadline aborts it.
struct StreamEntry {
  explicit StreamEntry(Worker& w) : w(w) {
    e.idle = false;
    w.registerConn(&e);
  }
  ~StreamEntry() { w.unregisterConn(&e); }
  StreamEntry(const StreamEntry&) = delete;
  StreamEntry& operator=(const StreamEntry&) = delete;
  void setDeadline(uint32_t ms) {
    e.timed_out = false;
    e.deadline_ms = upstream::earliestDeadline(ms == 0 ? 0 : w.nowMs() + ms, cap);
  }
  Worker& w;
  ConnEntry e;
  // The route's timeouts for the current attempt (upstream::attemptDeadline): no deadline set
  // above goes past it.
  int64_t cap = 0;
};

// Reads what the upstream has into b. Plain: Asio's read operation, not a try + async_wait: an
// async_wait re-arms the socket with epoll_ctl(EPOLL_CTL_MOD) every time, while a read operation
// queues on the existing edge-triggered registration; and after a read that drained the socket
// asio skips its speculative read, so a wait for the response costs one recv (as in proxy.cc's
// readSlow; bench/README.md "HTTP/2"). TLS (BackendTLSPolicy): OpenSSL reads the socket itself
// (tls/fd_tls.h); decrypted bytes may already wait inside it, so it is tried before any wait, and
// a read may have to wait for writability.
awaitable<ssize_t> readUp(UpstreamConn& up, ConnEntry& e, ByteBuf& b) {
  tcp::socket& s = up.sock;
  if (e.timed_out) co_return kIoError;
  if (up.ssl == nullptr) {
    auto [ec, n] =
        co_await s.async_read_some(asio::buffer(b.data.get() + b.end, b.cap - b.end), kNoThrow);
    if (e.timed_out) co_return kIoError;
    if (ec == asio::error::eof) co_return 0;
    if (ec) co_return kIoError;
    b.end += n;
    co_return static_cast<ssize_t>(n);
  }
  for (;;) {
    tls::IoResult r = tls::tryRead(up.ssl, b.data.get() + b.end, b.cap - b.end);
    if (r.n > 0) {
      b.end += r.n;
      co_return static_cast<ssize_t>(r.n);
    }
    if (r.closed) co_return 0;
    if (r.error || r.want == tls::IoWant::kNone) co_return kIoError;
    auto [ec] = co_await s.async_wait(
        r.want == tls::IoWant::kWrite ? tcp::socket::wait_write : tcp::socket::wait_read, kNoThrow);
    if (ec || e.timed_out) co_return kIoError;
  }
}

awaitable<bool> sendAll(UpstreamConn& up, ConnEntry& e, std::string_view data) {
  tcp::socket& s = up.sock;
  while (!data.empty()) {
    tcp::socket::wait_type wait = tcp::socket::wait_write;
    if (up.ssl != nullptr) {
      // A retry after kWrite passes the same bytes, as OpenSSL requires.
      tls::IoResult r = tls::tryWrite(up.ssl, data.data(), data.size());
      if (r.n > 0) {
        data.remove_prefix(r.n);
        continue;
      }
      if (r.error || r.closed || r.want == tls::IoWant::kNone || e.timed_out) co_return false;
      if (r.want == tls::IoWant::kRead) wait = tcp::socket::wait_read;
    } else {
      asio::error_code ec;
      size_t n = s.write_some(asio::buffer(data.data(), data.size()), ec);
      if (!ec) {
        data.remove_prefix(n);
        continue;
      }
      if (!wouldBlock(ec) || e.timed_out) co_return false;
    }
    auto [wec] = co_await s.async_wait(wait, kNoThrow);
    if (wec || e.timed_out) co_return false;
  }
  co_return true;
}

// Hop-by-hop response fields (RFC 9110 7.6.1) and the ones HTTP/2 forbids (RFC 9113 8.2.2).
bool isHopByHop(std::string_view name) {
  using http1::iequals;
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "transfer-encoding") || iequals(name, "upgrade") || iequals(name, "te") ||
         (name.size() > 6 && iequals(name.substr(0, 6), "proxy-"));
}

// Decoded response body slices go straight to the stream's send queue.
class StreamSink : public http1::BodySink {
 public:
  StreamSink(Session& ss, Stream& s) : ss_(ss), s_(s) {}
  void onBody(const char* data, size_t len) override { ss_.appendBody(s_, {data, len}); }

 private:
  Session& ss_;
  Stream& s_;
};

enum class Framing : uint8_t { kNone, kLength, kChunked, kEof };

// Parses response body bytes in `ub` (strict chunk validation first, as for HTTP/1 clients);
// false on a framing error.
bool feedResponse(http1::Parser& p, http1::ChunkedValidator* v, ByteBuf& ub, StreamSink& sink) {
  size_t vused = 0;
  http1::ChunkedValidator::Result vr = http1::ChunkedValidator::kMore;
  if (v != nullptr) {
    vr = v->feed(ub.begin(), ub.size(), &vused);
    if (vr == http1::ChunkedValidator::kBad) return false;
  }
  size_t n = p.feedBody(ub.begin(), ub.size(), &sink);
  if (p.failed()) return false;
  if (v != nullptr) {
    bool vdone = vr == http1::ChunkedValidator::kDone;
    if (vdone != p.done() || (vdone && vused != n)) return false;
  }
  ub.consume(n);
  return true;
}

// "name: value\r\n" trailer lines (as http1::Parser collects them) -> lower-case name/value list.
std::vector<std::string> splitTrailers(std::string_view lines) {
  std::vector<std::string> out;
  http1::forEachFieldLine(lines, [&](std::string_view name, std::string_view value) {
    if (isHopByHop(name) || http1::iequals(name, "content-length")) return;
    out.push_back(http1::lowerAscii(name));
    out.emplace_back(value);
  });
  return out;
}

// Filter output ("Name: value\r\n" lines, dataplane/filters) -> response fields with lower-case
// names (RFC 9113 8.2.1). The views point into `store`, which must outlive them.
void appendLines(std::string_view lines, std::string& store, std::vector<Field>& out) {
  std::vector<std::pair<size_t, size_t>> spans;  // name and value offsets/lengths, flattened
  http1::forEachFieldLine(lines, [&](std::string_view name, std::string_view value) {
    spans.emplace_back(store.size(), name.size());
    for (char ch : name) {
      store.push_back(lowerChar(ch));
    }
    spans.emplace_back(store.size(), value.size());
    store.append(value);
  });
  for (size_t i = 0; i + 1 < spans.size(); i += 2) {
    out.push_back({std::string_view(store).substr(spans[i].first, spans[i].second),
                   std::string_view(store).substr(spans[i + 1].first, spans[i + 1].second)});
  }
}

enum class ReqFailure : uint8_t { kNone, kClientGone, kTimeout };

struct Exchange;
}  // namespace
}  // namespace gantry::dataplane::http2
// The per-stream coroutines taking an Exchange& recycle their frames per worker thread
// (frame_pool.h), as the HTTP/1 path's Conn does.
GANTRY_POOLED_FRAMES(gantry::dataplane::http2::Exchange);
namespace gantry::dataplane::http2 {
namespace {

struct Exchange {
  Session& ss;
  Stream& s;
  Worker& w;
  RequestCtx& c;
  StreamEntry& entry;
  std::unique_ptr<UpstreamConn> up = nullptr;
  Framing req_framing = Framing::kNone;
  bool reused = false;
  bool body_sent = true;  // the whole request body reached the upstream
  bool up_write_failed = false;
  bool pump_running = false;
  bool pump_abort = false;
  ReqFailure req_failed = ReqFailure::kNone;
  uint32_t connect_timeout_ms = 0;
  uint32_t response_timeout_ms = 0;
  // BackendTLSPolicy: the backend's client context (null: plain HTTP/1.1), and whether a
  // connect failed in its TLS handshake (502 rather than 503, as on the HTTP/1.1 path).
  const CompiledBackend* backend = nullptr;
  bool tls_failed = false;
  // HTTPRoute filters of the picked backendRef (dataplane/filters), null when none apply, and
  // the CORS response lines for an allowed actual request.
  const filters::BackendFilters* filters = nullptr;
  std::string_view resp_extra = {};
  bool cors_applied = false;
  // Route timeouts, retries and session persistence (dataplane/upstream/resilience.h), set by
  // proxy() per attempt and read by relayResponse().
  const ir::Rule* rule = nullptr;
  bool retry_policy = false;   // the rule has a retry policy (it replaces the implicit retry)
  bool retry_allowed = false;  // another attempt remains after this one
  bool had_body = false;       // the client sent (or is sending) a request body
  bool buffered = false;       // the whole request, body included, is in ctx.out (replayable)
  int64_t request_deadline = 0;
  upstream::AttemptFailure failure = upstream::AttemptFailure::kNone;
  std::string session_lines = {};  // the session field(s) for this attempt's endpoint
  std::string body_prefix = {};    // body bytes taken while buffering, sent first by the pump
};

bool requestExpired(const Exchange& x) {
  return x.request_deadline != 0 && x.w.nowMs() >= x.request_deadline;
}

// A failed attempt may be retried only if nothing reached the client yet (checked by the
// caller), the whole request is replayable, and time and attempts remain (HTTPRouteRetry).
bool canRetry(const Exchange& x) {
  return x.retry_allowed && x.buffered && !x.pump_running && x.req_failed == ReqFailure::kNone &&
         !requestExpired(x) && !x.entry.e.killed && !x.w.draining() && !x.s.aborted();
}

// Request body: DATA bytes -> upstream (re-framed), then nghttp2_session_consume for exactly what
// was written, so the client can never have more than one window in flight per stream.
awaitable<void> requestPump(Exchange& x) {
  Stream& s = x.s;
  const Options& opt = x.w.options();
  std::string piece;
  std::string framed;
  x.body_sent = false;
  if (!x.body_prefix.empty()) {
    // What proxy() took while trying to buffer the body for retries and mirrors.
    std::string_view out = x.body_prefix;
    if (x.req_framing == Framing::kChunked) {
      appendHex(framed, x.body_prefix.size());
      framed.append("\r\n").append(x.body_prefix).append("\r\n");
      out = framed;
    }
    if (!co_await sendAll(*x.up, x.entry.e, out)) {
      x.up_write_failed = true;
      x.pump_abort = true;
    }
  }
  while (!x.pump_abort) {
    if (s.bodyAvailable() > 0) {
      piece.clear();
      size_t n = x.ss.takeBody(s, piece, kRequestPiece);
      std::string_view out = piece;
      if (x.req_framing == Framing::kChunked) {
        framed.clear();
        appendHex(framed, n);
        framed.append("\r\n").append(piece).append("\r\n");
        out = framed;
      }
      if (!co_await sendAll(*x.up, x.entry.e, out)) {
        x.up_write_failed = true;  // the upstream stopped reading: the response side decides
        break;
      }
      x.ss.consume(s, n);
      continue;
    }
    if (s.body_end) {
      if (x.req_framing == Framing::kChunked) {
        // RFC 9112 7.1.2: last chunk and the trailer section (request trailers, RFC 9113 8.1).
        framed.assign("0\r\n");
        for (const auto& t : s.trailers) {
          if (isHopByHop(t.name) || t.name == "content-length") continue;
          framed.append(t.name).append(": ").append(t.value).append("\r\n");
        }
        framed.append("\r\n");
        if (!co_await sendAll(*x.up, x.entry.e, framed)) {
          x.up_write_failed = true;
          break;
        }
      }
      x.body_sent = true;
      break;
    }
    if (s.aborted()) {
      x.req_failed = ReqFailure::kClientGone;
      asio::error_code ec;
      x.up->sock.cancel(ec);
      break;
    }
    if (!co_await s.req_event.wait(opt.idle_timeout_ms) && !x.pump_abort &&
        s.bodyAvailable() == 0 && !s.body_end && !s.aborted()) {
      x.req_failed = ReqFailure::kTimeout;  // the client stopped sending its body
      asio::error_code ec;
      x.up->sock.cancel(ec);
      break;
    }
  }
  x.pump_running = false;
  if (x.req_failed == ReqFailure::kNone && !x.pump_abort) {
    x.entry.setDeadline(x.response_timeout_ms != 0 ? x.response_timeout_ms : opt.idle_timeout_ms);
  }
}

awaitable<bool> connectFresh(Exchange& x, const tcp::endpoint& ep, uint32_t timeout_ms,
                             bool* timed_out) {
  auto fresh = std::make_unique<UpstreamConn>(x.w.io());
  fresh->ep = ep;
  asio::error_code ec;
  fresh->sock.open(ep.protocol(), ec);
  if (ec) co_return false;
  fresh->sock.non_blocking(true, ec);
  x.entry.e.up = &fresh->sock;
  x.entry.setDeadline(timeout_ms);
  auto [cec] = co_await fresh->sock.async_connect(ep, kNoThrow);
  x.entry.e.up = nullptr;
  if (cec || x.entry.e.timed_out) {
    *timed_out = *timed_out || x.entry.e.timed_out;
    spdlog::debug("upstream connect to {}:{} failed: {}", ep.address().to_string(), ep.port(),
                  x.entry.e.timed_out ? "timeout" : cec.message());
    co_return false;
  }
  fresh->sock.set_option(tcp::no_delay(true), ec);
  ++x.w.stats().upstream_connects;
  if (x.backend != nullptr && x.backend->tlsRequired()) {
    // BackendTLSPolicy: HTTP/1.1 over TLS (ALPN http/1.1), verified like on the HTTP/1.1 client
    // path (proxy.cc upstreamHandshake), within the same connect timeout; never clear text.
    const CompiledBackend& b = *x.backend;
    if (!b.tls) co_return false;  // unusable policy (bad CA bundle)
    fresh->ssl = b.tls->newSsl(&x.w.backendSessions().slot(b.ir->name, b.tls->context()));
    if (fresh->ssl == nullptr || !tls::attachFd(fresh->ssl, fresh->sock)) co_return false;
    x.entry.e.up = &fresh->sock;
    asio::error_code hec = co_await tls::handshakeFd(fresh->ssl, fresh->sock);
    x.entry.e.up = nullptr;
    if (hec || x.entry.e.timed_out) {
      const long verify = SSL_get_verify_result(fresh->ssl);
      SSL_set_quiet_shutdown(fresh->ssl, 1);
      *timed_out = *timed_out || x.entry.e.timed_out;
      x.tls_failed = x.tls_failed || !x.entry.e.timed_out;
      spdlog::warn("backend {} at {}:{}: TLS handshake failed: {}", b.ir->name,
                   ep.address().to_string(), ep.port(),
                   x.entry.e.timed_out   ? "timeout"
                   : verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                         : "handshake error");
      co_return false;
    }
  }
  x.up = std::move(fresh);
  x.entry.e.up = &x.up->sock;
  co_return true;
}

// Response: head (1xx relayed, final head validated like for HTTP/1 clients), then the body.
// Returns true when the upstream connection ended cleanly and may be reused.
awaitable<bool> relayResponse(Exchange& x) {
  Session& ss = x.ss;
  Stream& s = x.s;
  RequestCtx& c = x.c;
  const Options& opt = x.w.options();
  const bool is_head = s.method == "HEAD";
  struct PumpStopper {
    Exchange& x;
    ~PumpStopper() {
      if (!x.pump_running) return;
      x.pump_abort = true;
      x.s.req_event.notify();
      asio::error_code ec;
      if (x.up) x.up->sock.cancel(ec);
    }
  } stopper{x};

  ByteBuf& ub = c.up;
  ub.clear();
  http1::Parser& sp = c.resp;
  unsigned status = 0;
  size_t head_len = 0;
  bool retried = false;
  for (;;) {
    if (!x.pump_running) {
      x.entry.setDeadline(x.response_timeout_ms != 0 ? x.response_timeout_ms : opt.idle_timeout_ms);
    }
    http1::HeadScanner rs(kMaxResponseHeadBytes, kMaxResponseHeaders, false);
    http1::HeadStatus st;
    bool got_any = !ub.empty();
    while ((st = rs.scan(ub.begin(), ub.size())) == http1::HeadStatus::kIncomplete) {
      if (ub.end == ub.cap) {
        if (ub.start > 0) {
          ub.compact();
        } else {
          ub.grow(kMaxResponseHeadBytes + 1);
        }
      }
      ssize_t r = co_await readUp(*x.up, x.entry.e, ub);
      if (r > 0) {
        got_any = true;
        continue;
      }
      if (s.aborted() || x.entry.e.killed || x.req_failed == ReqFailure::kClientGone) {
        co_return false;
      }
      if (x.entry.e.timed_out || x.req_failed == ReqFailure::kTimeout) {
        if (x.entry.e.timed_out && canRetry(x)) {
          x.failure = upstream::AttemptFailure::kTimeout;  // backendRequest timeout: retry
          co_return false;
        }
        ss.respondLocal(s, 504, "upstream timeout\n");
        co_return false;
      }
      if (x.reused && !got_any && x.req_framing == Framing::kNone && !x.had_body &&
          !x.retry_policy && !retried) {
        // A pooled connection the upstream closed just as we reused it: nothing was processed,
        // so retry once on a fresh connection (RFC 9112 9.3.1).
        retried = true;
        x.reused = false;
        tcp::endpoint ep = x.up->ep;
        x.up.reset();
        bool timed_out = false;
        if (!co_await connectFresh(x, ep, x.connect_timeout_ms, &timed_out)) {
          if (!x.entry.e.killed) ss.respondLocal(s, 503, "upstream connect error\n");
          co_return false;
        }
        x.entry.setDeadline(x.response_timeout_ms != 0 ? x.response_timeout_ms
                                                       : opt.idle_timeout_ms);
        if (!co_await sendAll(*x.up, x.entry.e, c.out)) {
          ss.respondLocal(s, 502, "upstream reset\n");
          co_return false;
        }
        ub.clear();
        got_any = false;
        continue;
      }
      if (canRetry(x)) {
        x.failure = upstream::AttemptFailure::kReset;  // a connection error: retry
        co_return false;
      }
      ss.respondLocal(s, 502, "upstream reset\n");
      co_return false;
    }
    if (st != http1::HeadStatus::kComplete) {
      ss.respondLocal(s, 502, "malformed upstream response\n");
      co_return false;
    }
    head_len = rs.headLen();
    const char* rhead = ub.begin() + rs.startLineOffset();
    size_t rhead_bytes = head_len - rs.startLineOffset();
    sp.reset(HTTP_RESPONSE);
    unsigned peek = 0;
    if (rhead_bytes >= 12) {
      for (int i = 9; i < 12; ++i) peek = peek * 10 + static_cast<unsigned>(rhead[i] - '0');
    }
    bool no_body = is_head || (peek >= 100 && peek < 200) || peek == 204 || peek == 304;
    if (!sp.parseHead(rhead, rhead_bytes, &c.resp_headers, no_body) || sp.major() != 1) {
      ss.respondLocal(s, 502, "malformed upstream response\n");
      co_return false;
    }
    status = sp.status();
    if (status == 101) {
      // Nothing to upgrade to over HTTP/2 (RFC 9113 8.6), and we never asked.
      ss.respondLocal(s, 502, "unexpected upgrade\n");
      co_return false;
    }
    if (status >= 100 && status < 200) {
      if (status != 100) {
        // RFC 9110 15.2: a proxy forwards 1xx responses (e.g. 103 Early Hints).
        std::vector<Field> fields;
        for (auto& h : c.resp_headers) {
          if (isHopByHop(h.name)) continue;
          char* name = const_cast<char*>(h.name.data());  // our own buffer (ub)
          for (size_t i = 0; i < h.name.size(); ++i) {
            name[i] = lowerChar(name[i]);
          }
          fields.push_back({h.name, h.value});
        }
        ss.submitInterim(s, status, fields);
      }
      ub.consume(head_len);
      continue;
    }
    break;
  }
  if (x.rule != nullptr && upstream::retryableStatus(x.rule->retry, status) && canRetry(x)) {
    x.failure = upstream::AttemptFailure::kStatus;  // HTTPRouteRetry.codes
    co_return false;
  }

  // Same framing rules as for HTTP/1 clients (smuggling defences; 502 on violation).
  int rcl = 0, rte = 0;
  std::string_view rte_value;
  for (const auto& h : c.resp_headers) {
    if (http1::iequals(h.name, "content-length")) {
      ++rcl;
    } else if (http1::iequals(h.name, "transfer-encoding")) {
      ++rte;
      rte_value = http1::trimOws(h.value);
    }
  }
  if ((rcl > 0 && rte > 0) || rcl > 1 || rte > 1 ||
      (rte > 0 && !(http1::iequals(rte_value, "chunked") && sp.chunked()))) {
    ss.respondLocal(s, 502, "malformed upstream response\n");
    co_return false;
  }
  const bool no_body = is_head || status == 204 || status == 304;
  Framing in_framing = Framing::kNone;
  if (!no_body) {
    if (sp.chunked()) {
      in_framing = Framing::kChunked;
    } else if (sp.hasContentLength()) {
      in_framing = sp.contentLength() > 0 ? Framing::kLength : Framing::kNone;
    } else {
      in_framing = Framing::kEof;
    }
  }

  // Response head: lower-case names (RFC 9113 8.2.1), hop-by-hop and the fields the Connection
  // header lists removed (RFC 9113 8.2.2), Content-Length kept (it is valid in HTTP/2, and for
  // HEAD and 304 it describes the representation).
  std::string_view conn_tokens[4];
  int n_conn = 0;
  for (const auto& h : c.resp_headers) {
    if (http1::iequals(h.name, "connection") && n_conn < 4) conn_tokens[n_conn++] = h.value;
  }
  std::vector<Field> fields;
  fields.reserve(c.resp_headers.size());
  for (const auto& h : c.resp_headers) {
    if (isHopByHop(h.name)) continue;
    bool listed = false;
    for (int i = 0; i < n_conn; ++i) listed = listed || http1::hasToken(conn_tokens[i], h.name);
    if (listed) continue;
    if (http1::iequals(h.name, "content-length") && status == 204) continue;
    if (x.filters != nullptr && x.filters->response.drops(h.name)) continue;
    if (x.cors_applied && filters::isCorsResponseField(h.name)) continue;
    char* name = const_cast<char*>(h.name.data());  // points into our own buffer (ub)
    for (size_t i = 0; i < h.name.size(); ++i) {
      name[i] = lowerChar(name[i]);
    }
    fields.push_back({h.name, h.value});
  }
  std::string added;  // ResponseHeaderModifier and CORS fields
  if (x.filters != nullptr) appendLines(x.filters->response.lines(), added, fields);
  appendLines(x.resp_extra, added, fields);
  appendLines(x.session_lines, added, fields);
  const bool has_body = in_framing != Framing::kNone;
  if (!ss.submitResponse(s, status, fields, has_body)) co_return false;
  ub.consume(head_len);
  if (!has_body) co_return sp.keepAlive() && ub.empty();

  // Body, with backpressure: read from the upstream only while little is queued for the client.
  StreamSink sink(ss, s);
  http1::ChunkedValidator validator(kMaxResponseHeadBytes);
  http1::ChunkedValidator* v = in_framing == Framing::kChunked ? &validator : nullptr;
  bool clean = true;
  if (!sp.done() && !ub.empty() && !feedResponse(sp, v, ub, sink)) {
    ss.resetStream(s, NGHTTP2_INTERNAL_ERROR);
    co_return false;
  }
  while (!sp.done()) {
    while (ss.pendingBody(s) >= kResponseHighWater && !s.aborted()) {
      // The client's window is closed: wait for it (idle timeout), not for the upstream.
      if (!co_await s.resp_event.wait(opt.idle_timeout_ms) &&
          ss.pendingBody(s) >= kResponseHighWater && !s.aborted()) {
        ss.resetStream(s, NGHTTP2_CANCEL);
        co_return false;
      }
    }
    if (s.aborted()) co_return false;
    if (!x.pump_running) x.entry.setDeadline(opt.idle_timeout_ms);
    ub.clear();
    ssize_t r = co_await readUp(*x.up, x.entry.e, ub);
    if (r == 0 && in_framing == Framing::kEof) {
      sp.feedEof(&sink);
      clean = false;
      break;
    }
    if (r <= 0 || !feedResponse(sp, v, ub, sink)) {
      // After the head went out all we can do is reset the stream: the client sees a failed
      // response, never a truncated one that looks complete.
      if (!s.aborted()) ss.resetStream(s, NGHTTP2_INTERNAL_ERROR);
      co_return false;
    }
  }
  ss.endBody(s, splitTrailers(sp.trailers()));
  co_return clean&& sp.keepAlive() && ub.empty();
}

// Connects to `backend`, starting at endpoint `start`: an idle pooled connection, else a new one;
// a refused endpoint moves on to the next one (nothing was sent yet), at most 3.
awaitable<bool> connectAny(Exchange& x, const CompiledBackend& backend, uint32_t start,
                           bool* timed_out) {
  const size_t n_eps = backend.endpoints.size();
  for (size_t attempt = 0; attempt < std::min<size_t>(n_eps, 3) && !x.up; ++attempt) {
    if (requestExpired(x)) break;
    const tcp::endpoint& ep = backend.endpoints[(start + attempt) % n_eps];
    // retryable: the condition of relayResponse's retry on a pooled connection found closed,
    // which lets the pool skip its liveness peek (a system call) for a recently used one. The
    // pool key includes the BackendTLSPolicy context (none: clear text).
    x.up = x.w.takeIdleUpstream(ep, backend.tls ? backend.tls->context() : nullptr,
                                /*retryable=*/!x.had_body && !x.retry_policy);
    if (x.up) {
      x.reused = true;
      ++x.w.stats().upstream_reuses;
      x.entry.e.up = &x.up->sock;
      co_return true;
    }
    if (co_await connectFresh(x, ep, x.connect_timeout_ms, timed_out)) co_return true;
    if (x.entry.e.killed || x.s.aborted()) co_return false;
  }
  co_return x.up != nullptr;
}

// Takes the request body from the stream into x.body_prefix until it ends or passes the replay
// bound (upstream::kMaxReplayBody). False when the stream is gone or the client stalled (then
// answered). Flow control: the bytes are consumed as they are buffered, so the client can send
// up to the bound without waiting for the upstream.
awaitable<bool> bufferBody(Exchange& x, bool expect_continue) {
  Session& ss = x.ss;
  Stream& s = x.s;
  const Options& opt = x.w.options();
  if (expect_continue && s.bodyAvailable() == 0 && !s.body_end) {
    // RFC 9110 10.1.1: the client waits for this before sending its body.
    ss.submitInterim(s, 100, {});
  }
  std::string& body = x.body_prefix;
  while (body.size() <= upstream::kMaxReplayBody) {
    if (s.bodyAvailable() > 0) {
      size_t n = ss.takeBody(s, body, upstream::kMaxReplayBody + 1 - body.size());
      ss.consume(s, n);
      continue;
    }
    if (s.body_end) break;
    if (s.aborted()) co_return false;
    uint32_t wait_ms = opt.idle_timeout_ms;
    if (x.request_deadline != 0) {
      int64_t left = std::max<int64_t>(x.request_deadline - x.w.nowMs(), 1);
      if (wait_ms == 0 || left < wait_ms) wait_ms = static_cast<uint32_t>(left);
    }
    if (!co_await s.req_event.wait(wait_ms) && s.bodyAvailable() == 0 && !s.body_end &&
        !s.aborted()) {
      x.w.updateNow();
      if (requestExpired(x)) {
        ss.respondLocal(s, 504, "request timeout\n");
      } else {
        ss.respondLocal(s, 408, "request body timeout\n");
      }
      co_return false;
    }
  }
  x.buffered = s.body_end && s.bodyAvailable() == 0 && body.size() <= upstream::kMaxReplayBody;
  co_return true;
}

// RequestMirror for a request that is complete in ctx.out (HTTP/1.1 bytes) and x.body_prefix
// (its body): HTTP/1.1 mirror backends get a copy of ctx.out, HTTP/2 ones (h2c, h2 over TLS) the
// same request as an HTTP/2 stream; HTTP/1.1 backends that need TLS are not mirrored to
// (docs/request-mirror.md).
void mirrorBuffered(Exchange& x, LocalTable& lt, const CompiledRule& rule, uint32_t backend_pos,
                    const filters::BackendFilters* bf, std::string_view authority,
                    const std::string& path, std::string_view query, bool has_query) {
  const uint32_t timeout = upstream::mirrorTimeoutMs(*rule.ir);
  const bool is_head = x.s.method == "HEAD";
  std::optional<upstream::H2Request> h2req;
  upstream::forEachMirror(lt, rule, backend_pos, [&](const CompiledBackend& b, uint32_t& rr) {
    if (upstream::http2Backend(b)) {
      if (!h2req) {
        h2req = grpc::upstreamRequest(x.ss, x.s, bf, authority, path, query, has_query);
        h2req->has_body = x.had_body;
      }
      std::vector<upstream::H2Field> trailers;
      for (const auto& t : x.s.trailers) {
        if (isHopByHop(t.name) || t.name == "content-length") continue;
        trailers.push_back({std::string(t.name), std::string(t.value)});
      }
      upstream::spawnH2Mirror(x.w, lt, b, &rr, *h2req, x.body_prefix, std::move(trailers), timeout);
      return;
    }
    if (b.tlsRequired()) return;
    upstream::spawnMirror(x.w, upstream::pickMirrorEndpoint(b, rr), x.c.out,
                          x.w.options().upstream_connect_timeout_ms, timeout, is_head);
  });
}

awaitable<void> proxy(Session& ss, Stream& s, const RouteTable& table, LocalTable& lt,
                      const CompiledRule& rule, uint32_t backend_pos,
                      const CompiledBackend& backend, const filters::BackendFilters* bf,
                      std::string_view resp_extra, bool cors_applied, std::string_view host_value,
                      const std::string& path, std::string_view query, bool has_query,
                      int64_t start_ms, const upstream::SessionChoice& session) {
  Worker& w = ss.worker();
  const Options& opt = w.options();
  RequestCtx* ctx = w.acquireCtx();
  struct CtxGuard {
    Worker& w;
    RequestCtx* c;
    ~CtxGuard() { w.releaseCtx(c); }
  } ctx_guard{w, ctx};
  StreamEntry entry(w);
  Exchange x{ss, s, w, *ctx, entry};
  x.filters = bf;
  x.resp_extra = resp_extra;
  x.cors_applied = cors_applied;
  x.rule = rule.ir;
  x.backend = &backend;

  // Route timeouts and retries (dataplane/upstream/resilience.h): the request deadline counts
  // from when the request head was received (start_ms).
  const ir::Rule& ir_rule = *rule.ir;
  const bool retry_on = upstream::retryEnabled(ir_rule.retry);
  if (retry_on || ir_rule.timeouts.request_ms != 0 || ir_rule.timeouts.backend_request_ms != 0) {
    w.updateNow();
  }
  x.request_deadline = upstream::requestDeadline(ir_rule.timeouts, start_ms);
  x.retry_policy = retry_on;
  x.connect_timeout_ms =
      backend.ir->connect_timeout_ms != 0
          ? std::min(backend.ir->connect_timeout_ms, opt.upstream_connect_timeout_ms)
          : opt.upstream_connect_timeout_ms;
  x.response_timeout_ms = opt.upstream_response_timeout_ms;

  bool expect_continue = false;
  for (const auto& h : s.headers) {
    if (h.name == "expect")
      expect_continue = http1::iequals(http1::trimOws(h.value), "100-continue");
  }
  x.had_body = !s.body_end || s.bodyAvailable() > 0;
  if (!x.had_body) {
    x.buffered = true;
  } else if (retry_on || !rule.mirrors.empty()) {
    // A request that may be sent again (retry) or copied (mirror) is buffered first when its
    // body fits the replay bound; a larger one is streamed, and neither retried nor mirrored.
    if (!co_await bufferBody(x, expect_continue)) co_return;
    expect_continue = false;  // answered (or the body is already here)
  }

  // Request head, HTTP/1.1: the normalised path as routed; Host from :authority; cookies joined
  // (RFC 9113 8.2.3); X-Forwarded-* appended; framing from content-length, else chunked.
  std::string& out = ctx->out;
  out.clear();
  out.append(s.method).push_back(' ');
  out.append(path);
  if (has_query) out.append("?").append(query);
  out.append(" HTTP/1.1\r\nHost: ")
      .append(bf != nullptr && bf->rewrite_host ? std::string_view(bf->host) : host_value)
      .append("\r\n");
  bool cookie = false;
  for (const auto& h : s.headers) {
    if (h.name == "content-length" || h.name == "te" || h.name == "x-forwarded-for" ||
        h.name == "x-forwarded-proto" || h.name == "x-forwarded-host" || h.name == "cookie" ||
        h.name == "expect") {
      continue;
    }
    if (bf != nullptr && bf->request.drops(h.name)) continue;  // RequestHeaderModifier
    out.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (bf != nullptr) out.append(bf->request.lines());
  for (const auto& h : s.headers) {
    if (h.name != "cookie" || (bf != nullptr && bf->request.drops(h.name))) continue;
    out.append(cookie ? "; " : "cookie: ").append(h.value);
    cookie = true;
  }
  if (cookie) out.append("\r\n");
  auto appendForwarded = [&](std::string_view name, std::string_view ours) {
    out.append(name).append(": ");
    for (const auto& h : s.headers) {
      if (h.name == name) out.append(http1::trimOws(h.value)).append(", ");
    }
    out.append(ours).append("\r\n");
  };
  // A RequestHeaderModifier that removes or sets one of these replaces gantry's own.
  auto ours = [&](std::string_view name) { return bf == nullptr || !bf->request.drops(name); };
  if (ours("x-forwarded-for")) appendForwarded("x-forwarded-for", ss.peerIp());
  if (ours("x-forwarded-proto")) {
    appendForwarded("x-forwarded-proto", ss.ssl() != nullptr ? "https" : "http");
  }
  if (!host_value.empty() && ours("x-forwarded-host")) {
    appendForwarded("x-forwarded-host", host_value);
  }
  if (x.buffered && x.had_body) {
    // The whole body is here: it goes out with the head, Content-Length framed (chunked only to
    // carry request trailers, RFC 9112 7.1.2).
    if (s.trailers.empty()) {
      out.append("content-length: ")
          .append(std::to_string(x.body_prefix.size()))
          .append("\r\n\r\n");
      out.append(x.body_prefix);
    } else {
      out.append("transfer-encoding: chunked\r\n\r\n");
      if (!x.body_prefix.empty()) {
        appendHex(out, x.body_prefix.size());
        out.append("\r\n").append(x.body_prefix).append("\r\n");
      }
      out.append("0\r\n");
      for (const auto& t : s.trailers) {
        if (isHopByHop(t.name) || t.name == "content-length") continue;
        out.append(t.name).append(": ").append(t.value).append("\r\n");
      }
      out.append("\r\n");
    }
  } else {
    if (s.has_content_length) {
      out.append("content-length: ").append(std::to_string(s.content_length)).append("\r\n");
      x.req_framing = s.content_length > 0 ? Framing::kLength : Framing::kNone;
    } else if (x.had_body) {
      out.append("transfer-encoding: chunked\r\n");
      x.req_framing = Framing::kChunked;
    }
    out.append("\r\n");
  }
  // RequestMirror: fire-and-forget copies of a complete request (upstream/mirror.h).
  if (x.buffered && !rule.mirrors.empty()) {
    mirrorBuffered(x, lt, rule, backend_pos, bf, host_value, path, query, has_query);
  }
  if (x.buffered) x.body_prefix.clear();  // in ctx.out now (else the pump sends it first)

  // Attempts: with a retry policy a failed one is repeated (HTTPRouteRetry) from ctx.out, on the
  // endpoint after the one that failed; a valid session picks the first endpoint.
  uint32_t& rr = lt.backend_rr[static_cast<size_t>(&backend - &table.backend(0))];
  const size_t n_eps = backend.endpoints.size();
  uint32_t start =
      session.endpoint >= 0 ? static_cast<uint32_t>(session.endpoint) : backend.picker.pick(rr);
  for (uint32_t attempt = 0;; ++attempt) {
    x.retry_allowed = retry_on && attempt < ir_rule.retry.attempts;
    x.failure = upstream::AttemptFailure::kNone;
    x.reused = false;
    x.body_sent = true;
    x.up_write_failed = false;
    x.pump_running = false;
    x.pump_abort = false;
    entry.cap = upstream::attemptDeadline(ir_rule.timeouts, w.nowMs(), x.request_deadline);
    bool timed_out_connect = false;
    if (!co_await connectAny(x, backend, start, &timed_out_connect)) {
      if (entry.e.killed || s.aborted()) co_return;
      if (!canRetry(x)) {
        if (requestExpired(x)) {
          ss.respondLocal(s, 504, "upstream timeout\n");
        } else {
          if (x.tls_failed) {
            ss.respondLocal(s, 502, "upstream TLS error\n");  // BackendTLSPolicy verification
          } else {
            ss.respondLocal(
                s, 503,
                timed_out_connect ? "upstream connect timeout\n" : "upstream connect error\n");
          }
        }
        co_return;
      }
      x.failure = upstream::AttemptFailure::kConnect;
    } else {
      if (s.aborted()) co_return;
      x.session_lines.clear();
      upstream::appendSessionResponse(ir_rule.session_persistence, session, backend.ir->name,
                                      x.up->ep, upstream::wallClockSeconds(), x.session_lines);
      entry.setDeadline(opt.idle_timeout_ms);
      bool ok = co_await sendAll(*x.up, entry.e, out);
      bool reusable = false;
      if (!ok) {
        x.up_write_failed = true;
        x.body_sent = x.req_framing == Framing::kNone;
        reusable = co_await relayResponse(x);
      } else if (x.req_framing != Framing::kNone) {
        if (expect_continue && s.bodyAvailable() == 0 && !s.body_end) {
          // RFC 9110 10.1.1: the upstream is connected, tell the client to go on.
          ss.submitInterim(s, 100, {});
        }
        using namespace asio::experimental::awaitable_operators;
        x.pump_running = true;
        auto both = requestPump(x) && relayResponse(x);  // named: the g++ 12 note
        reusable = co_await std::move(both);
      } else {
        reusable = co_await relayResponse(x);
      }
      entry.e.up = nullptr;
      if (x.failure == upstream::AttemptFailure::kNone) {
        // Bytes OpenSSL already decrypted past the response would be read as the next one: such
        // a TLS connection is not reused (the pool's MSG_PEEK check cannot see them).
        if (reusable && x.body_sent && !x.up_write_failed && x.req_failed == ReqFailure::kNone &&
            x.up && (x.up->ssl == nullptr || SSL_has_pending(x.up->ssl) == 0)) {
          w.putIdleUpstream(std::move(x.up));
        }
        co_return;
      }
      // The endpoint after the one that failed (without advancing the round robin, so that
      // first attempts keep their share): a retry lands elsewhere when the backend has several.
      auto failed = std::find(backend.endpoints.begin(), backend.endpoints.end(), x.up->ep);
      if (failed != backend.endpoints.end()) {
        start = static_cast<uint32_t>((failed - backend.endpoints.begin() + 1) % n_eps);
      }
      x.up.reset();  // a failed attempt's connection is not reused
    }
    // Retry after the backoff (never past the request deadline).
    spdlog::debug("{}: retrying after attempt {} failed ({})", ir_rule.route, attempt + 1,
                  static_cast<int>(x.failure));
    uint32_t wait_ms = upstream::backoffMs(ir_rule.retry, attempt + 1);
    if (wait_ms != 0) {
      if (x.request_deadline != 0) {
        wait_ms = static_cast<uint32_t>(
            std::clamp<int64_t>(x.request_deadline - w.nowMs(), 0, int64_t{wait_ms}));
      }
      asio::steady_timer backoff(w.io(), std::chrono::milliseconds(wait_ms));
      auto [tec] = co_await backoff.async_wait(kNoThrow);
      (void)tec;
      w.updateNow();
    }
    if (entry.e.killed || s.aborted()) co_return;
    if (requestExpired(x)) {
      ss.respondLocal(s, 504, "upstream timeout\n");
      co_return;
    }
  }
}

// HTTPRoute RequestRedirect (RFC 9110 15.4): Location from the compiled filter and the request.
void sendRedirect(Session& ss, Stream& s, const filters::Redirect& r, std::string_view host,
                  const std::string& path, std::string_view query, bool has_query) {
  std::string lines;
  r.appendLocation(host, path, has_query, query, lines);
  std::string store;
  std::vector<Field> fields;
  appendLines(lines, store, fields);
  ss.respondLocal(s, r.status(), "", fields);
}

// HTTPCORSFilter preflight: always an OK status; CORS fields only for an allowed origin (so the
// browser does not send the actual request otherwise).
void sendPreflight(Session& ss, Stream& s, const filters::Cors& cors,
                   const filters::CorsRequest& req) {
  std::string lines;
  if (cors.allows(req.origin)) cors.appendPreflight(req, lines);
  std::string store;
  std::vector<Field> fields;
  appendLines(lines, store, fields);
  ss.respondLocal(s, 204, "", fields);
}

// ExternalAuth forwardBody: waits until `max` request body bytes are buffered in the stream (or
// it ended) without taking them -- the upstream paths take and forward them all afterwards --
// and copies them into `out` (a copy: more DATA may arrive during the check). Their flow-control
// credit is returned at once so that a body larger than the stream window can arrive. False when
// the stream is gone or the client stalled (answered with 408).
awaitable<bool> peekBodyForAuth(Session& ss, Stream& s, size_t max, std::string& out,
                                int64_t& size) {
  bool expect_continue = false;
  for (const auto& h : s.headers) {
    if (h.name == "expect")
      expect_continue = http1::iequals(http1::trimOws(h.value), "100-continue");
  }
  if (expect_continue && s.bodyAvailable() == 0 && !s.body_end) ss.submitInterim(s, 100, {});
  while (s.bodyAvailable() < max && !s.body_end) {
    ss.consume(s, s.unconsumed);
    if (s.aborted()) co_return false;
    if (!co_await s.req_event.wait(ss.worker().options().idle_timeout_ms) &&
        s.bodyAvailable() < max && !s.body_end && !s.aborted()) {
      ss.respondLocal(s, 408, "request body timeout\n");
      co_return false;
    }
  }
  if (s.aborted()) co_return false;
  out.assign(s.body, s.body_off, std::min(max, s.bodyAvailable()));
  if (s.has_content_length) {
    size = static_cast<int64_t>(s.content_length);
  } else {
    size = s.body_end ? static_cast<int64_t>(s.bodyAvailable()) : -1;
  }
  co_return true;
}

}  // namespace

awaitable<void> handleStream(Session& ss, Stream& s) {
  Worker& w = ss.worker();
  const int64_t start_ms = w.nowMs();
  if (s.too_large) {
    ss.respondLocal(s, 431, "request header fields too large\n");
    co_return;
  }
  if (s.bad_host) {
    ss.respondLocal(s, 400, "bad host\n");
    co_return;
  }
  if (s.method == "CONNECT") {
    // nghttp2 accepts CONNECT (RFC 9113 8.5); a gateway for HTTPRoutes does not tunnel.
    ss.respondLocal(s, 405, "method not allowed\n");
    co_return;
  }
  if (s.path == "*") {
    ss.respondLocal(s, 404, "bad request target\n");  // as for HTTP/1 asterisk-form
    co_return;
  }
  // Host: :authority (or Host), validated like an HTTP/1 Host (RFC 9112 3.2, RFC 3986 3.2.2).
  std::string host;
  if (!http1::parseHost(s.authority, &host) || host.empty()) {
    ss.respondLocal(s, 400, "bad host\n");
    co_return;
  }
  if (ss.ssl() != nullptr && tls::ServerContextSet::isMisdirected(ss.ssl(), host)) {
    // RFC 9110 15.5.20: this connection's certificate was chosen for another host.
    ss.respondLocal(s, 421, "misdirected request\n");
    co_return;
  }
  std::string_view raw_path = s.path;
  std::string_view query;
  bool has_query = false;
  size_t q = raw_path.find('?');
  if (q != std::string_view::npos) {
    query = raw_path.substr(q + 1);
    raw_path = raw_path.substr(0, q);
    has_query = true;
  }
  std::string path;
  if (!http1::normalizePath(raw_path, &path) || !http1::validQuery(query)) {
    ss.respondLocal(s, 400, "bad path\n");
    co_return;
  }

  // Route with the worker's current table (kept until the stream ends), as for HTTP/1.
  LocalTableRef lt = w.currentTable();
  const RouteTable* table = lt ? lt->table.get() : nullptr;
  if (table == nullptr) {
    ss.respondLocal(s, 404, "no route\n");
    co_return;
  }
  RequestInfo ri;
  ri.method = s.method;
  ri.host = host;
  ri.path = path;
  ri.query = query;
  ri.headers = &s.headers;
  const CompiledRule* rule = table->route(table->findPort(ss.port().address, ss.port().port), ri);
  if ((rule == nullptr || rule->ir->grpc) && grpc::isGrpcRequest(s)) {
    // gRPC on a GRPCRoute (or on no route): HTTP/2 upstream, gRPC-shaped errors. An HTTPRoute
    // carrying gRPC takes the HTTPRoute path below (its filters apply), to an h2c backend.
    co_await grpc::serveGrpc(ss, s, *table, *lt.get(), rule, s.authority, path, query, has_query,
                             start_ms);
    co_return;
  }
  if (rule == nullptr) {
    ss.respondLocal(s, 404, "no route\n");
    co_return;
  }
  if (rule->ir->direct_status != 0) {
    ss.respondLocal(s, rule->ir->direct_status, "");
    co_return;
  }
  // ExternalAuth (filters/ext_authz.h) before every other filter, failing closed, as for HTTP/1.
  // The allowed request's field changes are made in s.headers, so that every upstream path below
  // (HTTP/1.1 or h2c) forwards them; `auth_edits` keeps their bytes alive.
  filters::AuthEdits auth_edits;
  if (rule->ext_auth != nullptr) {
    if (rule->ext_auth_backend < 0) {
      ss.respondLocal(s, 500, "authorization backend unavailable\n");
      co_return;
    }
    const auto abi = static_cast<uint32_t>(rule->ext_auth_backend);
    filters::AuthRequest areq{s.method, path, query, has_query, s.authority, &s.headers};
    areq.tls = ss.ssl() != nullptr;
    areq.http2 = true;
    areq.peer = &ss.peer();
    std::string auth_body;
    if (rule->ext_auth->forward_body_max > 0) {
      const size_t max =
          std::min<size_t>(rule->ext_auth->forward_body_max, filters::kMaxForwardBody);
      if (!co_await peekBodyForAuth(ss, s, max, auth_body, areq.body_size)) co_return;
      areq.body = auth_body;
    }
    filters::AuthResult ares;
    {
      StreamEntry ae(w);
      co_await filters::checkExternalAuth(w, ae.e, table->backend(abi), lt->backend_rr[abi],
                                          *rule->ext_auth, areq, &ares);
      if (ae.e.killed || s.aborted()) co_return;
    }
    if (ares.kind == filters::AuthResult::Kind::kError) {
      ss.respondLocal(s, 403, "external authorization failed\n");
      co_return;
    }
    if (ares.kind == filters::AuthResult::Kind::kDeny) {
      std::vector<Field> fields;
      for (const auto& [name, value] : ares.headers) {
        if (name == "date" || name == "server") continue;
        fields.push_back({name, value});
      }
      const bool bodyless = ares.status == 204 || ares.status == 304 || ares.status < 200;
      std::string len = std::to_string(ares.body.size());
      if (!bodyless) fields.push_back({"content-length", len});
      const bool send_body = !bodyless && s.method != "HEAD" && !ares.body.empty();
      if (ss.submitResponse(s, ares.status, fields, send_body) && send_body) {
        ss.appendBody(s, ares.body);
        ss.endBody(s);
      }
      co_return;
    }
    auth_edits = std::move(ares.edits);
    std::erase_if(s.headers, [&](const http1::Header& h) { return auth_edits.drops(h.name); });
    for (const auto& [name, value] : auth_edits.set) s.headers.push_back({name, value});
    for (const auto& [name, value] : auth_edits.append) s.headers.push_back({name, value});
  }
  // HTTPRoute filters answered by the gateway itself (dataplane/filters/rule_filters.h), as for
  // HTTP/1.
  const filters::RuleFilters* rf = rule->filters.get();
  filters::CorsRequest cors_req;
  if (rf != nullptr) {
    if (rf->cors) {
      cors_req = filters::CorsRequest::inspect(s.method, s.headers);
      if (cors_req.preflight()) {
        sendPreflight(ss, s, *rf->cors, cors_req);
        co_return;
      }
    }
    if (rf->redirect) {
      sendRedirect(ss, s, *rf->redirect, host, path, query, has_query);
      co_return;
    }
  }
  if (rule->total_weight == 0) {
    ss.respondLocal(s, 500, "no backend\n");  // Gateway API: no valid backendRef -> 500
    co_return;
  }
  // SessionPersistence: a valid session picks its backendRef and endpoint (upstream/session.h).
  upstream::SessionChoice session;
  if (!rule->session_targets.empty()) {
    session = upstream::findSession(*rule, s.headers, upstream::wallClockSeconds());
  }
  uint32_t bi = session.position >= 0 ? static_cast<uint32_t>(session.position)
                                      : rule->picker.pick(lt->rule_rr[rule->slot]);
  int32_t bidx = rule->backends[bi];
  if (bidx == kInvalidBackend) {
    ss.respondLocal(s, 500, "invalid backend\n");
    co_return;
  }
  if (bidx < 0 || table->backend(static_cast<uint32_t>(bidx)).total_weight == 0) {
    ss.respondLocal(s, 503, "no healthy upstream\n");
    co_return;
  }
  const filters::BackendFilters* bf = nullptr;
  std::string resp_extra;
  bool cors_applied = false;
  if (rf != nullptr) {
    // Filters of the picked backendRef (composed with the rule's).
    bf = rf->forBackend(rule->backend_refs[bi]);
    const filters::Cors* cors = rf->cors ? &*rf->cors : nullptr;
    if (bf != nullptr) {
      if (bf->redirect) {
        sendRedirect(ss, s, *bf->redirect, host, path, query, has_query);
        co_return;
      }
      if (bf->cors && !rf->cors) {
        cors = &*bf->cors;
        cors_req = filters::CorsRequest::inspect(s.method, s.headers);
        if (cors_req.preflight()) {
          sendPreflight(ss, s, *cors, cors_req);
          co_return;
        }
      }
      if (bf->rewritesPath()) {
        // URLRewrite: the rewritten path is what is forwarded (routing already happened).
        std::string rewritten;
        filters::modifyPath(bf->path, rf->prefixes, path, rewritten);
        path = std::move(rewritten);
      }
    }
    if (cors != nullptr && cors_req.has_origin && cors->allows(cors_req.origin)) {
      cors->appendActual(cors_req, resp_extra);
      cors_applied = true;
    }
  }
  if (const ir::AppProtocol ap = table->backend(static_cast<uint32_t>(bidx)).ir->app_protocol;
      ap == ir::AppProtocol::kH2c || ap == ir::AppProtocol::kHttp2Tls) {
    // h2c backend (appProtocol kubernetes.io/h2c) or h2 over TLS (BackendTLSPolicy): a stream of
    // the worker's HTTP/2 pool.
    co_await grpc::forwardHttp2(ss, s, *table, *lt.get(), *rule, bi,
                                table->backend(static_cast<uint32_t>(bidx)), s.authority, path,
                                query, has_query, start_ms, grpc::isGrpcRequest(s), &session);
    co_return;
  }
  co_await proxy(ss, s, *table, *lt.get(), *rule, bi, table->backend(static_cast<uint32_t>(bidx)),
                 bf, resp_extra, cors_applied, s.authority, path, query, has_query, start_ms,
                 session);
}

}  // namespace gantry::dataplane::http2
