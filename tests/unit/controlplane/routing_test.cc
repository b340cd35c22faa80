// Routing decisions: what the snapshot says for a set of manifests (ports, listener order, entry
// precedence, backends and endpoints), and status bookkeeping (observedGeneration,
// lastTransitionTime, parentRef, addresses).
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "unit/controlplane/builders.h"

namespace gantry::testing {
namespace {

using controlplane::translate;
using controlplane::TranslateOptions;
using controlplane::TranslateResult;

TranslateResult run(const api::ObjectSet& o, TranslateOptions opts = {},
                    const std::vector<api::ObjectStatus>& prev = {}) {
  if (opts.now.empty()) opts.now = "2025-01-01T00:00:00Z";
  return translate(o, opts, prev);
}

const ir::Port* findPort(const ir::Snapshot& s, uint16_t port, std::string address = "") {
  for (const auto& p : s.ports)
    if (p.port == port && (address.empty() || p.address == address)) return &p;
  return nullptr;
}

const ir::Backend* findBackend(const ir::Snapshot& s, const std::string& name) {
  for (const auto& b : s.backends)
    if (b.name == name) return &b;
  return nullptr;
}

// "<route>#<rule> <host> <path>" for each entry, the way precedence is easiest to read.
std::vector<std::string> entryList(const ir::HttpListener& l) {
  std::vector<std::string> out;
  for (const auto& e : l.entries) {
    const ir::Rule& r = l.rules[e.rule];
    std::string s = r.route + "#" + std::to_string(r.rule_index) + " " +
                    (e.hostname.empty() ? "*" : e.hostname) + " " + e.match.path.value;
    if (!e.match.method.empty()) s += " " + e.match.method;
    if (!e.match.headers.empty()) s += " h" + std::to_string(e.match.headers.size());
    if (!e.match.query_params.empty()) s += " q" + std::to_string(e.match.query_params.size());
    out.push_back(s);
  }
  return out;
}

api::ObjectSet allowAllWorld() {
  api::ObjectSet o = baseWorld();
  o.gateways[0].listeners[0].allowed_routes.namespaces_from = "All";
  return o;
}

api::HttpRoute route(std::string name, std::vector<api::HttpRouteMatch> matches,
                     std::vector<std::string> hosts = {}, std::string created = "",
                     std::string ns = "app") {
  auto r = httpRoute(std::move(ns), std::move(name), {parent("gw", "infra")}, std::move(hosts),
                     {rule(std::move(matches), {backend("web", 8080)})});
  if (!created.empty()) r.metadata.creation_timestamp = created;
  return r;
}

TEST(Routing, SimpleRouteProducesPortListenerEntryAndBackend) {
  auto o = allowAllWorld();
  o.http_routes.push_back(route("r", {pathMatch("PathPrefix", "/app")}));
  auto res = run(o);
  ASSERT_EQ(res.snapshot.ports.size(), 1u);
  const auto& p = res.snapshot.ports[0];
  EXPECT_EQ(p.address, "0.0.0.0");
  EXPECT_EQ(p.port, 80);
  EXPECT_EQ(p.protocol, ir::Protocol::kHttp);
  ASSERT_EQ(p.http_listeners.size(), 1u);
  const auto& l = p.http_listeners[0];
  EXPECT_EQ(l.name, "infra/gw/http");
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].hostname, "");
  EXPECT_EQ(l.entries[0].match.path.type, ir::PathMatchType::kPathPrefix);
  EXPECT_EQ(l.entries[0].match.path.value, "/app");
  const auto& r = l.rules[l.entries[0].rule];
  EXPECT_EQ(r.route, "HTTPRoute/app/r");
  ASSERT_EQ(r.backends.size(), 1u);
  EXPECT_EQ(r.backends[0].backend, "app/web:8080");
  const ir::Backend* b = findBackend(res.snapshot, "app/web:8080");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->endpoints.size(), 1u);
  EXPECT_EQ(b->endpoints[0].address, "10.0.0.1");
  EXPECT_EQ(b->endpoints[0].port, 8080);
}

TEST(Routing, RouteWithoutRulesOrMatchesDefaultsToPrefixSlash) {
  auto o = allowAllWorld();
  auto r = httpRoute("app", "r", {parent("gw", "infra")}, {}, {});
  o.http_routes.push_back(r);
  auto res = run(o);
  const auto& l = res.snapshot.ports[0].http_listeners[0];
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.entries[0].match.path.value, "/");
  EXPECT_EQ(l.entries[0].match.path.type, ir::PathMatchType::kPathPrefix);
}

TEST(Routing, MatchPrecedenceAcrossRoutes) {
  auto o = allowAllWorld();
  auto with_headers = [](int n) {
    api::HttpRouteMatch m = pathMatch("PathPrefix", "/");
    for (int i = 0; i < n; ++i) m.headers.push_back({"Exact", "X-H" + std::to_string(i), "v"});
    return m;
  };
  auto with_query = [](int n) {
    api::HttpRouteMatch m = pathMatch("PathPrefix", "/");
    for (int i = 0; i < n; ++i) m.query_params.push_back({"Exact", "q" + std::to_string(i), "v"});
    return m;
  };
  auto with_method = [] {
    api::HttpRouteMatch m = pathMatch("PathPrefix", "/");
    m.method = "GET";
    return m;
  };
  // Inserted in scrambled order; timestamps decide ties across routes.
  o.http_routes.push_back(
      route("root-newer", {pathMatch("PathPrefix", "/")}, {}, "2024-03-01T00:00:00Z"));
  o.http_routes.push_back(route("query2", {with_query(2)}));
  o.http_routes.push_back(route("prefix-short", {pathMatch("PathPrefix", "/a")}));
  o.http_routes.push_back(route("headers1", {with_headers(1)}));
  o.http_routes.push_back(route("exact", {pathMatch("Exact", "/a")}));
  o.http_routes.push_back(route("method", {with_method()}));
  o.http_routes.push_back(route("prefix-long", {pathMatch("PathPrefix", "/a/b")}));
  o.http_routes.push_back(route("headers2", {with_headers(2)}));
  o.http_routes.push_back(route("root-b", {pathMatch("PathPrefix", "/")}));
  o.http_routes.push_back(route("root-a", {pathMatch("PathPrefix", "/")}));
  o.http_routes.push_back(route("query1", {with_query(1)}));
  auto res = run(o);
  const auto& l = res.snapshot.ports[0].http_listeners[0];
  std::vector<std::string> want = {
      "HTTPRoute/app/exact#0 * /a",        "HTTPRoute/app/prefix-long#0 * /a/b",
      "HTTPRoute/app/prefix-short#0 * /a", "HTTPRoute/app/method#0 * / GET",
      "HTTPRoute/app/headers2#0 * / h2",   "HTTPRoute/app/headers1#0 * / h1",
      "HTTPRoute/app/query2#0 * / q2",     "HTTPRoute/app/query1#0 * / q1",
      "HTTPRoute/app/root-a#0 * /",  // same age: namespace/name alphabetical
      "HTTPRoute/app/root-b#0 * /",
      "HTTPRoute/app/root-newer#0 * /",  // newer creationTimestamp loses
  };
  EXPECT_EQ(entryList(l), want);
}

TEST(Routing, OlderRouteWinsOverAlphabeticallyEarlierOne) {
  auto o = allowAllWorld();
  o.http_routes.push_back(route("aaa", {pathMatch("PathPrefix", "/")}, {}, "2024-05-01T00:00:00Z"));
  o.http_routes.push_back(route("zzz", {pathMatch("PathPrefix", "/")}, {}, "2024-04-01T00:00:00Z"));
  auto res = run(o);
  auto e = entryList(res.snapshot.ports[0].http_listeners[0]);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "HTTPRoute/app/zzz#0 * /");
  EXPECT_EQ(e[1], "HTTPRoute/app/aaa#0 * /");
}

TEST(Routing, RuleOrderBreaksTiesWithinARoute) {
  auto o = allowAllWorld();
  auto r = httpRoute("app", "r", {parent("gw", "infra")}, {},
                     {rule({pathMatch("PathPrefix", "/x")}, {backend("web", 8080)}),
                      rule({pathMatch("PathPrefix", "/y")}, {backend("web", 8080)}),
                      rule({pathMatch("PathPrefix", "/x")}, {backend("web", 8080)})});
  o.http_routes.push_back(r);
  auto res = run(o);
  auto e = entryList(res.snapshot.ports[0].http_listeners[0]);
  std::vector<std::string> want = {"HTTPRoute/app/r#0 * /x", "HTTPRoute/app/r#1 * /y",
                                   "HTTPRoute/app/r#2 * /x"};
  EXPECT_EQ(e, want);
}

TEST(Routing, HostnameSpecificityComesFirst) {
  auto o = allowAllWorld();
  o.http_routes.push_back(route("any", {pathMatch("Exact", "/exact")}));
  o.http_routes.push_back(route("wild", {pathMatch("PathPrefix", "/")}, {"*.example.com"}));
  o.http_routes.push_back(route("wild2", {pathMatch("PathPrefix", "/")}, {"*.foo.example.com"}));
  o.http_routes.push_back(route("exact", {pathMatch("PathPrefix", "/")}, {"a.foo.example.com"}));
  auto res = run(o);
  std::vector<std::string> want = {
      "HTTPRoute/app/exact#0 a.foo.example.com /",
      "HTTPRoute/app/wild2#0 *.foo.example.com /",
      "HTTPRoute/app/wild#0 *.example.com /",
      "HTTPRoute/app/any#0 * /exact",
  };
  EXPECT_EQ(entryList(res.snapshot.ports[0].http_listeners[0]), want);
}

TEST(Routing, HostnameIntersectionWithListener) {
  auto o = allowAllWorld();
  o.gateways[0].listeners[0].hostname = "*.example.com";
  // Route hostnames: one more specific (kept), one equal wildcard, one outside (ignored), one
  // broader wildcard (narrowed to the listener's).
  o.http_routes.push_back(
      route("r", {pathMatch("PathPrefix", "/")}, {"a.example.com", "other.net", "*.com"}));
  o.http_routes.push_back(route("none", {pathMatch("PathPrefix", "/n")}));
  auto res = run(o);
  std::vector<std::string> want = {
      "HTTPRoute/app/r#0 a.example.com /",
      "HTTPRoute/app/none#0 *.example.com /n",
      "HTTPRoute/app/r#0 *.example.com /",
  };
  EXPECT_EQ(entryList(res.snapshot.ports[0].http_listeners[0]), want);
}

TEST(Routing, ListenersOnAPortAreMostSpecificFirst) {
  auto o = baseWorld();
  o.gateways[0].listeners = {listener("any", "HTTP", 80),
                             listener("wild", "HTTP", 80, "*.example.com"),
                             listener("wild2", "HTTP", 80, "*.a.example.com"),
                             listener("exact", "HTTP", 80, "x.a.example.com")};
  auto res = run(o);
  ASSERT_EQ(res.snapshot.ports.size(), 1u);
  std::vector<std::string> names;
  for (const auto& l : res.snapshot.ports[0].http_listeners) names.push_back(l.hostname);
  std::vector<std::string> want = {"x.a.example.com", "*.a.example.com", "*.example.com", ""};
  EXPECT_EQ(names, want);
}

TEST(Routing, RouteAttachesOnlyToListenersWhoseHostnameIntersects) {
  auto o = baseWorld();
  o.gateways[0].listeners = {listener("a", "HTTP", 80, "a.example.com"),
                             listener("b", "HTTP", 80, "b.example.com"),
                             listener("w", "HTTP", 80, "*.example.com")};
  for (auto& l : o.gateways[0].listeners) l.allowed_routes.namespaces_from = "All";
  o.http_routes.push_back(route("r", {pathMatch("PathPrefix", "/")}, {"a.example.com"}));
  auto res = run(o);
  const auto* gw = findStatus(res, "Gateway", "infra", "gw");
  ASSERT_NE(gw, nullptr);
  EXPECT_EQ(findListener(*gw, "a")->attached_routes, 1);
  EXPECT_EQ(findListener(*gw, "b")->attached_routes, 0);
  EXPECT_EQ(findListener(*gw, "w")->attached_routes, 1);
  for (const auto& l : res.snapshot.ports[0].http_listeners) {
    if (l.hostname == "b.example.com") {
      EXPECT_TRUE(l.entries.empty());
    }
    if (l.hostname == "a.example.com") {
      EXPECT_EQ(l.entries.size(), 1u);
    }
  }
}

TEST(Routing, CrossNamespaceBackendWithoutGrantIsNotRoutedTo) {
  auto o = allowAllWorld();
  auto r = httpRoute("team", "r", {parent("gw", "infra")}, {},
                     {rule({}, {backend("web", 8080, 90, "app"), backend("local", 80, 10)})});
  o.services.push_back(service("team", "local", {80}));
  o.http_routes.push_back(r);
  auto res = run(o);
  const auto& l = res.snapshot.ports[0].http_listeners[0];
  ASSERT_EQ(l.entries.size(), 1u);
  const auto& rule0 = l.rules[l.entries[0].rule];
  ASSERT_EQ(rule0.backends.size(), 2u);
  EXPECT_EQ(rule0.backends[0].backend, "");  // its 90% share answers 500
  EXPECT_EQ(rule0.backends[0].weight, 90u);
  EXPECT_EQ(rule0.backends[1].backend, "team/local:80");
  EXPECT_EQ(findBackend(res.snapshot, "app/web:8080"), nullptr);
}

TEST(Routing, CrossNamespaceBackendWithGrantIsRoutedTo) {
  auto o = allowAllWorld();
  o.reference_grants.push_back(referenceGrant("app", "HTTPRoute", "team", "Service", "web"));
  o.http_routes.push_back(httpRoute("team", "r", {parent("gw", "infra")}, {},
                                    {rule({}, {backend("web", 8080, 1, "app")})}));
  auto res = run(o);
  const auto& l = res.snapshot.ports[0].http_listeners[0];
  EXPECT_EQ(l.rules[l.entries[0].rule].backends[0].backend, "app/web:8080");
  EXPECT_NE(findBackend(res.snapshot, "app/web:8080"), nullptr);
}

TEST(Routing, ExtensionRefRuleAnswers500) {
  auto o = allowAllWorld();
  auto r = route("r", {pathMatch("PathPrefix", "/")});
  api::HttpRouteFilter f;
  f.type = "ExtensionRef";
  f.extension_ref = api::LocalObjectReference{"example.com", "Magic", "m"};
  r.rules[0].filters.push_back(f);
  o.http_routes.push_back(r);
  auto res = run(o);
  const auto& l = res.snapshot.ports[0].http_listeners[0];
  ASSERT_EQ(l.entries.size(), 1u);
  EXPECT_EQ(l.rules[l.entries[0].rule].direct_status, 500);
}

TEST(Routing, FiltersTimeoutsRetryAreConverted) {
  auto o = allowAllWorld();
  auto r = route("r", {pathMatch("PathPrefix", "/")});
  api::HttpRouteFilter h;
  h.type = "RequestHeaderModifier";
  h.request_header_modifier =
      api::HttpHeaderFilter{{{"X-Set", "1"}}, {{"X-Add", "2"}}, {"X-Remove"}};
  api::HttpRouteFilter m;
  m.type = "RequestMirror";
  m.request_mirror = api::HttpRequestMirrorFilter{};
  m.request_mirror->backend_ref.name = "web";
  m.request_mirror->backend_ref.port = 8080;
  m.request_mirror->percent = 25;
  r.rules[0].filters = {h, m};
  r.rules[0].timeouts = api::HttpRouteTimeouts{"1m30s", "500ms"};
  r.rules[0].retry = api::HttpRouteRetry{{503, 502}, 3, "100ms"};
  o.http_routes.push_back(r);
  auto res = run(o);
  const auto& l = res.snapshot.ports[0].http_listeners[0];
  const auto& rr = l.rules[l.entries[0].rule];
  ASSERT_EQ(rr.filters.size(), 2u);
  EXPECT_EQ(rr.filters[0].type, ir::FilterType::kRequestHeaderModifier);
  EXPECT_EQ(rr.filters[0].header_modifier.remove[0], "x-remove");
  EXPECT_EQ(rr.filters[1].type, ir::FilterType::kRequestMirror);
  EXPECT_EQ(rr.filters[1].mirror.backend, "app/web:8080");
  EXPECT_EQ(rr.filters[1].mirror.numerator, 25u);
  EXPECT_EQ(rr.filters[1].mirror.denominator, 100u);
  EXPECT_EQ(rr.timeouts.request_ms, 90000u);
  EXPECT_EQ(rr.timeouts.backend_request_ms, 500u);
  EXPECT_EQ(rr.retry.attempts, 3u);
  EXPECT_EQ(rr.retry.backoff_ms, 100u);
  EXPECT_EQ(rr.retry.codes, (std::vector<uint16_t>{503, 502}));
}

TEST(Routing, HeaderNamesAreLowerCased) {
  auto o = allowAllWorld();
  api::HttpRouteMatch m = pathMatch("PathPrefix", "/");
  m.headers.push_back({"RegularExpression", "X-Version", "v[0-9]+"});
  m.query_params.push_back({"Exact", "Debug", "1"});
  o.http_routes.push_back(route("r", {m}));
  auto res = run(o);
  const auto& e = res.snapshot.ports[0].http_listeners[0].entries[0];
  EXPECT_EQ(e.match.headers[0].name, "x-version");
  EXPECT_EQ(e.match.headers[0].type, ir::ValueMatchType::kRegularExpression);
  EXPECT_EQ(e.match.query_params[0].name, "Debug");  // query names stay case-sensitive
}

// ----------------------------------------------------------------------------------------------
// Services and EndpointSlices
// ----------------------------------------------------------------------------------------------

TEST(Endpoints, SlicesMergedNotReadyExcludedNamedPortsMatched) {
  auto o = allowAllWorld();
  o.services.clear();
  o.endpoint_slices.clear();
  api::Service s = service("app", "web", {80, 443});
  s.ports[0].name = "http";
  s.ports[1].name = "https";
  o.services.push_back(s);
  // Slice 1: two endpoints, one not ready; ports named.
  api::EndpointSlice a = slice("app", "web", "web-a", {"10.0.0.1"}, 8080, "http");
  api::EndpointSliceEndpoint notready;
  notready.addresses = {"10.0.0.2"};
  notready.conditions.ready = false;
  a.endpoints.push_back(notready);
  api::EndpointSlicePort https;
  https.name = "https";
  https.port = 8443;
  a.ports.push_back(https);
  // Slice 2: ready=true explicitly, and a duplicate of 10.0.0.1.
  api::EndpointSlice b = slice("app", "web", "web-b", {"10.0.0.3", "10.0.0.1"}, 8080, "http");
  b.endpoints[0].conditions.ready = true;
  // A slice of another Service is not used.
  o.endpoint_slices = {a, b, slice("app", "other", "other-a", {"10.9.9.9"}, 8080, "http")};
  o.http_routes.push_back(httpRoute("app", "r", {parent("gw", "infra")}, {},
                                    {rule({}, {backend("web", 80), backend("web", 443)})}));
  auto res = run(o);
  const ir::Backend* http = findBackend(res.snapshot, "app/web:80");
  ASSERT_NE(http, nullptr);
  ASSERT_EQ(http->endpoints.size(), 2u);
  EXPECT_EQ(http->endpoints[0].address, "10.0.0.1");
  EXPECT_EQ(http->endpoints[0].port, 8080);
  EXPECT_EQ(http->endpoints[1].address, "10.0.0.3");
  const ir::Backend* tls = findBackend(res.snapshot, "app/web:443");
  ASSERT_NE(tls, nullptr);
  ASSERT_EQ(tls->endpoints.size(), 1u);
  EXPECT_EQ(tls->endpoints[0].port, 8443);
}

TEST(Endpoints, UnnamedServicePortMatchesUnnamedSlicePort) {
  auto o = allowAllWorld();
  o.endpoint_slices = {slice("app", "web", "web-a", {"10.0.0.7"}, 9090)};  // name nil == ""
  o.http_routes.push_back(route("r", {}));
  auto res = run(o);
  const ir::Backend* b = findBackend(res.snapshot, "app/web:8080");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->endpoints.size(), 1u);
  EXPECT_EQ(b->endpoints[0].port, 9090);
}

TEST(Endpoints, SliceWithoutPortsUsesTargetPort) {
  auto o = allowAllWorld();
  o.services[0].ports[0].target_port_number = 7070;
  o.endpoint_slices[0].ports.clear();
  o.http_routes.push_back(route("r", {}));
  auto res = run(o);
  const ir::Backend* b = findBackend(res.snapshot, "app/web:8080");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->endpoints.size(), 1u);
  EXPECT_EQ(b->endpoints[0].port, 7070);
}

TEST(Endpoints, ExternalNameResolvesToDnsName) {
  auto o = allowAllWorld();
  api::Service ext = service("app", "ext", {443});
  ext.type = "ExternalName";
  ext.external_name = "api.example.net";
  o.services.push_back(ext);
  o.http_routes.push_back(
      httpRoute("app", "r", {parent("gw", "infra")}, {}, {rule({}, {backend("ext", 443)})}));
  auto res = run(o);
  const ir::Backend* b = findBackend(res.snapshot, "app/ext:443");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->endpoints.size(), 1u);
  EXPECT_EQ(b->endpoints[0].address, "api.example.net");
  EXPECT_EQ(b->endpoints[0].port, 443);
}

TEST(Endpoints, AppProtocolMapsToIr) {
  auto o = allowAllWorld();
  api::Service s = service("app", "multi", {1, 2, 3});
  s.ports[0].app_protocol = "kubernetes.io/h2c";
  s.ports[1].app_protocol = "kubernetes.io/ws";
  s.ports[2].app_protocol = "kubernetes.io/wss";
  o.services.push_back(s);
  o.http_routes.push_back(
      httpRoute("app", "r", {parent("gw", "infra")}, {},
                {rule({}, {backend("multi", 1), backend("multi", 2), backend("multi", 3)})}));
  auto res = run(o);
  EXPECT_EQ(findBackend(res.snapshot, "app/multi:1")->app_protocol, ir::AppProtocol::kH2c);
  EXPECT_EQ(findBackend(res.snapshot, "app/multi:2")->app_protocol, ir::AppProtocol::kWebSocket);
  // GEP-1911: wss on an HTTPRoute only with a BackendTLSPolicy; without one the ref is invalid.
  EXPECT_EQ(findBackend(res.snapshot, "app/multi:3"), nullptr);
  const auto* st = findStatus(res, "HTTPRoute", "app", "r");
  ASSERT_NE(st, nullptr);
  const auto* c = findCondition(st->parents[0].conditions, "ResolvedRefs");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, "False");
  EXPECT_EQ(c->reason, "UnsupportedProtocol");
  EXPECT_NE(c->message.find("kubernetes.io/wss"), std::string::npos) << c->message;
}

TEST(Endpoints, WssWithBackendTlsPolicyIsWebSocketOverTls) {
  auto o = allowAllWorld();
  api::ConfigMap cm;
  cm.metadata = meta("app", "ca");
  cm.data["ca.crt"] = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
  o.config_maps.push_back(cm);
  api::Service s = service("app", "chat", {443});
  s.ports[0].app_protocol = "kubernetes.io/wss";
  o.services.push_back(s);
  api::BackendTlsPolicy p;
  p.metadata = meta("app", "p");
  p.target_refs = {{"", "Service", "chat", std::nullopt}};
  p.ca_certificate_refs = {{"", "ConfigMap", "ca", std::nullopt}};
  p.hostname = "chat.app.svc";
  o.backend_tls_policies.push_back(p);
  o.http_routes.push_back(
      httpRoute("app", "r", {parent("gw", "infra")}, {}, {rule({}, {backend("chat", 443)})}));
  auto res = run(o);
  const ir::Backend* b = findBackend(res.snapshot, "app/chat:443");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->app_protocol, ir::AppProtocol::kWebSocketTls);
  ASSERT_TRUE(b->tls.has_value());
  EXPECT_EQ(b->tls->sni, "chat.app.svc");
  const auto* st = findStatus(res, "HTTPRoute", "app", "r");
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(findCondition(st->parents[0].conditions, "ResolvedRefs")->status, "True");
}

TEST(Endpoints, ServiceWithNoReadyEndpointsIsStillResolved) {
  auto o = allowAllWorld();
  o.endpoint_slices[0].endpoints[0].conditions.ready = false;
  o.http_routes.push_back(route("r", {}));
  auto res = run(o);
  const ir::Backend* b = findBackend(res.snapshot, "app/web:8080");
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->endpoints.empty());
  const auto* st = findStatus(res, "HTTPRoute", "app", "r");
  EXPECT_EQ(findCondition(st->parents[0].conditions, "ResolvedRefs")->status, "True");
}

TEST(Endpoints, BackendTlsPolicyAppliesToBackend) {
  auto o = allowAllWorld();
  api::ConfigMap cm;
  cm.metadata = meta("app", "ca");
  cm.data["ca.crt"] = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
  o.config_maps.push_back(cm);
  api::BackendTlsPolicy p;
  p.metadata = meta("app", "p");
  p.target_refs = {{"", "Service", "web", std::nullopt}};
  p.ca_certificate_refs = {{"", "ConfigMap", "ca", std::nullopt}};
  p.hostname = "web.app.svc";
  o.backend_tls_policies.push_back(p);
  o.http_routes.push_back(route("r", {}));
  auto res = run(o);
  const ir::Backend* b = findBackend(res.snapshot, "app/web:8080");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->tls.has_value());
  EXPECT_EQ(b->tls->sni, "web.app.svc");
  EXPECT_EQ(b->tls->ca_pems.size(), 1u);
}

// ----------------------------------------------------------------------------------------------
// GRPCRoute and L4 routes
// ----------------------------------------------------------------------------------------------

TEST(Grpc, MethodMatchesBecomePathMatches) {
  auto o = allowAllWorld();
  api::GrpcRoute g;
  g.metadata = meta("app", "g");
  g.parent_refs = {parent("gw", "infra")};
  api::GrpcRouteRule rr;
  api::GrpcRouteMatch full, svc_only, method_only;
  full.method = api::GrpcMethodMatch{"Exact", "pkg.Svc", "Get"};
  svc_only.method = api::GrpcMethodMatch{"Exact", "pkg.Svc", std::nullopt};
  method_only.method = api::GrpcMethodMatch{"Exact", std::nullopt, "List"};
  rr.matches = {svc_only, full, method_only};
  rr.backend_refs = {backend("web", 8080)};
  g.rules.push_back(rr);
  o.grpc_routes.push_back(g);
  auto res = run(o);
  const auto& l = res.snapshot.ports[0].http_listeners[0];
  ASSERT_EQ(l.entries.size(), 3u);
  EXPECT_EQ(l.entries[0].match.path.type, ir::PathMatchType::kExact);
  EXPECT_EQ(l.entries[0].match.path.value, "/pkg.Svc/Get");
  // GRPCRoute precedence: characters in the matching service, then in the method.
  EXPECT_EQ(l.entries[1].match.path.type, ir::PathMatchType::kPathPrefix);
  EXPECT_EQ(l.entries[1].match.path.value, "/pkg.Svc");  // PathPrefix is segment-wise
  EXPECT_EQ(l.entries[2].match.path.type, ir::PathMatchType::kRegularExpression);
  EXPECT_EQ(l.entries[2].match.path.value, "/[^/]+/List");
  EXPECT_TRUE(l.rules[l.entries[0].rule].grpc);
  // gRPC backends default to HTTP/2 cleartext.
  const auto& b = l.rules[l.entries[0].rule].backends[0].backend;
  EXPECT_EQ(findBackend(res.snapshot, b)->app_protocol, ir::AppProtocol::kH2c);
}

TEST(Grpc, RegularExpressionSidesAreGrouped) {
  auto o = allowAllWorld();
  api::GrpcRoute g;
  g.metadata = meta("app", "g");
  g.parent_refs = {parent("gw", "infra")};
  api::GrpcRouteRule rr;
  api::GrpcRouteMatch both, svc_only;
  both.method = api::GrpcMethodMatch{"RegularExpression", "a\\.S|b\\.S", "Get|List"};
  svc_only.method = api::GrpcMethodMatch{"RegularExpression", "pkg\\..*", std::nullopt};
  rr.matches = {both, svc_only};
  rr.backend_refs = {backend("web", 8080)};
  g.rules.push_back(rr);
  o.grpc_routes.push_back(g);
  auto res = run(o);
  const auto& l = res.snapshot.ports[0].http_listeners[0];
  ASSERT_EQ(l.entries.size(), 2u);
  std::vector<std::string> paths = {l.entries[0].match.path.value, l.entries[1].match.path.value};
  std::sort(paths.begin(), paths.end());
  EXPECT_EQ(paths[0], "/(?:a\\.S|b\\.S)/(?:Get|List)");
  EXPECT_EQ(paths[1], "/(?:pkg\\..*)/(?:[^/]+)");
}

TEST(L4, TcpUdpAndTlsPassthroughPorts) {
  auto o = baseWorld();
  auto tls = listener("tls", "TLS", 443, "*.example.com");
  tls.tls = api::GatewayTlsConfig{"Passthrough", {}, {}};
  o.gateways[0].listeners = {listener("tcp", "TCP", 5432), listener("udp", "UDP", 53), tls};
  o.services.push_back(service("infra", "db", {5432}));
  o.services.push_back(service("infra", "db2", {5432}));
  o.services.push_back(service("infra", "dns", {53}, "UDP"));
  o.services.push_back(service("infra", "tlsb", {8443}));
  auto older = l4Route("TCPRoute", "infra", "t-old", {parent("gw", std::nullopt, "tcp")},
                       {backend("db", 5432)});
  older.metadata.creation_timestamp = "2023-01-01T00:00:00Z";
  o.l4_routes.push_back(l4Route("TCPRoute", "infra", "t-new", {parent("gw", std::nullopt, "tcp")},
                                {backend("db2", 5432)}));
  o.l4_routes.push_back(older);
  o.l4_routes.push_back(l4Route("UDPRoute", "infra", "u", {parent("gw")}, {backend("dns", 53)}));
  o.l4_routes.push_back(l4Route("TLSRoute", "infra", "t", {parent("gw")}, {backend("tlsb", 8443)},
                                {"a.example.com", "b.example.org"}));
  auto res = run(o);
  const ir::Port* tcp = findPort(res.snapshot, 5432);
  ASSERT_NE(tcp, nullptr);
  EXPECT_EQ(tcp->protocol, ir::Protocol::kTcp);
  ASSERT_EQ(tcp->l4_routes.size(), 1u);  // only the oldest TCPRoute is bound
  EXPECT_EQ(tcp->l4_routes[0].route, "TCPRoute/infra/t-old");
  EXPECT_EQ(tcp->l4_routes[0].backends[0].backend, "infra/db:5432");
  const ir::Port* udp = findPort(res.snapshot, 53);
  ASSERT_NE(udp, nullptr);
  EXPECT_EQ(udp->protocol, ir::Protocol::kUdp);
  ASSERT_EQ(udp->l4_routes.size(), 1u);
  EXPECT_EQ(udp->l4_routes[0].backends[0].backend, "infra/dns:53/udp");
  const ir::Port* t = findPort(res.snapshot, 443);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->protocol, ir::Protocol::kTlsPassthrough);
  ASSERT_EQ(t->l4_routes.size(), 1u);
  EXPECT_EQ(t->l4_routes[0].hostnames, (std::vector<std::string>{"a.example.com"}));
}

TEST(Https, CertificatesPerListenerHostname) {
  auto o = baseWorld();
  o.secrets.push_back(tlsSecret("infra", "a"));
  o.secrets.push_back(tlsSecret("infra", "b"));
  o.gateways[0].listeners = {httpsListener("a", 443, "a.example.com", {"a"}),
                             httpsListener("b", 443, std::nullopt, {"b", "missing"})};
  auto res = run(o);
  const ir::Port* p = findPort(res.snapshot, 443);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->protocol, ir::Protocol::kHttps);
  ASSERT_EQ(p->tls.size(), 2u);
  EXPECT_EQ(p->tls[0].hostname, "a.example.com");
  EXPECT_EQ(p->tls[0].certificates.size(), 1u);
  EXPECT_EQ(p->tls[1].hostname, "");
  EXPECT_EQ(p->tls[1].certificates.size(), 1u);  // the valid one of two refs is served
  const auto* gw = findStatus(res, "Gateway", "infra", "gw");
  EXPECT_EQ(findCondition(findListener(*gw, "b")->conditions, "ResolvedRefs")->reason,
            "InvalidCertificateRef");
}

TEST(Ports, ConflictedAndClashingListenersAreNotProgrammed) {
  auto o = baseWorld();
  o.gateways.push_back(gateway("infra", "gw2", {listener("http", "HTTP", 80)}));
  o.gateways.back().metadata.creation_timestamp = "2024-06-01T00:00:00Z";
  auto res = run(o);
  ASSERT_EQ(res.snapshot.ports.size(), 1u);
  ASSERT_EQ(res.snapshot.ports[0].http_listeners.size(), 1u);
  EXPECT_EQ(res.snapshot.ports[0].http_listeners[0].name, "infra/gw/http");
}

TEST(Ports, CompatibleGatewaysMergeOnOnePort) {
  auto o = baseWorld();
  o.gateways[0].listeners[0].hostname = "a.example.com";
  o.gateways.push_back(gateway("infra", "gw2", {listener("http", "HTTP", 80, "b.example.com")}));
  auto res = run(o);
  ASSERT_EQ(res.snapshot.ports.size(), 1u);
  EXPECT_EQ(res.snapshot.ports[0].http_listeners.size(), 2u);
}

// ----------------------------------------------------------------------------------------------
// Addresses
// ----------------------------------------------------------------------------------------------

TEST(Addresses, SpecAddressesAreBound) {
  auto o = baseWorld();
  o.gateways[0].addresses = {{"IPAddress", "127.0.0.5"}, {"IPAddress", "::1"}};
  auto res = run(o);
  ASSERT_EQ(res.snapshot.ports.size(), 2u);
  const auto* gw = findStatus(res, "Gateway", "infra", "gw");
  ASSERT_EQ(gw->addresses.size(), 2u);
  EXPECT_EQ(gw->addresses[0].value, "127.0.0.5");
  EXPECT_EQ(gw->addresses[1].value, "::1");
  EXPECT_NE(findPort(res.snapshot, 80, "127.0.0.5"), nullptr);
  EXPECT_NE(findPort(res.snapshot, 80, "::1"), nullptr);
}

// A listener on several addresses is on several ports: each port gets all of its routing.
TEST(Addresses, EveryAddressServesTheListenersRoutes) {
  auto o = allowAllWorld();
  o.gateways[0].addresses = {{"IPAddress", "127.0.0.5"}, {"IPAddress", "::1"}};
  o.http_routes.push_back(route("a", {pathMatch("PathPrefix", "/a")}));
  o.http_routes.push_back(route("b", {pathMatch("Exact", "/b")}));
  auto res = run(o);
  for (const char* addr : {"127.0.0.5", "::1"}) {
    const auto* p = findPort(res.snapshot, 80, addr);
    ASSERT_NE(p, nullptr) << addr;
    ASSERT_EQ(p->http_listeners.size(), 1u) << addr;
    const auto& l = p->http_listeners[0];
    ASSERT_EQ(l.entries.size(), 2u) << addr;
    ASSERT_EQ(l.rules.size(), 2u) << addr;
    EXPECT_EQ(l.entries[0].match.path.value, "/b") << addr;  // Exact before PathPrefix
    EXPECT_EQ(l.entries[1].match.path.value, "/a") << addr;
    EXPECT_EQ(l.rules[l.entries[0].rule].route, "HTTPRoute/app/b") << addr;
    EXPECT_EQ(l.rules[l.entries[1].rule].route, "HTTPRoute/app/a") << addr;
  }
}

TEST(Addresses, BindAddressWithoutPool) {
  auto o = baseWorld();
  TranslateOptions opts;
  opts.bind_address = "127.0.0.1";
  auto res = run(o, opts);
  EXPECT_EQ(findStatus(res, "Gateway", "infra", "gw")->addresses[0].value, "127.0.0.1");
  EXPECT_NE(findPort(res.snapshot, 80, "127.0.0.1"), nullptr);
}

TEST(Addresses, PoolPicksAreStableAcrossReloads) {
  auto o = baseWorld();
  o.gateways.push_back(gateway("infra", "b", {listener("http", "HTTP", 80)}));
  o.gateways.back().metadata.creation_timestamp = "2024-02-01T00:00:00Z";
  TranslateOptions opts;
  opts.address_pool = "10.5.0.0/24";
  auto first = run(o, opts);
  EXPECT_EQ(findStatus(first, "Gateway", "infra", "gw")->addresses[0].value, "10.5.0.1");
  EXPECT_EQ(findStatus(first, "Gateway", "infra", "b")->addresses[0].value, "10.5.0.2");
  // A new, older Gateway appears: existing Gateways keep their addresses.
  o.gateways.push_back(gateway("infra", "a-new", {listener("http", "HTTP", 80)}));
  o.gateways.back().metadata.creation_timestamp = "2020-01-01T00:00:00Z";
  auto second = run(o, opts, first.statuses);
  EXPECT_EQ(findStatus(second, "Gateway", "infra", "gw")->addresses[0].value, "10.5.0.1");
  EXPECT_EQ(findStatus(second, "Gateway", "infra", "b")->addresses[0].value, "10.5.0.2");
  EXPECT_EQ(findStatus(second, "Gateway", "infra", "a-new")->addresses[0].value, "10.5.0.3");
  // Each Gateway has its own address, so there is no port clash.
  EXPECT_EQ(second.snapshot.ports.size(), 3u);
}

// ----------------------------------------------------------------------------------------------
// Status bookkeeping
// ----------------------------------------------------------------------------------------------

TEST(Status, ObservedGenerationAndTransitionTimes) {
  auto o = allowAllWorld();
  o.gateways[0].metadata.generation = 7;
  o.http_routes.push_back(route("r", {}));
  o.http_routes[0].metadata.generation = 3;
  TranslateOptions opts;
  opts.now = "2025-01-01T00:00:00Z";
  auto first = run(o, opts);
  const auto* gw = findStatus(first, "Gateway", "infra", "gw");
  EXPECT_EQ(findCondition(gw->conditions, "Accepted")->observed_generation, 7);
  EXPECT_EQ(findCondition(findListener(*gw, "http")->conditions, "Accepted")->observed_generation,
            7);
  const auto* rt = findStatus(first, "HTTPRoute", "app", "r");
  EXPECT_EQ(rt->parents[0].conditions[0].observed_generation, 3);
  EXPECT_EQ(rt->parents[0].conditions[0].last_transition_time, "2025-01-01T00:00:00Z");

  // Nothing changed: times are kept.
  opts.now = "2025-02-02T00:00:00Z";
  o.http_routes[0].metadata.generation = 4;
  auto second = run(o, opts, first.statuses);
  rt = findStatus(second, "HTTPRoute", "app", "r");
  EXPECT_EQ(rt->parents[0].conditions[0].last_transition_time, "2025-01-01T00:00:00Z");
  EXPECT_EQ(rt->parents[0].conditions[0].observed_generation, 4);
  gw = findStatus(second, "Gateway", "infra", "gw");
  EXPECT_EQ(findCondition(gw->conditions, "Programmed")->last_transition_time,
            "2025-01-01T00:00:00Z");

  // The backend disappears: ResolvedRefs changes and gets the new time; Accepted keeps its own.
  o.services.clear();
  opts.now = "2025-03-03T00:00:00Z";
  auto third = run(o, opts, second.statuses);
  rt = findStatus(third, "HTTPRoute", "app", "r");
  EXPECT_EQ(findCondition(rt->parents[0].conditions, "ResolvedRefs")->last_transition_time,
            "2025-03-03T00:00:00Z");
  EXPECT_EQ(findCondition(rt->parents[0].conditions, "Accepted")->last_transition_time,
            "2025-01-01T00:00:00Z");
}

TEST(Status, ParentRefWrittenOutInFull) {
  auto o = allowAllWorld();
  o.http_routes.push_back(httpRoute("app", "r", {parent("gw", "infra", "http")}, {},
                                    {rule({}, {backend("web", 8080)})}));
  auto res = run(o);
  const auto* rt = findStatus(res, "HTTPRoute", "app", "r");
  ASSERT_EQ(rt->parents.size(), 1u);
  const auto& p = rt->parents[0];
  EXPECT_EQ(p.parent_ref.group, "gateway.networking.k8s.io");
  EXPECT_EQ(p.parent_ref.kind, "Gateway");
  EXPECT_EQ(p.parent_ref.namespace_, "infra");
  EXPECT_EQ(p.parent_ref.name, "gw");
  EXPECT_EQ(p.parent_ref.section_name, "http");
  EXPECT_EQ(p.controller_name, "gantry.io/gateway-controller");
  EXPECT_EQ(rt->api_version, "gateway.networking.k8s.io/v1");
}

TEST(Status, SupportedFeaturesAreSortedAndNonEmpty) {
  auto res = run(baseWorld());
  const auto* gc = findStatus(res, "GatewayClass", "", "gantry");
  ASSERT_NE(gc, nullptr);
  ASSERT_FALSE(gc->supported_features.empty());
  EXPECT_TRUE(std::is_sorted(gc->supported_features.begin(), gc->supported_features.end()));
  EXPECT_NE(std::find(gc->supported_features.begin(), gc->supported_features.end(), "HTTPRoute"),
            gc->supported_features.end());
}

TEST(Status, CustomControllerName) {
  auto o = baseWorld();
  o.gateway_classes[0].controller_name = "example.com/mine";
  TranslateOptions opts;
  EXPECT_EQ(findStatus(run(o, opts), "GatewayClass", "", "gantry"), nullptr);
  opts.controller_name = "example.com/mine";
  EXPECT_NE(findStatus(run(o, opts), "GatewayClass", "", "gantry"), nullptr);
}

TEST(Status, TranslationIsDeterministic) {
  auto o = allowAllWorld();
  for (int i = 0; i < 20; ++i)
    o.http_routes.push_back(
        route("r" + std::to_string(i), {pathMatch("PathPrefix", "/" + std::to_string(i % 3))}));
  auto a = run(o);
  std::reverse(o.http_routes.begin(), o.http_routes.end());
  auto b = run(o);
  EXPECT_EQ(entryList(a.snapshot.ports[0].http_listeners[0]),
            entryList(b.snapshot.ports[0].http_listeners[0]));
  ASSERT_EQ(a.statuses.size(), b.statuses.size());
  for (size_t i = 0; i < a.statuses.size(); ++i) EXPECT_EQ(a.statuses[i].name, b.statuses[i].name);
}

// ----------------------------------------------------------------------------------------------
// Scale: 10,000 HTTPRoutes over 1,000 hostnames.
// ----------------------------------------------------------------------------------------------

api::ObjectSet scaleWorld(bool listener_per_host) {
  api::ObjectSet o = baseWorld();
  o.gateways[0].listeners.clear();
  if (listener_per_host) {
    for (int h = 0; h < 1000; ++h) {
      auto l = listener("l" + std::to_string(h), "HTTP", 80,
                        "host" + std::to_string(h) + ".example.com");
      l.allowed_routes.namespaces_from = "All";
      o.gateways[0].listeners.push_back(l);
    }
  } else {
    auto l = listener("http", "HTTP", 80);
    l.allowed_routes.namespaces_from = "All";
    o.gateways[0].listeners.push_back(l);
  }
  for (int s = 0; s < 100; ++s) {
    o.services.push_back(service("app", "svc" + std::to_string(s), {8080}));
    o.endpoint_slices.push_back(slice("app", "svc" + std::to_string(s), "svc-" + std::to_string(s),
                                      {"10.1.0." + std::to_string(s)}, 8080));
  }
  for (int i = 0; i < 10000; ++i) {
    auto r = httpRoute("app", "route-" + std::to_string(i), {parent("gw", "infra")},
                       {"host" + std::to_string(i % 1000) + ".example.com"},
                       {rule({pathMatch("PathPrefix", "/p" + std::to_string(i / 1000))},
                             {backend("svc" + std::to_string(i % 100), 8080)})});
    r.metadata.creation_timestamp = "2024-01-01T00:00:00Z";
    o.http_routes.push_back(std::move(r));
  }
  return o;
}

void expectFast(bool listener_per_host) {
  auto o = scaleWorld(listener_per_host);
  // CPU time, not wall time: the machine is shared, and the target is the translator's own cost.
  const std::clock_t c0 = std::clock();
  auto res = run(o);
  const long long ms = static_cast<long long>((std::clock() - c0) * 1000.0 / CLOCKS_PER_SEC);
  size_t entries = 0;
  for (const auto& p : res.snapshot.ports)
    for (const auto& l : p.http_listeners) entries += l.entries.size();
  EXPECT_EQ(entries, 10000u);
  size_t accepted = 0;
  for (const auto& s : res.statuses)
    if (s.kind == "HTTPRoute" && s.parents.size() == 1 &&
        findCondition(s.parents[0].conditions, "Accepted")->status == "True")
      ++accepted;
  EXPECT_EQ(accepted, 10000u);
  std::printf("translate 10,000 HTTPRoutes / 1,000 hostnames (%s): %lld ms\n",
              listener_per_host ? "1,000 listeners" : "1 listener", ms);
#ifdef NDEBUG
  EXPECT_LT(ms, 1000);  // issue 3: "under 1 s" (Release measures ~0.1-0.2 s)
#else
  EXPECT_LT(ms, 10000);  // Debug/sanitizer builds: only a sanity bound
#endif
}

TEST(Scale, TenThousandRoutesOnOneListener) { expectFast(false); }
TEST(Scale, TenThousandRoutesOverThousandListeners) { expectFast(true); }

}  // namespace
}  // namespace gantry::testing

namespace gantry::testing {
namespace {

TEST(L4, TlsRoutesOrderedBySniSpecificityThenAge) {
  auto o = baseWorld();
  auto tls = listener("tls", "TLS", 443);
  tls.tls = api::GatewayTlsConfig{"Passthrough", {}, {}};
  o.gateways[0].listeners = {tls};
  o.services.push_back(service("infra", "a", {443}));
  o.services.push_back(service("infra", "b", {443}));
  auto wild =
      l4Route("TLSRoute", "infra", "wild", {parent("gw")}, {backend("a", 443)}, {"*.example.com"});
  wild.metadata.creation_timestamp = "2020-01-01T00:00:00Z";
  auto exact = l4Route("TLSRoute", "infra", "exact", {parent("gw")}, {backend("b", 443)},
                       {"x.example.com", "y.example.com"});
  auto any = l4Route("TLSRoute", "infra", "any", {parent("gw")}, {backend("a", 443)});
  any.metadata.creation_timestamp = "2019-01-01T00:00:00Z";
  o.l4_routes = {wild, any, exact};
  auto res = translate(o, controlplane::TranslateOptions{});
  const ir::Port& p = res.snapshot.ports.at(0);
  std::vector<std::string> got;
  for (const auto& r : p.l4_routes)
    got.push_back(r.route + " " + (r.hostnames.empty() ? "*" : r.hostnames[0]));
  std::vector<std::string> want = {"TLSRoute/infra/exact x.example.com",
                                   "TLSRoute/infra/exact y.example.com",
                                   "TLSRoute/infra/wild *.example.com", "TLSRoute/infra/any *"};
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace gantry::testing

namespace gantry::testing {
namespace {

TEST(Routing, ZeroWeightBackendsAreKeptWithWeightZero) {
  auto o = allowAllWorld();
  o.services.push_back(service("app", "canary", {8080}));
  o.http_routes.push_back(
      httpRoute("app", "r", {parent("gw", "infra")}, {},
                {rule({}, {backend("web", 8080, 90), backend("canary", 8080, 0)})}));
  auto res = translate(o, controlplane::TranslateOptions{});
  const auto& l = res.snapshot.ports.at(0).http_listeners.at(0);
  const auto& bs = l.rules.at(l.entries.at(0).rule).backends;
  ASSERT_EQ(bs.size(), 2u);
  EXPECT_EQ(bs[0].weight, 90u);
  EXPECT_EQ(bs[1].backend, "app/canary:8080");
  EXPECT_EQ(bs[1].weight, 0u);
}

TEST(Routing, HttpsListenerCarriesRoutesAndCertificates) {
  auto o = baseWorld();
  o.secrets.push_back(tlsSecret("infra", "cert"));
  auto l = httpsListener("https", 443, "secure.example.com", {"cert"});
  l.allowed_routes.namespaces_from = "All";
  o.gateways[0].listeners = {l};
  o.http_routes.push_back(
      httpRoute("app", "r", {parent("gw", "infra")}, {}, {rule({}, {backend("web", 8080)})}));
  auto res = translate(o, controlplane::TranslateOptions{});
  ASSERT_EQ(res.snapshot.ports.size(), 1u);
  const auto& p = res.snapshot.ports[0];
  EXPECT_EQ(p.protocol, ir::Protocol::kHttps);
  ASSERT_EQ(p.tls.size(), 1u);
  EXPECT_EQ(p.tls[0].hostname, "secure.example.com");
  ASSERT_EQ(p.http_listeners.size(), 1u);
  ASSERT_EQ(p.http_listeners[0].entries.size(), 1u);
  EXPECT_EQ(p.http_listeners[0].entries[0].hostname, "secure.example.com");
}

}  // namespace
}  // namespace gantry::testing

namespace gantry::testing {
namespace {

// Found by fuzz_translate: two files defining the same object must not yield two statuses.
TEST(Status, DuplicateObjectsGetOneStatus) {
  auto o = allowAllWorld();
  o.gateway_classes.push_back(o.gateway_classes[0]);
  o.gateways.push_back(o.gateways[0]);
  o.http_routes.push_back(httpRoute("app", "r", {parent("gw", "infra")}, {}, {rule({}, {})}));
  o.http_routes.push_back(o.http_routes[0]);
  auto res = translate(o, controlplane::TranslateOptions{});
  size_t classes = 0, gws = 0, routes = 0;
  for (const auto& s : res.statuses) {
    classes += s.kind == "GatewayClass";
    gws += s.kind == "Gateway";
    routes += s.kind == "HTTPRoute";
  }
  EXPECT_EQ(classes, 1u);
  EXPECT_EQ(gws, 1u);
  EXPECT_EQ(routes, 1u);
}

}  // namespace
}  // namespace gantry::testing
