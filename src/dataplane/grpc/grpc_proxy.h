// gRPC over the HTTP/2 downstream (GRPCRoute, docs/grpc.md).
//
// A downstream HTTP/2 stream whose content-type is application/grpc (gRPC over HTTP/2, PROTOCOL-
// HTTP2.md) is routed with the same RouteTable as any request -- the translator turned each
// GRPCRoute method match into a path match on "/<service>/<method>" -- and forwarded as one
// stream of the worker's HTTP/2 upstream pool (upstream/h2_client.h): request and response
// bodies streamed under flow control both ways, trailers (grpc-status) relayed.
//
// Errors are gRPC-shaped: HTTP 200, content-type application/grpc, and grpc-status /
// grpc-message in a trailers-only response (one HEADERS frame with END_STREAM):
//   no route -> UNIMPLEMENTED (12); no usable backend, connect failure, upstream reset ->
//   UNAVAILABLE (14); invalid backendRef -> INTERNAL (13, the HTTP 500 the spec asks for);
//   grpc-timeout (or the route's timeout) passed -> DEADLINE_EXCEEDED (4), also after the
//   response head went out (then in the trailers).
//
// Worker thread only. Never throws.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dataplane/filters/rule_filters.h"
#include "dataplane/http2/session.h"
#include "dataplane/router/route_table.h"
#include "dataplane/upstream/h2_client.h"
#include "dataplane/upstream/session.h"

namespace gantry::dataplane::grpc {

// gRPC status codes (grpc/doc/statuscodes.md).
enum class Status : uint8_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kDeadlineExceeded = 4,
  kInternal = 13,
  kUnimplemented = 12,
  kUnavailable = 14,
};

// content-type "application/grpc" or "application/grpc+<subtype>" / ";params".
bool isGrpcContentType(std::string_view content_type);
bool isGrpcRequest(const http2::Stream& s);

// grpc-timeout (PROTOCOL-HTTP2.md: 1-8 digits then H M S m u n) in milliseconds, rounded up;
// nullopt when absent or malformed.
std::optional<uint64_t> parseGrpcTimeout(std::string_view value);

// Answers the stream with a trailers-only gRPC error. False if the stream is gone.
bool respondGrpcError(http2::Session& ss, http2::Stream& s, Status status,
                      std::string_view message);

// Serves a gRPC stream from routing on: `rule` is the route lookup's result (null: no route).
// `authority` is forwarded as :authority, `path` is the normalised path (with `query`).
asio::awaitable<void> serveGrpc(http2::Session& ss, http2::Stream& s, const RouteTable& table,
                                LocalTable& lt, const CompiledRule* rule,
                                std::string_view authority, const std::string& path,
                                std::string_view query, bool has_query, int64_t start_ms);

// The request of stream `s` as it goes to an HTTP/2 backend: :authority (or the URLRewrite
// hostname of `bf`), the routed `path` with `query`, the client's fields with `bf`'s
// RequestHeaderModifier applied and X-Forwarded-For/-Proto/-Host appended.
upstream::H2Request upstreamRequest(http2::Session& ss, const http2::Stream& s,
                                    const filters::BackendFilters* bf, std::string_view authority,
                                    const std::string& path, std::string_view query,
                                    bool has_query);

// Forwards a routed HTTP/2 stream to an HTTP/2 (h2c) backend: `backend_ref` is the picked index
// into the rule's backendRefs (for its filters). `grpc` selects gRPC-shaped errors and
// grpc-timeout; otherwise errors are HTTP statuses (502/503/504) as on the HTTP/1.1 path. The
// route's timeouts, retries, RequestMirror and `session` (SessionPersistence: the request's
// session, null when none) apply as on the HTTP/1.1 path (upstream/h2_attempts.h).
asio::awaitable<void> forwardHttp2(http2::Session& ss, http2::Stream& s, const RouteTable& table,
                                   LocalTable& lt, const CompiledRule& rule, uint32_t backend_ref,
                                   const CompiledBackend& backend, std::string_view authority,
                                   const std::string& path, std::string_view query, bool has_query,
                                   int64_t start_ms, bool grpc,
                                   const upstream::SessionChoice* session = nullptr);

}  // namespace gantry::dataplane::grpc
