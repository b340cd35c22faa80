// Manifests as users write them (YAML through api::parseFiles), translated: the examples/ scenarios
// and role-oriented cases, with the statuses and routing they must produce.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/parse.h"
#include "unit/controlplane/builders.h"

namespace gantry::testing {
namespace {

namespace fs = std::filesystem;
using controlplane::translate;
using controlplane::TranslateOptions;

api::ObjectSet parseDir(const fs::path& dir) {
  std::vector<api::SourceFile> files;
  std::vector<fs::path> paths;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    auto ext = e.path().extension();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    files.push_back({p.string(), ss.str()});
  }
  auto res = api::parseFiles(files);
  for (const auto& e : res.errors) ADD_FAILURE() << e.toString();
  return res.objects;
}

api::ObjectSet parseYaml(const std::string& yaml) {
  auto res = api::parseFiles({{"inline.yaml", yaml}});
  for (const auto& e : res.errors) ADD_FAILURE() << e.toString();
  return res.objects;
}

const api::Condition* parentCondition(const controlplane::TranslateResult& r, std::string_view kind,
                                      std::string_view ns, std::string_view name,
                                      std::string_view type) {
  const auto* st = findStatus(r, kind, ns, name);
  if (!st || st->parents.empty()) return nullptr;
  return findCondition(st->parents[0].conditions, type);
}

TEST(Examples, MultiTeamSelectorAdmitsLabelledNamespacesOnly) {
  auto objs = parseDir(fs::path(GANTRY_SOURCE_DIR) / "examples" / "multi-team");
  auto res = translate(objs, TranslateOptions{});
  auto* a = parentCondition(res, "HTTPRoute", "team-a", "store", "Accepted");
  auto* b = parentCondition(res, "HTTPRoute", "team-b", "search", "Accepted");
  auto* c = parentCondition(res, "HTTPRoute", "team-c", "blog", "Accepted");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->status, "True");
  EXPECT_EQ(b->status, "True");
  EXPECT_EQ(c->status, "False");
  EXPECT_EQ(c->reason, "NotAllowedByListeners");
  const auto* gw = findStatus(res, "Gateway", "infra", "shared");
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(findListener(*gw, "http")->attached_routes, 2);
  ASSERT_EQ(res.snapshot.ports.size(), 1u);
  EXPECT_EQ(res.snapshot.ports[0].address, "127.0.0.1");
  EXPECT_EQ(res.snapshot.ports[0].port, 8083);
  const auto& l = res.snapshot.ports[0].http_listeners.at(0);
  ASSERT_EQ(l.entries.size(), 2u);
  for (const auto& e : l.entries) {
    const auto& rule = l.rules[e.rule];
    ASSERT_EQ(rule.backends.size(), 1u);
    EXPECT_FALSE(rule.backends[0].backend.empty()) << e.hostname;
  }
}

TEST(Examples, EveryExampleTranslatesWithAcceptedGateways) {
  for (const char* ex : {"quickstart", "canary", "path-header-routing", "multi-team"}) {
    SCOPED_TRACE(ex);
    auto dir = fs::path(GANTRY_SOURCE_DIR) / "examples" / ex;
    if (!fs::exists(dir)) continue;
    auto res = translate(parseDir(dir), TranslateOptions{});
    size_t gateways = 0;
    for (const auto& s : res.statuses) {
      if (s.kind != "Gateway") continue;
      ++gateways;
      EXPECT_EQ(findCondition(s.conditions, "Accepted")->status, "True") << s.name;
      EXPECT_EQ(findCondition(s.conditions, "Programmed")->status, "True") << s.name;
    }
    EXPECT_GT(gateways, 0u);
    EXPECT_FALSE(res.snapshot.ports.empty());
  }
}

constexpr const char* kPlatform = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gantry}
spec: {controllerName: gantry.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gantry
  listeners:
  - name: http
    protocol: HTTP
    port: 80
    allowedRoutes:
      namespaces: {from: All}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: data}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-abc
  namespace: data
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.2.0.1]
- addresses: [10.2.0.2]
  conditions: {ready: false}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: team}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules:
  - backendRefs: [{name: db, namespace: data, port: 80}]
)";

TEST(Manifests, CrossNamespaceBackendNeedsReferenceGrant) {
  auto res = translate(parseYaml(kPlatform), TranslateOptions{});
  auto* rr = parentCondition(res, "HTTPRoute", "team", "app", "ResolvedRefs");
  ASSERT_NE(rr, nullptr);
  EXPECT_EQ(rr->status, "False");
  EXPECT_EQ(rr->reason, "RefNotPermitted");
  const auto& l = res.snapshot.ports.at(0).http_listeners.at(0);
  EXPECT_EQ(l.rules.at(l.entries.at(0).rule).backends.at(0).backend, "");
  EXPECT_TRUE(res.snapshot.backends.empty());
}

TEST(Manifests, CrossNamespaceBackendWithReferenceGrantIsRouted) {
  std::string yaml = std::string(kPlatform) + R"(
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow-team, namespace: data}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: team}]
  to: [{group: "", kind: Service}]
)";
  auto res = translate(parseYaml(yaml), TranslateOptions{});
  auto* rr = parentCondition(res, "HTTPRoute", "team", "app", "ResolvedRefs");
  ASSERT_NE(rr, nullptr);
  EXPECT_EQ(rr->status, "True");
  const auto& l = res.snapshot.ports.at(0).http_listeners.at(0);
  EXPECT_EQ(l.rules.at(l.entries.at(0).rule).backends.at(0).backend, "data/db:80");
  ASSERT_EQ(res.snapshot.backends.size(), 1u);
  const auto& b = res.snapshot.backends[0];
  ASSERT_EQ(b.endpoints.size(), 1u);  // the not-ready endpoint is left out
  EXPECT_EQ(b.endpoints[0].address, "10.2.0.1");
  EXPECT_EQ(b.endpoints[0].port, 8080);  // targetPort via the slice's named port
}

}  // namespace
}  // namespace gantry::testing
