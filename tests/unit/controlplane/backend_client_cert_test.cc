// Gateway spec.tls.backend.clientCertificateRef in the IR: the certificate belongs to the Gateway,
// backends are shared by name, so a TLS backend reached from a Gateway with a valid certificate
// becomes its own ir::Backend carrying it, and only that Gateway's routes use it.
#include <gtest/gtest.h>

#include "api/parse.h"
#include "unit/controlplane/builders.h"

namespace gantry::testing {
namespace {

using controlplane::translate;
using controlplane::TranslateOptions;

constexpr const char* kManifests = R"(
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gantry}
spec: {controllerName: gantry.io/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-a, namespace: default}
spec:
  gatewayClassName: gantry
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  tls:
    backend:
      clientCertificateRef: {kind: Secret, name: client-cert}
  listeners:
    - {name: http, protocol: HTTP, port: 8080}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw-b, namespace: default}
spec:
  gatewayClassName: gantry
  addresses: [{type: IPAddress, value: 127.0.0.1}]
  listeners:
    - {name: http, protocol: HTTP, port: 8081}
---
apiVersion: v1
kind: Secret
metadata: {name: client-cert, namespace: default}
type: kubernetes.io/tls
stringData:
  tls.crt: "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n"
  tls.key: "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca, namespace: default}
data:
  ca.crt: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
---
apiVersion: v1
kind: Service
metadata: {name: secure, namespace: default}
spec:
  ports: [{name: https, port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: Service
metadata: {name: plain, namespace: default}
spec:
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: secure, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: secure}]
  validation:
    hostname: secure.internal
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw-a}, {name: gw-b}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /s}}]
      backendRefs: [{name: secure, port: 443}]
    - matches: [{path: {type: PathPrefix, value: /p}}]
      backendRefs: [{name: plain, port: 80}]
)";

api::ObjectSet parse(const std::string& yaml) {
  auto res = api::parseFiles({{"inline.yaml", yaml}});
  for (const auto& e : res.errors) ADD_FAILURE() << e.toString();
  return res.objects;
}

const ir::Backend* findBackend(const ir::Snapshot& s, const std::string& name) {
  for (const auto& b : s.backends)
    if (b.name == name) return &b;
  return nullptr;
}

// The backends the rules of the HTTP listener on `port` route to, in rule order.
std::vector<std::string> ruleBackends(const ir::Snapshot& s, uint16_t port) {
  std::vector<std::string> out;
  for (const auto& p : s.ports) {
    if (p.port != port) continue;
    for (const auto& r : p.http_listeners.at(0).rules) out.push_back(r.backends.at(0).backend);
  }
  return out;
}

TEST(BackendClientCertificate, TlsBackendOfThatGatewayCarriesTheCertificate) {
  auto res = translate(parse(kManifests), TranslateOptions{});
  const ir::Snapshot& s = res.snapshot;
  const std::string variant = "default/secure:443@client-cert:default/gw-a";
  const ir::Backend* shared = findBackend(s, "default/secure:443");
  const ir::Backend* mtls = findBackend(s, variant);
  ASSERT_NE(shared, nullptr);
  ASSERT_NE(mtls, nullptr);
  ASSERT_TRUE(shared->tls && mtls->tls);
  EXPECT_FALSE(shared->tls->client_certificate.has_value());
  ASSERT_TRUE(mtls->tls->client_certificate.has_value());
  EXPECT_NE(mtls->tls->client_certificate->cert_pem.find("CLIENT"), std::string::npos);
  EXPECT_NE(mtls->tls->client_certificate->key_pem.find("KEY"), std::string::npos);
  EXPECT_EQ(mtls->tls->sni, "secure.internal");
  EXPECT_EQ(mtls->endpoints.size(), shared->endpoints.size());
  // A backend without TLS is never duplicated.
  EXPECT_EQ(findBackend(s, "default/plain:80@client-cert:default/gw-a"), nullptr);
  EXPECT_EQ(ruleBackends(s, 8080), (std::vector<std::string>{variant, "default/plain:80"}));
  EXPECT_EQ(ruleBackends(s, 8081),
            (std::vector<std::string>{"default/secure:443", "default/plain:80"}));
}

TEST(BackendClientCertificate, InvalidReferenceSendsNoCertificate) {
  std::string yaml = kManifests;
  yaml.replace(yaml.find("name: client-cert}"), 18, "name: missing}");
  auto res = translate(parse(yaml), TranslateOptions{});
  EXPECT_EQ(ruleBackends(res.snapshot, 8080),
            (std::vector<std::string>{"default/secure:443", "default/plain:80"}));
  for (const auto& b : res.snapshot.backends) {
    ASSERT_TRUE(!b.tls || !b.tls->client_certificate) << b.name;
  }
  const auto* st = findStatus(res, "Gateway", "default", "gw-a");
  ASSERT_NE(st, nullptr);
  const auto* rr = findCondition(st->conditions, "ResolvedRefs");
  ASSERT_NE(rr, nullptr);
  EXPECT_EQ(rr->status, "False");
  EXPECT_EQ(rr->reason, "InvalidClientCertificateRef");
}

}  // namespace
}  // namespace gantry::testing
