// L4 routing over the compiled table: SNI matching with listener isolation, TCP/UDP ports, and
// weighted backend choice (dataplane/l4/l4_table.h).
#include "dataplane/l4/l4_table.h"

#include <gtest/gtest.h>

#include <map>

#include "dataplane/router/route_table.h"

namespace gantry::dataplane::l4 {
namespace {

ir::L4Route entry(std::string route, std::string listener, std::string listener_host,
                  std::vector<std::string> hosts,
                  std::vector<std::pair<std::string, uint32_t>> backends) {
  ir::L4Route r;
  r.route = std::move(route);
  r.listener = std::move(listener);
  r.listener_hostname = std::move(listener_host);
  r.hostnames = std::move(hosts);
  for (auto& [b, w] : backends) r.backends.push_back(ir::WeightedBackend{b, w, {}});
  return r;
}

ir::Backend backend(std::string name, uint16_t port) {
  ir::Backend b;
  b.name = std::move(name);
  b.endpoints.push_back({"127.0.0.1", port, 1});
  return b;
}

struct Fixture {
  std::shared_ptr<const RouteTable> table;
  const L4Table* l4() const { return table->l4(); }
};

Fixture build(std::vector<ir::Port> ports) {
  auto s = std::make_shared<ir::Snapshot>();
  s->ports = std::move(ports);
  s->backends = {backend("a", 1001), backend("b", 1002), backend("c", 1003)};
  std::vector<std::string> warnings;
  Fixture f;
  f.table = RouteTable::build(s, &warnings);
  EXPECT_TRUE(warnings.empty());
  return f;
}

std::string routeFor(const L4Port& p, std::string_view sni) {
  const L4Entry* e = L4Table::route(p, sni);
  return e ? e->ir->route : "reject";
}

TEST(L4Table, SniExactBeforeWildcardThenAny) {
  ir::Port p;
  p.port = 443;
  p.protocol = ir::Protocol::kTlsPassthrough;
  // Translator order: exact, longer wildcards, then any; all on one catch-all listener.
  p.l4_routes = {entry("exact", "gw/tls", "", {"exact.example.com"}, {{"a", 1}}),
                 entry("wild", "gw/tls", "", {"*.example.com"}, {{"b", 1}}),
                 entry("any", "gw/tls", "", {}, {{"c", 1}})};
  Fixture f = build({p});
  const L4Port* lp = f.l4()->find("0.0.0.0", 443, false);
  ASSERT_NE(lp, nullptr);
  EXPECT_EQ(routeFor(*lp, "exact.example.com"), "exact");
  EXPECT_EQ(routeFor(*lp, "x.example.com"), "wild");
  EXPECT_EQ(routeFor(*lp, "x.y.example.com"), "wild");  // one or more labels
  EXPECT_EQ(routeFor(*lp, "example.com"), "any");
  EXPECT_EQ(routeFor(*lp, ""), "any");  // no SNI: only a catch-all entry takes it
  EXPECT_EQ(f.l4()->find("0.0.0.0", 443, true), nullptr);  // not a UDP port
}

TEST(L4Table, ListenerIsolation) {
  ir::Port p;
  p.port = 443;
  p.protocol = ir::Protocol::kTlsPassthrough;
  p.l4_routes = {entry("foo", "gw/wild", "*.example.com", {"foo.example.com"}, {{"a", 1}}),
                 entry("other", "gw/any", "", {"*.example.com"}, {{"b", 1}}),
                 entry("org", "gw/any", "", {"*.example.org"}, {{"b", 1}})};
  Fixture f = build({p});
  const L4Port* lp = f.l4()->find("0.0.0.0", 443, false);
  ASSERT_NE(lp, nullptr);
  ASSERT_EQ(lp->listeners.size(), 2u);
  EXPECT_EQ(routeFor(*lp, "foo.example.com"), "foo");
  // Owned by the "*.example.com" listener, whose routes do not cover it: no fall-through.
  EXPECT_EQ(routeFor(*lp, "bar.example.com"), "reject");
  EXPECT_EQ(routeFor(*lp, "a.example.org"), "org");
  EXPECT_EQ(routeFor(*lp, "example.net"), "reject");
  EXPECT_EQ(routeFor(*lp, ""), "reject");
}

TEST(L4Table, TcpAndUdpOnOneNumber) {
  ir::Port tcp;
  tcp.port = 5000;
  tcp.protocol = ir::Protocol::kTcp;
  tcp.l4_routes = {entry("tcp", "gw/tcp", "", {}, {{"a", 1}})};
  ir::Port udp = tcp;
  udp.protocol = ir::Protocol::kUdp;
  udp.l4_routes = {entry("udp", "gw/udp", "", {}, {{"b", 1}})};
  ir::Port http;
  http.port = 80;
  Fixture f = build({http, tcp, udp});
  ASSERT_NE(f.l4()->find("0.0.0.0", 5000, false), nullptr);
  EXPECT_EQ(routeFor(*f.l4()->find("0.0.0.0", 5000, false), ""), "tcp");
  EXPECT_EQ(routeFor(*f.l4()->find("0.0.0.0", 5000, true), ""), "udp");
  EXPECT_EQ(f.l4()->find("0.0.0.0", 80, false), nullptr);  // HTTP is not L4
  EXPECT_EQ(f.l4()->find("127.0.0.1", 5000, false), nullptr);
}

TEST(L4Table, WeightedPickAndInvalidRefs) {
  ir::Port p;
  p.port = 5000;
  p.protocol = ir::Protocol::kTcp;
  p.l4_routes = {
      entry("r", "gw/tcp", "", {}, {{"a", 3}, {"b", 1}, {"c", 0}, {"", 2}, {"missing", 2}})};
  Fixture f = build({p});
  const L4Entry* e = L4Table::route(*f.l4()->find("0.0.0.0", 5000, false), "");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->total_weight, 8u);  // weight 0 left out
  std::map<int32_t, int> counts;
  uint32_t cursor = 0;
  for (uint32_t r = 0; r < 8000; ++r) ++counts[L4Table::pick(*e, cursor)];
  const int32_t a = 0, b = 1;  // backend indices, in Snapshot::backends order
  EXPECT_EQ(counts[a], 3000);
  EXPECT_EQ(counts[b], 1000);
  EXPECT_EQ(counts[kInvalidBackend], 2000);  // their share is rejected, as the spec requires
  EXPECT_EQ(counts[kUnknownBackend], 2000);
  EXPECT_EQ(counts.count(2), 0u);  // "c" has weight 0
}

TEST(L4Table, EntriesHaveDistinctCursorSlots) {
  ir::Port p;
  p.port = 5000;
  p.protocol = ir::Protocol::kTcp;
  p.l4_routes = {entry("r1", "gw/tcp", "", {}, {{"a", 1}, {"b", 1}}),
                 entry("r2", "gw/tcp2", "", {}, {{"a", 1}})};
  Fixture f = build({p});
  ASSERT_EQ(f.l4()->entryCount(), 2u);
  const L4Port* port = f.l4()->find("0.0.0.0", 5000, false);
  ASSERT_NE(port, nullptr);
  ASSERT_EQ(port->listeners.size(), 2u);
  EXPECT_EQ(port->listeners[0].entries[0].slot, 0u);
  EXPECT_EQ(port->listeners[1].entries[0].slot, 1u);
  // Smooth: 1/1 alternates.
  uint32_t cursor = 0;
  const L4Entry& e = port->listeners[0].entries[0];
  EXPECT_NE(L4Table::pick(e, cursor), L4Table::pick(e, cursor));
}

}  // namespace
}  // namespace gantry::dataplane::l4
