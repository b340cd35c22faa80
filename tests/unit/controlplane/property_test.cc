// Randomised worlds (seeded, reproducible): whatever the mix of listeners, routes, grants and
// services, the result is consistent (validateResult), independent of input order, and stable
// when re-translated with its own statuses as `previous`.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "controlplane/translate/validate.h"
#include "unit/controlplane/builders.h"

namespace gantry::testing {
namespace {

using controlplane::translate;
using controlplane::TranslateOptions;
using controlplane::validateResult;

template <typename T>
const T& pick(std::mt19937& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

api::ObjectSet randomWorld(uint32_t seed) {
  std::mt19937 rng(seed);
  auto chance = [&](int pct) { return std::uniform_int_distribution<int>(0, 99)(rng) < pct; };
  const std::vector<std::string> nss = {"infra", "app", "team", "other"};
  const std::vector<std::optional<std::string>> hosts = {std::nullopt,      "a.example.com",
                                                         "*.example.com",   "b.example.com",
                                                         "*.a.example.com", "x.example.org"};
  const std::vector<std::string> route_hosts = {"a.example.com", "*.example.com",
                                                "c.example.com", "x.example.org",
                                                "*.org",         "z.a.example.com"};
  const std::vector<std::string> protocols = {"HTTP", "HTTP", "HTTPS",        "TLS",
                                              "TCP",  "UDP",  "example.com/x"};
  const std::vector<uint16_t> ports = {80, 80, 443, 8080, 9000};
  const std::vector<std::string> froms = {"Same", "All", "Selector"};

  api::ObjectSet o;
  o.gateway_classes.push_back(gatewayClass("gantry"));
  if (chance(20)) o.gateway_classes.push_back(gatewayClass("other", "example.com/other"));
  for (const auto& ns : nss) {
    api::Namespace n;
    n.metadata = meta("", ns);
    if (chance(50)) n.metadata.labels["access"] = "yes";
    o.namespaces.push_back(n);
    o.secrets.push_back(tlsSecret(ns, "cert"));
    for (int s = 0; s < 2; ++s) {
      std::string name = "svc" + std::to_string(s);
      o.services.push_back(service(ns, name, {80, 8080}, chance(20) ? "UDP" : "TCP"));
      if (chance(20))
        o.services.back().ports[0].app_protocol =
            pick(rng, std::vector<std::string>{"kubernetes.io/h2c", "bogus"});
      o.endpoint_slices.push_back(
          slice(ns, name, name + "-1", {"10.0.0." + std::to_string(s)}, chance(50) ? 80 : 8080));
    }
  }
  int gws = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int g = 0; g < gws; ++g) {
    std::vector<api::Listener> ls;
    int n = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int i = 0; i < n; ++i) {
      std::string proto = pick(rng, protocols);
      api::Listener l =
          listener("l" + std::to_string(i), proto, pick(rng, ports),
                   (proto == "TCP" || proto == "UDP") ? std::nullopt : pick(rng, hosts));
      if (proto == "HTTPS" || proto == "TLS") {
        api::GatewayTlsConfig tls;
        tls.mode = (proto == "TLS" && chance(50)) ? "Passthrough" : "Terminate";
        if (tls.mode == "Terminate") {
          api::ObjectReference r;
          r.name = chance(80) ? "cert" : "missing";
          if (chance(20)) r.namespace_ = "other";
          tls.certificate_refs.push_back(r);
        }
        l.tls = tls;
      }
      l.allowed_routes.namespaces_from = pick(rng, froms);
      if (l.allowed_routes.namespaces_from == "Selector")
        l.allowed_routes.namespaces_selector = api::LabelSelector{{{"access", "yes"}}, {}};
      ls.push_back(l);
    }
    auto gw = gateway("infra", "gw" + std::to_string(g), ls, chance(90) ? "gantry" : "other");
    gw.metadata.creation_timestamp = "2024-01-0" + std::to_string(g + 1) + "T00:00:00Z";
    if (chance(20)) gw.addresses = {{"IPAddress", "127.0.0." + std::to_string(g + 1)}};
    if (chance(30)) gw.allowed_listeners_from = "All";
    o.gateways.push_back(gw);
  }
  if (chance(50)) {
    api::ListenerSet s;
    s.metadata = meta(pick(rng, nss), "ls");
    s.parent_ref = parent("gw0", "infra");
    s.listeners = {listener("extra", pick(rng, protocols), pick(rng, ports))};
    s.listeners[0].allowed_routes.namespaces_from = "All";
    o.listener_sets.push_back(s);
  }
  if (chance(50))
    o.reference_grants.push_back(referenceGrant("app", "HTTPRoute", "team", "Service"));
  if (chance(50))
    o.reference_grants.push_back(referenceGrant("other", "Gateway", "infra", "Secret"));

  auto randomParents = [&]() {
    std::vector<api::ParentReference> ps;
    int n = std::uniform_int_distribution<int>(1, 2)(rng);
    for (int i = 0; i < n; ++i) {
      auto p =
          parent("gw" + std::to_string(std::uniform_int_distribution<int>(0, 3)(rng)), "infra");
      if (chance(30))
        p.section_name = "l" + std::to_string(std::uniform_int_distribution<int>(0, 4)(rng));
      if (chance(15)) p.port = pick(rng, ports);
      if (chance(10)) {
        p.kind = "ListenerSet";
        p.name = "ls";
        p.namespace_ = pick(rng, nss);
      }
      ps.push_back(p);
    }
    return ps;
  };
  auto randomBackends = [&]() {
    std::vector<api::HttpBackendRef> bs;
    int n = std::uniform_int_distribution<int>(0, 3)(rng);
    for (int i = 0; i < n; ++i) {
      auto b =
          backend(chance(85) ? "svc" + std::to_string(std::uniform_int_distribution<int>(0, 1)(rng))
                             : "missing",
                  chance(85) ? 80 : 81, std::uniform_int_distribution<int>(0, 5)(rng));
      if (chance(25)) b.ref.namespace_ = pick(rng, nss);
      if (chance(5)) b.ref.kind = "Bucket";
      bs.push_back(b);
    }
    return bs;
  };
  int routes = std::uniform_int_distribution<int>(0, 25)(rng);
  for (int i = 0; i < routes; ++i) {
    std::vector<std::string> hs;
    int nh = std::uniform_int_distribution<int>(0, 2)(rng);
    for (int k = 0; k < nh; ++k) hs.push_back(pick(rng, route_hosts));
    std::string ns = pick(rng, nss);
    int kind = std::uniform_int_distribution<int>(0, 9)(rng);
    if (kind < 6) {
      std::vector<api::HttpRouteRule> rules;
      int nr = std::uniform_int_distribution<int>(0, 3)(rng);
      for (int k = 0; k < nr; ++k) {
        auto r = rule({pathMatch(pick(rng, std::vector<std::string>{"Exact", "PathPrefix",
                                                                    "RegularExpression"}),
                                 "/p" + std::to_string(k))},
                      randomBackends());
        if (chance(10)) {
          api::HttpRouteFilter f;
          f.type = chance(50) ? "ExtensionRef" : "example.com/Unknown";
          f.extension_ref = api::LocalObjectReference{"example.com", "X", "x"};
          r.filters.push_back(f);
        }
        if (chance(10)) {
          api::HttpRouteFilter f;
          f.type = "RequestMirror";
          f.request_mirror = api::HttpRequestMirrorFilter{};
          f.request_mirror->backend_ref =
              randomBackends().empty() ? api::BackendObjectReference{} : backend("svc0", 80).ref;
          r.filters.push_back(f);
        }
        rules.push_back(r);
      }
      auto r = httpRoute(ns, "h" + std::to_string(i), randomParents(), hs, rules);
      r.metadata.creation_timestamp = "2024-02-0" + std::to_string(1 + i % 5) + "T00:00:00Z";
      o.http_routes.push_back(r);
    } else if (kind < 8) {
      api::GrpcRoute g;
      g.metadata = meta(ns, "g" + std::to_string(i));
      g.parent_refs = randomParents();
      g.hostnames = hs;
      api::GrpcRouteRule rr;
      rr.backend_refs = randomBackends();
      g.rules.push_back(rr);
      o.grpc_routes.push_back(g);
    } else {
      std::string k = pick(rng, std::vector<std::string>{"TCPRoute", "UDPRoute", "TLSRoute"});
      o.l4_routes.push_back(l4Route(k, ns, "l" + std::to_string(i), randomParents(),
                                    randomBackends(),
                                    k == "TLSRoute" ? hs : std::vector<std::string>{}));
    }
  }
  return o;
}

std::string summary(const controlplane::TranslateResult& r) {
  std::string out;
  for (const auto& p : r.snapshot.ports) {
    out += p.address + ":" + std::to_string(p.port) + "\n";
    for (const auto& l : p.http_listeners) {
      out += " " + l.name + "\n";
      for (const auto& e : l.entries)
        out += "  " + e.hostname + " " + e.match.path.value + " -> " + l.rules[e.rule].route + "#" +
               std::to_string(l.rules[e.rule].rule_index) + "\n";
    }
    for (const auto& r4 : p.l4_routes) out += " " + r4.route + "\n";
  }
  for (const auto& s : r.statuses) {
    out += s.kind + " " + s.namespace_ + "/" + s.name;
    for (const auto& c : s.conditions) out += " " + c.type + "=" + c.status + "/" + c.reason;
    for (const auto& l : s.listeners) {
      out += " [" + l.name + " " + std::to_string(l.attached_routes);
      for (const auto& c : l.conditions) out += " " + c.type + "=" + c.status + "/" + c.reason;
      out += "]";
    }
    for (const auto& p : s.parents) {
      out += " {" + p.parent_ref.name + "/" + p.parent_ref.section_name.value_or("");
      for (const auto& c : p.conditions) out += " " + c.type + "=" + c.status + "/" + c.reason;
      out += "}";
    }
    out += "\n";
  }
  return out;
}

TEST(Property, RandomWorldsAreConsistentOrderIndependentAndStable) {
  size_t entries = 0, l4 = 0, accepted = 0, refused = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    api::ObjectSet o = randomWorld(seed);
    TranslateOptions opts;
    opts.now = "2025-01-01T00:00:00Z";
    if (seed % 3 == 0) opts.address_pool = "10.9.0.0/29";
    auto first = translate(o, opts);
    auto st = validateResult(first);
    ASSERT_TRUE(st.isOk()) << st.message();
    for (const auto& p : first.snapshot.ports) {
      l4 += p.l4_routes.size();
      for (const auto& l : p.http_listeners) entries += l.entries.size();
    }
    for (const auto& s : first.statuses)
      for (const auto& p : s.parents)
        (findCondition(p.conditions, "Accepted")->status == "True" ? accepted : refused)++;

    // Input order must not matter.
    std::mt19937 rng(seed);
    std::shuffle(o.gateways.begin(), o.gateways.end(), rng);
    std::shuffle(o.http_routes.begin(), o.http_routes.end(), rng);
    std::shuffle(o.grpc_routes.begin(), o.grpc_routes.end(), rng);
    std::shuffle(o.l4_routes.begin(), o.l4_routes.end(), rng);
    std::shuffle(o.endpoint_slices.begin(), o.endpoint_slices.end(), rng);
    auto shuffled = translate(o, opts);
    ASSERT_EQ(summary(first), summary(shuffled));

    // Nothing changed: a later run keeps every lastTransitionTime and pool address.
    opts.now = "2025-06-01T00:00:00Z";
    auto again = translate(o, opts, first.statuses);
    ASSERT_TRUE(validateResult(again).isOk());
    ASSERT_EQ(summary(first), summary(again));
    for (const auto& s : again.statuses) {
      for (const auto& c : s.conditions) ASSERT_EQ(c.last_transition_time, "2025-01-01T00:00:00Z");
      for (const auto& l : s.listeners)
        for (const auto& c : l.conditions)
          ASSERT_EQ(c.last_transition_time, "2025-01-01T00:00:00Z");
      for (const auto& p : s.parents)
        for (const auto& c : p.conditions)
          ASSERT_EQ(c.last_transition_time, "2025-01-01T00:00:00Z");
    }
  }
  // The generator must exercise both outcomes, or the properties above prove little.
  std::printf("random worlds: %zu HTTP entries, %zu L4 routes, %zu parents accepted, %zu refused\n",
              entries, l4, accepted, refused);
  EXPECT_GT(entries, 100u);
  EXPECT_GT(l4, 10u);
  EXPECT_GT(accepted, 100u);
  EXPECT_GT(refused, 100u);
}

}  // namespace
}  // namespace gantry::testing
