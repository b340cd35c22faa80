// HTTPRoute ExternalAuth filter (Gateway API HTTPExternalAuthFilter;
// docs/filters/external-auth.md). checkExternalAuth() runs the check with the filter's protocol:
// GRPC is the Envoy ext_authz Authorization/Check call of ext_authz_grpc.h; HTTP (HTTPAuthConfig)
// is described here.
//
// Before a request is proxied, a check request is sent to the auth backend:
//   <method> <path prefix><normalised path>[?query] HTTP/1.1
//   Host: <the client's Host>
//   Authorization: <the client's, when present>
//   <each header named in allowedHeaders that the client sent>
//   Content-Length: 0, or with forwardBody the size of the body prefix sent after the head
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
#include <asio/ip/tcp.hpp>
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
  // Used by the GRPC protocol's AttributeContext only.
  bool tls = false;                               // scheme https
  bool http2 = false;                             // protocol "HTTP/2" (else "HTTP/1.1")
  const asio::ip::tcp::endpoint* peer = nullptr;  // AttributeContext.source
  // ForwardBody: the first forward_body_max bytes of the decoded request body (empty when the
  // filter does not forward it), and the whole body's size when known (-1: unknown).
  std::string_view body = {};
  int64_t body_size = -1;
};

// How an allowed request's fields change before it goes to the backend (lower-case names).
struct AuthEdits {
  // Replace every client field of the same name (HTTP protocol: the allowed auth response
  // headers; GRPC: OkHttpResponse.headers without append).
  std::vector<std::pair<std::string, std::string>> set;
  // Added after the client's fields of the same name (GRPC: append true / APPEND_IF_EXISTS...).
  std::vector<std::pair<std::string, std::string>> append;
  // Client fields dropped (GRPC: OkHttpResponse.headers_to_remove).
  std::vector<std::string> remove;

  bool empty() const { return set.empty() && append.empty() && remove.empty(); }
  // True when the client's field `name` (any case) must not be forwarded.
  bool drops(std::string_view name) const;
  void clear() {
    set.clear();
    append.clear();
    remove.clear();
  }
};

struct AuthResult {
  enum class Kind : uint8_t { kAllow, kDeny, kError };
  Kind kind = Kind::kError;
  unsigned status = 0;  // kDeny: the status for the client
  // kDeny: headers for the client response. Hop-by-hop and framing fields are never included.
  std::vector<std::pair<std::string, std::string>> headers;
  AuthEdits edits;   // kAllow: changes to the upstream request
  std::string body;  // kDeny: the body for the client
};

// ForwardBody for an HTTP/1.1 client: decodes the first `max` bytes of a request body from the
// raw bytes as the client framed them (Content-Length or chunked), with llhttp, without
// consuming them (the proxy forwards the raw bytes afterwards). Feed the raw bytes in order.
class BodyPrefix {
 public:
  BodyPrefix(bool chunked, uint64_t content_length, size_t max);
  BodyPrefix(const BodyPrefix&) = delete;
  BodyPrefix& operator=(const BodyPrefix&) = delete;
  // False on a framing error (the request gets 400).
  bool feed(const char* data, size_t len);
  // `max` decoded bytes are here, or the whole body.
  bool full() const { return body_.size() >= max_ || parser_.done(); }
  bool complete() const { return parser_.done(); }
  // The bytes for the auth server: at most `max`.
  std::string_view body() const { return std::string_view(body_).substr(0, max_); }
  // The whole body's size when known (Content-Length, or a complete chunked body), else -1.
  int64_t size() const;

 private:
  class Sink : public http1::BodySink {
   public:
    Sink(std::string* out, size_t max) : out_(out), max_(max) {}
    void onBody(const char* data, size_t len) override;

   private:
    std::string* out_;
    size_t max_;
  };
  http1::Parser parser_;
  std::vector<http1::Header> head_fields_;  // of the synthetic head (unused)
  std::string body_;
  size_t max_;
  bool chunked_;
  uint64_t content_length_;
  uint64_t decoded_ = 0;
  Sink sink_;
};

// The most request body gantry buffers for forwardBody, whatever maxSize says (memory bound per
// request; a larger maxSize is treated as this).
constexpr size_t kMaxForwardBody = 4 * 1024 * 1024;

// True when `name` (any case) is a header the check response may not pass on: hop-by-hop fields
// (RFC 9110 7.6.1) and framing, which gantry regenerates, plus Host.
bool authHeaderExcluded(std::string_view name);

// Serialises the check request for `cfg` into `out`: the head, and req.body when the filter
// forwards the body (Content-Length: its size, as HTTPAuthConfig.allowedHeaders requires).
void buildAuthRequest(const ir::ExternalAuth& cfg, const AuthRequest& req, std::string* out);

// The client response for a denial: the auth server's status, headers and body (RFC 9110 8.6:
// no body for HEAD, 204, 304; the framing is gantry's own).
void buildDenialResponse(const AuthResult& r, bool is_head, bool close, std::string* out);

// Runs one check against `backend` (endpoint picked with `rr`, weighted round robin) with the
// filter's protocol. HTTP: the caller's ConnEntry bounds it: its deadline is set to the connect
// timeout, then to kAuthResponseTimeoutMs, and its `up` points at the auth socket meanwhile so
// the worker's sweep can cancel it. GRPC: a stream of the worker's HTTP/2 pool with its own
// kAuthResponseTimeoutMs deadline.
constexpr uint32_t kAuthResponseTimeoutMs = 5'000;
constexpr size_t kMaxAuthBody = 64 * 1024;
asio::awaitable<void> checkExternalAuth(Worker& w, ConnEntry& entry, const CompiledBackend& backend,
                                        uint32_t& rr, const ir::ExternalAuth& cfg,
                                        const AuthRequest& req, AuthResult* out);

}  // namespace gantry::dataplane::filters
