#include "controlplane/translate/hostnames.h"

#include <algorithm>
#include <cctype>

namespace gantry::controlplane {

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool hostMatches(std::string_view pattern, std::string_view host) {
  if (!isWildcard(pattern)) return pattern == host;
  // "*.example.com": host must end in ".example.com" and have at least one label before it.
  std::string_view suffix = pattern.substr(1);  // ".example.com"
  return host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix;
}

std::optional<std::string> intersectHostnames(std::string_view listener, std::string_view route) {
  if (listener.empty()) return std::string(route);
  if (route.empty()) return std::string(listener);
  const bool lw = isWildcard(listener);
  const bool rw = isWildcard(route);
  if (!lw && !rw) {
    if (listener == route) return std::string(route);
    return std::nullopt;
  }
  if (!lw && rw) {
    if (hostMatches(route, listener)) return std::string(listener);
    return std::nullopt;
  }
  if (lw && !rw) {
    if (hostMatches(listener, route)) return std::string(route);
    return std::nullopt;
  }
  // Both wildcards: the longer suffix must end with the shorter one.
  std::string_view ls = listener.substr(1), rs = route.substr(1);
  if (ls == rs) return std::string(route);
  if (rs.size() > ls.size() && rs.substr(rs.size() - ls.size()) == ls) return std::string(route);
  if (ls.size() > rs.size() && ls.substr(ls.size() - rs.size()) == rs) return std::string(listener);
  return std::nullopt;
}

namespace {
int hostnameClass(std::string_view h) {
  if (h.empty()) return 2;
  return isWildcard(h) ? 1 : 0;
}
size_t dots(std::string_view h) { return static_cast<size_t>(std::count(h.begin(), h.end(), '.')); }
}  // namespace

bool listenerHostnameBefore(std::string_view a, std::string_view b) {
  int ca = hostnameClass(a), cb = hostnameClass(b);
  if (ca != cb) return ca < cb;
  if (ca == 1) {
    // "the higher the number of dots in the hostname to the right of the wildcard character,
    // the higher the precedence" (Gateway spec.listeners).
    size_t da = dots(a), db = dots(b);
    if (da != db) return da > db;
    if (a.size() != b.size()) return a.size() > b.size();
  }
  return a < b;
}

}  // namespace gantry::controlplane
