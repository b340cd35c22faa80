#include "dataplane/upstream/mirror.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <memory>

#include "dataplane/clock.h"
#include "dataplane/http1/conn_internal.h"
#include "dataplane/http1/syntax.h"
#include "dataplane/worker.h"

namespace gantry::dataplane::upstream {

using asio::awaitable;
using asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr uint32_t kMaxMirrorResponseHead = 64 * 1024;

class Discard : public http1::BodySink {
 public:
  void onBody(const char*, size_t) override {}
};

// Registers the mirror with the worker's timeout sweep and drain: `down` is the upstream socket
// and the entry is marked idle, so a drain cancels it at once and the deadline cancels it when
// the mirror takes too long.
struct MirrorEntry {
  MirrorEntry(Worker& w, tcp::socket* s, uint32_t timeout_ms) : w(w) {
    e.down = s;
    e.idle = true;
    e.deadline_ms = w.nowMs() + timeout_ms;
    w.registerConn(&e);
  }
  ~MirrorEntry() { w.unregisterConn(&e); }
  MirrorEntry(const MirrorEntry&) = delete;
  MirrorEntry& operator=(const MirrorEntry&) = delete;
  Worker& w;
  ConnEntry e;
};

awaitable<void> runMirror(Worker& w, tcp::endpoint ep, std::string request,
                          uint32_t connect_timeout_ms, uint32_t timeout_ms, bool is_head) {
  std::unique_ptr<UpstreamConn> up = w.takeIdleUpstream(ep, nullptr);  // clear text only
  bool fresh = !up;
  if (fresh) {
    up = std::make_unique<UpstreamConn>(w.io());
    up->ep = ep;
    asio::error_code ec;
    up->sock.open(ep.protocol(), ec);
    if (ec) co_return;
  }
  MirrorEntry entry(w, &up->sock, timeout_ms);
  if (fresh) {
    entry.e.deadline_ms = w.nowMs() + std::min(connect_timeout_ms, timeout_ms);
    auto [cec] = co_await up->sock.async_connect(ep, kNoThrow);
    if (cec || entry.e.timed_out) {
      spdlog::debug("mirror connect to {}:{} failed", ep.address().to_string(), ep.port());
      co_return;
    }
    asio::error_code ec;
    up->sock.set_option(tcp::no_delay(true), ec);
    entry.e.deadline_ms = w.nowMs() + timeout_ms;
  }
  auto req_buf = asio::buffer(request);
  auto [wec, wn] = co_await asio::async_write(up->sock, req_buf, kNoThrow);
  if (wec || entry.e.timed_out) co_return;

  // Read and discard the answer, parsing it only to know where it ends (so that the connection
  // can go back to the pool).
  ByteBuf buf;
  buf.allocate(kBufferSize);
  http1::Parser parser;
  std::vector<http1::Header> headers;
  for (;;) {
    http1::HeadScanner scanner(kMaxMirrorResponseHead, 200, false);
    http1::HeadStatus st;
    while ((st = scanner.scan(buf.begin(), buf.size())) == http1::HeadStatus::kIncomplete) {
      if (buf.end == buf.cap) {
        if (buf.start > 0) {
          buf.compact();
        } else {
          buf.grow(kMaxMirrorResponseHead + 1);
        }
      }
      auto rbuf = asio::buffer(buf.data.get() + buf.end, buf.cap - buf.end);
      auto [rec, n] = co_await up->sock.async_read_some(rbuf, kNoThrow);
      if (rec || n == 0 || entry.e.timed_out) co_return;
      buf.end += n;
    }
    if (st != http1::HeadStatus::kComplete) co_return;
    const char* head = buf.begin() + scanner.startLineOffset();
    size_t head_bytes = scanner.headLen() - scanner.startLineOffset();
    unsigned peek = 0;
    if (head_bytes >= 12) {
      for (int i = 9; i < 12; ++i) peek = peek * 10 + static_cast<unsigned>(head[i] - '0');
    }
    bool no_body = is_head || (peek >= 100 && peek < 200) || peek == 204 || peek == 304;
    parser.reset(HTTP_RESPONSE);
    headers.clear();
    if (!parser.parseHead(head, head_bytes, &headers, no_body)) co_return;
    buf.consume(scanner.headLen());
    if (parser.status() >= 100 && parser.status() < 200) {
      if (parser.status() == 101) co_return;
      continue;  // interim response: the final one follows
    }
    break;
  }
  Discard sink;
  while (!parser.done()) {
    if (!buf.empty()) {
      size_t used = parser.feedBody(buf.begin(), buf.size(), &sink);
      if (parser.failed()) co_return;
      buf.consume(used);
      if (parser.done()) break;
    }
    buf.clear();
    auto rbuf = asio::buffer(buf.data.get(), buf.cap);
    auto [rec, n] = co_await up->sock.async_read_some(rbuf, kNoThrow);
    if (entry.e.timed_out) co_return;
    if (rec || n == 0) {
      if (parser.bodyUntilEof()) parser.feedEof(&sink);
      co_return;  // close-delimited (done, not reusable) or broken
    }
    buf.end = n;
  }
  if (parser.keepAlive() && buf.empty() && !w.draining()) {
    entry.e.down = nullptr;
    w.putIdleUpstream(std::move(up));
  }
}

awaitable<void> runH2Mirror(Worker& w, LocalTableRef table, const CompiledBackend* b, uint32_t* rr,
                            H2Request req, std::string body, std::vector<H2Field> trailers,
                            uint32_t timeout_ms) {
  const bool has_body = req.has_body;
  std::unique_ptr<H2Stream> st = w.h2Pool().open(*b, rr, std::move(req));
  st->setDeadline(steadyMs() + timeout_ms);
  if (has_body) {
    if (!body.empty()) st->append(body);
    if (!trailers.empty()) st->setTrailers(std::move(trailers));
    if (!co_await st->flush(true)) co_return;
  }
  // Read the answer to its end (so that the connection-level window is credited back), dropping
  // every event.
  for (;;) {
    H2Event ev = co_await st->next();
    if (ev.type != H2EventType::kHeaders && ev.type != H2EventType::kData &&
        ev.type != H2EventType::kTrailers) {
      break;
    }
  }
}

}  // namespace

const tcp::endpoint& pickMirrorEndpoint(const CompiledBackend& b, uint32_t& rr) {
  return b.endpoints[b.picker.pick(rr)];
}

void spawnH2Mirror(Worker& w, LocalTable& lt, const CompiledBackend& b, uint32_t* rr, H2Request req,
                   std::string body, std::vector<H2Field> trailers, uint32_t timeout_ms) {
  if (w.draining()) return;
  asio::co_spawn(w.io(),
                 runH2Mirror(w, LocalTableRef(&lt), &b, rr, std::move(req), std::move(body),
                             std::move(trailers), timeout_ms),
                 asio::detached);
}

namespace {

class Collect : public http1::BodySink {
 public:
  explicit Collect(std::string& out) : out_(out) {}
  void onBody(const char* data, size_t len) override { out_.append(data, len); }

 private:
  std::string& out_;
};

std::string lowerName(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 9113 8.2.2: connection-specific fields have no place in HTTP/2.
bool connectionSpecific(std::string_view name) {
  using http1::iequals;
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "proxy-connection") || iequals(name, "transfer-encoding") ||
         iequals(name, "upgrade") || iequals(name, "content-length");
}

// The request gantry forwards (its own well-formed HTTP/1.1 bytes), re-read with the HTTP/1
// parser, as an HTTP/2 request.
bool toH2(std::string_view head, std::string_view framed, H2Request& req, std::string& body,
          std::vector<H2Field>& trailers) {
  http1::Parser p;
  p.reset(HTTP_REQUEST);
  std::vector<http1::Header> headers;
  if (!p.parseHead(head.data(), head.size(), &headers)) return false;
  Collect sink(body);
  if (!p.done() && !framed.empty()) p.feedBody(framed.data(), framed.size(), &sink);
  if (p.failed()) return false;
  req.method = p.methodName();
  req.path = std::string(p.target());
  req.has_body = p.chunked() || (p.hasContentLength() && p.contentLength() > 0);
  for (const auto& h : headers) {
    if (http1::iequals(h.name, "host")) {
      req.authority = std::string(http1::trimOws(h.value));
      continue;
    }
    if (connectionSpecific(h.name)) continue;
    if (http1::iequals(h.name, "te")) {
      if (http1::hasToken(h.value, "trailers")) req.headers.push_back({"te", "trailers"});
      continue;
    }
    req.headers.push_back({lowerName(h.name), std::string(http1::trimOws(h.value))});
  }
  std::string_view t = p.trailers();
  while (!t.empty()) {
    size_t eol = t.find("\r\n");
    std::string_view line = t.substr(0, eol);
    t = eol == std::string_view::npos ? std::string_view() : t.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    if (connectionSpecific(line.substr(0, colon))) continue;
    trailers.push_back(
        {lowerName(line.substr(0, colon)), std::string(http1::trimOws(line.substr(colon + 1)))});
  }
  return true;
}

}  // namespace

void mirrorHttp1Request(Worker& w, LocalTable& lt, const CompiledRule& rule, uint32_t backend_pos,
                        std::string_view head, std::string_view body, bool is_head) {
  const uint32_t timeout = mirrorTimeoutMs(*rule.ir);
  int converted = 0;  // 0 not yet, 1 done, -1 failed
  H2Request h2req;
  std::string h2body;
  std::vector<H2Field> h2trailers;
  forEachMirror(lt, rule, backend_pos, [&](const CompiledBackend& b, uint32_t& rr) {
    if (http2Backend(b)) {
      if (converted == 0) converted = toH2(head, body, h2req, h2body, h2trailers) ? 1 : -1;
      if (converted < 0) return;
      spawnH2Mirror(w, lt, b, &rr, h2req, h2body, h2trailers, timeout);
      return;
    }
    if (b.tlsRequired()) return;
    std::string bytes;
    bytes.reserve(head.size() + body.size());
    bytes.append(head).append(body);
    spawnMirror(w, pickMirrorEndpoint(b, rr), std::move(bytes),
                w.options().upstream_connect_timeout_ms, timeout, is_head);
  });
}

void mirrorH2Request(Worker& w, LocalTable& lt, const CompiledRule& rule, uint32_t backend_pos,
                     const H2Request& req, std::string_view body,
                     const std::vector<H2Field>& trailers, bool is_head) {
  const uint32_t timeout = mirrorTimeoutMs(*rule.ir);
  forEachMirror(lt, rule, backend_pos, [&](const CompiledBackend& b, uint32_t& rr) {
    if (http2Backend(b)) {
      spawnH2Mirror(w, lt, b, &rr, req, std::string(body), trailers, timeout);
      return;
    }
    if (b.tlsRequired()) return;
    // RFC 9113 8.3.1: :authority becomes Host; the request is complete, so Content-Length.
    std::string out;
    out.reserve(256 + body.size());
    out.append(req.method).push_back(' ');
    out.append(req.path).append(" HTTP/1.1\r\nhost: ").append(req.authority).append("\r\n");
    for (const auto& h : req.headers) {
      if (h.name == "content-length" || h.name == "te" || h.name == "host") continue;
      out.append(h.name).append(": ").append(h.value).append("\r\n");
    }
    if (req.has_body || !body.empty()) {
      out.append("content-length: ").append(std::to_string(body.size())).append("\r\n");
    }
    out.append("\r\n").append(body);
    spawnMirror(w, pickMirrorEndpoint(b, rr), std::move(out),
                w.options().upstream_connect_timeout_ms, timeout, is_head);
  });
}

void spawnMirror(Worker& w, const tcp::endpoint& ep, std::string request,
                 uint32_t connect_timeout_ms, uint32_t timeout_ms, bool is_head) {
  if (w.draining()) return;
  asio::co_spawn(w.io(),
                 runMirror(w, ep, std::move(request), connect_timeout_ms, timeout_ms, is_head),
                 asio::detached);
}

}  // namespace gantry::dataplane::upstream
