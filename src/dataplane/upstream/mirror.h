// RequestMirror: fire-and-forget copies of a request to a mirror backend.
//
// HTTPRequestMirrorFilter: "Mirrored requests must be sent only to a single destination endpoint
// within this BackendRef"; issue 4: "mirrored requests are fire-and-forget and their responses
// are discarded; they never slow the primary request". A mirror runs as its own coroutine on the
// worker, on an upstream connection from the worker's pool (returned to it when the mirror
// response ended cleanly), with its own deadline; the primary request never waits for it and a
// stuck or dead mirror backend only costs that coroutine until its deadline. Drain closes pending
// mirrors at once (they are registered as idle connections).
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/router/route_table.h"
#include "dataplane/upstream/h2_client.h"
#include "dataplane/upstream/resilience.h"
#include "dataplane/worker.h"

namespace gantry::dataplane::upstream {

// How long a mirror may take in total (connect + request + response) when the rule sets no
// backendRequest timeout.
inline constexpr uint32_t kDefaultMirrorTimeoutMs = 10'000;

// Sends `request` (a complete HTTP/1.1 request: head and framed body) to `ep` and discards the
// answer. Returns at once. Worker thread only.
void spawnMirror(Worker& w, const asio::ip::tcp::endpoint& ep, std::string request,
                 uint32_t connect_timeout_ms, uint32_t timeout_ms, bool is_head);

// How long a mirror of a request on `rule` may take.
inline uint32_t mirrorTimeoutMs(const ir::Rule& rule) {
  return rule.timeouts.backend_request_ms != 0 ? rule.timeouts.backend_request_ms
                                               : kDefaultMirrorTimeoutMs;
}

// Calls fn(const CompiledBackend& mirror_backend, uint32_t& its_round_robin_counter) for every
// RequestMirror of `rule` that applies to a request sent to backendRef position `backend_pos`
// (rule-level mirrors, and those of that backendRef) and that samples this request (percent /
// fraction), skipping mirror backends without endpoints. Shared by every downstream and upstream
// protocol, so that all of them mirror the same requests.
template <class Fn>
void forEachMirror(LocalTable& lt, const CompiledRule& rule, uint32_t backend_pos, Fn&& fn) {
  const RouteTable& t = *lt.table;
  const int32_t ref = backend_pos < rule.backend_refs.size()
                          ? static_cast<int32_t>(rule.backend_refs[backend_pos])
                          : -1;
  for (const CompiledMirror& m : rule.mirrors) {
    if (m.backend < 0 || (m.backend_ref >= 0 && m.backend_ref != ref)) continue;
    if (!sampleFraction(m.numerator, m.denominator, threadRandom().next())) continue;
    const CompiledBackend& b = t.backend(static_cast<uint32_t>(m.backend));
    if (b.total_weight == 0) continue;
    fn(b, lt.backend_rr[static_cast<size_t>(m.backend)]);
  }
}

// Whether `b` is reached through the worker's HTTP/2 pool (h2c, or h2 over TLS).
inline bool http2Backend(const CompiledBackend& b) {
  return b.ir->app_protocol == ir::AppProtocol::kH2c ||
         b.ir->app_protocol == ir::AppProtocol::kHttp2Tls;
}

// One endpoint of `b` by its weights (advances `rr`).
const asio::ip::tcp::endpoint& pickMirrorEndpoint(const CompiledBackend& b, uint32_t& rr);

// Sends `req` (with `body` and request `trailers`) as one stream of the worker's HTTP/2 pool to
// the h2c backend `b` and discards the answer. Returns at once; `lt` is referenced until the
// mirror ends (it owns `b` and `rr`). Worker thread only.
void spawnH2Mirror(Worker& w, LocalTable& lt, const CompiledBackend& b, uint32_t* rr, H2Request req,
                   std::string body, std::vector<H2Field> trailers, uint32_t timeout_ms);

// The mirrors of a request known as HTTP/1.1 bytes (`head` and its framed `body`, complete), as
// the HTTP/1.1 client path has it: HTTP/1.1 mirror backends get those bytes, HTTP/2 ones the same
// request as an HTTP/2 stream (RFC 9113 8.3.1: Host becomes :authority; connection-specific
// fields dropped; the body de-framed and its trailers kept). Backends that need TLS are skipped
// unless they are h2 over TLS.
void mirrorHttp1Request(Worker& w, LocalTable& lt, const CompiledRule& rule, uint32_t backend_pos,
                        std::string_view head, std::string_view body, bool is_head);

// The mirrors of a request known as an HTTP/2 request (`req`, complete `body`, `trailers`), as
// the h2c paths have it: h2c mirror backends get an HTTP/2 stream, HTTP/1.1 ones the same request
// as HTTP/1.1 (Content-Length framing, trailers dropped: HTTP/1.1 needs chunked for them and the
// answer is discarded anyway). HTTP/1.1 backends that need TLS (BackendTLSPolicy) are not
// mirrored to; h2 over TLS ones are (the pool does the TLS).
void mirrorH2Request(Worker& w, LocalTable& lt, const CompiledRule& rule, uint32_t backend_pos,
                     const H2Request& req, std::string_view body,
                     const std::vector<H2Field>& trailers, bool is_head);

}  // namespace gantry::dataplane::upstream
