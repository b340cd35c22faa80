// The HTTPRoute filters of one rule, compiled when the RouteTable is built (route_table.cc calls
// compileRuleFilters() for every rule; CompiledRule::filters is null for a rule that has none, so
// such a rule costs the data path one pointer test).
//
// Where each filter runs (src/dataplane/proxy.cc):
//   - rule-level CORS: a preflight is answered before a backend is picked; an actual request's
//     response gets the CORS fields;
//   - rule-level RequestRedirect: answered before a backend is picked;
//   - per picked backendRef (rule-level and backendRef-level filters composed, rule first):
//     RequestHeaderModifier and URLRewrite shape the upstream request head,
//     ResponseHeaderModifier the response head; a backendRef-level RequestRedirect or CORS
//     preflight answers instead of forwarding.
// RequestMirror is not handled here.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/filters/cors.h"
#include "dataplane/filters/header_modifier.h"
#include "dataplane/filters/redirect.h"
#include "ir/ir.h"

namespace gantry::dataplane::filters {

// What applies to a request forwarded to one backendRef.
struct BackendFilters {
  HeaderModifier request;
  HeaderModifier response;
  // Host sent upstream (URLRewrite hostname, or RequestHeaderModifier set of Host).
  bool rewrite_host = false;
  std::string host;
  // URLRewrite path (the backendRef's replaces the rule's); kNone keeps the path.
  ir::PathModifier path;
  std::optional<Redirect> redirect;  // backendRef-level RequestRedirect
  std::optional<Cors> cors;          // backendRef-level CORS (the rule's is in RuleFilters)

  bool rewritesPath() const { return path.type != ir::PathModifierType::kNone; }
};

struct RuleFilters {
  std::optional<Cors> cors;
  std::optional<Redirect> redirect;
  // The rule's PathPrefix match values in precedence order (for ReplacePrefixMatch).
  std::vector<std::string> prefixes;
  // One per ir::Rule::backends entry, or a single one shared by all when no backendRef has
  // filters of its own. Null entries (nothing to do) are represented by `active` false.
  std::vector<BackendFilters> backends;
  std::vector<bool> active;

  // Filters for ir::Rule::backends[ref], or null when nothing applies.
  const BackendFilters* forBackend(uint32_t ref) const {
    if (backends.empty()) return nullptr;
    size_t i = backends.size() == 1 ? 0 : ref;
    if (i >= backends.size() || !active[i]) return nullptr;
    return &backends[i];
  }
};

// Null when neither the rule nor any of its backendRefs has a filter handled here.
// `listener`/`rule_index` locate the rule's route entries (for the matched prefixes);
// `protocol`/`port` are the listener's (redirect scheme and port defaults).
std::unique_ptr<const RuleFilters> compileRuleFilters(const ir::Rule& rule,
                                                      const ir::HttpListener& listener,
                                                      uint32_t rule_index, ir::Protocol protocol,
                                                      uint16_t port,
                                                      std::vector<std::string>* warnings);

}  // namespace gantry::dataplane::filters
