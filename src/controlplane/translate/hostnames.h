// Hostname rules shared by listener/route attachment and route precedence.
//
// Gateway API hostnames are RFC 1123 names, optionally with a leading "*." wildcard label that
// matches one or more labels ("*.example.com" matches "a.example.com" and "a.b.example.com" but
// not "example.com"). "" means "any hostname".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gantry::controlplane {

inline bool isWildcard(std::string_view h) { return h.size() > 2 && h[0] == '*' && h[1] == '.'; }

// True when `host` (exact, non-empty) is matched by `pattern` (exact or wildcard, non-empty).
bool hostMatches(std::string_view pattern, std::string_view host);

// The intersection of a listener hostname and a route hostname, as the HTTPRoute/GRPCRoute/TLSRoute
// `hostnames` field documents it: "" on either side defers to the other; an exact name matches a
// wildcard covering it; of two overlapping wildcards the more specific one wins. nullopt = none.
std::optional<std::string> intersectHostnames(std::string_view listener, std::string_view route);

// Listener precedence by hostname ("Listeners that are distinct only by Hostname"): exact names
// first, then wildcards with more labels right of the "*", then "". Returns true when `a` is to
// be tried before `b`; ties broken lexically for determinism.
bool listenerHostnameBefore(std::string_view a, std::string_view b);

std::string toLower(std::string_view s);

}  // namespace gantry::controlplane
