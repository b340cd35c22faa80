#include "dataplane/upstream/session.h"

#include "dataplane/http1/syntax.h"

namespace gantry::dataplane::upstream {

SessionChoice findSession(const CompiledRule& rule, const std::vector<http1::Header>& headers,
                          uint32_t now_s) {
  SessionChoice out;
  const ir::SessionPersistence& sp = rule.ir->session_persistence;
  if (sp.type == ir::SessionPersistenceType::kNone) return out;
  std::optional<SessionToken> token;
  for (const auto& h : headers) {
    if (sp.type == ir::SessionPersistenceType::kCookie) {
      if (!http1::iequals(h.name, "cookie")) continue;
      if (auto v = findCookie(h.value, sp.name)) token = decodeSessionToken(*v);
    } else if (http1::iequals(h.name, sp.name)) {
      token = decodeSessionToken(http1::trimOws(h.value));
    }
    if (token) break;
  }
  if (!token || !sessionValid(sp, *token, now_s)) return out;
  for (const auto& t : rule.session_targets) {
    if (t.id != token->endpoint_id) continue;
    out.position = static_cast<int32_t>(t.position);
    out.endpoint = static_cast<int32_t>(t.endpoint);
    out.token = token;
    break;
  }
  return out;
}

void appendSessionResponse(const ir::SessionPersistence& sp, const SessionChoice& choice,
                           std::string_view backend_name, const asio::ip::tcp::endpoint& ep,
                           uint32_t now_s, std::string& out) {
  if (sp.type == ir::SessionPersistenceType::kNone) return;
  uint64_t id = endpointId(backend_name, ep);
  SessionToken t;
  if (choice.token && choice.token->endpoint_id == id) {
    t = *choice.token;
    if (sp.idle_timeout_s != 0) {
      t.last_used_s = now_s;
    } else if (sp.type == ir::SessionPersistenceType::kCookie) {
      return;  // the client's cookie is still right
    }
  } else {
    t.endpoint_id = id;
    t.created_s = now_s;
    t.last_used_s = now_s;
  }
  appendSessionField(sp, encodeSessionToken(t), out);
}

}  // namespace gantry::dataplane::upstream
