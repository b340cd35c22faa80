// Small builders for Gateway API objects, so that test cases read like the manifests they stand
// for. Defaults follow the CRD defaults (the parser fills those in for real manifests).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/objects.h"
#include "api/status.h"
#include "controlplane/translate/translate.h"

namespace gantry::testing {

inline constexpr const char* kController = "gantry.io/gateway-controller";

inline api::ObjectMeta meta(std::string ns, std::string name, int64_t generation = 1,
                            std::string created = "2024-01-01T00:00:00Z") {
  api::ObjectMeta m;
  m.namespace_ = std::move(ns);
  m.name = std::move(name);
  m.generation = generation;
  m.creation_timestamp = std::move(created);
  return m;
}

inline api::GatewayClass gatewayClass(std::string name, std::string controller = kController) {
  api::GatewayClass gc;
  gc.metadata = meta("", std::move(name));
  gc.controller_name = std::move(controller);
  return gc;
}

inline api::Listener listener(std::string name, std::string protocol, uint16_t port,
                              std::optional<std::string> hostname = std::nullopt) {
  api::Listener l;
  l.name = std::move(name);
  l.protocol = std::move(protocol);
  l.port = port;
  l.hostname = std::move(hostname);
  return l;
}

inline api::Listener httpsListener(std::string name, uint16_t port,
                                   std::optional<std::string> hostname,
                                   std::vector<std::string> secrets,
                                   std::optional<std::string> secret_ns = std::nullopt) {
  api::Listener l = listener(std::move(name), "HTTPS", port, std::move(hostname));
  api::GatewayTlsConfig tls;
  for (auto& s : secrets) {
    api::ObjectReference r;
    r.name = s;
    r.namespace_ = secret_ns;
    tls.certificate_refs.push_back(r);
  }
  l.tls = tls;
  return l;
}

inline api::Gateway gateway(std::string ns, std::string name, std::vector<api::Listener> ls,
                            std::string cls = "gantry") {
  api::Gateway g;
  g.metadata = meta(std::move(ns), std::move(name));
  g.gateway_class_name = std::move(cls);
  g.listeners = std::move(ls);
  return g;
}

inline api::ParentReference parent(std::string name, std::optional<std::string> ns = std::nullopt,
                                   std::optional<std::string> section = std::nullopt,
                                   std::optional<uint16_t> port = std::nullopt) {
  api::ParentReference p;
  p.name = std::move(name);
  p.namespace_ = std::move(ns);
  p.section_name = std::move(section);
  p.port = port;
  return p;
}

inline api::HttpBackendRef backend(std::string svc, uint16_t port, int32_t weight = 1,
                                   std::optional<std::string> ns = std::nullopt) {
  api::HttpBackendRef b;
  b.ref.name = std::move(svc);
  b.ref.port = port;
  b.ref.namespace_ = std::move(ns);
  b.weight = weight;
  return b;
}

inline api::HttpRouteMatch pathMatch(std::string type, std::string value) {
  api::HttpRouteMatch m;
  m.path = api::HttpPathMatch{std::move(type), std::move(value)};
  return m;
}

inline api::HttpRouteRule rule(std::vector<api::HttpRouteMatch> matches,
                               std::vector<api::HttpBackendRef> backends) {
  api::HttpRouteRule r;
  r.matches = std::move(matches);
  r.backend_refs = std::move(backends);
  return r;
}

inline api::HttpRoute httpRoute(std::string ns, std::string name,
                                std::vector<api::ParentReference> parents,
                                std::vector<std::string> hostnames,
                                std::vector<api::HttpRouteRule> rules) {
  api::HttpRoute r;
  r.metadata = meta(std::move(ns), std::move(name));
  r.parent_refs = std::move(parents);
  r.hostnames = std::move(hostnames);
  r.rules = std::move(rules);
  return r;
}

inline api::L4Route l4Route(std::string kind, std::string ns, std::string name,
                            std::vector<api::ParentReference> parents,
                            std::vector<api::HttpBackendRef> backends,
                            std::vector<std::string> hostnames = {}) {
  api::L4Route r;
  r.kind = std::move(kind);
  r.metadata = meta(std::move(ns), std::move(name));
  r.parent_refs = std::move(parents);
  r.hostnames = std::move(hostnames);
  api::L4RouteRule rr;
  rr.backend_refs = std::move(backends);
  r.rules.push_back(rr);
  return r;
}

inline api::Service service(std::string ns, std::string name, std::vector<uint16_t> ports,
                            std::string protocol = "TCP") {
  api::Service s;
  s.metadata = meta(std::move(ns), std::move(name));
  for (uint16_t p : ports) {
    api::ServicePort sp;
    sp.port = p;
    sp.protocol = protocol;
    s.ports.push_back(sp);
  }
  return s;
}

inline api::EndpointSlice slice(std::string ns, std::string svc, std::string name,
                                std::vector<std::string> addresses, uint16_t port,
                                std::optional<std::string> port_name = std::nullopt) {
  api::EndpointSlice es;
  es.metadata = meta(std::move(ns), std::move(name));
  es.metadata.labels["kubernetes.io/service-name"] = std::move(svc);
  api::EndpointSliceEndpoint ep;
  ep.addresses = std::move(addresses);
  es.endpoints.push_back(ep);
  api::EndpointSlicePort p;
  p.name = std::move(port_name);
  p.port = port;
  es.ports.push_back(p);
  return es;
}

inline api::ReferenceGrant referenceGrant(std::string ns, std::string from_kind,
                                          std::string from_ns, std::string to_kind,
                                          std::optional<std::string> to_name = std::nullopt) {
  api::ReferenceGrant g;
  g.metadata = meta(std::move(ns), "grant");
  g.from.push_back({"gateway.networking.k8s.io", std::move(from_kind), std::move(from_ns)});
  g.to.push_back({"", std::move(to_kind), std::move(to_name)});
  return g;
}

inline api::Secret tlsSecret(std::string ns, std::string name) {
  api::Secret s;
  s.metadata = meta(std::move(ns), std::move(name));
  s.type = "kubernetes.io/tls";
  s.data["tls.crt"] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  s.data["tls.key"] = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n";
  return s;
}

// A minimal world: class "gantry", Gateway infra/gw with one HTTP listener on 80, Service
// app/web:8080 with one endpoint.
inline api::ObjectSet baseWorld() {
  api::ObjectSet o;
  o.gateway_classes.push_back(gatewayClass("gantry"));
  o.gateways.push_back(gateway("infra", "gw", {listener("http", "HTTP", 80)}));
  o.services.push_back(service("app", "web", {8080}));
  o.endpoint_slices.push_back(slice("app", "web", "web-1", {"10.0.0.1"}, 8080));
  return o;
}

inline const api::ObjectStatus* findStatus(const controlplane::TranslateResult& r,
                                           std::string_view kind, std::string_view ns,
                                           std::string_view name) {
  for (const auto& s : r.statuses)
    if (s.kind == kind && s.namespace_ == ns && s.name == name) return &s;
  return nullptr;
}

inline const api::Condition* findCondition(const std::vector<api::Condition>& cs,
                                           std::string_view type) {
  for (const auto& c : cs)
    if (c.type == type) return &c;
  return nullptr;
}

inline const api::ListenerStatus* findListener(const api::ObjectStatus& s, std::string_view name) {
  for (const auto& l : s.listeners)
    if (l.name == name) return &l;
  return nullptr;
}

}  // namespace gantry::testing
