// Typed Gateway API (v1.6, standard + the experimental kinds gantry serves) and core Kubernetes
// objects, as plain structs. No I/O, no logic beyond small helpers: parsing and validation live in
// api/parse.h, semantics in controlplane/translate.
//
// Field names follow the Go types in sigs.k8s.io/gateway-api/apis/v1 (snake_case here). Optional
// fields the spec defaults are std::optional so the translator can tell "absent" from "zero" where
// the spec distinguishes them; where the CRD sets a default, the parser fills it in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gantry::api {

// Where an object came from, for error messages ("file:line, object, field").
struct SourceLocation {
  std::string file;
  int line = 0;  // 1-based line of the object's first line in the file
};

struct ObjectMeta {
  std::string name;
  std::string namespace_;  // "" for cluster-scoped kinds (GatewayClass, Namespace)
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  int64_t generation = 0;          // 0 = not given in the manifest (the provider assigns it)
  std::string creation_timestamp;  // RFC 3339; "" = not given (the provider assigns it)
  std::string uid;
  std::string resource_version;
  // Fingerprint of the object's `spec` (and, for core objects without spec, of their payload:
  // data, subsets...), computed by the parser from a canonical form. The file provider uses it to
  // bump metadata.generation when a spec changes, as the API server would.
  uint64_t spec_hash = 0;
};

// Label selector (metav1.LabelSelector).
struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
};
struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
};

// ------------------------------------------------------------------------------------------------
// References
// ------------------------------------------------------------------------------------------------

// ParentReference: group defaults to gateway.networking.k8s.io, kind to Gateway.
struct ParentReference {
  std::string group = "gateway.networking.k8s.io";
  std::string kind = "Gateway";
  std::optional<std::string> namespace_;
  std::string name;
  std::optional<std::string> section_name;
  std::optional<uint16_t> port;
};

// BackendObjectReference: group "" and kind Service by default.
struct BackendObjectReference {
  std::string group;  // "" = core
  std::string kind = "Service";
  std::string name;
  std::optional<std::string> namespace_;
  std::optional<uint16_t> port;
};

// SecretObjectReference / ObjectReference (certificateRefs, caCertificateRefs).
struct ObjectReference {
  std::string group;  // "" = core
  std::string kind = "Secret";
  std::string name;
  std::optional<std::string> namespace_;
};

// LocalPolicyTargetReferenceWithSectionName (BackendTLSPolicy.targetRefs).
struct PolicyTargetReference {
  std::string group;
  std::string kind;
  std::string name;
  std::optional<std::string> section_name;
};

// ------------------------------------------------------------------------------------------------
// GatewayClass
// ------------------------------------------------------------------------------------------------

// ParametersReference (GatewayClass.spec.parametersRef, Gateway.spec.infrastructure.parametersRef).
struct ParametersReference {
  std::string group;
  std::string kind;
  std::string name;
  std::optional<std::string> namespace_;
};

struct GatewayClass {
  ObjectMeta metadata;
  SourceLocation source;
  std::string controller_name;
  std::string description;
  std::optional<ParametersReference> parameters_ref;
};

// ------------------------------------------------------------------------------------------------
// Gateway and listeners
// ------------------------------------------------------------------------------------------------

struct RouteGroupKind {
  std::string group = "gateway.networking.k8s.io";
  std::string kind;
};

struct AllowedRoutes {
  std::string namespaces_from = "Same";  // All, Same, Selector (None for ListenerSet parents)
  std::optional<LabelSelector> namespaces_selector;
  std::vector<RouteGroupKind> kinds;  // empty = the listener protocol's defaults
};

struct GatewayTlsConfig {
  std::string mode = "Terminate";  // Terminate, Passthrough
  std::vector<ObjectReference> certificate_refs;
  std::map<std::string, std::string> options;
};

struct Listener {
  std::string name;
  std::optional<std::string> hostname;
  uint16_t port = 0;
  std::string protocol;  // HTTP, HTTPS, TLS, TCP, UDP (or a domain-prefixed custom protocol)
  std::optional<GatewayTlsConfig> tls;
  AllowedRoutes allowed_routes;
};

struct GatewayAddress {
  std::string type = "IPAddress";  // IPAddress, Hostname, or domain-prefixed
  std::string value;
};

// spec.tls.frontend (client certificate validation).
struct FrontendTlsValidation {
  std::vector<ObjectReference> ca_certificate_refs;  // kind ConfigMap or Secret
  std::string mode = "AllowValidOnly";               // AllowValidOnly, AllowInsecureFallback
};
struct FrontendTlsPerPort {
  uint16_t port = 0;
  FrontendTlsValidation validation;
};
struct GatewayFrontendTls {
  std::optional<FrontendTlsValidation> default_validation;
  std::vector<FrontendTlsPerPort> per_port;
};

struct Gateway {
  ObjectMeta metadata;
  SourceLocation source;
  std::string gateway_class_name;
  std::vector<Listener> listeners;
  std::vector<GatewayAddress> addresses;
  std::optional<GatewayFrontendTls> frontend_tls;
  // spec.allowedListeners (which ListenerSets may attach): namespaces.from None (default), Same,
  // All, Selector.
  std::string allowed_listeners_from = "None";
  std::optional<LabelSelector> allowed_listeners_selector;
  // spec.infrastructure
  std::map<std::string, std::string> infrastructure_labels;
  std::map<std::string, std::string> infrastructure_annotations;
  std::optional<ParametersReference> infrastructure_parameters_ref;
  // spec.tls.backend.clientCertificateRef (client certificate gantry presents to backends).
  std::optional<ObjectReference> backend_client_certificate_ref;
  std::optional<std::string> default_scope;  // All, None
};

// ListenerSet: listeners attached to a parent Gateway.
struct ListenerSet {
  ObjectMeta metadata;
  SourceLocation source;
  ParentReference parent_ref;  // kind Gateway
  std::vector<Listener> listeners;
};

// ------------------------------------------------------------------------------------------------
// Route building blocks (HTTPRoute / GRPCRoute)
// ------------------------------------------------------------------------------------------------

struct HttpPathMatch {
  std::string type = "PathPrefix";  // Exact, PathPrefix, RegularExpression
  std::string value = "/";
};

struct HttpHeaderMatch {
  std::string type = "Exact";  // Exact, RegularExpression
  std::string name;
  std::string value;
};

struct HttpQueryParamMatch {
  std::string type = "Exact";
  std::string name;
  std::string value;
};

struct HttpRouteMatch {
  std::optional<HttpPathMatch> path;  // defaulted to PathPrefix "/" by the CRD
  std::vector<HttpHeaderMatch> headers;
  std::vector<HttpQueryParamMatch> query_params;
  std::optional<std::string> method;
};

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpHeaderFilter {
  std::vector<HttpHeader> set;
  std::vector<HttpHeader> add;
  std::vector<std::string> remove;
};

struct HttpPathModifier {
  std::string type;  // ReplaceFullPath, ReplacePrefixMatch
  std::optional<std::string> replace_full_path;
  std::optional<std::string> replace_prefix_match;
};

struct HttpRequestRedirectFilter {
  std::optional<std::string> scheme;
  std::optional<std::string> hostname;
  std::optional<HttpPathModifier> path;
  std::optional<uint16_t> port;
  uint16_t status_code = 302;
};

struct HttpUrlRewriteFilter {
  std::optional<std::string> hostname;
  std::optional<HttpPathModifier> path;
};

struct Fraction {
  int32_t numerator = 0;
  int32_t denominator = 100;
};

struct HttpRequestMirrorFilter {
  BackendObjectReference backend_ref;
  std::optional<int32_t> percent;
  std::optional<Fraction> fraction;
};

struct HttpCorsFilter {
  std::vector<std::string> allow_origins;
  bool allow_credentials = false;
  std::vector<std::string> allow_methods;
  std::vector<std::string> allow_headers;
  std::vector<std::string> expose_headers;
  int32_t max_age = 5;
};

struct LocalObjectReference {
  std::string group;
  std::string kind;
  std::string name;
};

struct HttpExternalAuthFilter {
  std::string protocol;  // HTTP, GRPC
  BackendObjectReference backend_ref;
  std::vector<std::string> allowed_request_headers;   // http.allowedHeaders / forwarded to auth
  std::vector<std::string> allowed_response_headers;  // http.allowedResponseHeaders
  std::string path;                                   // http.path prefix
  bool forward_body = false;
  uint32_t max_body_size = 0;
};

// HTTPRouteFilter (also used for GRPCRoute filters, which are a subset).
struct HttpRouteFilter {
  std::string type;  // RequestHeaderModifier, ResponseHeaderModifier, RequestMirror,
                     // RequestRedirect, URLRewrite, CORS, ExternalAuth, ExtensionRef
  std::optional<HttpHeaderFilter> request_header_modifier;
  std::optional<HttpHeaderFilter> response_header_modifier;
  std::optional<HttpRequestMirrorFilter> request_mirror;
  std::optional<HttpRequestRedirectFilter> request_redirect;
  std::optional<HttpUrlRewriteFilter> url_rewrite;
  std::optional<HttpCorsFilter> cors;
  std::optional<HttpExternalAuthFilter> external_auth;
  std::optional<LocalObjectReference> extension_ref;
};

struct HttpBackendRef {
  BackendObjectReference ref;
  int32_t weight = 1;
  std::vector<HttpRouteFilter> filters;
};

struct HttpRouteTimeouts {
  std::optional<std::string> request;  // Gateway API Duration, e.g. "10s", "500ms"
  std::optional<std::string> backend_request;
};

struct HttpRouteRetry {
  std::vector<int32_t> codes;
  std::optional<int32_t> attempts;
  std::optional<std::string> backoff;
};

struct SessionPersistence {
  std::optional<std::string> session_name;
  std::optional<std::string> absolute_timeout;
  std::optional<std::string> idle_timeout;
  std::string type = "Cookie";                      // Cookie, Header
  std::optional<std::string> cookie_lifetime_type;  // Permanent, Session
};

struct HttpRouteRule {
  std::optional<std::string> name;
  std::vector<HttpRouteMatch> matches;  // CRD default: one match, PathPrefix "/"
  std::vector<HttpRouteFilter> filters;
  std::vector<HttpBackendRef> backend_refs;
  std::optional<HttpRouteTimeouts> timeouts;
  std::optional<HttpRouteRetry> retry;
  std::optional<SessionPersistence> session_persistence;
};

struct HttpRoute {
  ObjectMeta metadata;
  SourceLocation source;
  std::vector<ParentReference> parent_refs;
  std::vector<std::string> hostnames;
  std::vector<HttpRouteRule> rules;                 // CRD default: one rule
  std::optional<std::string> use_default_gateways;  // All, None
};

struct GrpcMethodMatch {
  std::string type = "Exact";  // Exact, RegularExpression
  std::optional<std::string> service;
  std::optional<std::string> method;
};

struct GrpcRouteMatch {
  std::optional<GrpcMethodMatch> method;
  std::vector<HttpHeaderMatch> headers;
};

struct GrpcRouteRule {
  std::optional<std::string> name;
  std::vector<GrpcRouteMatch> matches;
  std::vector<HttpRouteFilter> filters;
  std::vector<HttpBackendRef> backend_refs;
  std::optional<SessionPersistence> session_persistence;
};

struct GrpcRoute {
  ObjectMeta metadata;
  SourceLocation source;
  std::vector<ParentReference> parent_refs;
  std::vector<std::string> hostnames;
  std::vector<GrpcRouteRule> rules;
  std::optional<std::string> use_default_gateways;  // All, None
};

// TLSRoute, TCPRoute, UDPRoute share one shape (TCP/UDP have no hostnames).
struct L4RouteRule {
  std::optional<std::string> name;
  std::vector<HttpBackendRef> backend_refs;  // filters unused
};

struct L4Route {
  std::string kind;  // TLSRoute, TCPRoute, UDPRoute
  ObjectMeta metadata;
  SourceLocation source;
  std::vector<ParentReference> parent_refs;
  std::vector<std::string> hostnames;  // TLSRoute only
  std::vector<L4RouteRule> rules;
  std::optional<std::string> use_default_gateways;  // All, None
};

// ------------------------------------------------------------------------------------------------
// ReferenceGrant, BackendTLSPolicy
// ------------------------------------------------------------------------------------------------

struct ReferenceGrantFrom {
  std::string group;
  std::string kind;
  std::string namespace_;
};
struct ReferenceGrantTo {
  std::string group;
  std::string kind;
  std::optional<std::string> name;
};
struct ReferenceGrant {
  ObjectMeta metadata;
  SourceLocation source;
  std::vector<ReferenceGrantFrom> from;
  std::vector<ReferenceGrantTo> to;
};

struct SubjectAltName {
  std::string type;  // Hostname, URI
  std::string hostname;
  std::string uri;
};

struct BackendTlsPolicy {
  ObjectMeta metadata;
  SourceLocation source;
  std::vector<PolicyTargetReference> target_refs;
  std::vector<ObjectReference> ca_certificate_refs;       // kind ConfigMap (Secret extended)
  std::optional<std::string> well_known_ca_certificates;  // "System"
  std::string hostname;
  std::vector<SubjectAltName> subject_alt_names;
  std::map<std::string, std::string> options;
};

// ------------------------------------------------------------------------------------------------
// Core objects
// ------------------------------------------------------------------------------------------------

struct Namespace {
  ObjectMeta metadata;
  SourceLocation source;
};

struct ServicePort {
  std::string name;
  std::string protocol = "TCP";
  std::optional<std::string> app_protocol;
  uint16_t port = 0;
  // targetPort: a number, or a named container port (resolved through EndpointSlice port names).
  std::optional<uint16_t> target_port_number;
  std::optional<std::string> target_port_name;
};

struct Service {
  ObjectMeta metadata;
  SourceLocation source;
  std::string type = "ClusterIP";  // ClusterIP, NodePort, LoadBalancer, ExternalName
  std::string external_name;
  std::string cluster_ip;
  std::vector<ServicePort> ports;
};

struct EndpointConditions {
  std::optional<bool> ready;  // nil = ready (Kubernetes semantics)
  std::optional<bool> serving;
  std::optional<bool> terminating;
};
struct EndpointSliceEndpoint {
  std::vector<std::string> addresses;
  EndpointConditions conditions;
};
struct EndpointSlicePort {
  std::optional<std::string> name;  // nil == ""
  std::optional<uint16_t> port;
  std::string protocol = "TCP";
  std::optional<std::string> app_protocol;
};
struct EndpointSlice {
  ObjectMeta metadata;  // labels["kubernetes.io/service-name"] names the Service
  SourceLocation source;
  std::string address_type = "IPv4";
  std::vector<EndpointSliceEndpoint> endpoints;
  std::vector<EndpointSlicePort> ports;
};

struct Secret {
  ObjectMeta metadata;
  SourceLocation source;
  std::string type = "Opaque";
  std::map<std::string, std::string> data;  // already base64-decoded (stringData merged)
};

struct ConfigMap {
  ObjectMeta metadata;
  SourceLocation source;
  std::map<std::string, std::string> data;
};

// Everything a provider read, after validation. Invalid objects are not in here (they are in the
// parse errors). Order within a vector is not meaningful; the translator sorts where it matters.
struct ObjectSet {
  std::vector<GatewayClass> gateway_classes;
  std::vector<Gateway> gateways;
  std::vector<ListenerSet> listener_sets;
  std::vector<HttpRoute> http_routes;
  std::vector<GrpcRoute> grpc_routes;
  std::vector<L4Route> l4_routes;  // TLSRoute, TCPRoute, UDPRoute
  std::vector<ReferenceGrant> reference_grants;
  std::vector<BackendTlsPolicy> backend_tls_policies;
  std::vector<Namespace> namespaces;
  std::vector<Service> services;
  std::vector<EndpointSlice> endpoint_slices;
  std::vector<Secret> secrets;
  std::vector<ConfigMap> config_maps;
  // Set by a producer that guarantees at most one object per kind, namespace and name (the file
  // provider: the first definition wins). Then the translator skips its duplicate check, a hash
  // set over every object (~4% of a translation at 10,000 routes). False: checked.
  bool keys_unique = false;
};

}  // namespace gantry::api
