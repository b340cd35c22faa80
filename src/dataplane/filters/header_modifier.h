// RequestHeaderModifier / ResponseHeaderModifier, compiled once per (rule, backendRef).
//
// Gateway API HTTPHeaderFilter: `set` overwrites every field of that name with one value, `add`
// appends a value to the field ("It appends to any existing values associated with the header
// name"), `remove` drops every field of that name; names are case-insensitive. The rule's filter
// runs first, then the backendRef's ("filters defined at this level should be executed if and only
// if the request is being forwarded to the backend defined here"), so the two are composed here
// into one operation: which received fields to drop, and which lines to append.
//
// Per request this costs one case-insensitive compare per received field and dropped name, and
// one append of a pre-formatted block: no allocation. A rule without header filters has no
// compiled modifier at all.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ir/ir.h"

namespace gantry::dataplane::filters {

enum class Direction : uint8_t { kRequest, kResponse };

class HeaderModifier {
 public:
  // `mods` in execution order (rule-level first); null entries are skipped. Fields gantry keeps
  // under its own control (hop-by-hop and framing fields, and Host except through `set`) are left
  // out, with a warning.
  static HeaderModifier compile(const std::vector<const ir::HeaderModifier*>& mods, Direction dir,
                                std::vector<std::string>* warnings);

  bool empty() const { return drop_.empty() && lines_.empty() && !sets_host_; }
  // Whether a received field of this name is removed (by `remove` or overwritten by `set`).
  bool drops(std::string_view name) const;
  // Field lines to append after the received fields that survive, "Name: value\r\n" each.
  std::string_view lines() const { return lines_; }
  // Request only: `set` of Host replaces the Host sent upstream.
  bool setsHost() const { return sets_host_; }
  std::string_view host() const { return host_; }

 private:
  std::vector<std::string> drop_;  // lower-case
  std::string lines_;
  bool sets_host_ = false;
  std::string host_;
};

// Fields a filter may not touch: RFC 9110 7.6.1 hop-by-hop fields and message framing
// (Content-Length, Transfer-Encoding), which gantry regenerates for each hop.
bool isProtectedField(std::string_view name);

}  // namespace gantry::dataplane::filters
