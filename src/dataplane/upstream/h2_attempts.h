// Route timeouts, retries, RequestMirror and SessionPersistence for one request sent to an HTTP/2
// backend (h2c, or h2 over TLS) through the worker's H2Pool: the semantics of the HTTP/1.1
// upstream path (resilience.h, mirror.h, session.h), for both downstream protocols
// (grpc/grpc_proxy.cc forwardHttp2 for HTTP/2 clients, upstream/h1_to_h2.cc for HTTP/1.1 ones).
//
// How the callers use it:
//   - open() starts the first attempt (a valid session picks its endpoint);
//   - the request pump hands every body piece it takes from the client to capture() and calls
//     endBody() when the body ended. Up to kMaxReplayBody bytes are kept, so that a failed attempt
//     can be sent again and the complete request copied to the mirrors (spawned by endBody(), so
//     a mirror never waits for, nor slows, the primary exchange; a larger body is neither retried
//     nor mirrored);
//   - the relay passes the first event of an attempt to wantsRetry(); when true, and once the
//     pump is done with the old stream (the body is complete: canReplay()), retry() waits for the
//     backoff and opens the next attempt on the endpoint after the failed one with the kept body.
//
// Deadlines (HTTPRouteTimeouts): every attempt's stream ends at the earliest of the request
// deadline (route request timeout counted from start, and grpc-timeout) and its own
// backendRequest timeout. Worker thread only. Never throws.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/router/route_table.h"
#include "dataplane/upstream/h2_client.h"
#include "dataplane/upstream/session.h"
#include "dataplane/worker.h"

namespace gantry::dataplane::upstream {

class H2Attempts {
 public:
  struct Params {
    Worker& w;
    LocalTable& lt;
    const CompiledRule& rule;
    uint32_t backend_pos;  // index into rule.backends of the picked backendRef
    const CompiledBackend& backend;
    uint32_t* rr;                  // the backend's round-robin counter
    int64_t request_deadline = 0;  // steady-clock ms, 0 = none (request timeout, grpc-timeout)
    uint32_t idle_ms = 0;          // longest wait for any progress of a stream
    SessionChoice session = {};
    bool is_head = false;
  };

  H2Attempts(Params p, H2Request req);
  H2Attempts(const H2Attempts&) = delete;
  H2Attempts& operator=(const H2Attempts&) = delete;

  // Opens the first attempt.
  H2Stream& open();
  // The current attempt's stream (changes with retry()).
  H2Stream& stream() { return *stream_; }

  // Request body bookkeeping (called by the pump).
  void capture(std::string_view piece);
  void endBody(const std::vector<H2Field>& trailers);
  bool bodyComplete() const { return body_complete_; }
  // A retry policy is set and the body kept so far can still be replayed.
  bool mayReplay() const { return retry_on_ && !overflow_; }
  bool canReplay() const { return body_complete_ && !overflow_; }

  // May the attempt whose first event is `ev` be retried (HTTPRouteRetry: a status in codes, a
  // connection error, an attempt timeout; attempts and time left)? The body condition is
  // checked separately (canReplay()).
  bool wantsRetry(const H2Event& ev) const;
  // Backoff, then the next attempt with the kept body. False when the request deadline passed
  // meanwhile (answer: timeout) or the worker drains.
  asio::awaitable<bool> retry();
  // The request deadline passed.
  bool expired() const;

  // Response fields that hand the session to the client (SessionPersistence cookie or header),
  // for the endpoint that answered.
  void sessionFields(std::vector<H2Field>& out) const;

 private:
  void arm(H2Stream& s) const;

  Params p_;
  H2Request req_;  // kept for retries and mirrors
  std::unique_ptr<H2Stream> stream_;
  bool retry_on_ = false;
  bool keep_body_ = false;  // retries or mirrors need the body
  std::string body_;
  std::vector<H2Field> trailers_;
  bool overflow_ = false;
  bool body_complete_ = false;
  uint32_t attempts_ = 0;  // retries done
};

}  // namespace gantry::dataplane::upstream
