// HTTP/1.1 downstream -> HTTP/2 upstream; see h1_to_h2.h.
#include "dataplane/upstream/h1_to_h2.h"
#include "dataplane/clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>

#include "dataplane/filters/cors.h"
#include "dataplane/http1/syntax.h"
#include "dataplane/http1/wire.h"
#include "dataplane/http2/event.h"
#include "dataplane/upstream/h2_attempts.h"
#include "dataplane/upstream/h2_client.h"

namespace gantry::dataplane::upstream {

using asio::awaitable;
using asio::ip::tcp;

namespace {

using http1::appendDec;
using http1::appendHex;
using http1::clientIp;
using http1::lowerAscii;
using http1::reasonPhrase;

// RFC 9113 8.2.2: connection-specific fields must not appear in HTTP/2.
bool connectionSpecific(std::string_view name) {
  using http1::iequals;
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "proxy-connection") || iequals(name, "transfer-encoding") ||
         iequals(name, "upgrade");
}

// "Name: value\r\n" lines (parser trailers, filter output) as HTTP/2 fields, lower-cased names;
// connection-specific ones and TE are left out.
void appendFieldLines(std::string_view t, std::vector<H2Field>& out) {
  http1::forEachFieldLine(t, [&](std::string_view name, std::string_view value) {
    if (connectionSpecific(name) || http1::iequals(name, "te") || http1::iequals(name, "host")) {
      return;
    }
    out.push_back({lowerAscii(name), std::string(value)});
  });
}

// Collects decoded request body bytes straight into the stream's send buffer (unless that
// stream is dead), and hands them to the attempts (retry replay, mirrors).
class StreamSink : public http1::BodySink {
 public:
  StreamSink(H2Attempts& at, bool dead) : at_(at), dead_(dead) {}
  void onBody(const char* data, size_t len) override {
    at_.capture(std::string_view(data, len));
    if (!dead_) at_.stream().append(std::string_view(data, len));
  }

 private:
  H2Attempts& at_;
  bool dead_;
};

enum class PumpFailure : uint8_t { kNone, kClientGone, kBadBody };

struct Bridge {
  Worker& w;
  H1Request& r;
  H2Attempts& at;
  bool pump_running = false;
  bool dead = false;                // the current stream takes no more body bytes
  http2::Event pump_event{w.io()};  // the pump ended
  bool pump_abort = false;
  bool body_done = true;
  PumpFailure failed = PumpFailure::kNone;
  std::vector<H2Field> session = {};

  void setDeadline(uint32_t ms) {
    r.entry.timed_out = false;
    r.entry.deadline_ms = ms == 0 ? 0 : w.nowMs() + ms;
  }

  awaitable<bool> writeDown(std::vector<asio::const_buffer>& iov) {
    setDeadline(w.options().idle_timeout_ms);
    bool ok = co_await r.io.send(iov);
    co_return ok;
  }

  // Feeds ctx.in to the validator and parser; decoded bytes go to the stream.
  bool feed(http1::ChunkedValidator* v) {
    ByteBuf& in = r.ctx.in;
    if (in.empty()) return true;
    http1::ChunkedValidator::Result vr = http1::ChunkedValidator::kMore;
    size_t vused = 0;
    if (v != nullptr) {
      vr = v->feed(in.begin(), in.size(), &vused);
      if (vr == http1::ChunkedValidator::kBad) return false;
    }
    StreamSink sink(at, dead);
    http1::Parser& p = r.ctx.req;
    size_t n = p.feedBody(in.begin(), in.size(), &sink);
    if (p.failed()) return false;
    if (v != nullptr) {
      bool vdone = vr == http1::ChunkedValidator::kDone;
      if (vdone != p.done() || (vdone && vused != n)) return false;
    }
    in.consume(n);
    return true;
  }

  // Request trailers ("name: value\r\n" lines from the parser) as HTTP/2 fields.
  std::vector<H2Field> trailers() const {
    std::vector<H2Field> out;
    appendFieldLines(r.ctx.req.trailers(), out);
    return out;
  }

  // Request body: client -> stream, one buffer at a time (flush() returns once nghttp2 took it).
  awaitable<void> pump() {
    const Options& opt = w.options();
    http1::ChunkedValidator validator(opt.max_request_header_bytes);
    http1::ChunkedValidator* v = r.chunked ? &validator : nullptr;
    for (;;) {
      if (!feed(v)) {
        failed = PumpFailure::kBadBody;
        at.stream().cancel();
        break;
      }
      if (r.ctx.req.done()) {
        body_done = true;
        auto t = trailers();
        at.endBody(t);  // RequestMirror: the complete request goes to the mirrors now
        if (!dead) {
          if (!t.empty()) at.stream().setTrailers(std::move(t));
          co_await at.stream().flush(true);
        }
        break;
      }
      if (!dead && !co_await at.stream().flush(false)) {
        // The stream died: keep taking the body while a retry may replay it.
        dead = true;
        if (!at.mayReplay()) break;
      }
      if (pump_abort) break;
      setDeadline(opt.idle_timeout_ms);
      ssize_t n = co_await r.io.read(r.ctx.in);
      if (pump_abort) break;
      if (n <= 0) {
        failed = PumpFailure::kClientGone;
        at.stream().cancel();
        break;
      }
    }
    pump_running = false;
    pump_event.notify();
  }

  awaitable<bool> localResponse(unsigned status, std::string_view body, bool close) {
    std::string& out = r.ctx.out;
    out.clear();
    out.append("HTTP/1.1 ");
    appendDec(out, status);
    out.append(" ").append(reasonPhrase(status)).append("\r\n");
    out.append("content-type: text/plain\r\ncontent-length: ");
    appendDec(out, body.size());
    out.append("\r\n");
    if (close) out.append("connection: close\r\n");
    out.append("\r\n");
    if (!r.is_head) out.append(body);
    auto& iov = r.ctx.iov;
    iov.clear();
    iov.push_back(asio::buffer(out));
    bool ok = co_await writeDown(iov);
    co_return ok && !close;
  }

  // Stops a still-running pump (its client read and its flush() wait) and the stream.
  void stopPump() {
    if (!pump_running) return;
    pump_abort = true;
    asio::error_code ec;
    r.down.cancel(ec);
    at.stream().cancel();
  }

  awaitable<bool> relay() {
    const bool close_local = r.has_body || !r.keep_alive || w.draining();
    H2Event ev = co_await at.stream().next();
    // HTTPRouteRetry: an attempt that failed in a way a retry may fix is sent again once the
    // pump is done and the whole body was kept.
    while (at.wantsRetry(ev) && failed == PumpFailure::kNone && !r.entry.killed) {
      while (pump_running) {
        if (!co_await pump_event.wait(w.options().idle_timeout_ms)) break;
      }
      if (pump_running || !at.canReplay() || failed != PumpFailure::kNone) break;
      if (!co_await at.retry()) {
        co_return co_await localResponse(504, "upstream timeout\n", true);
      }
      ev = co_await at.stream().next();
    }
    if (ev.type != H2EventType::kHeaders) {
      stopPump();
      if (failed == PumpFailure::kClientGone || r.entry.killed) co_return false;
      if (failed == PumpFailure::kBadBody) {
        co_return co_await localResponse(400, "bad request body\n", true);
      }
      switch (ev.type) {
        case H2EventType::kConnectFailed:
          // A backend reached whose TLS handshake failed (BackendTLSPolicy verification): 502,
          // as on the HTTP/1.1 upstream path.
          if (at.stream().tlsFailed()) {
            co_return co_await localResponse(502, "upstream TLS error\n", close_local);
          }
          co_return co_await localResponse(503, "upstream connect error\n", close_local);
        case H2EventType::kTimeout:
          co_return co_await localResponse(504, "upstream timeout\n", true);
        default:
          co_return co_await localResponse(502, "upstream reset\n", true);
      }
    }
    const unsigned status = ev.status;
    const bool no_body = r.is_head || status == 204 || status == 304;
    std::string& out = r.ctx.out;
    out.clear();
    out.append("HTTP/1.1 ");
    appendDec(out, status);
    out.append(" ").append(reasonPhrase(status)).append("\r\n");
    bool has_cl = false;
    const filters::BackendFilters* bf = r.filters;
    for (const auto& h : *ev.fields) {
      if (connectionSpecific(h.name)) continue;
      if (h.name == "content-length") has_cl = true;
      if (bf != nullptr && bf->response.drops(h.name)) continue;  // ResponseHeaderModifier
      if (r.cors_applied && filters::isCorsResponseField(h.name)) continue;
      out.append(h.name).append(": ").append(h.value).append("\r\n");
    }
    if (bf != nullptr) out.append(bf->response.lines());
    out.append(r.resp_extra);
    session.clear();
    at.sessionFields(session);  // SessionPersistence, for the endpoint that answered
    for (const auto& h : session) out.append(h.name).append(": ").append(h.value).append("\r\n");
    // nghttp2 checked that DATA matches a Content-Length (RFC 9113 8.1.1), so it is kept;
    // otherwise the length is unknown: chunked for HTTP/1.1, close-delimited for HTTP/1.0.
    const bool chunked = !no_body && !has_cl && r.http11;
    const bool eof_framed = !no_body && !has_cl && !r.http11;
    if (chunked) out.append("transfer-encoding: chunked\r\n");
    bool keep = r.keep_alive && !w.draining() && !eof_framed;
    // A request body still arriving when the response is done is not drained: close then.
    if (!keep) {
      out.append("connection: close\r\n");
    } else if (!r.http11) {
      out.append("connection: keep-alive\r\n");
    }
    out.append("\r\n");
    auto& iov = r.ctx.iov;
    iov.clear();
    iov.push_back(asio::buffer(out));
    if (!co_await writeDown(iov)) {
      stopPump();
      co_return false;
    }
    std::string& line = r.ctx.chunk_line;
    std::string tail;
    for (;;) {
      if (!pump_running) setDeadline(0);  // waiting on the backend: the stream has its timers
      ev = co_await at.stream().next();
      if (ev.type == H2EventType::kData) {
        if (no_body) continue;
        if (chunked) {
          line.clear();
          appendHex(line, ev.data.size());
          line.append("\r\n");
          iov.push_back(asio::buffer(line));
          iov.push_back(asio::buffer(ev.data.data(), ev.data.size()));
          iov.push_back(asio::buffer("\r\n", 2));
        } else {
          iov.push_back(asio::buffer(ev.data.data(), ev.data.size()));
        }
        if (!co_await writeDown(iov)) {
          stopPump();
          co_return false;
        }
        continue;
      }
      if (ev.type == H2EventType::kTrailers) {
        tail.clear();
        for (const auto& h : *ev.fields)
          tail.append(h.name).append(": ").append(h.value).append("\r\n");
        continue;
      }
      if (ev.type != H2EventType::kEnd) {
        // Reset or timeout after the head went out: abort the client connection, so that it sees
        // a truncated message rather than a complete wrong one.
        stopPump();
        co_return false;
      }
      break;
    }
    if (chunked) {
      // RFC 9112 7.1.2: last chunk, then the trailer section.
      line.assign("0\r\n");
      line.append(tail).append("\r\n");
      iov.push_back(asio::buffer(line));
      if (!co_await writeDown(iov)) {
        stopPump();
        co_return false;
      }
    }
    if (pump_running) {
      stopPump();
      keep = false;
    }
    co_return keep&& body_done && !eof_framed;
  }
};

}  // namespace

awaitable<bool> proxyHttp1ToH2(Worker& w, H1Request& r, const ir::Rule& rule,
                               const CompiledBackend& backend, uint32_t* rr) {
  RequestCtx& c = r.ctx;
  const Options& opt = w.options();

  H2Request req;
  req.method = std::string(r.method);
  const filters::BackendFilters* bf = r.filters;
  // URLRewrite hostname (or a RequestHeaderModifier set of Host) replaces the authority.
  req.authority =
      std::string(bf != nullptr && bf->rewrite_host ? std::string_view(bf->host) : r.host_value);
  req.path = c.path;
  if (r.has_query) req.path.append("?").append(r.query);
  req.has_body = r.has_body;
  req.headers.reserve(c.req_headers.size() + 4);
  // Fields the Connection header lists are hop-by-hop too (RFC 9110 7.6.1).
  std::vector<std::string_view> listed;
  for (const auto& h : c.req_headers) {
    if (http1::iequals(h.name, "connection")) listed.push_back(h.value);
  }
  auto isListed = [&](std::string_view name) {
    for (auto v : listed) {
      if (http1::hasToken(v, name)) return true;
    }
    return false;
  };
  std::string xff, xfp, xfh;
  for (const auto& h : c.req_headers) {
    using http1::iequals;
    std::string_view value = http1::trimOws(h.value);
    if (iequals(h.name, "x-forwarded-for")) {
      xff.append(value).append(", ");
      continue;
    }
    if (iequals(h.name, "x-forwarded-proto")) {
      xfp.append(value).append(", ");
      continue;
    }
    if (iequals(h.name, "x-forwarded-host")) {
      xfh.append(value).append(", ");
      continue;
    }
    if (connectionSpecific(h.name) || isListed(h.name) || iequals(h.name, "host") ||
        iequals(h.name, "expect") || iequals(h.name, "content-length") ||
        (h.name.size() > 6 && iequals(h.name.substr(0, 6), "proxy-"))) {
      continue;
    }
    if (bf != nullptr && bf->request.drops(h.name)) continue;  // RequestHeaderModifier
    // RFC 9113 8.2.2: TE may only carry "trailers".
    if (iequals(h.name, "te")) {
      if (http1::hasToken(value, "trailers")) req.headers.push_back({"te", "trailers"});
      continue;
    }
    req.headers.push_back({lowerAscii(h.name), std::string(value)});
  }
  if (r.has_cl_header && !r.chunked) {
    req.headers.push_back({"content-length", std::to_string(r.content_length)});
  }
  if (bf != nullptr) appendFieldLines(bf->request.lines(), req.headers);
  // A RequestHeaderModifier that removes or sets one of these replaces gantry's own.
  auto ours = [&](std::string_view name) { return bf == nullptr || !bf->request.drops(name); };
  xff.append(clientIp(r.peer));
  if (ours("x-forwarded-for")) req.headers.push_back({"x-forwarded-for", std::move(xff)});
  xfp.append(r.tls ? "https" : "http");
  if (ours("x-forwarded-proto")) req.headers.push_back({"x-forwarded-proto", std::move(xfp)});
  if (!r.host_value.empty() && ours("x-forwarded-host")) {
    xfh.append(r.host_value);
    req.headers.push_back({"x-forwarded-host", std::move(xfh)});
  }

  // Timeouts: what is left of the route's request timeout bounds all attempts, its
  // backendRequest each one (upstream/h2_attempts.h); --upstream-response-timeout (else the idle
  // timeout) bounds any wait for progress.
  int64_t request_deadline = 0;
  if (rule.timeouts.request_ms != 0) {
    int64_t left = r.start_ms + rule.timeouts.request_ms - w.nowMs();
    request_deadline = steadyMs() + std::max<int64_t>(left, 1);
  }
  H2Attempts::Params params{.w = w,
                            .lt = r.table,
                            .rule = r.rule,
                            .backend_pos = r.backend_pos,
                            .backend = backend,
                            .rr = rr,
                            .request_deadline = request_deadline,
                            .idle_ms = opt.upstream_response_timeout_ms != 0
                                           ? opt.upstream_response_timeout_ms
                                           : opt.idle_timeout_ms,
                            .session = r.session,
                            .is_head = r.is_head};
  H2Attempts attempts(std::move(params), std::move(req));
  attempts.open();

  Bridge b{w, r, attempts};
  if (r.has_body) {
    if (r.expect_continue && c.in.empty()) {
      // RFC 9110 10.1.1: gantry answers 100-continue itself.
      c.iov.clear();
      c.iov.push_back(asio::buffer("HTTP/1.1 100 Continue\r\n\r\n", 25));
      if (!co_await b.writeDown(c.iov)) co_return false;
    }
    b.body_done = false;
    b.pump_running = true;
    using namespace asio::experimental::awaitable_operators;
    auto both = b.pump() && b.relay();  // named: see the g++ 12 note in docs/dev
    bool keep = co_await std::move(both);
    co_return keep;
  }
  co_return co_await b.relay();
}

}  // namespace gantry::dataplane::upstream
