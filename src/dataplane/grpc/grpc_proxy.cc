// gRPC over the HTTP/2 downstream; see grpc_proxy.h.
#include "dataplane/grpc/grpc_proxy.h"
#include "dataplane/clock.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "dataplane/filters/rule_filters.h"
#include "dataplane/http1/syntax.h"
#include "dataplane/http1/wire.h"
#include "dataplane/upstream/h2_attempts.h"
#include "dataplane/upstream/h2_client.h"
#include "dataplane/upstream/session.h"

namespace gantry::dataplane::grpc {

using asio::awaitable;
using http2::Field;
using http2::Session;
using http2::Stream;

namespace {

using http1::clientIp;
using http1::lowerAscii;

constexpr size_t kRequestPiece = 64 * 1024;
// Response bytes queued for the client (not yet framed by nghttp2) above which we stop taking
// DATA from the upstream stream: the client's window throttles the backend.
constexpr size_t kResponseHighWater = 64 * 1024;

// "Name: value\r\n" lines (compiled header filters) as lower-case (name, value) pairs.
void parseFieldLines(std::string_view t, std::vector<upstream::H2Field>& out) {
  http1::forEachFieldLine(t, [&](std::string_view name, std::string_view value) {
    if (http1::iequals(name, "host")) return;  // :authority carries it
    out.push_back({lowerAscii(name), std::string(value)});
  });
}

struct Forward {
  Session& ss;
  Stream& s;
  upstream::H2Attempts& at;  // the current attempt's stream, retries, mirrors, session
  const filters::BackendFilters* bf;
  int64_t deadline_ms;  // the request's (grpc-timeout, route request timeout)
  bool grpc = true;     // errors as gRPC statuses, else as HTTP statuses
  bool pump_running = false;
  bool pump_parked = false;  // the pump is done with the request body and the stream
  bool relay_done = false;
  http2::Event pump_event{ss.worker().io()};  // the pump parked or ended

  upstream::H2Stream& up() { return at.stream(); }

  // Request body: client DATA -> upstream stream; the client's window reopens (consume) only
  // for bytes the upstream took. Every piece is also handed to the attempts (retry replay,
  // mirrors); when the stream dies and a retry may follow, the rest of the body is still taken,
  // to be replayed.
  awaitable<void> pump() {
    std::string piece;
    bool dead = false;  // the current stream takes no more body bytes
    for (;;) {
      if (relay_done) break;
      if (s.bodyAvailable() > 0) {
        piece.clear();
        size_t n = ss.takeBody(s, piece, kRequestPiece);
        at.capture(piece);
        if (!dead) {
          up().append(piece);
          if (!co_await up().flush(false)) dead = true;
        }
        ss.consume(s, n);
        if (dead && !at.mayReplay()) break;  // the response side reports it
        continue;
      }
      if (s.body_end) {
        std::vector<upstream::H2Field> t;
        for (const auto& h : s.trailers) t.push_back({std::string(h.name), std::string(h.value)});
        at.endBody(t);  // RequestMirror: the complete request goes to the mirrors now
        if (!dead) {
          if (!t.empty()) up().setTrailers(std::move(t));
          bool ok = co_await up().flush(true);
          (void)ok;  // a dead stream: the response side reports it
        }
        pump_parked = true;
        pump_event.notify();
        // A client that cancels a call (RST_STREAM) must cancel it upstream too (gRPC
        // cancellation), also while the response is still streaming.
        while (!relay_done && !s.aborted()) co_await s.req_event.wait(0);
        if (s.aborted() && !relay_done) up().cancel();
        break;
      }
      if (s.aborted()) {
        up().cancel();
        break;
      }
      co_await s.req_event.wait(0);
    }
    pump_running = false;
    pump_event.notify();
  }

  bool deadlinePassed() const { return deadline_ms != 0 && steadyMs() >= deadline_ms; }

  void error(Status st, unsigned http_status, std::string_view msg) {
    if (grpc) {
      respondGrpcError(ss, s, st, msg);
    } else {
      ss.discardBody(s);
      std::string body(msg);
      body.push_back('\n');
      ss.respondLocal(s, http_status, body);
    }
  }

  awaitable<void> relay() {
    struct Done {
      Forward& f;
      ~Done() {
        f.relay_done = true;
        f.s.req_event.notify();  // the pump stops watching for a client reset
      }
    } done{*this};
    const Options& opt = ss.worker().options();
    upstream::H2Event ev = co_await up().next();
    if (s.aborted()) co_return;
    // HTTPRouteRetry: an attempt that failed in a way a retry may fix is sent again once the
    // pump is done with its stream and the whole body was kept.
    while (at.wantsRetry(ev)) {
      while (pump_running && !pump_parked && !s.aborted()) {
        if (!co_await pump_event.wait(opt.idle_timeout_ms)) break;
      }
      if (s.aborted()) co_return;
      if ((pump_running && !pump_parked) || !at.canReplay()) break;
      if (!co_await at.retry()) {
        error(Status::kDeadlineExceeded, 504, "upstream timeout");
        co_return;
      }
      if (s.aborted()) co_return;
      ev = co_await up().next();
      if (s.aborted()) co_return;
    }
    if (ev.type != upstream::H2EventType::kHeaders) {
      switch (ev.type) {
        case upstream::H2EventType::kTimeout:
          if (deadlinePassed()) {
            error(Status::kDeadlineExceeded, 504, "deadline exceeded");
          } else {
            error(Status::kUnavailable, 504, "upstream timeout");
          }
          break;
        case upstream::H2EventType::kConnectFailed:
          if (up().tlsFailed()) {
            error(Status::kUnavailable, 502, "upstream TLS error");  // BackendTLSPolicy
          } else {
            error(Status::kUnavailable, 503, "upstream connect error");
          }
          break;
        default:
          error(Status::kUnavailable, 502, "upstream reset");
          break;
      }
      co_return;
    }
    std::vector<upstream::H2Field> extra;
    if (bf != nullptr) parseFieldLines(bf->response.lines(), extra);
    std::vector<Field> fields;
    fields.reserve(ev.fields->size() + extra.size());
    for (const auto& h : *ev.fields) {
      if (bf != nullptr && bf->response.drops(h.name)) continue;  // ResponseHeaderModifier
      fields.push_back({h.name, h.value});
    }
    at.sessionFields(extra);  // SessionPersistence, for the endpoint that answered
    for (const auto& h : extra) fields.push_back({h.name, h.value});
    // A trailers-only upstream answer (a gRPC error: one HEADERS frame with END_STREAM) stays
    // one: grpc-status is in that block.
    const bool trailers_only = up().endsAfterHeaders();
    if (!ss.submitResponse(s, ev.status, fields, !trailers_only)) {
      up().cancel();
      co_return;
    }
    if (trailers_only) co_return;
    std::vector<std::string> trailers;
    for (;;) {
      ev = co_await up().next();
      if (s.aborted()) {
        up().cancel();
        co_return;
      }
      switch (ev.type) {
        case upstream::H2EventType::kData:
          while (ss.pendingBody(s) >= kResponseHighWater && !s.aborted()) {
            if (!co_await s.resp_event.wait(opt.idle_timeout_ms) &&
                ss.pendingBody(s) >= kResponseHighWater && !s.aborted()) {
              ss.resetStream(s, NGHTTP2_CANCEL);  // the client stopped reading
              up().cancel();
              co_return;
            }
          }
          if (s.aborted()) {
            up().cancel();
            co_return;
          }
          ss.appendBody(s, ev.data);
          break;
        case upstream::H2EventType::kTrailers:
          for (const auto& h : *ev.fields) {
            trailers.push_back(h.name);
            trailers.push_back(h.value);
          }
          break;
        case upstream::H2EventType::kEnd:
          ss.endBody(s, std::move(trailers));
          co_return;
        case upstream::H2EventType::kTimeout:
          if (grpc && deadlinePassed()) {
            // The head went out: the status goes in the trailers.
            up().cancel();
            ss.endBody(s,
                       {"grpc-status", std::to_string(static_cast<int>(Status::kDeadlineExceeded)),
                        "grpc-message", "deadline exceeded"});
            co_return;
          }
          [[fallthrough]];
        default:
          // Reset after the head: the client must see a failed call, not a complete one.
          ss.resetStream(s, NGHTTP2_INTERNAL_ERROR);
          co_return;
      }
    }
  }
};

}  // namespace

bool isGrpcContentType(std::string_view ct) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (ct.size() < kGrpc.size() || !http1::iequals(ct.substr(0, kGrpc.size()), kGrpc)) return false;
  return ct.size() == kGrpc.size() || ct[kGrpc.size()] == '+' || ct[kGrpc.size()] == ';';
}

bool isGrpcRequest(const Stream& s) {
  for (const auto& h : s.headers) {
    if (h.name == "content-type") return isGrpcContentType(h.value);
  }
  return false;
}

std::optional<uint64_t> parseGrpcTimeout(std::string_view v) {
  // PROTOCOL-HTTP2.md: Timeout -> "grpc-timeout" TimeoutValue TimeoutUnit; TimeoutValue is at
  // most 8 ASCII digits.
  if (v.size() < 2 || v.size() > 9) return std::nullopt;
  uint64_t n = 0;
  for (char c : v.substr(0, v.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  switch (v.back()) {
    case 'H':
      return n * 3'600'000;
    case 'M':
      return n * 60'000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return (n + 999) / 1000;
    case 'n':
      return (n + 999'999) / 1'000'000;
    default:
      return std::nullopt;
  }
}

bool respondGrpcError(Session& ss, Stream& s, Status status, std::string_view message) {
  // PROTOCOL-HTTP2.md "Trailers-Only": HTTP-Status Content-Type Trailers in one HEADERS frame.
  std::string code = std::to_string(static_cast<int>(status));
  std::vector<Field> fields = {
      {"content-type", "application/grpc"}, {"grpc-status", code}, {"grpc-message", message}};
  ss.discardBody(s);
  return ss.submitResponse(s, 200, fields, false);
}

awaitable<void> serveGrpc(Session& ss, Stream& s, const RouteTable& table, LocalTable& lt,
                          const CompiledRule* rule, std::string_view authority,
                          const std::string& path, std::string_view query, bool has_query,
                          int64_t start_ms) {
  if (rule == nullptr) {
    respondGrpcError(ss, s, Status::kUnimplemented, "no route for " + path);
    co_return;
  }
  const ir::Rule& ir_rule = *rule->ir;
  if (ir_rule.direct_status != 0) {
    // An unsupported filter or ExtensionRef: the spec's 500, in gRPC terms.
    respondGrpcError(ss, s, Status::kInternal, "route rule cannot be served");
    co_return;
  }
  // GRPCRoute BackendRefs: all invalid, or this share invalid -> UNAVAILABLE.
  if (rule->total_weight == 0) {
    respondGrpcError(ss, s, Status::kUnavailable, "no backend");
    co_return;
  }
  // SessionPersistence (GRPCRouteRule.sessionPersistence): a valid session picks its backendRef
  // and endpoint, as for HTTPRoute.
  upstream::SessionChoice session;
  if (!rule->session_targets.empty()) {
    session = upstream::findSession(*rule, s.headers, upstream::wallClockSeconds());
  }
  uint32_t bi = session.position >= 0 ? static_cast<uint32_t>(session.position)
                                      : rule->picker.pick(lt.rule_rr[rule->slot]);
  int32_t bidx = rule->backends[bi];
  if (bidx < 0 || table.backend(static_cast<uint32_t>(bidx)).total_weight == 0) {
    respondGrpcError(ss, s, Status::kUnavailable,
                     bidx == kInvalidBackend ? "invalid backend" : "no healthy upstream");
    co_return;
  }
  co_await forwardHttp2(ss, s, table, lt, *rule, bi, table.backend(static_cast<uint32_t>(bidx)),
                        authority, path, query, has_query, start_ms, true, &session);
}

upstream::H2Request upstreamRequest(Session& ss, const Stream& s, const filters::BackendFilters* bf,
                                    std::string_view authority, const std::string& path,
                                    std::string_view query, bool has_query) {
  upstream::H2Request req;
  req.method = std::string(s.method);
  req.authority =
      std::string(bf != nullptr && bf->rewrite_host ? std::string_view(bf->host) : authority);
  req.path = path;
  if (has_query) req.path.append("?").append(query);
  req.has_body = !s.body_end || s.bodyAvailable() > 0;
  std::string xff, xfp, xfh;
  for (const auto& h : s.headers) {
    if (h.name == "x-forwarded-for") {
      xff.append(h.value).append(", ");
      continue;
    }
    if (h.name == "x-forwarded-proto") {
      xfp.append(h.value).append(", ");
      continue;
    }
    if (h.name == "x-forwarded-host") {
      xfh.append(h.value).append(", ");
      continue;
    }
    if (h.name == "host") continue;
    if (bf != nullptr && bf->request.drops(h.name)) continue;  // RequestHeaderModifier
    req.headers.push_back({std::string(h.name), std::string(h.value)});
  }
  if (bf != nullptr) parseFieldLines(bf->request.lines(), req.headers);
  auto ours = [&](std::string_view name) { return bf == nullptr || !bf->request.drops(name); };
  if (ours("x-forwarded-for")) {
    req.headers.push_back({"x-forwarded-for", xff + clientIp(ss.peer())});
  }
  if (ours("x-forwarded-proto")) {
    req.headers.push_back({"x-forwarded-proto", xfp + (ss.ssl() != nullptr ? "https" : "http")});
  }
  if (ours("x-forwarded-host") && !authority.empty()) {
    req.headers.push_back({"x-forwarded-host", xfh + std::string(authority)});
  }
  return req;
}

awaitable<void> forwardHttp2(Session& ss, Stream& s, const RouteTable& table, LocalTable& lt,
                             const CompiledRule& rule, uint32_t backend_ref,
                             const CompiledBackend& backend, std::string_view authority,
                             const std::string& path, std::string_view query, bool has_query,
                             int64_t start_ms, bool grpc, const upstream::SessionChoice* session) {
  Worker& w = ss.worker();
  const Options& opt = w.options();
  const ir::Rule& ir_rule = *rule.ir;
  const filters::BackendFilters* bf =
      rule.filters ? rule.filters->forBackend(rule.backend_refs[backend_ref]) : nullptr;

  // Deadline: grpc-timeout, and the route's timeouts, whichever ends first.
  int64_t deadline = 0;
  auto tighten = [&](int64_t at) {
    if (deadline == 0 || at < deadline) deadline = at;
  };
  const int64_t now = steadyMs();
  if (grpc) {
    for (const auto& h : s.headers) {
      if (h.name != "grpc-timeout") continue;
      if (auto ms = parseGrpcTimeout(h.value)) tighten(now + static_cast<int64_t>(*ms));
    }
  }
  upstream::H2Request req = upstreamRequest(ss, s, bf, authority, path, query, has_query);
  // The route's request timeout counts from when the request head was received (start_ms);
  // backendRequest bounds each attempt (upstream/h2_attempts.h).
  if (ir_rule.timeouts.request_ms != 0)
    tighten(now + (start_ms + ir_rule.timeouts.request_ms - w.nowMs()));
  if (deadline != 0 && deadline <= now) {
    if (grpc) {
      respondGrpcError(ss, s, Status::kDeadlineExceeded, "deadline exceeded");
    } else {
      ss.respondLocal(s, 504, "request timeout\n");
    }
    co_return;
  }

  uint32_t* rr = &lt.backend_rr[static_cast<size_t>(&backend - &table.backend(0))];
  upstream::H2Attempts::Params params{
      .w = w,
      .lt = lt,
      .rule = rule,
      .backend_pos = backend_ref,
      .backend = backend,
      .rr = rr,
      .request_deadline = deadline,
      .idle_ms = opt.upstream_response_timeout_ms != 0 ? opt.upstream_response_timeout_ms
                                                       : opt.idle_timeout_ms,
      .session = session != nullptr ? *session : upstream::SessionChoice{},
      .is_head = s.method == "HEAD"};
  upstream::H2Attempts attempts(std::move(params), std::move(req));
  attempts.open();
  Forward f{ss, s, attempts, bf, deadline, grpc};
  f.pump_running = true;
  using namespace asio::experimental::awaitable_operators;
  auto both = f.pump() && f.relay();  // named: the g++ 12 co_await temporaries note
  co_await std::move(both);
}

}  // namespace gantry::dataplane::grpc
