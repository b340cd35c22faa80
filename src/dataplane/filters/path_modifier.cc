#include "dataplane/filters/path_modifier.h"

#include "dataplane/router/route_table.h"

namespace gantry::dataplane::filters {
namespace {

std::string_view stripTrailingSlash(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

}  // namespace

void modifyPath(const ir::PathModifier& m, const std::vector<std::string>& prefixes,
                std::string_view path, std::string& out) {
  const size_t start = out.size();
  switch (m.type) {
    case ir::PathModifierType::kNone:
      out.append(path);
      return;
    case ir::PathModifierType::kReplaceFullPath:
      out.append(m.value.empty() ? std::string_view("/") : std::string_view(m.value));
      return;
    case ir::PathModifierType::kReplacePrefixMatch:
      break;
  }
  for (const auto& p : prefixes) {
    if (!pathPrefixMatches(p, path)) continue;
    // After an element-wise match, the rest is empty or starts with '/'.
    std::string_view rest = path.substr(stripTrailingSlash(p).size());
    out.append(stripTrailingSlash(m.value));
    out.append(rest);
    if (out.size() == start || out[start] != '/') out.insert(out.begin() + start, '/');
    return;
  }
  out.append(path);
}

}  // namespace gantry::dataplane::filters
