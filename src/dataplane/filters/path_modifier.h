// HTTPPathModifier (URLRewrite and RequestRedirect path): ReplaceFullPath and ReplacePrefixMatch.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/ir.h"

namespace gantry::dataplane::filters {

// Appends the modified path to `out`. `prefixes` are the PathPrefix values the
// rule matches on, in precedence order (ReplacePrefixMatch replaces the first that matches `path`;
// the API allows ReplacePrefixMatch only with exactly one PathPrefix match, so there is normally
// one). kNone, or ReplacePrefixMatch without a matching prefix, copies `path` unchanged.
//
// ReplacePrefixMatch follows the HTTPPathModifier table: matching is element-wise and a trailing
// '/' of either the prefix or the replacement is ignored, so "/foo" + "/xyz" maps "/foo/bar" to
// "/xyz/bar", "/foo/" to "/xyz/", "/foo" to "/xyz"; an empty or "/" replacement maps "/foo/bar" to
// "/bar" and "/foo" to "/".
void modifyPath(const ir::PathModifier& m, const std::vector<std::string>& prefixes,
                std::string_view path, std::string& out);

}  // namespace gantry::dataplane::filters
