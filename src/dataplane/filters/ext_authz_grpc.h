// HTTPRoute ExternalAuth filter, protocol GRPC: the Envoy ext_authz gRPC API
// (envoy.service.auth.v3.Authorization/Check, Gateway API GRPCAuthConfig;
// docs/filters/external-auth.md). The messages are libprotobuf's, generated from the minimal
// .proto files in filters/proto/ (same packages, names and field numbers as upstream).
//
// One unary call per request, as a stream of the worker's HTTP/2 (h2c) client pool
// (upstream/h2_client.h), so checks to one auth server share multiplexed connections:
//   :method POST  :path /envoy.service.auth.v3.Authorization/Check
//   content-type: application/grpc  te: trailers  grpc-timeout: 5000m
//   body: one length-prefixed CheckRequest (gRPC over HTTP/2, uncompressed)
// CheckRequest.attributes: request.http {method, headers (lower-case names; every client field
// when GRPCAuthConfig.allowedHeaders is empty, else only those; repeated fields joined with ","),
// path (normalised path and query), host, scheme, protocol, size, body (forwardBody)},
// source.address (the client's address and port).
//
// CheckResponse:
//   status.code 0 (OK)  -> allowed; ok_response.headers change the upstream request (append false
//                          or unset: replace; append true: add; ADD_IF_ABSENT, OVERWRITE_IF_EXISTS
//                          as named), ok_response.headers_to_remove drop client fields. Host,
//                          pseudo-fields and framing fields are never changed.
//   status.code != 0    -> denied: denied_response.status.code (403 when unset), its headers and
//                          body go to the client.
//   grpc-status != 0, an HTTP status other than 200, no message, an undecodable message or no
//   answer within kAuthResponseTimeoutMs -> error (the caller fails closed with 403).
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/filters/ext_authz.h"

namespace gantry::dataplane::filters {

inline constexpr std::string_view kExtAuthzCheckPath = "/envoy.service.auth.v3.Authorization/Check";

// The serialized CheckRequest (no gRPC framing). False if protobuf could not serialize it.
bool buildCheckRequest(const ir::ExternalAuth& cfg, const AuthRequest& req, std::string* out);

// Decodes a CheckResponse message (no gRPC framing) into `out` (kAllow or kDeny; kError with
// false when it cannot be decoded or carries a header that is not a valid field). `client` is
// the request's fields (for ADD_IF_ABSENT / OVERWRITE_IF_EXISTS).
bool parseCheckResponse(std::string_view msg, const std::vector<http1::Header>* client,
                        AuthResult* out);

// Runs one Check call against `backend` (see checkExternalAuth in ext_authz.h).
asio::awaitable<void> checkExternalAuthGrpc(Worker& w, const CompiledBackend& backend, uint32_t& rr,
                                            const ir::ExternalAuth& cfg, const AuthRequest& req,
                                            AuthResult* out);

}  // namespace gantry::dataplane::filters
