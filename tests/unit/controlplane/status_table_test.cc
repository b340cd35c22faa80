// Table-driven status tests: a manifest set in, the conditions (type, status, reason) the Gateway
// API v1.6 spec prescribes out. One case per rule; names say which rule.
#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "unit/controlplane/builders.h"

namespace gantry::testing {
namespace {

using controlplane::translate;
using controlplane::TranslateOptions;

// What to look at:
//   scope ""                  -> the object's own conditions
//   scope "listener:<name>"   -> status.listeners[name].conditions
//   scope "parent:<gw>[/<section>]" -> status.parents[] entry for that parentRef
// type "attachedRoutes" compares listeners[name].attachedRoutes with `status`.
// type "attachedListenerSets" compares the object's status.attachedListenerSets ("unset" = absent).
// type "" with status "absent" asserts that the object has no status at all.
struct Expect {
  std::string kind, ns, name, scope, type, status, reason;
};

struct Case {
  std::string name;
  std::function<void(api::ObjectSet&)> setup;
  std::vector<Expect> expects;
  TranslateOptions options = {};
};

std::string describe(const api::ObjectStatus& s) {
  std::string out = s.kind + " " + s.namespace_ + "/" + s.name + ":";
  for (const auto& c : s.conditions) out += " " + c.type + "=" + c.status + "/" + c.reason;
  for (const auto& l : s.listeners) {
    out += " [listener " + l.name + " attached=" + std::to_string(l.attached_routes);
    for (const auto& c : l.conditions) out += " " + c.type + "=" + c.status + "/" + c.reason;
    out += "]";
  }
  for (const auto& p : s.parents) {
    out += " [parent " + p.parent_ref.name + "/" + p.parent_ref.section_name.value_or("");
    for (const auto& c : p.conditions) out += " " + c.type + "=" + c.status + "/" + c.reason;
    out += "]";
  }
  return out;
}

// gtest prints a failing parameter; the case name says more than its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class StatusTable : public ::testing::TestWithParam<Case> {};

TEST_P(StatusTable, Conditions) {
  const Case& tc = GetParam();
  api::ObjectSet objs = baseWorld();
  tc.setup(objs);
  TranslateOptions opts = tc.options;
  opts.now = "2025-01-01T00:00:00Z";
  auto result = translate(objs, opts);
  for (const Expect& e : tc.expects) {
    SCOPED_TRACE(e.kind + " " + e.ns + "/" + e.name + " " + e.scope + " " + e.type);
    const api::ObjectStatus* st = findStatus(result, e.kind, e.ns, e.name);
    if (e.status == "absent") {
      EXPECT_EQ(st, nullptr) << describe(*st);
      continue;
    }
    ASSERT_NE(st, nullptr) << "no status for " << e.kind << " " << e.ns << "/" << e.name;
    const std::vector<api::Condition>* conds = &st->conditions;
    if (e.type == "attachedListenerSets") {
      EXPECT_EQ(st->attached_listener_sets ? std::to_string(*st->attached_listener_sets) : "unset",
                e.status)
          << describe(*st);
      continue;
    }
    if (e.scope.rfind("listener:", 0) == 0) {
      const api::ListenerStatus* l = findListener(*st, e.scope.substr(9));
      ASSERT_NE(l, nullptr) << describe(*st);
      if (e.type == "attachedRoutes") {
        EXPECT_EQ(std::to_string(l->attached_routes), e.status) << describe(*st);
        continue;
      }
      conds = &l->conditions;
    } else if (e.scope.rfind("parent:", 0) == 0) {
      std::string ref = e.scope.substr(7);
      std::string gw = ref.substr(0, ref.find('/'));
      std::optional<std::string> section;
      if (ref.find('/') != std::string::npos) section = ref.substr(ref.find('/') + 1);
      conds = nullptr;
      for (const auto& p : st->parents) {
        if (p.parent_ref.name == gw && p.parent_ref.section_name == section) conds = &p.conditions;
      }
      ASSERT_NE(conds, nullptr) << describe(*st);
    }
    const api::Condition* c = findCondition(*conds, e.type);
    if (e.status == "missing") {
      EXPECT_EQ(c, nullptr) << describe(*st);
      continue;
    }
    ASSERT_NE(c, nullptr) << describe(*st);
    EXPECT_EQ(c->status, e.status) << describe(*st);
    EXPECT_EQ(c->reason, e.reason) << describe(*st) << " / " << c->message;
  }
}

api::HttpRoute simpleRoute(std::string ns = "app", std::string name = "r",
                           std::vector<api::ParentReference> parents = {parent("gw", "infra")},
                           std::vector<std::string> hosts = {}) {
  return httpRoute(std::move(ns), std::move(name), std::move(parents), std::move(hosts),
                   {rule({pathMatch("PathPrefix", "/")}, {backend("web", 8080)})});
}

void allowAll(api::ObjectSet& o) {
  o.gateways[0].listeners[0].allowed_routes.namespaces_from = "All";
}

api::ListenerSet listenerSet(std::string ns, std::string name, std::vector<api::Listener> ls,
                             std::string created = "2024-01-02T00:00:00Z") {
  api::ListenerSet s;
  s.metadata = meta(std::move(ns), std::move(name), 1, std::move(created));
  s.parent_ref = parent("gw", "infra");
  s.listeners = std::move(ls);
  return s;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      // ---------------------------------------------------------------- GatewayClass
      {"GatewayClassOfOurControllerIsAccepted",
       [](api::ObjectSet&) {},
       {{"GatewayClass", "", "gantry", "", "Accepted", "True", "Accepted"}}},
      {"GatewayClassOfOtherControllerIsIgnoredEntirely",
       [](api::ObjectSet& o) {
         o.gateway_classes.push_back(gatewayClass("other", "example.com/other"));
         o.gateways.push_back(gateway("infra", "other-gw", {listener("http", "HTTP", 81)}, "other"));
         o.http_routes.push_back(simpleRoute("infra", "r", {parent("other-gw")}));
       },
       {{"GatewayClass", "", "other", "", "", "absent", ""},
        {"Gateway", "infra", "other-gw", "", "", "absent", ""},
        {"HTTPRoute", "infra", "r", "", "", "absent", ""}}},
      {"GatewayOfMissingClassIsIgnored",
       [](api::ObjectSet& o) {
         o.gateways.push_back(gateway("infra", "orphan", {listener("http", "HTTP", 81)}, "nope"));
       },
       {{"Gateway", "infra", "orphan", "", "", "absent", ""}}},

      // ---------------------------------------------------------------- Gateway and listeners
      {"GatewayClassWithParametersRefIsInvalidParameters",
       [](api::ObjectSet& o) {
         o.gateway_classes[0].parameters_ref = api::ParametersReference{"example.com", "Params", "p", std::nullopt};
       },
       {{"GatewayClass", "", "gantry", "", "Accepted", "False", "InvalidParameters"},
        {"Gateway", "infra", "gw", "", "Accepted", "False", "Invalid"},
        {"Gateway", "infra", "gw", "listener:http", "Programmed", "False", "Invalid"}}},
      {"GatewayInfrastructureParametersRefIsInvalidParameters",
       [](api::ObjectSet& o) {
         o.gateways[0].infrastructure_parameters_ref = api::ParametersReference{"invalid.io", "InvalidParameters", "invalid", std::nullopt};
       },
       {{"Gateway", "infra", "gw", "", "Accepted", "False", "InvalidParameters"},
        {"Gateway", "infra", "gw", "", "Programmed", "False", "Invalid"}}},
      {"GatewayAcceptedAndProgrammed",
       [](api::ObjectSet&) {},
       {{"Gateway", "infra", "gw", "", "attachedListenerSets", "unset", ""},
        {"Gateway", "infra", "gw", "", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "", "Programmed", "True", "Programmed"},
        {"Gateway", "infra", "gw", "", "ResolvedRefs", "True", "ResolvedRefs"},
        {"Gateway", "infra", "gw", "listener:http", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "listener:http", "Programmed", "True", "Programmed"},
        {"Gateway", "infra", "gw", "listener:http", "ResolvedRefs", "True", "ResolvedRefs"},
        {"Gateway", "infra", "gw", "listener:http", "Conflicted", "False", "NoConflicts"},
        {"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "0", ""}}},
      {"OnlyUnsupportedProtocolListeners",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners = {listener("invalid", "example.com/magic", 80)};
       },
       {{"Gateway", "infra", "gw", "", "Accepted", "False", "ListenersNotValid"},
        {"Gateway", "infra", "gw", "", "Programmed", "False", "Invalid"},
        {"Gateway", "infra", "gw", "listener:invalid", "Accepted", "False",
         "UnsupportedProtocol"}}},
      {"SupportedAndUnsupportedProtocolListeners",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners.push_back(listener("invalid", "example.com/magic", 81));
       },
       {{"Gateway", "infra", "gw", "", "Accepted", "True", "ListenersNotValid"},
        {"Gateway", "infra", "gw", "", "Programmed", "True", "Programmed"},
        {"Gateway", "infra", "gw", "listener:http", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "listener:invalid", "Accepted", "False",
         "UnsupportedProtocol"}}},
      {"SamePortDifferentProtocolIsProtocolConflict",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("infra", "cert"));
         o.gateways[0].listeners.push_back(httpsListener("https", 80, std::nullopt, {"cert"}));
       },
       {{"Gateway", "infra", "gw", "listener:http", "Conflicted", "True", "ProtocolConflict"},
        {"Gateway", "infra", "gw", "listener:http", "Accepted", "False", "ProtocolConflict"},
        {"Gateway", "infra", "gw", "listener:https", "Conflicted", "True", "ProtocolConflict"},
        {"Gateway", "infra", "gw", "listener:https", "Programmed", "False", "ProtocolConflict"},
        {"Gateway", "infra", "gw", "", "Accepted", "False", "ListenersNotValid"}}},
      {"TcpAndUdpOnSamePortDoNotConflict",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners = {listener("tcp", "TCP", 53), listener("udp", "UDP", 53)};
       },
       {{"Gateway", "infra", "gw", "listener:tcp", "Conflicted", "False", "NoConflicts"},
        {"Gateway", "infra", "gw", "listener:udp", "Conflicted", "False", "NoConflicts"},
        {"Gateway", "infra", "gw", "", "Accepted", "True", "Accepted"}}},
      {"TlsPassthroughAndTerminateOnSamePortConflict",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("infra", "cert"));
         auto pt = listener("tls-passthrough", "TLS", 443, "a.example.com");
         pt.tls = api::GatewayTlsConfig{"Passthrough", {}, {}};
         auto te = httpsListener("tls-terminate", 443, "b.example.com", {"cert"});
         te.protocol = "TLS";
         o.gateways[0].listeners = {pt, te};
       },
       {{"Gateway", "infra", "gw", "listener:tls-passthrough", "Accepted", "False",
         "ProtocolConflict"},
        {"Gateway", "infra", "gw", "listener:tls-terminate", "Accepted", "False",
         "ProtocolConflict"}}},
      {"InvalidRouteKinds",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners[0].allowed_routes.kinds = {{"gateway.networking.k8s.io", "TCPRoute"}};
         o.http_routes.push_back(simpleRoute("infra"));
       },
       {{"Gateway", "infra", "gw", "listener:http", "ResolvedRefs", "False", "InvalidRouteKinds"},
        {"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "0", ""},
        {"Gateway", "infra", "gw", "", "ResolvedRefs", "False", "ListenersNotResolved"},
        {"HTTPRoute", "infra", "r", "parent:gw", "Accepted", "False", "NotAllowedByListeners"}}},
      {"SupportedAndInvalidRouteKinds",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners[0].allowed_routes.kinds = {
             {"gateway.networking.k8s.io", "HTTPRoute"}, {"example.com", "FooRoute"}};
         o.http_routes.push_back(simpleRoute("infra"));
       },
       {{"Gateway", "infra", "gw", "listener:http", "ResolvedRefs", "False", "InvalidRouteKinds"},
        {"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "1", ""},
        {"HTTPRoute", "infra", "r", "parent:gw", "Accepted", "True", "Accepted"}}},
      {"CertificateSecretMissing",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners = {httpsListener("https", 443, std::nullopt, {"nope"})};
       },
       {{"Gateway", "infra", "gw", "listener:https", "ResolvedRefs", "False",
         "InvalidCertificateRef"},
        {"Gateway", "infra", "gw", "listener:https", "Programmed", "False", "Invalid"}}},
      {"CertificateSecretMalformed",
       [](api::ObjectSet& o) {
         auto s = tlsSecret("infra", "bad");
         s.data.erase("tls.key");
         o.secrets.push_back(s);
         o.gateways[0].listeners = {httpsListener("https", 443, std::nullopt, {"bad"})};
       },
       {{"Gateway", "infra", "gw", "listener:https", "ResolvedRefs", "False",
         "InvalidCertificateRef"}}},
      {"CertificateUnsupportedKind",
       [](api::ObjectSet& o) {
         auto l = httpsListener("https", 443, std::nullopt, {"cert"});
         l.tls->certificate_refs[0].kind = "ConfigMap";
         o.gateways[0].listeners = {l};
       },
       {{"Gateway", "infra", "gw", "listener:https", "ResolvedRefs", "False",
         "InvalidCertificateRef"}}},
      {"CrossNamespaceCertificateWithoutGrant",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("certs", "cert"));
         o.gateways[0].listeners = {httpsListener("https", 443, std::nullopt, {"cert"}, "certs")};
       },
       {{"Gateway", "infra", "gw", "listener:https", "ResolvedRefs", "False", "RefNotPermitted"}}},
      {"CrossNamespaceCertificateWithGrant",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("certs", "cert"));
         o.reference_grants.push_back(referenceGrant("certs", "Gateway", "infra", "Secret"));
         o.gateways[0].listeners = {httpsListener("https", 443, std::nullopt, {"cert"}, "certs")};
       },
       {{"Gateway", "infra", "gw", "listener:https", "ResolvedRefs", "True", "ResolvedRefs"},
        {"Gateway", "infra", "gw", "listener:https", "Programmed", "True", "Programmed"}}},
      {"ReferenceGrantForOtherSecretNameDoesNotApply",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("certs", "cert"));
         o.reference_grants.push_back(
             referenceGrant("certs", "Gateway", "infra", "Secret", std::string("other")));
         o.gateways[0].listeners = {httpsListener("https", 443, std::nullopt, {"cert"}, "certs")};
       },
       {{"Gateway", "infra", "gw", "listener:https", "ResolvedRefs", "False", "RefNotPermitted"}}},
      {"BackendClientCertificateMissing",
       [](api::ObjectSet& o) {
         api::ObjectReference r;
         r.name = "nonexistent-certificate";
         o.gateways[0].backend_client_certificate_ref = r;
       },
       {{"Gateway", "infra", "gw", "", "ResolvedRefs", "False", "InvalidClientCertificateRef"},
        {"Gateway", "infra", "gw", "", "Accepted", "True", "Accepted"}}},
      {"BackendClientCertificateUnsupportedGroup",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("infra", "cert"));
         api::ObjectReference r;
         r.group = "wrong.group.company.io";
         r.name = "cert";
         o.gateways[0].backend_client_certificate_ref = r;
       },
       {{"Gateway", "infra", "gw", "", "ResolvedRefs", "False", "InvalidClientCertificateRef"}}},
      {"BackendClientCertificateCrossNamespaceWithoutGrant",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("certs", "cert"));
         api::ObjectReference r;
         r.name = "cert";
         r.namespace_ = "certs";
         o.gateways[0].backend_client_certificate_ref = r;
       },
       {{"Gateway", "infra", "gw", "", "ResolvedRefs", "False", "RefNotPermitted"}}},
      {"BackendClientCertificateValid",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("infra", "cert"));
         api::ObjectReference r;
         r.name = "cert";
         o.gateways[0].backend_client_certificate_ref = r;
       },
       {{"Gateway", "infra", "gw", "", "ResolvedRefs", "True", "ResolvedRefs"}}},
      {"UnsupportedAddressType",
       [](api::ObjectSet& o) { o.gateways[0].addresses = {{"Hostname", "gw.example.com"}}; },
       {{"Gateway", "infra", "gw", "", "Accepted", "False", "UnsupportedAddress"}}},
      {"UnusableStaticAddress",
       [](api::ObjectSet& o) { o.gateways[0].addresses = {{"IPAddress", "300.1.1.1"}}; },
       {{"Gateway", "infra", "gw", "", "Programmed", "False", "AddressNotUsable"}}},
      {"AddressReportedUnusableByTheHost",
       [](api::ObjectSet& o) {
         o.gateways[0].addresses = {{"IPAddress", "192.0.2.10"}};
       },
       {{"Gateway", "infra", "gw", "", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "", "Programmed", "False", "AddressNotUsable"}},
       TranslateOptions{kController, "0.0.0.0", "", "", {"192.0.2.10"}, {}}},
      {"PortReportedUnbindable",
       [](api::ObjectSet& o) { o.gateways[0].listeners.push_back(listener("other", "HTTP", 81)); },
       {{"Gateway", "infra", "gw", "listener:http", "Accepted", "False", "PortUnavailable"},
        {"Gateway", "infra", "gw", "listener:other", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "", "Accepted", "True", "ListenersNotValid"}},
       TranslateOptions{kController, "0.0.0.0", "", "", {}, {{"0.0.0.0", 80}}}},
      {"AddressPoolExhausted",
       [](api::ObjectSet& o) {
         o.gateways.push_back(gateway("infra", "gw2", {listener("http", "HTTP", 80)}));
         o.gateways.back().metadata.creation_timestamp = "2024-02-01T00:00:00Z";
       },
       {{"Gateway", "infra", "gw", "", "Programmed", "True", "Programmed"},
        {"Gateway", "infra", "gw2", "", "Programmed", "False", "AddressNotAssigned"}},
       TranslateOptions{kController, "0.0.0.0", "10.1.0.7/32", "", {}, {}}},
      {"PortClashBetweenGatewaysOnSharedAddress",
       [](api::ObjectSet& o) {
         o.gateways.push_back(gateway("infra", "gw2", {listener("http", "HTTP", 80)}));
         o.gateways.back().metadata.creation_timestamp = "2024-02-01T00:00:00Z";
       },
       {{"Gateway", "infra", "gw", "listener:http", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw2", "listener:http", "Accepted", "False", "PortUnavailable"},
        {"Gateway", "infra", "gw2", "", "Accepted", "False", "ListenersNotValid"}}},
      {"GatewaysWithDistinctHostnamesShareAPort",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners[0].hostname = "a.example.com";
         o.gateways.push_back(
             gateway("infra", "gw2", {listener("http", "HTTP", 80, "b.example.com")}));
         o.gateways.back().metadata.creation_timestamp = "2024-02-01T00:00:00Z";
       },
       {{"Gateway", "infra", "gw", "listener:http", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw2", "listener:http", "Accepted", "True", "Accepted"}}},
      {"StaticAddressesAvoidClash",
       [](api::ObjectSet& o) {
         o.gateways[0].addresses = {{"IPAddress", "127.0.0.2"}};
         o.gateways.push_back(gateway("infra", "gw2", {listener("http", "HTTP", 80)}));
         o.gateways.back().addresses = {{"IPAddress", "127.0.0.3"}};
       },
       {{"Gateway", "infra", "gw2", "listener:http", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "listener:http", "Accepted", "True", "Accepted"}}},
      {"FrontendValidationWithoutValidCa",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("infra", "cert"));
         o.gateways[0].listeners = {httpsListener("https", 443, std::nullopt, {"cert"})};
         api::GatewayFrontendTls ft;
         api::FrontendTlsValidation v;
         api::ObjectReference ca;
         ca.kind = "ConfigMap";
         ca.name = "missing";
         v.ca_certificate_refs.push_back(ca);
         ft.default_validation = v;
         o.gateways[0].frontend_tls = ft;
       },
       {{"Gateway", "infra", "gw", "listener:https", "Accepted", "False", "NoValidCACertificate"},
        {"Gateway", "infra", "gw", "listener:https", "ResolvedRefs", "False",
         "InvalidCACertificateRef"}}},
      {"FrontendValidationInsecureFallback",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("infra", "cert"));
         api::ConfigMap cm;
         cm.metadata = meta("infra", "ca");
         cm.data["ca.crt"] = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
         o.config_maps.push_back(cm);
         o.gateways[0].listeners = {httpsListener("https", 443, std::nullopt, {"cert"})};
         api::GatewayFrontendTls ft;
         api::FrontendTlsValidation v;
         api::ObjectReference ca;
         ca.kind = "ConfigMap";
         ca.name = "ca";
         v.ca_certificate_refs.push_back(ca);
         v.mode = "AllowInsecureFallback";
         ft.default_validation = v;
         o.gateways[0].frontend_tls = ft;
       },
       {{"Gateway", "infra", "gw", "listener:https", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "", "InsecureFrontendValidationMode", "True",
         "ConfigurationChanged"}}},
      {"OverlappingTlsHostnames",
       [](api::ObjectSet& o) {
         o.secrets.push_back(tlsSecret("infra", "cert"));
         o.gateways[0].listeners = {
             httpsListener("a", 443, "foo.example.com", {"cert"}),
             httpsListener("b", 443, "foo.example.org", {"cert"}),
             httpsListener("c", 443, "*.example.com", {"cert"}),
         };
       },
       {{"Gateway", "infra", "gw", "listener:a", "OverlappingTLSConfig", "True",
         "OverlappingHostnames"},
        {"Gateway", "infra", "gw", "listener:c", "OverlappingTLSConfig", "True",
         "OverlappingHostnames"},
        {"Gateway", "infra", "gw", "listener:b", "OverlappingTLSConfig", "missing", ""}}},

      // ---------------------------------------------------------------- Route attachment
      {"RouteAcceptedInSameNamespace",
       [](api::ObjectSet& o) {
         o.services.push_back(service("infra", "web", {8080}));
         o.http_routes.push_back(httpRoute("infra", "r", {parent("gw")}, {},
                                           {rule({pathMatch("PathPrefix", "/")},
                                                 {backend("web", 8080)})}));
       },
       {{"HTTPRoute", "infra", "r", "parent:gw", "Accepted", "True", "Accepted"},
        {"HTTPRoute", "infra", "r", "parent:gw", "ResolvedRefs", "True", "ResolvedRefs"},
        {"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "1", ""}}},
      {"RouteInNamespaceListenerDoesNotAllowIsNotAllowedByListeners",
       [](api::ObjectSet& o) { o.http_routes.push_back(simpleRoute()); },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "False", "NotAllowedByListeners"},
        {"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "0", ""}}},
      {"AllowedRoutesAllAcceptsOtherNamespace",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(simpleRoute());
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "1", ""}}},
      {"AllowedRoutesSelectorMatchesNamespaceLabels",
       [](api::ObjectSet& o) {
         auto& ar = o.gateways[0].listeners[0].allowed_routes;
         ar.namespaces_from = "Selector";
         ar.namespaces_selector = api::LabelSelector{{{"team", "a"}}, {}};
         api::Namespace ns;
         ns.metadata = meta("", "app");
         ns.metadata.labels["team"] = "a";
         o.namespaces.push_back(ns);
         o.http_routes.push_back(simpleRoute());
         o.http_routes.push_back(simpleRoute("other", "r2"));
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "True", "Accepted"},
        {"HTTPRoute", "other", "r2", "parent:gw", "Accepted", "False", "NotAllowedByListeners"}}},
      {"SelectorOnMetadataNameWorksWithoutNamespaceObject",
       [](api::ObjectSet& o) {
         auto& ar = o.gateways[0].listeners[0].allowed_routes;
         ar.namespaces_from = "Selector";
         api::LabelSelector sel;
         sel.match_expressions.push_back({"kubernetes.io/metadata.name", "In", {"app"}});
         ar.namespaces_selector = sel;
         o.http_routes.push_back(simpleRoute());
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "True", "Accepted"}}},
      {"SectionNameNotMatchingIsNoMatchingParent",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(simpleRoute("app", "r", {parent("gw", "infra", "nope")}));
       },
       {{"HTTPRoute", "app", "r", "parent:gw/nope", "Accepted", "False", "NoMatchingParent"}}},
      {"PortNotMatchingIsNoMatchingParent",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(
             simpleRoute("app", "r", {parent("gw", "infra", std::nullopt, uint16_t{81})}));
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "False", "NoMatchingParent"}}},
      {"SectionNameAndPortMismatchIsNoMatchingParent",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(
             simpleRoute("app", "r", {parent("gw", "infra", "http", uint16_t{81})}));
       },
       {{"HTTPRoute", "app", "r", "parent:gw/http", "Accepted", "False", "NoMatchingParent"}}},
      {"ParentRefPortMatches",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(
             simpleRoute("app", "r", {parent("gw", "infra", std::nullopt, uint16_t{80})}));
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "True", "Accepted"}}},
      {"NoListenerHostnameIntersection",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.gateways[0].listeners[0].hostname = "foo.example.com";
         o.http_routes.push_back(simpleRoute("app", "r", {parent("gw", "infra")},
                                             {"bar.example.com", "*.example.net"}));
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "False", "NoMatchingListenerHostname"}}},
      {"WildcardRouteHostnameMatchesListener",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.gateways[0].listeners[0].hostname = "foo.example.com";
         o.http_routes.push_back(
             simpleRoute("app", "r", {parent("gw", "infra")}, {"*.example.com"}));
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "True", "Accepted"}}},
      {"DefaultGatewayClaimsRoutesThatAskForIt",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.gateways[0].default_scope = "All";
         auto r = simpleRoute("app", "wants-default", {});
         r.use_default_gateways = "All";
         o.http_routes.push_back(r);
         o.http_routes.push_back(simpleRoute("app", "no-parents", {}));
       },
       {{"HTTPRoute", "app", "wants-default", "parent:gw", "Accepted", "True", "Accepted"},
        {"HTTPRoute", "app", "no-parents", "", "", "absent", ""},
        {"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "1", ""}}},
      {"DefaultGatewayStillAppliesAllowedRoutes",
       [](api::ObjectSet& o) {
         o.gateways[0].default_scope = "All";
         auto r = simpleRoute("app", "wants-default", {});
         r.use_default_gateways = "All";
         o.http_routes.push_back(r);
       },
       {{"HTTPRoute", "app", "wants-default", "parent:gw", "Accepted", "False",
         "NotAllowedByListeners"}}},
      {"ParentRefToMissingGatewayWritesNoStatus",
       [](api::ObjectSet& o) { o.http_routes.push_back(simpleRoute("app", "r", {parent("nope")})); },
       {{"HTTPRoute", "app", "r", "", "", "absent", ""}}},
      {"RouteAttachedToSeveralListenersCountsOnEach",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners.push_back(listener("http2", "HTTP", 8080));
         for (auto& l : o.gateways[0].listeners) l.allowed_routes.namespaces_from = "All";
         o.http_routes.push_back(simpleRoute());
       },
       {{"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "1", ""},
        {"Gateway", "infra", "gw", "listener:http2", "attachedRoutes", "1", ""}}},

      // ---------------------------------------------------------------- Route references
      {"BackendNotFound",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(httpRoute("app", "r", {parent("gw", "infra")}, {},
                                           {rule({}, {backend("missing", 80)})}));
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "True", "Accepted"},
        {"HTTPRoute", "app", "r", "parent:gw", "ResolvedRefs", "False", "BackendNotFound"}}},
      {"BackendServicePortMissingIsBackendNotFound",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(httpRoute("app", "r", {parent("gw", "infra")}, {},
                                           {rule({}, {backend("web", 9999)})}));
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "ResolvedRefs", "False", "BackendNotFound"}}},
      {"CrossNamespaceBackendWithoutGrantIsRefNotPermitted",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(httpRoute("team", "r", {parent("gw", "infra")}, {},
                                           {rule({}, {backend("web", 8080, 1, "app")})}));
       },
       {{"HTTPRoute", "team", "r", "parent:gw", "Accepted", "True", "Accepted"},
        {"HTTPRoute", "team", "r", "parent:gw", "ResolvedRefs", "False", "RefNotPermitted"}}},
      {"CrossNamespaceBackendWithGrantResolves",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.reference_grants.push_back(referenceGrant("app", "HTTPRoute", "team", "Service"));
         o.http_routes.push_back(httpRoute("team", "r", {parent("gw", "infra")}, {},
                                           {rule({}, {backend("web", 8080, 1, "app")})}));
       },
       {{"HTTPRoute", "team", "r", "parent:gw", "ResolvedRefs", "True", "ResolvedRefs"}}},
      {"GrantForOtherRouteKindDoesNotApply",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.reference_grants.push_back(referenceGrant("app", "GRPCRoute", "team", "Service"));
         o.http_routes.push_back(httpRoute("team", "r", {parent("gw", "infra")}, {},
                                           {rule({}, {backend("web", 8080, 1, "app")})}));
       },
       {{"HTTPRoute", "team", "r", "parent:gw", "ResolvedRefs", "False", "RefNotPermitted"}}},
      {"CrossNamespaceMirrorWithoutGrantIsRefNotPermitted",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.services.push_back(service("team", "local", {80}));
         auto r = httpRoute("team", "r", {parent("gw", "infra")}, {}, {rule({}, {backend("local", 80)})});
         api::HttpRouteFilter m;
         m.type = "RequestMirror";
         m.request_mirror = api::HttpRequestMirrorFilter{};
         m.request_mirror->backend_ref = backend("web", 8080, 1, "app").ref;
         r.rules[0].filters.push_back(m);
         o.http_routes.push_back(r);
       },
       {{"HTTPRoute", "team", "r", "parent:gw", "Accepted", "True", "Accepted"},
        {"HTTPRoute", "team", "r", "parent:gw", "ResolvedRefs", "False", "RefNotPermitted"}}},
      {"RouteToListenerSetListenerByPort",
       [](api::ObjectSet& o) {
         o.gateways[0].allowed_listeners_from = "All";
         api::ListenerSet ls;
         ls.metadata = meta("app", "ls");
         ls.parent_ref = parent("gw", "infra");
         ls.listeners = {listener("a", "HTTP", 8081), listener("b", "HTTP", 8082)};
         o.listener_sets.push_back(ls);
         api::ParentReference p = parent("ls", std::nullopt, std::nullopt, uint16_t{8082});
         p.kind = "ListenerSet";
         o.http_routes.push_back(simpleRoute("app", "r", {p}));
       },
       {{"HTTPRoute", "app", "r", "parent:ls", "Accepted", "True", "Accepted"},
        {"ListenerSet", "app", "ls", "listener:a", "attachedRoutes", "0", ""},
        {"ListenerSet", "app", "ls", "listener:b", "attachedRoutes", "1", ""}}},
      {"BackendOfUnknownKindIsInvalidKind",
       [](api::ObjectSet& o) {
         allowAll(o);
         auto b = backend("web", 8080);
         b.ref.group = "example.com";
         b.ref.kind = "Bucket";
         o.http_routes.push_back(httpRoute("app", "r", {parent("gw", "infra")}, {}, {rule({}, {b})}));
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "ResolvedRefs", "False", "InvalidKind"}}},
      {"BackendWithUnknownAppProtocolIsUnsupportedProtocol",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.services[0].ports[0].app_protocol = "example.com/carrier-pigeon";
         o.http_routes.push_back(simpleRoute());
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "ResolvedRefs", "False", "UnsupportedProtocol"}}},
      {"ExtensionRefFilterIsInvalidKindButAccepted",
       [](api::ObjectSet& o) {
         allowAll(o);
         auto r = simpleRoute();
         api::HttpRouteFilter f;
         f.type = "ExtensionRef";
         f.extension_ref = api::LocalObjectReference{"example.com", "Magic", "m"};
         r.rules[0].filters.push_back(f);
         o.http_routes.push_back(r);
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "True", "Accepted"},
        {"HTTPRoute", "app", "r", "parent:gw", "ResolvedRefs", "False", "InvalidKind"}}},
      {"UnsupportedFilterTypeOnlyRuleIsUnsupportedValue",
       [](api::ObjectSet& o) {
         allowAll(o);
         auto r = simpleRoute();
         api::HttpRouteFilter f;
         f.type = "example.com/Teleport";
         r.rules[0].filters.push_back(f);
         o.http_routes.push_back(r);
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "False", "UnsupportedValue"},
        {"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "0", ""}}},
      {"UnsupportedFilterInOneOfTwoRulesIsPartiallyInvalid",
       [](api::ObjectSet& o) {
         allowAll(o);
         auto r = simpleRoute();
         r.rules.push_back(r.rules[0]);
         api::HttpRouteFilter f;
         f.type = "example.com/Teleport";
         r.rules[1].filters.push_back(f);
         o.http_routes.push_back(r);
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "True", "Accepted"},
        {"HTTPRoute", "app", "r", "parent:gw", "PartiallyInvalid", "True", "UnsupportedValue"}}},
      {"RedirectAndRewriteTogetherAreIncompatibleFilters",
       [](api::ObjectSet& o) {
         allowAll(o);
         auto r = simpleRoute();
         api::HttpRouteFilter a, b;
         a.type = "RequestRedirect";
         a.request_redirect = api::HttpRequestRedirectFilter{};
         b.type = "URLRewrite";
         b.url_rewrite = api::HttpUrlRewriteFilter{};
         r.rules[0].filters = {a, b};
         r.rules[0].backend_refs.clear();
         o.http_routes.push_back(r);
       },
       {{"HTTPRoute", "app", "r", "parent:gw", "Accepted", "False", "IncompatibleFilters"}}},

      // ---------------------------------------------------------------- Other route kinds
      {"GrpcRouteAcceptedOnHttpListener",
       [](api::ObjectSet& o) {
         allowAll(o);
         api::GrpcRoute g;
         g.metadata = meta("app", "g");
         g.parent_refs = {parent("gw", "infra")};
         api::GrpcRouteRule rr;
         rr.backend_refs = {backend("web", 8080)};
         g.rules.push_back(rr);
         o.grpc_routes.push_back(g);
       },
       {{"GRPCRoute", "app", "g", "parent:gw", "Accepted", "True", "Accepted"},
        {"GRPCRoute", "app", "g", "parent:gw", "ResolvedRefs", "True", "ResolvedRefs"}}},
      {"HttpAndGrpcRouteOnSameHostnameOldestWins",
       [](api::ObjectSet& o) {
         allowAll(o);
         auto h = simpleRoute("app", "http", {parent("gw", "infra")}, {"api.example.com"});
         h.metadata.creation_timestamp = "2024-02-01T00:00:00Z";
         o.http_routes.push_back(h);
         o.http_routes.push_back(simpleRoute("app", "http-other", {parent("gw", "infra")}, {"www.example.com"}));
         api::GrpcRoute g;
         g.metadata = meta("app", "grpc", 1, "2024-01-15T00:00:00Z");
         g.parent_refs = {parent("gw", "infra")};
         g.hostnames = {"*.example.com"};
         o.grpc_routes.push_back(g);
       },
       {{"HTTPRoute", "app", "http-other", "parent:gw", "Accepted", "True", "Accepted"},
        {"GRPCRoute", "app", "grpc", "parent:gw", "Accepted", "False", "NotAllowedByListeners"},
        {"HTTPRoute", "app", "http", "parent:gw", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "listener:http", "attachedRoutes", "2", ""}}},
      {"GrpcRouteNotInListenerKinds",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.gateways[0].listeners[0].allowed_routes.kinds = {
             {"gateway.networking.k8s.io", "HTTPRoute"}};
         api::GrpcRoute g;
         g.metadata = meta("app", "g");
         g.parent_refs = {parent("gw", "infra")};
         o.grpc_routes.push_back(g);
       },
       {{"GRPCRoute", "app", "g", "parent:gw", "Accepted", "False", "NotAllowedByListeners"}}},
      {"TcpRouteOnHttpListenerIsNotAllowedByListeners",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.l4_routes.push_back(l4Route("TCPRoute", "app", "t", {parent("gw", "infra")},
                                       {backend("web", 8080)}));
       },
       {{"TCPRoute", "app", "t", "parent:gw", "Accepted", "False", "NotAllowedByListeners"}}},
      {"TwoTcpRoutesOnOneListenerAreBothAccepted",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners = {listener("tcp", "TCP", 9000)};
         o.services.push_back(service("infra", "db", {5432}));
         o.l4_routes.push_back(l4Route("TCPRoute", "infra", "t1", {parent("gw", std::nullopt, "tcp")},
                                       {backend("db", 5432)}));
         o.l4_routes.push_back(l4Route("TCPRoute", "infra", "t2", {parent("gw", std::nullopt, "tcp")},
                                       {backend("db", 5432)}));
       },
       {{"TCPRoute", "infra", "t1", "parent:gw/tcp", "Accepted", "True", "Accepted"},
        {"TCPRoute", "infra", "t2", "parent:gw/tcp", "Accepted", "True", "Accepted"},
        {"Gateway", "infra", "gw", "listener:tcp", "attachedRoutes", "2", ""}}},
      {"UdpRouteWithMissingBackend",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners = {listener("udp", "UDP", 5300)};
         o.l4_routes.push_back(
             l4Route("UDPRoute", "infra", "u", {parent("gw")}, {backend("dns", 53)}));
       },
       {{"UDPRoute", "infra", "u", "parent:gw", "Accepted", "True", "Accepted"},
        {"UDPRoute", "infra", "u", "parent:gw", "ResolvedRefs", "False", "BackendNotFound"}}},
      {"UdpRouteNeedsUdpServicePort",
       [](api::ObjectSet& o) {
         o.gateways[0].listeners = {listener("udp", "UDP", 5300)};
         o.services.push_back(service("infra", "dns", {53}, "TCP"));
         o.l4_routes.push_back(
             l4Route("UDPRoute", "infra", "u", {parent("gw")}, {backend("dns", 53)}));
       },
       {{"UDPRoute", "infra", "u", "parent:gw", "ResolvedRefs", "False", "BackendNotFound"}}},
      {"TlsRouteHostnameMustIntersect",
       [](api::ObjectSet& o) {
         auto l = listener("tls", "TLS", 443, "*.example.com");
         l.tls = api::GatewayTlsConfig{"Passthrough", {}, {}};
         o.gateways[0].listeners = {l};
         o.services.push_back(service("infra", "tls-backend", {443}));
         o.l4_routes.push_back(l4Route("TLSRoute", "infra", "ok", {parent("gw")},
                                       {backend("tls-backend", 443)}, {"a.example.com"}));
         o.l4_routes.push_back(l4Route("TLSRoute", "infra", "bad", {parent("gw")},
                                       {backend("tls-backend", 443)}, {"a.example.org"}));
       },
       {{"TLSRoute", "infra", "ok", "parent:gw", "Accepted", "True", "Accepted"},
        {"TLSRoute", "infra", "bad", "parent:gw", "Accepted", "False",
         "NoMatchingListenerHostname"},
        {"Gateway", "infra", "gw", "listener:tls", "attachedRoutes", "1", ""}}},

      // ---------------------------------------------------------------- ListenerSet
      {"ListenerSetNotAllowedByDefault",
       [](api::ObjectSet& o) {
         o.listener_sets.push_back(listenerSet("infra", "ls", {listener("extra", "HTTP", 8081)}));
       },
       {{"ListenerSet", "infra", "ls", "", "Accepted", "False", "NotAllowed"},
        {"ListenerSet", "infra", "ls", "", "Programmed", "False", "NotAllowed"},
        {"Gateway", "infra", "gw", "", "attachedListenerSets", "0", ""}}},
      {"ListenerSetAllowedSameNamespace",
       [](api::ObjectSet& o) {
         o.gateways[0].allowed_listeners_from = "Same";
         o.listener_sets.push_back(listenerSet("infra", "ls", {listener("extra", "HTTP", 8081)}));
         o.listener_sets.push_back(listenerSet("app", "ls2", {listener("extra", "HTTP", 8082)}));
         o.services.push_back(service("infra", "web", {8080}));
         auto r = simpleRoute("infra", "via-ls", {});
         api::ParentReference p = parent("ls");
         p.kind = "ListenerSet";
         r.parent_refs = {p};
         o.http_routes.push_back(r);
         // A Gateway parentRef cannot reach a ListenerSet's listener by sectionName.
         o.http_routes.push_back(simpleRoute("infra", "via-gw", {parent("gw", std::nullopt, "extra")}));
       },
       {{"ListenerSet", "infra", "ls", "", "Accepted", "True", "Accepted"},
        {"ListenerSet", "infra", "ls", "", "Programmed", "True", "Programmed"},
        {"ListenerSet", "infra", "ls", "listener:extra", "Accepted", "True", "Accepted"},
        {"ListenerSet", "infra", "ls", "listener:extra", "attachedRoutes", "1", ""},
        {"ListenerSet", "app", "ls2", "", "Accepted", "False", "NotAllowed"},
        {"Gateway", "infra", "gw", "", "attachedListenerSets", "1", ""},
        {"HTTPRoute", "infra", "via-ls", "parent:ls", "Accepted", "True", "Accepted"},
        {"HTTPRoute", "infra", "via-gw", "parent:gw/extra", "Accepted", "False",
         "NoMatchingParent"}}},
      {"ListenerSetConflictsWithGatewayListener",
       [](api::ObjectSet& o) {
         o.gateways[0].allowed_listeners_from = "All";
         o.listener_sets.push_back(
             listenerSet("infra", "conflicted", {listener("dup", "HTTPS", 80)}));
         o.listener_sets.push_back(listenerSet(
             "infra", "partly", {listener("dup", "HTTP", 80), listener("ok", "HTTP", 8081)},
             "2024-01-03T00:00:00Z"));
       },
       {{"Gateway", "infra", "gw", "listener:http", "Accepted", "True", "Accepted"},
        {"ListenerSet", "infra", "conflicted", "listener:dup", "Conflicted", "True",
         "ProtocolConflict"},
        {"ListenerSet", "infra", "conflicted", "listener:dup", "Accepted", "False",
         "ProtocolConflict"},
        {"ListenerSet", "infra", "conflicted", "", "Accepted", "False", "ListenersNotValid"},
        {"ListenerSet", "infra", "partly", "listener:dup", "Conflicted", "True",
         "HostnameConflict"},
        {"ListenerSet", "infra", "partly", "listener:ok", "Accepted", "True", "Accepted"},
        {"ListenerSet", "infra", "partly", "", "Accepted", "True", "ListenersNotValid"},
        {"ListenerSet", "infra", "partly", "", "Programmed", "True", "Programmed"}}},
      {"ListenerSetSelector",
       [](api::ObjectSet& o) {
         o.gateways[0].allowed_listeners_from = "Selector";
         o.gateways[0].allowed_listeners_selector = api::LabelSelector{{{"ls", "yes"}}, {}};
         api::Namespace ns;
         ns.metadata = meta("", "teams");
         ns.metadata.labels["ls"] = "yes";
         o.namespaces.push_back(ns);
         o.listener_sets.push_back(listenerSet("teams", "ls", {listener("extra", "HTTP", 8081)}));
         o.listener_sets.push_back(listenerSet("app", "ls", {listener("extra", "HTTP", 8082)}));
       },
       {{"ListenerSet", "teams", "ls", "", "Accepted", "True", "Accepted"},
        {"ListenerSet", "app", "ls", "", "Accepted", "False", "NotAllowed"}}},

      // ---------------------------------------------------------------- BackendTLSPolicy
      {"BackendTlsPolicyAccepted",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(simpleRoute());
         api::ConfigMap cm;
         cm.metadata = meta("app", "ca");
         cm.data["ca.crt"] = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
         o.config_maps.push_back(cm);
         api::BackendTlsPolicy p;
         p.metadata = meta("app", "p");
         p.target_refs = {{"", "Service", "web", std::nullopt}};
         p.ca_certificate_refs = {{"", "ConfigMap", "ca", std::nullopt}};
         p.hostname = "web.app";
         o.backend_tls_policies.push_back(p);
       },
       {{"BackendTLSPolicy", "app", "p", "parent:gw", "Accepted", "True", "Accepted"},
        {"BackendTLSPolicy", "app", "p", "parent:gw", "ResolvedRefs", "True", "ResolvedRefs"}}},
      {"BackendTlsPolicyInvalidKindAndConflict",
       [](api::ObjectSet& o) {
         allowAll(o);
         o.http_routes.push_back(simpleRoute());
         api::BackendTlsPolicy p;
         p.metadata = meta("app", "p");
         p.target_refs = {{"", "Service", "web", std::nullopt}};
         p.ca_certificate_refs = {{"", "Pod", "ca", std::nullopt}};
         p.hostname = "web.app";
         o.backend_tls_policies.push_back(p);
         api::BackendTlsPolicy q = p;
         q.metadata = meta("app", "q", 1, "2024-06-01T00:00:00Z");
         q.ca_certificate_refs.clear();
         q.well_known_ca_certificates = "System";
         o.backend_tls_policies.push_back(q);
       },
       {{"BackendTLSPolicy", "app", "p", "parent:gw", "ResolvedRefs", "False", "InvalidKind"},
        {"BackendTLSPolicy", "app", "p", "parent:gw", "Accepted", "False",
         "NoValidCACertificate"},
        {"BackendTLSPolicy", "app", "q", "parent:gw", "Accepted", "False", "Conflicted"}}},
  };
  return kCases;
}

INSTANTIATE_TEST_SUITE_P(Spec, StatusTable, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace gantry::testing
