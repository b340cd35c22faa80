#include "dataplane/filters/ext_authz.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "dataplane/filters/ext_authz_grpc.h"
#include "dataplane/http1/conn_internal.h"
#include "dataplane/http1/syntax.h"

namespace gantry::dataplane::filters {
namespace {

using asio::ip::tcp;
constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr uint32_t kMaxHeadBytes = 64 * 1024;
constexpr uint32_t kMaxHeadFields = 200;

bool listed(const std::vector<std::string>& lower_names, std::string_view name) {
  return std::any_of(lower_names.begin(), lower_names.end(),
                     [&](const std::string& n) { return http1::iequals(n, name); });
}

class StringSink : public http1::BodySink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  void onBody(const char* data, size_t len) override {
    if (out_->size() + len > kMaxAuthBody) {
      overflow_ = true;
      return;
    }
    out_->append(data, len);
  }
  bool overflow() const { return overflow_; }

 private:
  std::string* out_;
  bool overflow_ = false;
};

void arm(Worker& w, ConnEntry& e, uint32_t ms) {
  e.timed_out = false;
  e.deadline_ms = w.nowMs() + ms;
}

enum class Outcome : uint8_t { kDone, kRetryFresh, kFailed };

// One exchange on `up`. kRetryFresh: a pooled connection failed before any response byte.
asio::awaitable<Outcome> exchange(Worker& w, ConnEntry& entry, UpstreamConn& up, bool reused,
                                  const std::string& head, bool is_head,
                                  const ir::ExternalAuth& cfg, AuthResult* out, bool* reusable) {
  arm(w, entry, kAuthResponseTimeoutMs);
  auto [wec, wn] = co_await asio::async_write(up.sock, asio::buffer(head), kNoThrow);
  if (wec) co_return reused && !entry.timed_out ? Outcome::kRetryFresh : Outcome::kFailed;

  std::string buf(16 * 1024, '\0');
  size_t filled = 0;
  http1::HeadScanner scanner(kMaxHeadBytes, kMaxHeadFields, false);
  for (;;) {
    http1::HeadStatus st = scanner.scan(buf.data(), filled);
    if (st == http1::HeadStatus::kComplete) break;
    if (st != http1::HeadStatus::kIncomplete) co_return Outcome::kFailed;
    if (filled == buf.size()) {
      if (buf.size() > kMaxHeadBytes) co_return Outcome::kFailed;
      buf.resize(kMaxHeadBytes + 1);
    }
    auto [rec, n] = co_await up.sock.async_read_some(
        asio::buffer(buf.data() + filled, buf.size() - filled), kNoThrow);
    if (rec || n == 0) {
      co_return reused&& filled == 0 && !entry.timed_out ? Outcome::kRetryFresh : Outcome::kFailed;
    }
    filled += n;
  }
  const size_t start = scanner.startLineOffset();
  const size_t head_len = scanner.headLen();
  unsigned peek = 0;
  if (head_len - start >= 12) {
    for (size_t i = start + 9; i < start + 12; ++i) peek = peek * 10 + (buf[i] - '0');
  }
  if (peek < 200) co_return Outcome::kFailed;  // interim responses: not expected from a check
  const bool no_body = is_head || peek == 204 || peek == 304;
  http1::Parser p;
  p.reset(HTTP_RESPONSE);
  std::vector<http1::Header> headers;
  if (!p.parseHead(buf.data() + start, head_len - start, &headers, no_body) || p.major() != 1) {
    co_return Outcome::kFailed;
  }
  const unsigned status = p.status();
  const bool allow = status == 200;
  // Copy the fields now: they point into buf, which the body reads below reuse.
  for (const auto& h : headers) {
    if (authHeaderExcluded(h.name)) continue;
    if (allow && !cfg.allowed_response_headers.empty() &&
        !listed(cfg.allowed_response_headers, h.name)) {
      continue;
    }
    std::string name(h.name);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // Allowed: the fields replace the client's of the same name; denied: they go to the client.
    auto& dest = allow ? out->edits.set : out->headers;
    dest.emplace_back(std::move(name), std::string(http1::trimOws(h.value)));
  }
  // Body: kept for a denial (returned to the client), read and dropped for an allow.
  std::string body;
  StringSink sink(&body);
  size_t pos = head_len;
  http1::ChunkedValidator validator;
  const bool chunked = p.chunked();
  while (!p.done()) {
    if (pos < filled) {
      size_t vused = 0;
      if (chunked &&
          validator.feed(buf.data() + pos, filled - pos, &vused) == http1::ChunkedValidator::kBad) {
        co_return Outcome::kFailed;
      }
      size_t used = p.feedBody(buf.data() + pos, filled - pos, &sink);
      if (p.failed() || sink.overflow()) co_return Outcome::kFailed;
      pos += used;
      if (p.done()) break;
    }
    pos = filled = 0;
    auto [rec, n] = co_await up.sock.async_read_some(asio::buffer(buf), kNoThrow);
    if (rec || n == 0) {
      if (!rec && n == 0 && p.bodyUntilEof()) {
        p.feedEof(&sink);
        break;
      }
      co_return Outcome::kFailed;
    }
    filled = n;
  }
  *reusable = p.keepAlive() && !p.bodyUntilEof() && pos == filled;
  out->status = status;
  if (allow) {
    out->kind = AuthResult::Kind::kAllow;
  } else {
    out->kind = AuthResult::Kind::kDeny;
    out->body = std::move(body);
  }
  co_return Outcome::kDone;
}

}  // namespace

bool AuthEdits::drops(std::string_view name) const {
  auto same = [&](const auto& a) { return http1::iequals(a.first, name); };
  return std::any_of(set.begin(), set.end(), same) ||
         std::any_of(remove.begin(), remove.end(),
                     [&](const std::string& r) { return http1::iequals(r, name); });
}

bool authHeaderExcluded(std::string_view name) {
  using http1::iequals;
  return iequals(name, "host") || iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "transfer-encoding") || iequals(name, "content-length") ||
         iequals(name, "te") || iequals(name, "trailer") || iequals(name, "upgrade") ||
         (name.size() > 6 && iequals(name.substr(0, 6), "proxy-"));
}

void buildAuthRequest(const ir::ExternalAuth& cfg, const AuthRequest& req, std::string* out) {
  out->clear();
  out->append(req.method).push_back(' ');
  // HTTPAuthConfig.path: "the prefix that paths from the client request will have added". The
  // prefix was validated against the path-value pattern; avoid a doubled '/' at the seam.
  std::string_view prefix = cfg.path_prefix;
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  out->append(prefix);
  out->append(req.path);
  if (req.has_query) out->append("?").append(req.query);
  out->append(" HTTP/1.1\r\nhost: ").append(req.host).append("\r\n");
  if (req.headers != nullptr) {
    for (const auto& h : *req.headers) {
      if (http1::iequals(h.name, "authorization") ||
          (!authHeaderExcluded(h.name) && listed(cfg.allowed_request_headers, h.name))) {
        out->append(h.name).append(": ").append(http1::trimOws(h.value)).append("\r\n");
      }
    }
  }
  // HTTPAuthConfig.allowedHeaders: "the `Content-Length` of the authorization request must be
  // set to the actual number of bytes forwarded" (0 without forwardBody).
  if (cfg.forward_body_max == 0) {
    out->append("content-length: 0\r\n\r\n");
    return;
  }
  std::string_view body = req.body.substr(0, cfg.forward_body_max);
  // Whether the body was cut to maxSize (ForwardBodyConfig.maxSize: "the body sent to the
  // authorization server must be truncated"), under the name Envoy's ext_authz uses.
  const bool partial = req.body_size < 0 || static_cast<uint64_t>(req.body_size) > body.size();
  out->append("x-envoy-auth-partial-body: ").append(partial ? "true" : "false").append("\r\n");
  out->append("content-length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  out->append(body);
}

BodyPrefix::BodyPrefix(bool chunked, uint64_t content_length, size_t max)
    : max_(max), chunked_(chunked), content_length_(content_length), sink_(&body_, max) {
  // A synthetic head with the client's framing puts llhttp in the right body state.
  parser_.reset(HTTP_REQUEST);
  std::string head =
      chunked ? "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
              : "POST / HTTP/1.1\r\ncontent-length: " + std::to_string(content_length) + "\r\n\r\n";
  parser_.parseHead(head.data(), head.size(), &head_fields_);
}

void BodyPrefix::Sink::onBody(const char* data, size_t len) {
  if (out_->size() < max_) out_->append(data, std::min(len, max_ - out_->size()));
}

bool BodyPrefix::feed(const char* data, size_t len) {
  if (parser_.done() || len == 0) return true;
  // Count every decoded byte (for size()), keep the first max_.
  struct Counting : http1::BodySink {
    Counting(Sink& s, uint64_t& n) : s(s), n(n) {}
    void onBody(const char* d, size_t l) override {
      n += l;
      s.onBody(d, l);
    }
    Sink& s;
    uint64_t& n;
  } counting(sink_, decoded_);
  parser_.feedBody(data, len, &counting);
  return !parser_.failed();
}

int64_t BodyPrefix::size() const {
  if (!chunked_) return static_cast<int64_t>(content_length_);
  return parser_.done() ? static_cast<int64_t>(decoded_) : -1;
}

void buildDenialResponse(const AuthResult& r, bool is_head, bool close, std::string* out) {
  out->clear();
  out->append("HTTP/1.1 ").append(std::to_string(r.status)).push_back(' ');
  out->append(http1::reasonPhrase(r.status)).append("\r\n");
  for (const auto& [name, value] : r.headers) {
    if (http1::iequals(name, "date") || http1::iequals(name, "server")) continue;
    out->append(name).append(": ").append(value).append("\r\n");
  }
  const bool bodyless = r.status == 204 || r.status == 304 || r.status < 200;
  if (!bodyless)
    out->append("content-length: ").append(std::to_string(r.body.size())).append("\r\n");
  if (close) out->append("connection: close\r\n");
  out->append("\r\n");
  if (!is_head && !bodyless) out->append(r.body);
}

asio::awaitable<void> checkExternalAuth(Worker& w, ConnEntry& entry, const CompiledBackend& backend,
                                        uint32_t& rr, const ir::ExternalAuth& cfg,
                                        const AuthRequest& req, AuthResult* out) {
  out->kind = AuthResult::Kind::kError;
  if (backend.total_weight == 0 || backend.endpoints.empty()) co_return;
  if (cfg.grpc) {
    co_await checkExternalAuthGrpc(w, backend, rr, cfg, req, out);
    co_return;
  }
  const tcp::endpoint& ep = backend.endpoints[backend.picker.pick(rr)];
  std::string head;
  buildAuthRequest(cfg, req, &head);
  const bool is_head = req.method == "HEAD";
  struct UpReset {
    ConnEntry& e;
    ~UpReset() { e.up = nullptr; }
  } up_reset{entry};

  std::unique_ptr<UpstreamConn> up = w.takeIdleUpstream(ep);
  bool reused = up != nullptr;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!up) {
      up = std::make_unique<UpstreamConn>(w.io());
      up->ep = ep;
      reused = false;
      asio::error_code ec;
      up->sock.open(ep.protocol(), ec);
      if (ec) co_return;
      entry.up = &up->sock;
      arm(w, entry,
          backend.ir->connect_timeout_ms != 0 ? backend.ir->connect_timeout_ms
                                              : w.options().upstream_connect_timeout_ms);
      auto [cec] = co_await up->sock.async_connect(ep, kNoThrow);
      if (cec || entry.timed_out) {
        spdlog::debug("external auth: connect to {}:{} failed: {}", ep.address().to_string(),
                      ep.port(), entry.timed_out ? "timeout" : cec.message());
        co_return;
      }
      up->sock.set_option(tcp::no_delay(true), ec);
      up->sock.non_blocking(true, ec);
      ++w.stats().upstream_connects;
    }
    entry.up = &up->sock;
    bool reusable = false;
    out->headers.clear();
    out->edits.clear();
    Outcome o = co_await exchange(w, entry, *up, reused, head, is_head, cfg, out, &reusable);
    if (o == Outcome::kDone) {
      entry.up = nullptr;
      if (reusable) w.putIdleUpstream(std::move(up));
      co_return;
    }
    up.reset();
    if (o == Outcome::kFailed) {
      out->kind = AuthResult::Kind::kError;
      co_return;
    }
  }
}

}  // namespace gantry::dataplane::filters
