#include "controlplane/translate/validate.h"

#include <set>
#include <string>
#include <tuple>

namespace gantry::controlplane {
namespace {

bool udp(ir::Protocol p) { return p == ir::Protocol::kUdp; }

Status checkConditions(const std::vector<api::Condition>& conds, int64_t generation,
                       const std::string& where) {
  std::set<std::string> types;
  for (const auto& c : conds) {
    if (c.type.empty() || c.reason.empty())
      return Status::error(where + ": condition without type or reason");
    if (c.status != "True" && c.status != "False" && c.status != "Unknown")
      return Status::error(where + ": condition " + c.type + " has status '" + c.status + "'");
    if (!types.insert(c.type).second)
      return Status::error(where + ": condition " + c.type + " appears twice");
    if (c.observed_generation != generation)
      return Status::error(where + ": condition " + c.type + " observedGeneration mismatch");
  }
  return Status::ok();
}

}  // namespace

Status validateResult(const TranslateResult& result) {
  const ir::Snapshot& s = result.snapshot;
  std::set<std::string> backends;
  for (const auto& b : s.backends) {
    if (b.name.empty()) return Status::error("backend without name");
    if (!backends.insert(b.name).second) return Status::error("duplicate backend " + b.name);
  }
  auto checkBackend = [&](const std::string& name, const std::string& where) -> Status {
    if (!name.empty() && !backends.count(name))
      return Status::error(where + ": unknown backend " + name);
    return Status::ok();
  };
  auto checkFilters = [&](const std::vector<ir::Filter>& fs, const std::string& where) -> Status {
    for (const auto& f : fs) {
      if (f.type != ir::FilterType::kRequestMirror) continue;
      if (f.mirror.backend.empty()) return Status::error(where + ": mirror without backend");
      if (auto st = checkBackend(f.mirror.backend, where); !st) return st;
      if (f.mirror.denominator == 0) return Status::error(where + ": mirror denominator 0");
    }
    return Status::ok();
  };
  std::set<std::tuple<std::string, uint16_t, bool>> ports;
  for (const auto& p : s.ports) {
    const std::string where = p.address + ":" + std::to_string(p.port);
    if (!ports.insert({p.address, p.port, udp(p.protocol)}).second)
      return Status::error("duplicate port " + where);
    const bool http = p.protocol == ir::Protocol::kHttp || p.protocol == ir::Protocol::kHttps;
    if (!http && !p.http_listeners.empty())
      return Status::error(where + ": HTTP listeners on a non-HTTP port");
    if (http && !p.l4_routes.empty()) return Status::error(where + ": L4 routes on an HTTP port");
    if ((p.protocol == ir::Protocol::kHttps || p.protocol == ir::Protocol::kTlsTerminate)) {
      if (p.tls.empty()) return Status::error(where + ": TLS-terminating port without TLS config");
      for (const auto& t : p.tls)
        if (t.certificates.empty()) return Status::error(where + ": TLS config without certs");
    }
    for (const auto& l : p.http_listeners) {
      for (const auto& r : l.rules) {
        if (auto st = checkFilters(r.filters, l.name); !st) return st;
        for (const auto& wb : r.backends) {
          if (auto st = checkBackend(wb.backend, l.name); !st) return st;
          if (auto st = checkFilters(wb.filters, l.name); !st) return st;
        }
      }
      for (const auto& e : l.entries)
        if (e.rule >= l.rules.size()) return Status::error(l.name + ": entry rule out of range");
    }
    for (const auto& r : p.l4_routes)
      for (const auto& wb : r.backends)
        if (auto st = checkBackend(wb.backend, r.route); !st) return st;
  }
  std::set<std::string> objects;
  for (const auto& st : result.statuses) {
    const std::string where = st.kind + " " + st.namespace_ + "/" + st.name;
    if (!objects.insert(where).second) return Status::error("duplicate status for " + where);
    if (auto r = checkConditions(st.conditions, st.generation, where); !r) return r;
    std::set<std::string> listeners;
    for (const auto& l : st.listeners) {
      if (!listeners.insert(l.name).second)
        return Status::error(where + ": duplicate listener status " + l.name);
      if (l.attached_routes < 0) return Status::error(where + ": negative attachedRoutes");
      if (auto r = checkConditions(l.conditions, st.generation, where + " listener " + l.name); !r)
        return r;
    }
    for (const auto& p : st.parents) {
      if (p.controller_name.empty()) return Status::error(where + ": parent without controller");
      if (p.parent_ref.group.empty() || p.parent_ref.kind.empty() || !p.parent_ref.namespace_)
        return Status::error(where + ": parentRef not written out");
      if (auto r =
              checkConditions(p.conditions, st.generation, where + " parent " + p.parent_ref.name);
          !r)
        return r;
    }
  }
  return Status::ok();
}

}  // namespace gantry::controlplane
