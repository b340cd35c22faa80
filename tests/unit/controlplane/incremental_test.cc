// Incremental translation (controlplane/translate/incremental.h): whatever the world and the
// route edits, the delta result equals translate() on the new objects -- the IR's JSON form and
// every status -- and deltas are actually taken where they should be.
#include "controlplane/translate/incremental.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "ir/json.h"
#include "unit/controlplane/builders.h"

namespace gantry::testing {
namespace {

using controlplane::IncrementalResult;
using controlplane::IncrementalTranslator;
using controlplane::TranslateOptions;
using StatusesPtr = std::shared_ptr<const std::vector<api::ObjectStatus>>;

// Every field of every status, one line per condition, so that a difference is readable.
std::string dump(const std::vector<api::ObjectStatus>& ss) {
  std::string o;
  auto opt = [](const auto& v) {
    if (!v) return std::string("-");
    if constexpr (std::is_same_v<std::decay_t<decltype(*v)>, std::string>) {
      return *v;
    } else {
      return std::to_string(*v);
    }
  };
  auto conds = [&](const std::vector<api::Condition>& cs, const std::string& indent) {
    for (const auto& c : cs) {
      o += indent + c.type + "=" + c.status + " " + c.reason + " '" + c.message + "' g" +
           std::to_string(c.observed_generation) + " " + c.last_transition_time + "\n";
    }
  };
  for (const auto& s : ss) {
    o += s.api_version + " " + s.kind + " " + s.namespace_ + "/" + s.name + " gen " +
         std::to_string(s.generation) + " als " + opt(s.attached_listener_sets) + "\n";
    conds(s.conditions, "  ");
    for (const auto& a : s.addresses) o += "  addr " + a.type + " " + a.value + "\n";
    for (const auto& f : s.supported_features) o += "  feature " + f + "\n";
    for (const auto& l : s.listeners) {
      o += "  listener " + l.name + " attached " + std::to_string(l.attached_routes) + " kinds";
      for (const auto& k : l.supported_kinds) o += " " + k.group + "/" + k.kind;
      o += "\n";
      conds(l.conditions, "    ");
    }
    for (const auto& p : s.parents) {
      const auto& r = p.parent_ref;
      o += "  parent " + r.group + "/" + r.kind + " " + opt(r.namespace_) + "/" + r.name + " " +
           opt(r.section_name) + " " + opt(r.port) + " " + p.controller_name + "\n";
      conds(p.conditions, "    ");
    }
  }
  return o;
}

template <typename T>
const T& pick(std::mt19937& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

class World {
 public:
  explicit World(uint32_t seed) : rng_(seed) {}

  int n(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int pct) { return n(0, 99) < pct; }
  uint64_t hash() { return std::uniform_int_distribution<uint64_t>(1, UINT64_MAX)(rng_); }

  api::ObjectSet build() {
    api::ObjectSet o;
    o.keys_unique = true;
    o.gateway_classes.push_back(gatewayClass("gantry"));
    if (chance(20)) o.gateway_classes.push_back(gatewayClass("other", "example.com/other"));
    for (const auto& ns : nss_) {
      api::Namespace nsobj;
      nsobj.metadata = meta("", ns);
      if (chance(50)) nsobj.metadata.labels["access"] = "yes";
      o.namespaces.push_back(nsobj);
      o.secrets.push_back(tlsSecret(ns, "cert"));
      for (int s = 0; s < 2; ++s) {
        std::string name = "svc" + std::to_string(s);
        o.services.push_back(service(ns, name, {80, 8080}));
        if (chance(10)) o.services.back().ports[0].app_protocol = "bogus";
        o.endpoint_slices.push_back(
            slice(ns, name, name + "-1", {"10.0.0." + std::to_string(s)}, chance(50) ? 80 : 8080));
      }
    }
    const std::vector<std::optional<std::string>> hosts = {
        std::nullopt, "a.example.com", "*.example.com", "b.example.com", "*.a.example.com"};
    const std::vector<std::string> protocols = {"HTTP", "HTTP", "HTTP", "HTTPS", "TCP"};
    const std::vector<uint16_t> ports = {80, 80, 443, 8080};
    const std::vector<std::string> froms = {"Same", "All", "All", "Selector"};
    int gws = n(1, 3);
    for (int g = 0; g < gws; ++g) {
      std::vector<api::Listener> ls;
      int nl = n(1, 4);
      for (int i = 0; i < nl; ++i) {
        std::string proto = pick(rng_, protocols);
        api::Listener l = listener("l" + std::to_string(i), proto, pick(rng_, ports),
                                   proto == "TCP" ? std::nullopt : pick(rng_, hosts));
        if (proto == "HTTPS") {
          api::GatewayTlsConfig tls;
          api::ObjectReference r;
          r.name = chance(80) ? "cert" : "missing";  // missing: listener not programmed
          tls.certificate_refs.push_back(r);
          l.tls = tls;
        }
        l.allowed_routes.namespaces_from = pick(rng_, froms);
        if (l.allowed_routes.namespaces_from == "Selector")
          l.allowed_routes.namespaces_selector = api::LabelSelector{{{"access", "yes"}}, {}};
        ls.push_back(l);
      }
      auto gw = gateway("infra", "gw" + std::to_string(g), ls, chance(90) ? "gantry" : "other");
      gw.metadata.creation_timestamp = "2024-01-0" + std::to_string(g + 1) + "T00:00:00Z";
      if (chance(30)) gw.addresses = {{"IPAddress", "127.0.0." + std::to_string(g + 1)}};
      if (chance(15)) {  // two addresses: each listener on two ports
        gw.addresses = {{"IPAddress", "127.0.1." + std::to_string(g + 1)},
                        {"IPAddress", "127.0.2." + std::to_string(g + 1)}};
      }
      if (chance(30)) gw.allowed_listeners_from = "All";
      if (chance(20)) gw.default_scope = "All";
      o.gateways.push_back(gw);
    }
    if (chance(40)) {
      api::ListenerSet s;
      s.metadata = meta(pick(rng_, nss_), "ls");
      s.parent_ref = parent("gw0", "infra");
      s.listeners = {listener("extra", "HTTP", pick(rng_, ports), pick(rng_, hosts))};
      s.listeners[0].allowed_routes.namespaces_from = "All";
      o.listener_sets.push_back(s);
    }
    if (chance(50))
      o.reference_grants.push_back(referenceGrant("app", "HTTPRoute", "team", "Service"));
    // BackendTLSPolicies: their status lists the Gateways whose routes use the target Service.
    int policies = chance(40) ? n(1, 3) : 0;
    for (int p = 0; p < policies; ++p) {
      api::BackendTlsPolicy pol;
      const std::string ns = pick(rng_, nss_);
      pol.metadata = meta(ns, "pol" + std::to_string(p));
      pol.target_refs.push_back({"", "Service", "svc" + std::to_string(n(0, 1)), std::nullopt});
      api::ObjectReference ca;
      ca.kind = "ConfigMap";
      ca.name = chance(80) ? "ca" : "no-ca";
      pol.ca_certificate_refs.push_back(ca);
      pol.hostname = "backend.example.com";
      o.backend_tls_policies.push_back(pol);
      if (std::none_of(o.config_maps.begin(), o.config_maps.end(),
                       [&](const api::ConfigMap& c) { return c.metadata.namespace_ == ns; })) {
        api::ConfigMap cm;
        cm.metadata = meta(ns, "ca");
        cm.data["ca.crt"] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        o.config_maps.push_back(cm);
      }
    }
    if (chance(30)) {
      o.l4_routes.push_back(
          l4Route("TCPRoute", "infra", "tcp", {parent("gw0", "infra")}, {backend("svc0", 80)}));
    }
    // GRPCRoutes: a delta is taken only when no changed HTTPRoute shares a listener with one.
    int grpc = chance(25) ? n(1, 2) : 0;
    for (int g = 0; g < grpc; ++g) {
      api::GrpcRoute gr;
      gr.metadata = meta(pick(rng_, nss_), "g" + std::to_string(g));
      gr.metadata.creation_timestamp = "2024-02-0" + std::to_string(n(1, 4)) + "T00:00:00Z";
      gr.parent_refs = {parent("gw" + std::to_string(n(0, 2)), "infra")};
      if (chance(50)) gr.parent_refs[0].section_name = "l" + std::to_string(n(0, 3));
      if (chance(50))
        gr.hostnames = {pick(rng_, std::vector<std::string>{"a.example.com", "*.example.com"})};
      api::GrpcRouteRule rr;
      rr.backend_refs = {backend("svc0", 80)};
      gr.rules.push_back(rr);
      o.grpc_routes.push_back(gr);
    }
    int routes = n(0, 30);
    for (int i = 0; i < routes; ++i) o.http_routes.push_back(route("h" + std::to_string(next_++)));
    stampHashes(o);
    return o;
  }

  api::HttpRoute route(std::string name) {
    const std::vector<std::string> route_hosts = {"a.example.com", "*.example.com", "c.example.com",
                                                  "z.a.example.com", "b.example.com"};
    std::vector<std::string> hs;
    int nh = n(0, 2);
    for (int k = 0; k < nh; ++k) hs.push_back(pick(rng_, route_hosts));
    std::vector<api::ParentReference> ps;
    int np = n(1, 2);
    for (int i = 0; i < np; ++i) {
      auto p = parent("gw" + std::to_string(n(0, 3)), "infra");
      if (chance(25)) p.section_name = "l" + std::to_string(n(0, 4));
      if (chance(10)) p.port = pick(rng_, std::vector<uint16_t>{80, 443, 8080});
      if (chance(10)) {
        p.kind = "ListenerSet";
        p.name = "ls";
        p.namespace_ = pick(rng_, nss_);
      }
      ps.push_back(p);
    }
    std::vector<api::HttpRouteRule> rules;
    int nr = n(0, 3);
    for (int k = 0; k < nr; ++k) {
      std::vector<api::HttpRouteMatch> ms;
      int nm = n(0, 2);
      for (int m = 0; m < nm; ++m) {
        auto match =
            pathMatch(pick(rng_, std::vector<std::string>{"Exact", "PathPrefix", "PathPrefix",
                                                          "RegularExpression"}),
                      pick(rng_, std::vector<std::string>{"/", "/a", "/a/b", "/p0", "/ab"}));
        int hh = chance(30) ? n(1, 2) : 0;
        for (int h = 0; h < hh; ++h)
          match.headers.push_back({"Exact", "X-H" + std::to_string(h), "v"});
        if (chance(15)) match.query_params.push_back({"Exact", "q", "1"});
        if (chance(15)) match.method = pick(rng_, std::vector<std::string>{"GET", "POST"});
        ms.push_back(match);
      }
      std::vector<api::HttpBackendRef> bs;
      int nb = n(0, 2);
      for (int b = 0; b < nb; ++b) {
        auto br = backend(chance(85) ? "svc" + std::to_string(n(0, 1)) : "missing",
                          chance(85) ? 80 : 8080, n(0, 3));
        if (chance(25)) br.ref.namespace_ = pick(rng_, nss_);
        bs.push_back(br);
      }
      auto r = rule(ms, bs);
      if (chance(8)) {
        api::HttpRouteFilter f;
        f.type = chance(50) ? "ExtensionRef" : "example.com/Unknown";
        f.extension_ref = api::LocalObjectReference{"example.com", "X", "x"};
        r.filters.push_back(f);
      }
      if (chance(8)) {
        api::HttpRouteFilter f;
        f.type = "RequestMirror";
        f.request_mirror = api::HttpRequestMirrorFilter{};
        f.request_mirror->backend_ref = backend(chance(80) ? "svc1" : "nope", 80).ref;
        r.filters.push_back(f);
      }
      if (chance(5)) {
        api::HttpRouteFilter a, b;
        a.type = "RequestRedirect";
        a.request_redirect = api::HttpRequestRedirectFilter{};
        b.type = "URLRewrite";
        b.url_rewrite = api::HttpUrlRewriteFilter{};
        r.filters.push_back(a);
        if (chance(50)) r.filters.push_back(b);  // both: IncompatibleFilters
      }
      rules.push_back(r);
    }
    auto r = httpRoute(pick(rng_, nss_), std::move(name), ps, hs, rules);
    // Few distinct timestamps (ties decided by namespace/name), sometimes none yet.
    r.metadata.creation_timestamp =
        chance(5) ? "" : "2024-02-0" + std::to_string(n(1, 4)) + "T00:00:00Z";
    if (chance(10)) r.use_default_gateways = "All";
    r.metadata.spec_hash = hash();
    return r;
  }

  void stampHashes(api::ObjectSet& o) {
    auto stamp = [&](auto& v) {
      for (auto& x : v)
        if (x.metadata.spec_hash == 0) x.metadata.spec_hash = hash();
    };
    stamp(o.gateway_classes);
    stamp(o.gateways);
    stamp(o.listener_sets);
    stamp(o.http_routes);
    stamp(o.l4_routes);
    stamp(o.reference_grants);
    stamp(o.namespaces);
    stamp(o.services);
    stamp(o.endpoint_slices);
    stamp(o.secrets);
    stamp(o.config_maps);
    stamp(o.backend_tls_policies);
    stamp(o.grpc_routes);
  }

  // One batch of route edits, as a file change would bring (sometimes something else too).
  // Returns false when it changed an object other than routes.
  bool edit(api::ObjectSet& o) {
    auto& rs = o.http_routes;
    int edits = n(1, 3);
    for (int e = 0; e < edits; ++e) {
      int what = n(0, 99);
      if (what < 35 && !rs.empty()) {  // spec change in place
        auto& r = rs[n(0, static_cast<int>(rs.size()) - 1)];
        auto fresh = route(r.metadata.name);
        fresh.metadata.namespace_ = r.metadata.namespace_;
        fresh.metadata.creation_timestamp = r.metadata.creation_timestamp;
        fresh.metadata.generation = r.metadata.generation + 1;
        r = fresh;
      } else if (what < 45 && !rs.empty()) {  // metadata change: age or generation
        auto& r = rs[n(0, static_cast<int>(rs.size()) - 1)];
        if (chance(50)) {
          r.metadata.creation_timestamp = "2024-02-0" + std::to_string(n(1, 4)) + "T00:00:00Z";
        } else {
          ++r.metadata.generation;
        }
      } else if (what < 65) {  // added at the end (as the file provider does)
        rs.push_back(route("h" + std::to_string(next_++)));
      } else if (what < 70) {  // added in the middle
        rs.insert(rs.begin() + n(0, static_cast<int>(rs.size())),
                  route("h" + std::to_string(next_++)));
      } else if (what < 85 && !rs.empty()) {  // removed: swap with the last (file provider)
        size_t k = static_cast<size_t>(n(0, static_cast<int>(rs.size()) - 1));
        rs[k] = std::move(rs.back());
        rs.pop_back();
      } else if (what < 90 && !rs.empty()) {  // removed from the middle
        rs.erase(rs.begin() + n(0, static_cast<int>(rs.size()) - 1));
      } else if (what < 95 && !rs.empty()) {  // same route renamed (delete + create)
        auto& r = rs[n(0, static_cast<int>(rs.size()) - 1)];
        r.metadata.name = "h" + std::to_string(next_++);
        r.metadata.spec_hash = hash();
      } else {  // something else changed: a full translation
        if (!o.services.empty()) {
          auto& s = o.services[n(0, static_cast<int>(o.services.size()) - 1)];
          s.ports[0].port = s.ports[0].port == 80 ? 81 : 80;
          s.metadata.spec_hash = hash();
        }
        return false;
      }
    }
    return true;
  }

 private:
  std::mt19937 rng_;
  const std::vector<std::string> nss_ = {"infra", "app", "team", "other"};
  int next_ = 0;
};

size_t grpc_deltas = 0;  // deltas taken with GRPCRoutes in the world

// Runs `steps` edits on a world; every result must equal translate() on the same input.
void check(uint32_t seed, int steps, size_t& deltas, size_t& fulls) {
  World w(seed);
  api::ObjectSet objects = w.build();
  TranslateOptions opts;
  IncrementalTranslator inc;
  StatusesPtr prev = std::make_shared<const std::vector<api::ObjectStatus>>();
  uint64_t version = 0;
  for (int step = 0; step <= steps; ++step) {
    bool routes_only = true;
    if (step > 0) routes_only = w.edit(objects);
    opts.now = "2024-03-01T00:00:" + std::to_string(10 + step) + "Z";
    ++version;
    // Every other step defers the statuses until the snapshot is out, as the controller does.
    IncrementalResult got = inc.translate(objects, opts, prev, version, step % 2 == 1);
    if (!got.statuses) got.statuses = inc.finishStatuses();
    ASSERT_TRUE(got.statuses);
    controlplane::TranslateResult want = controlplane::translate(objects, opts, *prev);
    want.snapshot.version = version;
    ASSERT_EQ(ir::toJson(*got.snapshot), ir::toJson(want.snapshot))
        << "seed " << seed << " step " << step << " incremental " << got.incremental;
    ASSERT_EQ(dump(*got.statuses), dump(want.statuses))
        << "seed " << seed << " step " << step << " incremental " << got.incremental;
    if (step > 0 && routes_only) {
      // Only routes changed and the worlds hold no client certificate: every such step must be
      // a delta, unless a changed route shares a listener with a GRPCRoute.
      if (objects.grpc_routes.empty()) {
        EXPECT_TRUE(got.incremental)
            << "seed " << seed << " step " << step << ": " << got.full_reason;
      } else if (!got.incremental) {
        EXPECT_EQ(got.full_reason, "a changed HTTPRoute shares a listener with a GRPCRoute");
      }
    }
    (got.incremental ? deltas : fulls)++;
    if (got.incremental && !objects.grpc_routes.empty()) ++grpc_deltas;
    prev = got.statuses;
  }
}

TEST(Incremental, RandomRouteEditsEqualFullTranslation) {
  size_t deltas = 0, fulls = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    check(seed, 8, deltas, fulls);
    if (::testing::Test::HasFatalFailure()) return;
  }
  EXPECT_GT(deltas, 1500u);
  EXPECT_GT(grpc_deltas, 50u);
  std::printf("deltas %zu (%zu with GRPCRoutes), full translations %zu\n", deltas, grpc_deltas,
              fulls);
}

// The cases the random worlds may hit rarely, one by one.
struct Fixture {
  api::ObjectSet objects = baseWorld();
  TranslateOptions opts;
  IncrementalTranslator inc;
  StatusesPtr prev = std::make_shared<const std::vector<api::ObjectStatus>>();
  uint64_t version = 0;
  uint64_t hashes = 1;

  Fixture() {
    objects.keys_unique = true;
    objects.gateways[0].listeners[0].allowed_routes.namespaces_from = "All";
    opts.now = "2024-03-01T00:00:00Z";
  }
  void stamp() {
    auto s = [&](auto& v) {
      for (auto& x : v)
        if (x.metadata.spec_hash == 0) x.metadata.spec_hash = ++hashes;
    };
    s(objects.gateway_classes);
    s(objects.gateways);
    s(objects.http_routes);
    s(objects.services);
    s(objects.endpoint_slices);
    s(objects.grpc_routes);
    s(objects.backend_tls_policies);
  }
  IncrementalResult run() {
    stamp();
    auto got = inc.translate(objects, opts, prev, ++version);
    auto want = controlplane::translate(objects, opts, *prev);
    want.snapshot.version = version;
    EXPECT_EQ(ir::toJson(*got.snapshot), ir::toJson(want.snapshot));
    EXPECT_EQ(dump(*got.statuses), dump(want.statuses));
    prev = got.statuses;
    return got;
  }
  api::HttpRoute route(std::string name, std::string host, std::string path) {
    auto r = httpRoute("app", std::move(name), {parent("gw", "infra")}, {std::move(host)},
                       {rule({pathMatch("PathPrefix", std::move(path))}, {backend("web", 8080)})});
    return r;
  }
};

TEST(Incremental, OneRouteChangeIsADelta) {
  Fixture f;
  for (int i = 0; i < 20; ++i)
    f.objects.http_routes.push_back(
        f.route("r" + std::to_string(i), "h" + std::to_string(i % 3) + ".example.com", "/p"));
  EXPECT_FALSE(f.run().incremental);
  f.objects.http_routes[7].hostnames = {"new.example.com"};
  f.objects.http_routes[7].metadata.spec_hash = 0;
  auto r = f.run();
  EXPECT_TRUE(r.incremental) << r.full_reason;
  EXPECT_EQ(r.routes_translated, 1u);
  EXPECT_EQ(r.routes_removed, 1u);
  // attachedRoutes unchanged (the route still attaches), the route table has the new host.
  const auto& gw = (*r.statuses)[1];
  ASSERT_EQ(gw.kind, "Gateway");
  EXPECT_EQ(gw.listeners[0].attached_routes, 20);
  EXPECT_NE(ir::toJson(*r.snapshot).find("new.example.com"), std::string::npos);
}

TEST(Incremental, RemovedRouteLeavesNoBackendOrCount) {
  Fixture f;
  f.objects.services.push_back(service("app", "only", {9000}));
  f.objects.http_routes.push_back(f.route("a", "a.example.com", "/"));
  auto b = f.route("b", "b.example.com", "/");
  b.rules[0].backend_refs = {backend("only", 9000)};
  f.objects.http_routes.push_back(b);
  f.run();
  f.objects.http_routes.pop_back();
  auto r = f.run();
  EXPECT_TRUE(r.incremental) << r.full_reason;
  EXPECT_EQ(r.snapshot->backends.size(), 1u);
  EXPECT_EQ((*r.statuses)[1].listeners[0].attached_routes, 1);
}

TEST(Incremental, PrecedenceAcrossRoutesKeptOnSplice) {
  Fixture f;
  // Same host and path: the older route wins; then namespace/name.
  auto a = f.route("a", "x.example.com", "/api");
  a.metadata.creation_timestamp = "2024-01-02T00:00:00Z";
  auto b = f.route("b", "x.example.com", "/api");
  b.metadata.creation_timestamp = "2024-01-03T00:00:00Z";
  f.objects.http_routes = {a, b};
  f.run();
  // b becomes the oldest: its entry moves ahead of a's.
  f.objects.http_routes[1].metadata.creation_timestamp = "2024-01-01T00:00:00Z";
  auto r = f.run();
  EXPECT_TRUE(r.incremental) << r.full_reason;
  const auto& hl = r.snapshot->ports[0].http_listeners[0];
  ASSERT_EQ(hl.entries.size(), 2u);
  EXPECT_EQ(hl.rules[hl.entries[0].rule].route, "HTTPRoute/app/b");
}

TEST(Incremental, NonRouteChangesAndUnsupportedKindsTranslateEverything) {
  Fixture f;
  f.objects.http_routes.push_back(f.route("a", "a.example.com", "/"));
  f.run();
  f.objects.services[0].ports[0].port = 8081;
  f.objects.services[0].metadata.spec_hash = 0;
  auto r = f.run();
  EXPECT_FALSE(r.incremental);
  EXPECT_EQ(r.full_reason, "objects other than HTTPRoutes changed");
  // A GRPCRoute: HTTPRoute/GRPCRoute conflicts are decided across routes.
  api::GrpcRoute g;
  g.metadata = meta("app", "g");
  g.parent_refs = {parent("gw", "infra")};
  f.objects.grpc_routes.push_back(g);
  f.run();
  f.objects.http_routes[0].hostnames = {"b.example.com"};
  f.objects.http_routes[0].metadata.spec_hash = 0;
  r = f.run();
  EXPECT_FALSE(r.incremental);
  EXPECT_EQ(r.full_reason, "a changed HTTPRoute shares a listener with a GRPCRoute");
  // Statuses not from this translator: a full translation.
  f.objects.grpc_routes.clear();
  f.run();
  f.prev = std::make_shared<const std::vector<api::ObjectStatus>>(*f.prev);
  r = f.run();
  EXPECT_FALSE(r.incremental);
  // Objects without a spec fingerprint (not from the parser) are never diffed.
  f.run();
  f.objects.http_routes[0].metadata.spec_hash = 0;
  f.objects.http_routes[0].hostnames = {"c.example.com"};
  auto got = f.inc.translate(f.objects, f.opts, f.prev, ++f.version);
  EXPECT_FALSE(got.incremental);
  EXPECT_EQ(got.full_reason, "objects without spec fingerprint");
}

}  // namespace
}  // namespace gantry::testing
