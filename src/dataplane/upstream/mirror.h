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

namespace gantry::dataplane {
class Worker;
}

namespace gantry::dataplane::upstream {

// How long a mirror may take in total (connect + request + response) when the rule sets no
// backendRequest timeout.
inline constexpr uint32_t kDefaultMirrorTimeoutMs = 10'000;

// Sends `request` (a complete HTTP/1.1 request: head and framed body) to `ep` and discards the
// answer. Returns at once. Worker thread only.
void spawnMirror(Worker& w, const asio::ip::tcp::endpoint& ep, std::string request,
                 uint32_t connect_timeout_ms, uint32_t timeout_ms, bool is_head);

}  // namespace gantry::dataplane::upstream
