// Valid manifests of every kind parse to the expected structs, with the CRD defaults applied.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/parse.h"
#include "test_util.h"

namespace gantry::api {
namespace {

using testing::errorsToString;
using testing::objectCount;
using testing::parseText;

TEST(ParseKinds, GatewayClass) {
  auto r = parseText(R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: gantry
  namespace: ignored-for-cluster-scoped
  labels: {team: platform}
spec:
  controllerName: gantry.io/gateway-controller
  description: the gantry class
  parametersRef: {group: example.com, kind: Config, name: cfg, namespace: infra}
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.gateway_classes.size(), 1u);
  const auto& gc = r.objects.gateway_classes[0];
  EXPECT_EQ(gc.metadata.name, "gantry");
  EXPECT_EQ(gc.metadata.namespace_, "");
  EXPECT_EQ(gc.metadata.labels.at("team"), "platform");
  EXPECT_EQ(gc.controller_name, "gantry.io/gateway-controller");
  EXPECT_EQ(gc.description, "the gantry class");
  ASSERT_TRUE(gc.parameters_ref);
  EXPECT_EQ(gc.parameters_ref->kind, "Config");
  EXPECT_EQ(gc.parameters_ref->namespace_, "infra");
  EXPECT_EQ(gc.source.file, "test.yaml");
  EXPECT_EQ(gc.source.line, 2);
}

TEST(ParseKinds, GatewayWithDefaults) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  generation: 3
  creationTimestamp: "2024-01-02T03:04:05Z"
spec:
  gatewayClassName: gantry
  addresses:
  - value: 10.0.0.1
  - type: Hostname
    value: gw.example.com
  listeners:
  - name: http
    port: 80
    protocol: HTTP
  - name: https
    hostname: "*.example.com"
    port: 443
    protocol: HTTPS
    tls:
      certificateRefs:
      - name: cert
      - {group: "", kind: Secret, name: other, namespace: certs}
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchLabels: {shared: "true"}
          matchExpressions:
          - {key: env, operator: In, values: [prod, staging]}
      kinds:
      - kind: HTTPRoute
  - name: tls
    port: 8443
    protocol: TLS
    tls: {mode: Passthrough}
  allowedListeners:
    namespaces: {from: All}
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
      perPort:
      - port: 443
        tls:
          validation:
            caCertificateRefs: [{group: "", kind: Secret, name: ca2}]
            mode: AllowInsecureFallback
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.gateways.size(), 1u);
  const auto& gw = r.objects.gateways[0];
  EXPECT_EQ(gw.metadata.namespace_, "default");
  EXPECT_EQ(gw.metadata.generation, 3);
  EXPECT_EQ(gw.metadata.creation_timestamp, "2024-01-02T03:04:05Z");
  EXPECT_EQ(gw.gateway_class_name, "gantry");
  ASSERT_EQ(gw.addresses.size(), 2u);
  EXPECT_EQ(gw.addresses[0].type, "IPAddress");  // CRD default
  EXPECT_EQ(gw.addresses[0].value, "10.0.0.1");
  EXPECT_EQ(gw.addresses[1].type, "Hostname");
  ASSERT_EQ(gw.listeners.size(), 3u);
  const auto& http = gw.listeners[0];
  EXPECT_EQ(http.name, "http");
  EXPECT_EQ(http.port, 80);
  EXPECT_EQ(http.protocol, "HTTP");
  EXPECT_FALSE(http.hostname);
  EXPECT_FALSE(http.tls);
  EXPECT_EQ(http.allowed_routes.namespaces_from, "Same");  // CRD default
  EXPECT_TRUE(http.allowed_routes.kinds.empty());
  const auto& https = gw.listeners[1];
  EXPECT_EQ(https.hostname, "*.example.com");
  ASSERT_TRUE(https.tls);
  EXPECT_EQ(https.tls->mode, "Terminate");  // CRD default
  ASSERT_EQ(https.tls->certificate_refs.size(), 2u);
  EXPECT_EQ(https.tls->certificate_refs[0].group, "");
  EXPECT_EQ(https.tls->certificate_refs[0].kind, "Secret");
  EXPECT_EQ(https.tls->certificate_refs[0].name, "cert");
  EXPECT_FALSE(https.tls->certificate_refs[0].namespace_);
  EXPECT_EQ(https.tls->certificate_refs[1].namespace_, "certs");
  EXPECT_EQ(https.allowed_routes.namespaces_from, "Selector");
  ASSERT_TRUE(https.allowed_routes.namespaces_selector);
  EXPECT_EQ(https.allowed_routes.namespaces_selector->match_labels.at("shared"), "true");
  ASSERT_EQ(https.allowed_routes.namespaces_selector->match_expressions.size(), 1u);
  EXPECT_EQ(https.allowed_routes.namespaces_selector->match_expressions[0].op, "In");
  EXPECT_EQ(https.allowed_routes.namespaces_selector->match_expressions[0].values.size(), 2u);
  ASSERT_EQ(https.allowed_routes.kinds.size(), 1u);
  EXPECT_EQ(https.allowed_routes.kinds[0].group, "gateway.networking.k8s.io");
  EXPECT_EQ(https.allowed_routes.kinds[0].kind, "HTTPRoute");
  EXPECT_EQ(gw.listeners[2].tls->mode, "Passthrough");
  EXPECT_EQ(gw.allowed_listeners_from, "All");
  ASSERT_TRUE(gw.frontend_tls);
  ASSERT_TRUE(gw.frontend_tls->default_validation);
  EXPECT_EQ(gw.frontend_tls->default_validation->mode, "AllowValidOnly");
  EXPECT_EQ(gw.frontend_tls->default_validation->ca_certificate_refs[0].kind, "ConfigMap");
  ASSERT_EQ(gw.frontend_tls->per_port.size(), 1u);
  EXPECT_EQ(gw.frontend_tls->per_port[0].port, 443);
  EXPECT_EQ(gw.frontend_tls->per_port[0].validation.mode, "AllowInsecureFallback");
  EXPECT_NE(gw.metadata.spec_hash, 0u);
}

TEST(ParseKinds, HttpRouteDefaultsAndFields) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: team-a}
spec:
  parentRefs:
  - name: gw
    namespace: infra
    sectionName: https
  - {name: gw2, port: 8080}
  hostnames: ["example.com", "*.example.org"]
  rules:
  - name: canary
    matches:
    - path: {type: Exact, value: /exact}
      headers:
      - {name: x-env, value: canary}
      - {type: RegularExpression, name: x-id, value: "^[0-9]+$"}
      queryParams:
      - {name: q, value: "1 2"}
      method: GET
    - headers: [{name: x-only, value: "y"}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-a, value: "1"}]
        add: [{name: x-b, value: b}]
        remove: [x-c]
    - type: URLRewrite
      urlRewrite:
        hostname: internal.example.com
        path: {type: ReplaceFullPath, replaceFullPath: /new}
    backendRefs:
    - name: v1
      port: 80
      weight: 90
    - name: v2
      port: 80
      weight: 10
      filters:
      - type: ResponseHeaderModifier
        responseHeaderModifier: {set: [{name: x-v, value: "2"}]}
    timeouts: {request: 10s, backendRequest: 2s}
    retry: {codes: [500, 503], attempts: 3, backoff: 100ms}
    sessionPersistence:
      sessionName: s
      absoluteTimeout: 1h
      cookieConfig: {lifetimeType: Permanent}
  - matches:
    - path: {type: PathPrefix, value: /api}
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, port: 443, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
  - backendRefs:
    - {name: default-backend, port: 8080}
  - matches: []
    filters:
    - type: RequestMirror
      requestMirror:
        backendRef: {name: mirror, port: 80}
        fraction: {numerator: 5}
    - type: CORS
      cors:
        allowOrigins: ["https://a.example.com", "http://*.b.example.com:8080"]
        allowMethods: [GET, POST]
        allowHeaders: [x-h]
        allowCredentials: true
        maxAge: 60
    - type: ExtensionRef
      extensionRef: {group: example.com, kind: Plugin, name: p}
    - type: ExternalAuth
      externalAuth:
        protocol: HTTP
        backendRef: {name: auth, port: 9000}
        http: {path: /check, allowedHeaders: [authorization]}
        forwardBody: {maxSize: 1024}
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.http_routes.size(), 1u);
  const auto& rt = r.objects.http_routes[0];
  EXPECT_EQ(rt.metadata.namespace_, "team-a");
  ASSERT_EQ(rt.parent_refs.size(), 2u);
  EXPECT_EQ(rt.parent_refs[0].group, "gateway.networking.k8s.io");
  EXPECT_EQ(rt.parent_refs[0].kind, "Gateway");
  EXPECT_EQ(rt.parent_refs[0].namespace_, "infra");
  EXPECT_EQ(rt.parent_refs[0].section_name, "https");
  EXPECT_EQ(rt.parent_refs[1].port, 8080);
  EXPECT_EQ(rt.hostnames, (std::vector<std::string>{"example.com", "*.example.org"}));
  ASSERT_EQ(rt.rules.size(), 4u);

  const auto& r0 = rt.rules[0];
  EXPECT_EQ(r0.name, "canary");
  ASSERT_EQ(r0.matches.size(), 2u);
  EXPECT_EQ(r0.matches[0].path->type, "Exact");
  EXPECT_EQ(r0.matches[0].path->value, "/exact");
  ASSERT_EQ(r0.matches[0].headers.size(), 2u);
  EXPECT_EQ(r0.matches[0].headers[0].type, "Exact");
  EXPECT_EQ(r0.matches[0].headers[1].type, "RegularExpression");
  EXPECT_EQ(r0.matches[0].query_params[0].value, "1 2");
  EXPECT_EQ(r0.matches[0].method, "GET");
  // A match without a path gets the CRD default path.
  ASSERT_TRUE(r0.matches[1].path);
  EXPECT_EQ(r0.matches[1].path->type, "PathPrefix");
  EXPECT_EQ(r0.matches[1].path->value, "/");
  ASSERT_EQ(r0.filters.size(), 2u);
  ASSERT_TRUE(r0.filters[0].request_header_modifier);
  EXPECT_EQ(r0.filters[0].request_header_modifier->set[0].name, "x-a");
  EXPECT_EQ(r0.filters[0].request_header_modifier->add[0].value, "b");
  EXPECT_EQ(r0.filters[0].request_header_modifier->remove[0], "x-c");
  ASSERT_TRUE(r0.filters[1].url_rewrite);
  EXPECT_EQ(r0.filters[1].url_rewrite->hostname, "internal.example.com");
  EXPECT_EQ(r0.filters[1].url_rewrite->path->replace_full_path, "/new");
  ASSERT_EQ(r0.backend_refs.size(), 2u);
  EXPECT_EQ(r0.backend_refs[0].ref.group, "");
  EXPECT_EQ(r0.backend_refs[0].ref.kind, "Service");
  EXPECT_EQ(r0.backend_refs[0].ref.port, 80);
  EXPECT_EQ(r0.backend_refs[0].weight, 90);
  EXPECT_EQ(r0.backend_refs[1].filters[0].type, "ResponseHeaderModifier");
  EXPECT_EQ(r0.timeouts->request, "10s");
  EXPECT_EQ(r0.timeouts->backend_request, "2s");
  EXPECT_EQ(r0.retry->codes, (std::vector<int32_t>{500, 503}));
  EXPECT_EQ(r0.retry->attempts, 3);
  EXPECT_EQ(r0.session_persistence->type, "Cookie");
  EXPECT_EQ(r0.session_persistence->cookie_lifetime_type, "Permanent");

  const auto& r1 = rt.rules[1];
  ASSERT_TRUE(r1.filters[0].request_redirect);
  EXPECT_EQ(r1.filters[0].request_redirect->status_code, 302);  // CRD default
  EXPECT_EQ(r1.filters[0].request_redirect->scheme, "https");
  EXPECT_EQ(r1.filters[0].request_redirect->path->replace_prefix_match, "/v2");

  // A rule without matches gets the CRD default match.
  const auto& r2 = rt.rules[2];
  ASSERT_EQ(r2.matches.size(), 1u);
  EXPECT_EQ(r2.matches[0].path->type, "PathPrefix");
  EXPECT_EQ(r2.matches[0].path->value, "/");
  EXPECT_EQ(r2.backend_refs[0].weight, 1);  // CRD default

  const auto& r3 = rt.rules[3];
  ASSERT_EQ(r3.matches.size(), 1u);
  ASSERT_EQ(r3.filters.size(), 4u);
  EXPECT_EQ(r3.filters[0].request_mirror->fraction->numerator, 5);
  EXPECT_EQ(r3.filters[0].request_mirror->fraction->denominator, 100);
  EXPECT_FALSE(r3.filters[0].request_mirror->percent);
  EXPECT_EQ(r3.filters[1].cors->allow_origins.size(), 2u);
  EXPECT_TRUE(r3.filters[1].cors->allow_credentials);
  EXPECT_EQ(r3.filters[1].cors->max_age, 60);
  EXPECT_EQ(r3.filters[2].extension_ref->kind, "Plugin");
  EXPECT_EQ(r3.filters[3].external_auth->protocol, "HTTP");
  EXPECT_EQ(r3.filters[3].external_auth->path, "/check");
  EXPECT_TRUE(r3.filters[3].external_auth->forward_body);
  EXPECT_EQ(r3.filters[3].external_auth->max_body_size, 1024u);
}

TEST(ParseKinds, HttpRouteWithoutRulesGetsDefaultRule) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.http_routes.size(), 1u);
  const auto& rules = r.objects.http_routes[0].rules;
  ASSERT_EQ(rules.size(), 1u);
  ASSERT_EQ(rules[0].matches.size(), 1u);
  EXPECT_EQ(rules[0].matches[0].path->type, "PathPrefix");
  EXPECT_EQ(rules[0].matches[0].path->value, "/");
  EXPECT_TRUE(rules[0].backend_refs.empty());
}

TEST(ParseKinds, GrpcRoute) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  hostnames: [grpc.example.com]
  rules:
  - matches:
    - method: {service: helloworld.Greeter, method: SayHello}
      headers: [{name: x-h, value: "v w"}]
    - method: {type: RegularExpression, service: ".*"}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {add: [{name: x-a, value: a}]}
    backendRefs:
    - {name: grpc-svc, port: 50051, weight: 5}
  - backendRefs: [{name: other, port: 50051}]
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.grpc_routes.size(), 1u);
  const auto& g = r.objects.grpc_routes[0];
  ASSERT_EQ(g.rules.size(), 2u);
  ASSERT_EQ(g.rules[0].matches.size(), 2u);
  EXPECT_EQ(g.rules[0].matches[0].method->type, "Exact");
  EXPECT_EQ(g.rules[0].matches[0].method->service, "helloworld.Greeter");
  EXPECT_EQ(g.rules[0].matches[0].method->method, "SayHello");
  EXPECT_EQ(g.rules[0].matches[1].method->type, "RegularExpression");
  EXPECT_FALSE(g.rules[0].matches[1].method->method);
  EXPECT_EQ(g.rules[0].matches[0].headers[0].value, "v w");
  EXPECT_EQ(g.rules[0].backend_refs[0].weight, 5);
  EXPECT_TRUE(g.rules[1].matches.empty());  // no CRD default for GRPCRoute matches
}

TEST(ParseKinds, L4Routes) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: t}
spec:
  parentRefs: [{name: gw, sectionName: tls}]
  hostnames: [secure.example.com]
  rules:
  - backendRefs: [{name: s, port: 443}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {name: tcp}
spec:
  parentRefs: [{name: gw}]
  rules:
  - name: one
    backendRefs: [{name: a, port: 5432}]
  - name: two
    backendRefs: [{name: b, port: 5432, weight: 0}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: {name: udp}
spec:
  rules:
  - backendRefs: [{name: dns, port: 53}]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TLSRoute
metadata: {name: old}
spec:
  rules:
  - backendRefs: [{name: s, port: 443}]
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.l4_routes.size(), 4u);
  EXPECT_EQ(r.objects.l4_routes[0].kind, "TLSRoute");
  EXPECT_EQ(r.objects.l4_routes[0].hostnames[0], "secure.example.com");
  EXPECT_EQ(r.objects.l4_routes[0].parent_refs[0].section_name, "tls");
  EXPECT_EQ(r.objects.l4_routes[1].kind, "TCPRoute");
  ASSERT_EQ(r.objects.l4_routes[1].rules.size(), 2u);
  EXPECT_EQ(r.objects.l4_routes[1].rules[1].backend_refs[0].weight, 0);
  EXPECT_EQ(r.objects.l4_routes[2].kind, "UDPRoute");
  EXPECT_EQ(r.objects.l4_routes[2].rules[0].backend_refs[0].ref.port, 53);
  EXPECT_TRUE(r.objects.l4_routes[3].hostnames.empty());
  EXPECT_EQ(r.objects.l4_routes[3].source.line, 28);  // the apiVersion line after "---"
}

TEST(ParseKinds, ReferenceGrantAndBackendTlsPolicyAndListenerSet) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: rg, namespace: backends}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: team-a}]
  to: [{group: "", kind: Service}, {group: "", kind: Secret, name: cert}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: p}
spec:
  targetRefs:
  - {group: "", kind: Service, name: s, sectionName: https}
  - {group: "", kind: Service, name: s, sectionName: other}
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
    hostname: backend.internal
    subjectAltNames:
    - {type: Hostname, hostname: backend.internal}
    - {type: URI, uri: "spiffe://cluster/ns/default/sa/x"}
  options: {example.com/opt: "v"}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: ls, namespace: team-a}
spec:
  parentRef: {name: gw, namespace: infra}
  listeners:
  - {name: extra, port: 8081, protocol: HTTP, hostname: a.example.com}
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.reference_grants.size(), 1u);
  const auto& rg = r.objects.reference_grants[0];
  EXPECT_EQ(rg.from[0].kind, "HTTPRoute");
  EXPECT_EQ(rg.from[0].namespace_, "team-a");
  EXPECT_FALSE(rg.to[0].name);
  EXPECT_EQ(rg.to[1].name, "cert");
  ASSERT_EQ(r.objects.backend_tls_policies.size(), 1u);
  const auto& p = r.objects.backend_tls_policies[0];
  EXPECT_EQ(p.target_refs.size(), 2u);
  EXPECT_EQ(p.ca_certificate_refs[0].kind, "ConfigMap");
  EXPECT_EQ(p.hostname, "backend.internal");
  EXPECT_EQ(p.subject_alt_names[1].uri, "spiffe://cluster/ns/default/sa/x");
  EXPECT_EQ(p.options.at("example.com/opt"), "v");
  ASSERT_EQ(r.objects.listener_sets.size(), 1u);
  const auto& ls = r.objects.listener_sets[0];
  EXPECT_EQ(ls.parent_ref.kind, "Gateway");
  EXPECT_EQ(ls.parent_ref.namespace_, "infra");
  EXPECT_EQ(ls.listeners[0].hostname, "a.example.com");
}

TEST(ParseKinds, CoreObjects) {
  auto r = parseText(R"(apiVersion: v1
kind: Namespace
metadata:
  name: team-a
  labels: {shared: "true"}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: team-a}
spec:
  ports:
  - {name: http, port: 80, targetPort: 9000, appProtocol: kubernetes.io/h2c}
  - {name: grpc, port: 81, targetPort: grpc-port, protocol: TCP}
  - {name: dns, port: 53, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: api.example.com
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-abc
  namespace: team-a
  labels: {kubernetes.io/service-name: echo}
addressType: IPv4
endpoints:
- addresses: [10.0.0.1]
- addresses: [10.0.0.2]
  conditions: {ready: false, serving: true, terminating: true}
ports:
- {name: http, port: 9000, protocol: TCP}
- {port: 9001}
---
apiVersion: v1
kind: Secret
metadata: {name: cert}
type: kubernetes.io/tls
data:
  tls.crt: Y2VydA==
  tls.key: a2V5
stringData:
  extra: plain
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca}
data:
  ca.crt: "-----BEGIN CERTIFICATE-----"
binaryData:
  bin: AAEC
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.namespaces.size(), 1u);
  EXPECT_EQ(r.objects.namespaces[0].metadata.namespace_, "");
  EXPECT_EQ(r.objects.namespaces[0].metadata.labels.at("shared"), "true");
  ASSERT_EQ(r.objects.services.size(), 2u);
  const auto& svc = r.objects.services[0];
  EXPECT_EQ(svc.type, "ClusterIP");
  ASSERT_EQ(svc.ports.size(), 3u);
  EXPECT_EQ(svc.ports[0].target_port_number, 9000);
  EXPECT_EQ(svc.ports[0].app_protocol, "kubernetes.io/h2c");
  EXPECT_EQ(svc.ports[1].target_port_name, "grpc-port");
  EXPECT_FALSE(svc.ports[1].target_port_number);
  EXPECT_EQ(svc.ports[2].protocol, "UDP");
  EXPECT_EQ(svc.ports[2].target_port_number, 53);  // defaults to port
  EXPECT_EQ(r.objects.services[1].type, "ExternalName");
  EXPECT_EQ(r.objects.services[1].external_name, "api.example.com");
  EXPECT_EQ(r.objects.services[1].metadata.namespace_, "default");
  ASSERT_EQ(r.objects.endpoint_slices.size(), 1u);
  const auto& es = r.objects.endpoint_slices[0];
  EXPECT_EQ(es.metadata.labels.at("kubernetes.io/service-name"), "echo");
  ASSERT_EQ(es.endpoints.size(), 2u);
  EXPECT_FALSE(es.endpoints[0].conditions.ready);  // nil = ready
  EXPECT_EQ(es.endpoints[1].conditions.ready, false);
  EXPECT_EQ(es.endpoints[1].conditions.terminating, true);
  EXPECT_EQ(es.ports[0].name, "http");
  EXPECT_FALSE(es.ports[1].name);
  EXPECT_EQ(es.ports[1].port, 9001);
  ASSERT_EQ(r.objects.secrets.size(), 1u);
  const auto& sec = r.objects.secrets[0];
  EXPECT_EQ(sec.type, "kubernetes.io/tls");
  EXPECT_EQ(sec.data.at("tls.crt"), "cert");
  EXPECT_EQ(sec.data.at("tls.key"), "key");
  EXPECT_EQ(sec.data.at("extra"), "plain");
  ASSERT_EQ(r.objects.config_maps.size(), 1u);
  EXPECT_EQ(r.objects.config_maps[0].data.at("ca.crt"), "-----BEGIN CERTIFICATE-----");
  EXPECT_EQ(r.objects.config_maps[0].data.at("bin"), std::string("\x00\x01\x02", 3));
}

TEST(ParseKinds, SecretStringDataOverridesData) {
  auto r = parseText(R"(apiVersion: v1
kind: Secret
metadata: {name: s}
data: {k: b2xk}
stringData: {k: new}
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  EXPECT_EQ(r.objects.secrets[0].data.at("k"), "new");
  EXPECT_EQ(r.objects.secrets[0].type, "Opaque");
}

TEST(ParseKinds, ExamplesDirectoryParsesCleanly) {
  // Every checked-in example manifest (examples/**/*.yaml) is valid.
  namespace fs = std::filesystem;
  size_t files = 0;
  for (const auto& entry :
       fs::recursive_directory_iterator(std::string(GANTRY_SOURCE_DIR) + "/examples")) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".yaml" && ext != ".yml")) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    auto r = parseText(content.str(), entry.path().string());
    EXPECT_TRUE(r.errors.empty()) << errorsToString(r);
    EXPECT_GT(objectCount(r.objects), 0u) << entry.path();
    ++files;
  }
  EXPECT_GE(files, 3u);
}

}  // namespace
}  // namespace gantry::api

namespace gantry::api {
namespace {

TEST(ParseKinds, ServiceTargetPortZeroValuesDefaultToPort) {
  auto r = testing::parseText(R"(apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  ports:
  - {name: a, port: 80, targetPort: 0}
  - {name: b, port: 81, targetPort: ""}
  - {name: c, port: 82}
)");
  ASSERT_TRUE(r.errors.empty()) << testing::errorsToString(r);
  const auto& ports = r.objects.services.at(0).ports;
  EXPECT_EQ(ports[0].target_port_number, 80);
  EXPECT_EQ(ports[1].target_port_number, 81);
  EXPECT_FALSE(ports[1].target_port_name);
  EXPECT_EQ(ports[2].target_port_number, 82);
}

}  // namespace
}  // namespace gantry::api
