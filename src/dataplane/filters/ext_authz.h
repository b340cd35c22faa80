// HTTPRoute ExternalAuth filter, HTTP protocol (Gateway API HTTPExternalAuthFilter with
// HTTPAuthConfig; docs/filters/external-auth.md).
//
// Before a request is proxied, a check request is sent to the auth backend:
//   <method> <path prefix><normalised path>[?query] HTTP/1.1
//   Host: <the client's Host>
//   Authorization: <the client's, when present>
//   <each header named in allowedHeaders that the client sent>
//   Content-Length: 0      (forwardBody is not implemented: the body is never sent)
// A 200 answer allows the request; the auth response's headers (those named in
// allowedResponseHeaders, or all but Host when the list is empty) are then set on the request
// that goes to the backend. Any other status is a denial: that status, the auth response's
// headers and its body (up to 64 KiB) go back to the client. An auth backend that cannot be
// reached, times out or answers malformed gives 403 (fail closed, like Envoy's ext_authz default
// status_on_error), and an auth backend that did not resolve gives 500.
//
// Runs on the connection's worker thread, over the worker's pooled upstream connections (the
// auth server's keep-alive connections are reused like any backend's).
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/http1/parser.h"
#include "dataplane/router/route_table.h"
#include "dataplane/worker.h"
#include "ir/ir.h"

namespace gantry::dataplane::filters {

// What the check request is built from (views valid during the check).
struct AuthRequest {
  std::string_view method;
  std::string_view path;   // normalised path (what is routed and forwarded)
  std::string_view query;  // without '?'; has_query says whether there was one
  bool has_query = false;
  std::string_view host;  // Host as received (forwarded as Host)
  const std::vector<http1::Header>* headers = nullptr;
};

struct AuthResult {
  enum class Kind : uint8_t { kAllow, kDeny, kError };
  Kind kind = Kind::kError;
  unsigned status = 0;  // kDeny: the auth server's status
  // kAllow: headers to set on the upstream request; kDeny: headers for the client response.
  // Hop-by-hop and framing fields are never included.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // kDeny: the auth server's body
};

// True when `name` (any case) is a header the check response may not pass on: hop-by-hop fields
// (RFC 9110 7.6.1) and framing, which gantry regenerates, plus Host.
bool authHeaderExcluded(std::string_view name);

// Serialises the check request head for `cfg` into `out`.
void buildAuthRequest(const ir::ExternalAuth& cfg, const AuthRequest& req, std::string* out);

// The client response for a denial: the auth server's status, headers and body (RFC 9110 8.6:
// no body for HEAD, 204, 304; the framing is gantry's own).
void buildDenialResponse(const AuthResult& r, bool is_head, bool close, std::string* out);

// Runs one check against `backend` (endpoint picked with `rr`, weighted round robin). The
// caller's ConnEntry bounds it: its deadline is set to the connect timeout, then to
// kAuthResponseTimeoutMs, and its `up` points at the auth socket meanwhile so the worker's sweep
// can cancel it.
constexpr uint32_t kAuthResponseTimeoutMs = 5'000;
constexpr size_t kMaxAuthBody = 64 * 1024;
asio::awaitable<void> checkExternalAuth(Worker& w, ConnEntry& entry, const CompiledBackend& backend,
                                        uint32_t& rr, const ir::ExternalAuth& cfg,
                                        const AuthRequest& req, AuthResult* out);

}  // namespace gantry::dataplane::filters
