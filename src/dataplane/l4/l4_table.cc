#include "dataplane/l4/l4_table.h"

#include <unordered_map>

#include "dataplane/router/route_table.h"

namespace gantry::dataplane::l4 {

bool L4Entry::matches(std::string_view sni) const {
  if (hostnames.empty()) return true;
  for (const auto& h : hostnames) {
    if (!h.empty() && hostnameMatches(h, sni)) return true;
  }
  return false;
}

std::shared_ptr<const L4Table> L4Table::build(const ir::Snapshot& s, const RouteTable& routes,
                                              std::vector<std::string>* warnings) {
  auto t = std::make_shared<L4Table>();
  std::unordered_map<std::string_view, int32_t> backend_index;
  for (size_t i = 0; i < routes.backendCount(); ++i)
    backend_index.emplace(routes.backend(i).ir->name, static_cast<int32_t>(i));

  t->ports_.reserve(s.ports.size());
  for (const auto& p : s.ports) {
    L4Port lp;
    lp.address = p.address;
    lp.port = p.port;
    lp.protocol = p.protocol;
    if (!isL4(p.protocol)) continue;
    for (const auto& r : p.l4_routes) {
      // Entries of one listener are contiguous (ir.h); a new name starts the next listener.
      if (lp.listeners.empty() || lp.listeners.back().name != r.listener) {
        L4Listener l;
        l.name = r.listener;
        l.hostname = r.listener_hostname;
        lp.listeners.push_back(std::move(l));
      }
      L4Entry e;
      e.ir = &r;
      e.slot = static_cast<uint32_t>(t->entry_count_++);
      std::vector<uint32_t> weights;
      for (const auto& h : r.hostnames) {
        if (!h.empty()) e.hostnames.push_back(h);
      }
      for (const auto& wb : r.backends) {
        if (wb.weight == 0) continue;  // weight 0: never selected (Gateway API BackendRef)
        int32_t idx = kInvalidBackend;
        if (!wb.backend.empty()) {
          auto it = backend_index.find(wb.backend);
          idx = it == backend_index.end() ? kUnknownBackend : it->second;
        }
        e.backends.push_back(idx);
        e.total_weight += wb.weight;
        weights.push_back(wb.weight);
      }
      e.picker = upstream::WeightedPicker(weights);
      lp.listeners.back().entries.push_back(std::move(e));
    }
    // TLS Terminate: the contexts RouteTable built for this port (tls/contexts.h), by index.
    if (p.protocol == ir::Protocol::kTlsTerminate)
      lp.tls = routes.portTls(static_cast<int>(&p - s.ports.data()));
    t->ports_.push_back(std::move(lp));
  }
  return t;
}

const L4Port* L4Table::find(std::string_view address, uint16_t port, bool udp) const {
  for (const auto& p : ports_) {
    if (p.port != port || !isL4(p.protocol) || (p.protocol == ir::Protocol::kUdp) != udp ||
        p.address != address)
      continue;
    return &p;
  }
  return nullptr;
}

const L4Entry* L4Table::route(const L4Port& port, std::string_view sni) {
  const bool by_sni = port.protocol == ir::Protocol::kTlsPassthrough ||
                      port.protocol == ir::Protocol::kTlsTerminate;
  for (const auto& l : port.listeners) {
    if (by_sni && !hostnameMatches(l.hostname, sni)) continue;
    // Listener isolation: only the first listener whose hostname matches is considered.
    for (const auto& e : l.entries) {
      if (!by_sni || e.matches(sni)) return &e;
    }
    return nullptr;
  }
  return nullptr;
}

int32_t L4Table::pick(const L4Entry& entry, uint32_t& cursor) {
  return entry.backends[entry.picker.pick(cursor)];
}

}  // namespace gantry::dataplane::l4
