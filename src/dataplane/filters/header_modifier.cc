#include "dataplane/filters/header_modifier.h"

#include <fmt/format.h>

#include <algorithm>

#include "dataplane/http1/syntax.h"
#include "dataplane/http1/wire.h"

namespace gantry::dataplane::filters {
namespace {

using http1::lowerAscii;

bool validName(std::string_view n) {
  if (n.empty()) return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return http1::isTchar(static_cast<unsigned char>(c)); });
}

// RFC 9110 5.5: field-value is VCHAR / obs-text with SP/HTAB inside; never CR, LF or NUL (which
// would let a manifest inject fields or split the message).
bool validValue(std::string_view v) {
  for (unsigned char c : v) {
    if (c < 0x20 && c != '\t') return false;
    if (c == 0x7f) return false;
  }
  return true;
}

struct Line {
  std::string lname;  // lower-case, for composition
  std::string name;   // as configured
  std::string value;
};

struct Op {
  std::vector<std::string> drop;
  std::vector<Line> lines;
};

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

bool isProtectedField(std::string_view name) {
  using http1::iequals;
  return iequals(name, "connection") || iequals(name, "keep-alive") || iequals(name, "te") ||
         iequals(name, "trailer") || iequals(name, "transfer-encoding") ||
         iequals(name, "upgrade") || iequals(name, "content-length") ||
         (name.size() > 6 && iequals(name.substr(0, 6), "proxy-"));
}

bool HeaderModifier::drops(std::string_view name) const {
  for (const auto& d : drop_) {
    if (http1::iequals(d, name)) return true;
  }
  return false;
}

HeaderModifier HeaderModifier::compile(const std::vector<const ir::HeaderModifier*>& mods,
                                       Direction dir, std::vector<std::string>* warnings) {
  const bool request = dir == Direction::kRequest;
  const char* where = request ? "RequestHeaderModifier" : "ResponseHeaderModifier";
  HeaderModifier out;
  auto warn = [&](std::string msg) {
    if (warnings) warnings->push_back(fmt::format("{}: {}", where, msg));
  };
  // Usable name: not a protected field; Host only through `set` of a request.
  auto usable = [&](std::string_view name, bool is_set) {
    if (!validName(name)) {
      warn(fmt::format("invalid field name '{}' ignored", name));
      return false;
    }
    if (isProtectedField(name)) {
      warn(fmt::format("'{}' is managed by the proxy and cannot be modified", name));
      return false;
    }
    if (request && http1::iequals(name, "host") && !is_set) {
      warn("Host can only be replaced (set), not added or removed");
      return false;
    }
    return true;
  };

  std::vector<Op> ops;
  for (const ir::HeaderModifier* m : mods) {
    if (m == nullptr) continue;
    Op op;
    std::vector<std::string> set_names;
    for (const auto& h : m->set) {
      if (!usable(h.name, true)) continue;
      if (!validValue(h.value)) {
        warn(fmt::format("invalid value for '{}' ignored", h.name));
        continue;
      }
      std::string ln = lowerAscii(h.name);
      if (contains(set_names, ln)) continue;  // one action per name: the first one counts
      set_names.push_back(ln);
      if (request && ln == "host") {
        out.sets_host_ = true;
        out.host_ = h.value;
        continue;
      }
      op.drop.push_back(ln);
      op.lines.push_back(Line{ln, h.name, h.value});
    }
    for (const auto& h : m->add) {
      if (!usable(h.name, false)) continue;
      if (!validValue(h.value)) {
        warn(fmt::format("invalid value for '{}' ignored", h.name));
        continue;
      }
      op.lines.push_back(Line{lowerAscii(h.name), h.name, h.value});
    }
    for (const auto& r : m->remove) {
      if (!usable(r, false)) continue;
      std::string ln = lowerAscii(r);
      if (!contains(op.drop, ln)) op.drop.push_back(ln);
    }
    ops.push_back(std::move(op));
  }

  // Sequential composition: a received field survives if no modifier drops it; a line added by
  // modifier k survives if no later modifier drops its name.
  for (size_t k = 0; k < ops.size(); ++k) {
    for (const auto& d : ops[k].drop) {
      if (!contains(out.drop_, d)) out.drop_.push_back(d);
    }
    for (const auto& l : ops[k].lines) {
      bool dropped_later = false;
      for (size_t j = k + 1; j < ops.size() && !dropped_later; ++j) {
        dropped_later = contains(ops[j].drop, l.lname);
      }
      if (dropped_later) continue;
      out.lines_.append(l.name).append(": ").append(l.value).append("\r\n");
    }
  }
  return out;
}

}  // namespace gantry::dataplane::filters
