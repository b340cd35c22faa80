// Upstream behaviour of an HTTPRoute rule that does not depend on sockets: timeout deadlines,
// retry decisions and backoff, the request replay buffer, mirror sampling, and session
// persistence tokens. The connection code (dataplane/proxy.cc) calls these at a few hooks; the
// semantics are those of Gateway API v1.6 (apis/v1/httproute_types.go HTTPRouteTimeouts,
// HTTPRouteRetry, HTTPRequestMirrorFilter; apis/v1/shared_types.go SessionPersistence), quoted
// where they decide behaviour. docs/timeouts-and-retries.md, docs/request-mirror.md and
// docs/session-persistence.md describe them for users.
#pragma once

#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ir.h"

namespace gantry::dataplane::upstream {

// ---------------------------------------------------------------------------------------------
// Timeouts.
// ---------------------------------------------------------------------------------------------

// The earlier of two absolute deadlines in ms, where 0 means "none".
inline int64_t earliestDeadline(int64_t a, int64_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return a < b ? a : b;
}

// HTTPRouteTimeouts.request: "the maximum duration for a gateway to respond to an HTTP request";
// gantry starts it when the request head has been received (start_ms) and it covers every
// attempt, backoff and the response transfer. 0 ms = disabled ("0s SHOULD disable the timeout").
inline int64_t requestDeadline(const ir::Timeouts& t, int64_t start_ms) {
  return t.request_ms == 0 ? 0 : start_ms + t.request_ms;
}

// HTTPRouteTimeouts.backendRequest: one attempt, "from when the request first starts being sent
// from the gateway to when the full response has been received from the backend"; gantry counts
// the connection set-up in it too. Bounded by the request deadline.
inline int64_t attemptDeadline(const ir::Timeouts& t, int64_t now_ms, int64_t request_deadline) {
  int64_t attempt = t.backend_request_ms == 0 ? 0 : now_ms + t.backend_request_ms;
  return earliestDeadline(attempt, request_deadline);
}

// ---------------------------------------------------------------------------------------------
// Retry.
// ---------------------------------------------------------------------------------------------

// Why an attempt failed in a way that a retry may fix.
enum class AttemptFailure : uint8_t {
  kNone,
  kConnect,  // no connection could be established
  kReset,    // the connection was closed or reset before a response head arrived
  kTimeout,  // backendRequest timeout before a response head arrived
  kStatus,   // the response status is one of retry.codes
};

// HTTPRouteRetry.codes: "the HTTP response status codes for which a backend request should be
// retried". Connection errors and attempt timeouts are retried whenever a retry stanza is set
// ("Implementations SHOULD retry on connection errors (disconnect, reset, timeout, TCP failure)
// if a retry stanza is configured"), so they do not need to be listed.
bool retryableStatus(const ir::Retry& r, unsigned status);

// HTTPRouteRetry.attempts is "the maximum number of times an individual request from the gateway
// to a backend should be retried": attempts = 2 means up to 3 requests in total.
inline bool retryEnabled(const ir::Retry& r) { return r.attempts > 0; }

// Wait before retry number `retry` (1 = the first retry). HTTPRouteRetry.backoff is the minimum
// ("unsuccessful backend requests are not retried before the configured minimum duration"); gantry
// doubles it for every further retry, capped at 8x the configured value (the spec allows an
// exponential strategy with a cap). 0 = retry at once.
uint32_t backoffMs(const ir::Retry& r, uint32_t retry);

// ---------------------------------------------------------------------------------------------
// Replay buffer: the upstream request as sent, kept so that a retry or a mirror can send it again.
// ---------------------------------------------------------------------------------------------

// Request bodies up to this size are kept for replay; a larger body is streamed as usual and the
// request is then neither retried nor mirrored (a body streamed past what we kept cannot be sent
// again, issue 4: "never retries a request whose body was already streamed past what can be
// replayed").
inline constexpr size_t kMaxReplayBody = 64 * 1024;

class Replay {
 public:
  // Starts a new request: head = the upstream request head exactly as first sent.
  void begin(std::string_view head) {
    head_.assign(head);
    body_.clear();
    overflow_ = false;
    active_ = true;
  }
  void end() { active_ = false; }
  bool active() const { return active_; }
  // Appends the body bytes of bufs[from..] (already framed for the upstream) unless the bound
  // has been passed.
  void capture(const std::vector<asio::const_buffer>& bufs, size_t from = 0);
  // Everything sent so far can be sent again.
  bool complete() const { return active_ && !overflow_; }
  const std::string& head() const { return head_; }
  const std::string& body() const { return body_; }
  // Releases memory kept by an unusually large request (called when the context is pooled).
  void shrink();

 private:
  std::string head_;
  std::string body_;
  bool overflow_ = false;
  bool active_ = false;
};

// ---------------------------------------------------------------------------------------------
// Request mirroring.
// ---------------------------------------------------------------------------------------------

// HTTPRequestMirrorFilter percent/fraction: true for numerator/denominator of the requests.
// `random` is a uniformly distributed 64-bit value.
bool sampleFraction(uint32_t numerator, uint32_t denominator, uint64_t random);

// A worker-local xorshift64* generator (no locks, no shared state).
class FastRandom {
 public:
  explicit FastRandom(uint64_t seed) : s_(seed == 0 ? 0x9E3779B97F4A7C15ull : seed) {}
  uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545F4914F6CDD1Dull;
  }

 private:
  uint64_t s_;
};

// The calling thread's generator (each worker is one thread).
FastRandom& threadRandom();

// ---------------------------------------------------------------------------------------------
// Session persistence.
// ---------------------------------------------------------------------------------------------

// The identity of one endpoint of one backend, opaque: a keyed hash of the backend name and the
// endpoint address, so the token reveals no address. The key is process-wide: from
// $GANTRY_SESSION_KEY when set (replicas that share it honour each other's sessions, and
// sessions survive restarts), else random at start-up.
uint64_t endpointId(std::string_view backend_name, const asio::ip::tcp::endpoint& ep);

struct SessionToken {
  uint64_t endpoint_id = 0;
  uint32_t created_s = 0;    // wall clock, seconds since the epoch
  uint32_t last_used_s = 0;  // refreshed on every response when an idle timeout is set
};

// 32 characters of base64url: endpoint id, both times, and a keyed MAC over them.
std::string encodeSessionToken(const SessionToken& t);
// nullopt when malformed or when the MAC does not verify (tampered or another key).
std::optional<SessionToken> decodeSessionToken(std::string_view s);

// SessionPersistence.absoluteTimeout ("once the AbsoluteTimeout duration has elapsed, the session
// becomes invalid") and idleTimeout. 0 = no such limit.
bool sessionValid(const ir::SessionPersistence& sp, const SessionToken& t, uint32_t now_s);

// The value of cookie `name` in one Cookie header value ("a=1; b=2"), or nullopt.
std::optional<std::string_view> findCookie(std::string_view cookie_header, std::string_view name);

// The response field line(s) that hand the session to the client, each ending in CRLF:
// cookie type: "set-cookie: NAME=TOKEN; Path=/; HttpOnly[; Max-Age=N]" (Max-Age only for a
// Permanent cookie, "AbsoluteTimeout indicates the cookie's lifetime via the Expires or Max-Age
// cookie attributes"); header type: "NAME: TOKEN".
void appendSessionField(const ir::SessionPersistence& sp, std::string_view token, std::string& out);

uint32_t wallClockSeconds();

}  // namespace gantry::dataplane::upstream
