// L4Table: the compiled L4 part of a snapshot (TLSRoute, TCPRoute, UDPRoute), built once per
// publish next to the HTTP routes (RouteTable::build) and shared read-only by all workers.
//
// Matching (Gateway API):
//   - TLS (Passthrough and Terminate): the SNI is matched against the port's listeners, most
//     specific hostname first, and ONLY against the entries of the first listener whose hostname
//     matches it (listener isolation, as for HTTP: a "*.example.com" listener does not fall
//     through to a catch-all listener for a name it owns). Within the listener the entries are in
//     the translator's precedence order (exact hostnames, then longer wildcards, then "any";
//     oldest route first), so the first entry that matches wins. A ClientHello without SNI only
//     matches a catch-all entry on a catch-all listener.
//   - TCP and UDP: a listener carries one route (the oldest attached); its entry is used.
//   - Backends: weighted choice among the entry's backendRefs with weight > 0; an invalid ref
//     (kInvalidBackend) or a Service without endpoints makes the connection be rejected
//     (TLSRouteRule.backendRefs: "rejections must respect weight").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/upstream/weighted.h"
#include "ir/ir.h"

namespace gantry::dataplane {
class RouteTable;
namespace tls {
class ServerContextSet;
}
}  // namespace gantry::dataplane

namespace gantry::dataplane::l4 {

struct L4Entry {
  const ir::L4Route* ir = nullptr;
  std::vector<std::string> hostnames;  // empty = any SNI
  std::vector<int32_t> backends;       // RouteTable backend index, or kInvalid/kUnknownBackend
  upstream::WeightedPicker picker;     // over `backends` by weight
  uint32_t total_weight = 0;
  uint32_t slot = 0;  // index of this entry's per-worker cursor (LocalTable::l4_rr)
  bool matches(std::string_view sni) const;
};

struct L4Listener {
  std::string name;
  std::string hostname;  // "" any
  std::vector<L4Entry> entries;
};

struct L4Port {
  std::string address;
  uint16_t port = 0;
  ir::Protocol protocol = ir::Protocol::kHttp;
  std::vector<L4Listener> listeners;
  // TLS Terminate: certificates by SNI, owned by the RouteTable (tls/contexts.h); null when none
  // could be loaded (connections are closed).
  const tls::ServerContextSet* tls = nullptr;
};

// True for the protocols this module serves (TLS passthrough/terminate, TCP, UDP).
inline bool isL4(ir::Protocol p) {
  return p == ir::Protocol::kTlsPassthrough || p == ir::Protocol::kTlsTerminate ||
         p == ir::Protocol::kTcp || p == ir::Protocol::kUdp;
}

class L4Table {
 public:
  // `routes` must already hold the snapshot's backends (backend indices are its indices).
  static std::shared_ptr<const L4Table> build(const ir::Snapshot& snapshot,
                                              const RouteTable& routes,
                                              std::vector<std::string>* warnings);

  // The L4 port bound at (address, port) for TCP (udp = false: TLS or TCP) or UDP, or nullptr.
  // (A TCP and a UDP port may share a number; RouteTable::findPort does not tell them apart.)
  const L4Port* find(std::string_view address, uint16_t port, bool udp) const;

  // TLS: the entry serving `sni` ("" = the client sent none), under listener isolation.
  // TCP/UDP: the port's first entry. nullptr: no route (reject the connection).
  static const L4Entry* route(const L4Port& port, std::string_view sni);

  // Weighted choice of a backend (an index for RouteTable::backend(), or a negative k*Backend
  // code), smooth round robin on the caller's per-worker cursor (upstream::WeightedPicker). The
  // entry must have total_weight > 0.
  static int32_t pick(const L4Entry& entry, uint32_t& cursor);
  // Number of entries (slots 0..entryCount()-1).
  size_t entryCount() const { return entry_count_; }

 private:
  std::vector<L4Port> ports_;  // L4 ports only
  size_t entry_count_ = 0;
};

}  // namespace gantry::dataplane::l4
