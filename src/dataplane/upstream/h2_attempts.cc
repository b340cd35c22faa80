#include "dataplane/upstream/h2_attempts.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>

#include "dataplane/clock.h"
#include "dataplane/http1/wire.h"
#include "dataplane/upstream/mirror.h"
#include "dataplane/upstream/resilience.h"

namespace gantry::dataplane::upstream {

namespace {}  // namespace

H2Attempts::H2Attempts(Params p, H2Request req) : p_(std::move(p)), req_(std::move(req)) {
  retry_on_ = retryEnabled(p_.rule.ir->retry);
  keep_body_ = retry_on_ || !p_.rule.mirrors.empty();
}

void H2Attempts::arm(H2Stream& s) const {
  // HTTPRouteTimeouts.backendRequest bounds one attempt, the request deadline all of them.
  const uint32_t br = p_.rule.ir->timeouts.backend_request_ms;
  s.setDeadline(earliestDeadline(p_.request_deadline, br == 0 ? 0 : steadyMs() + br));
  s.setIdleTimeout(p_.idle_ms);
}

H2Stream& H2Attempts::open() {
  H2Request req = keep_body_ ? req_ : std::move(req_);
  stream_ = p_.w.h2Pool().open(p_.backend, p_.rr, std::move(req), p_.session.endpoint);
  if (stream_->reused()) ++p_.w.stats().upstream_reuses;
  arm(*stream_);
  if (!req_.has_body && keep_body_) endBody({});  // complete already: mirror now
  return *stream_;
}

void H2Attempts::capture(std::string_view piece) {
  if (!keep_body_ || overflow_) return;
  if (body_.size() + piece.size() > kMaxReplayBody) {
    // Streamed past what can be replayed (issue 4): neither retried nor mirrored.
    overflow_ = true;
    std::string().swap(body_);
    return;
  }
  body_.append(piece);
}

void H2Attempts::endBody(const std::vector<H2Field>& trailers) {
  if (body_complete_) return;
  body_complete_ = true;
  if (!keep_body_ || overflow_) return;
  trailers_ = trailers;
  if (!p_.rule.mirrors.empty()) {
    mirrorH2Request(p_.w, p_.lt, p_.rule, p_.backend_pos, req_, body_, trailers_, p_.is_head);
  }
}

bool H2Attempts::expired() const {
  return p_.request_deadline != 0 && steadyMs() >= p_.request_deadline;
}

bool H2Attempts::wantsRetry(const H2Event& ev) const {
  const ir::Retry& r = p_.rule.ir->retry;
  if (!retry_on_ || overflow_ || attempts_ >= r.attempts || expired() || p_.w.draining()) {
    return false;
  }
  switch (ev.type) {
    case H2EventType::kHeaders:
      return retryableStatus(r, ev.status);  // HTTPRouteRetry.codes
    case H2EventType::kConnectFailed:
    case H2EventType::kReset:
      // "Implementations SHOULD retry on connection errors (disconnect, reset, timeout, TCP
      // failure) if a retry stanza is configured."
      return true;
    case H2EventType::kTimeout:
      return true;  // the attempt's backendRequest timeout (the request deadline is not past)
    default:
      return false;
  }
}

asio::awaitable<bool> H2Attempts::retry() {
  ++attempts_;
  const int32_t failed = stream_->endpointIndex();
  stream_->cancel();
  stream_.reset();
  uint32_t wait_ms = backoffMs(p_.rule.ir->retry, attempts_);
  if (wait_ms != 0) {
    if (p_.request_deadline != 0) {
      wait_ms = static_cast<uint32_t>(
          std::clamp<int64_t>(p_.request_deadline - steadyMs(), 0, int64_t{wait_ms}));
    }
    asio::steady_timer backoff(p_.w.io(), std::chrono::milliseconds(wait_ms));
    auto [ec] = co_await backoff.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    (void)ec;
  }
  spdlog::debug("{}: retry {} to an HTTP/2 backend", p_.rule.ir->route, attempts_);
  // The endpoint after the one that failed (without advancing the round robin, so that first
  // attempts keep their share): a retry lands elsewhere when the backend has several.
  const size_t n = p_.backend.endpoints.size();
  int32_t next = failed >= 0 && n > 0 ? static_cast<int32_t>((failed + 1) % n) : -1;
  stream_ = p_.w.h2Pool().open(p_.backend, p_.rr, req_, next);
  arm(*stream_);
  if (expired() || p_.w.draining()) co_return false;
  if (req_.has_body) {
    if (!body_.empty()) stream_->append(body_);
    if (!trailers_.empty()) stream_->setTrailers(trailers_);
    // A failure shows in the stream's next event.
    bool ok = co_await stream_->flush(true);
    (void)ok;
  }
  co_return true;
}

void H2Attempts::sessionFields(std::vector<H2Field>& out) const {
  const ir::SessionPersistence& sp = p_.rule.ir->session_persistence;
  if (sp.type == ir::SessionPersistenceType::kNone || !stream_) return;
  const int32_t i = stream_->endpointIndex();
  if (i < 0 || static_cast<size_t>(i) >= p_.backend.endpoints.size()) return;
  std::string lines;
  appendSessionResponse(sp, p_.session, p_.backend.ir->name,
                        p_.backend.endpoints[static_cast<size_t>(i)], wallClockSeconds(), lines);
  http1::forEachFieldLine(lines, [&](std::string_view name, std::string_view value) {
    out.push_back({http1::lowerAscii(name), std::string(value)});
  });
}

}  // namespace gantry::dataplane::upstream
