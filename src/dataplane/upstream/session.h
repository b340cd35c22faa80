// SessionPersistence on the request path: which endpoint a request's session names, and the
// field that hands the session (back) to the client. Token format and validity rules are in
// resilience.h; docs/session-persistence.md describes the behaviour for users.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dataplane/http1/parser.h"
#include "dataplane/router/route_table.h"
#include "dataplane/upstream/resilience.h"

namespace gantry::dataplane::upstream {

struct SessionChoice {
  int32_t position = -1;              // index into CompiledRule::backends, -1 = no usable session
  int32_t endpoint = -1;              // index into that backend's endpoints
  std::optional<SessionToken> token;  // the request's valid token, if any
};

// The request's session (cookie or header named by the rule's SessionPersistence), if it is
// authentic, not expired, and names an endpoint that still exists in the rule's backends
// ("requests carrying a valid session go to the same endpoint while it exists").
SessionChoice findSession(const CompiledRule& rule, const std::vector<http1::Header>& headers,
                          uint32_t now_s);

// Appends to `out` the response field for a request served by `ep` of backend `backend_name`:
// a new session when the request had none (or one for another endpoint), a refreshed one when an
// idle timeout needs the last-use time moved, the same token for header sessions; nothing for a
// still-valid cookie without idle timeout.
void appendSessionResponse(const ir::SessionPersistence& sp, const SessionChoice& choice,
                           std::string_view backend_name, const asio::ip::tcp::endpoint& ep,
                           uint32_t now_s, std::string& out);

}  // namespace gantry::dataplane::upstream
