// The IR: gantry's immutable routing snapshot, the ONLY contract between control plane and data
// plane.
//
// The control plane (controlplane/translate) resolves every piece of Gateway API inheritance --
// GatewayClass -> Gateway -> Listener -> Route -> Rule -> BackendRef, ReferenceGrants, policies,
// Service -> EndpointSlice -- into these plain structs, once. A request never walks Kubernetes
// objects. Route precedence (Gateway API "matching precedence") is decided by the translator too:
// the data plane takes the first entry that matches, in the order given here.
//
// Lifecycle: a Snapshot is built on the control thread, validated, then published as
// std::shared_ptr<const Snapshot> to every worker (server/). It is never mutated after publication.
//
// Serialised form: ir/json.h converts a Snapshot to and from JSON (stable field names, documented
// there), so that a separate proxy process (Kubernetes mode: one data plane per Gateway) can
// receive exactly what standalone mode builds in-process. Adding a field here means adding it to
// ir/json.cc and to the round-trip test (tests/unit/ir).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gantry::ir {

// ---------------------------------------------------------------------------------------------
// Backends (clusters): a resolved Service port with its ready endpoints.
// ---------------------------------------------------------------------------------------------

struct Endpoint {
  // IPv4/IPv6 literal, or a DNS name (ExternalName) resolved by the data plane.
  std::string address;
  uint16_t port = 0;
  uint32_t weight = 1;
};

enum class AppProtocol : uint8_t {
  kHttp1,         // default
  kH2c,           // kubernetes.io/h2c
  kWebSocket,     // kubernetes.io/ws
  kWebSocketTls,  // kubernetes.io/wss
  kHttp2Tls,      // h2 over TLS (BackendTLSPolicy)
};

struct Certificate {
  std::string cert_pem;  // chain
  std::string key_pem;
};

// TLS to the backend (BackendTLSPolicy).
struct BackendTls {
  std::string sni;                   // validation.hostname
  std::vector<std::string> ca_pems;  // CA bundles; empty + use_system_cas = well-known CAs
  bool use_system_cas = false;
  std::vector<std::string> subject_alt_names;  // if non-empty, one must match (else sni must)
  // Gateway spec.tls.backend.clientCertificateRef: presented when the backend asks for a client
  // certificate. Per Gateway, so a backend reached from Gateways with different certificates is
  // one ir::Backend per certificate (the translator names them apart).
  std::optional<Certificate> client_certificate;
};

struct Backend {
  std::string name;  // stable key, "<namespace>/<service>:<port>" (or any unique string)
  std::vector<Endpoint> endpoints;
  AppProtocol app_protocol = AppProtocol::kHttp1;
  std::optional<BackendTls> tls;
  uint32_t connect_timeout_ms = 5000;
};

// ---------------------------------------------------------------------------------------------
// HTTP routing.
// ---------------------------------------------------------------------------------------------

enum class PathMatchType : uint8_t { kExact, kPathPrefix, kRegularExpression };
enum class ValueMatchType : uint8_t { kExact, kRegularExpression };

struct PathMatch {
  PathMatchType type = PathMatchType::kPathPrefix;
  std::string value = "/";
};

struct HeaderMatch {
  ValueMatchType type = ValueMatchType::kExact;
  std::string name;  // lower-cased by the translator
  std::string value;
};

struct QueryParamMatch {
  ValueMatchType type = ValueMatchType::kExact;
  std::string name;  // exact, case-sensitive
  std::string value;
};

// One HTTPRouteMatch (fields ANDed). For GRPCRoute the translator turns service/method into a
// path match, so the data plane has one matcher.
struct Match {
  PathMatch path;
  std::vector<HeaderMatch> headers;
  std::vector<QueryParamMatch> query_params;
  std::string method;  // empty = any
};

struct HeaderValue {
  std::string name;
  std::string value;
};

struct HeaderModifier {
  std::vector<HeaderValue> set;
  std::vector<HeaderValue> add;
  std::vector<std::string> remove;  // lower-cased
};

enum class PathModifierType : uint8_t { kNone, kReplaceFullPath, kReplacePrefixMatch };

struct PathModifier {
  PathModifierType type = PathModifierType::kNone;
  std::string value;  // full path, or the prefix replacing the matched prefix
};

struct RequestRedirect {
  std::string scheme;    // empty = keep
  std::string hostname;  // empty = keep
  std::optional<uint16_t> port;
  PathModifier path;
  uint16_t status_code = 302;
};

struct UrlRewrite {
  std::string hostname;  // empty = keep
  PathModifier path;
};

struct RequestMirror {
  std::string backend;       // Backend::name
  uint32_t numerator = 100;  // fraction of requests mirrored: numerator / denominator
  uint32_t denominator = 100;
};

struct Cors {
  std::vector<std::string> allow_origins;  // may contain "*" and wildcard hosts "https://*.x.com"
  bool allow_credentials = false;
  std::vector<std::string> allow_methods;
  std::vector<std::string> allow_headers;
  std::vector<std::string> expose_headers;
  uint32_t max_age_seconds = 5;
};

// HTTPRoute ExternalAuth filter (HTTPExternalAuthFilter). Protocol HTTP (HTTPAuthConfig): the
// request's method, path (with `path_prefix` prepended), Host, Authorization, Content-Length and
// the allowed headers are sent to `backend`; 200 allows the request (with the allowed response
// headers copied into it), anything else is returned to the client. Protocol GRPC
// (GRPCAuthConfig, `grpc` true): an Envoy ext_authz Authorization/Check call to `backend` over
// HTTP/2 (dataplane/filters/ext_authz_grpc.h); `path_prefix` and `allowed_response_headers` are
// unused.
struct ExternalAuth {
  std::string backend;      // Backend::name; empty = unresolved reference: 500 (fail closed)
  std::string path_prefix;  // HTTPAuthConfig.path
  std::vector<std::string> allowed_request_headers;   // lower-cased; empty = only the fixed set
  std::vector<std::string> allowed_response_headers;  // lower-cased; empty = all but Host
  uint32_t forward_body_max = 0;                      // ForwardBody.maxSize; 0 = body not forwarded
  bool grpc = false;  // protocol GRPC (GRPCAuthConfig.allowedHeaders empty = every header)
};

enum class FilterType : uint8_t {
  kRequestHeaderModifier,
  kResponseHeaderModifier,
  kRequestRedirect,
  kUrlRewrite,
  kRequestMirror,
  kCors,
  kExternalAuth,
};

// A filter: `type` says which member is meaningful.
struct Filter {
  FilterType type = FilterType::kRequestHeaderModifier;
  HeaderModifier header_modifier;  // kRequestHeaderModifier / kResponseHeaderModifier
  RequestRedirect redirect;
  UrlRewrite rewrite;
  RequestMirror mirror;
  Cors cors;
  ExternalAuth ext_auth;  // kExternalAuth
};

// A weighted backendRef. An empty `backend` is an invalid reference (missing Service, refused
// cross-namespace ref, ...): the spec requires its share of requests to get HTTP 500.
struct WeightedBackend {
  std::string backend;  // Backend::name, or empty for invalid
  uint32_t weight = 1;
  std::vector<Filter> filters;  // per-backendRef filters
};

struct Timeouts {
  uint32_t request_ms = 0;          // 0 = none (HTTPRouteTimeouts.request)
  uint32_t backend_request_ms = 0;  // 0 = none (HTTPRouteTimeouts.backendRequest)
};

struct Retry {
  std::vector<uint16_t> codes;  // HTTP status codes that are retried
  uint32_t attempts = 0;        // 0 = no retry
  uint32_t backoff_ms = 0;
};

enum class SessionPersistenceType : uint8_t { kNone, kCookie, kHeader };

struct SessionPersistence {
  SessionPersistenceType type = SessionPersistenceType::kNone;
  std::string name;  // cookie or header name
  uint32_t absolute_timeout_s = 0;
  uint32_t idle_timeout_s = 0;
  bool permanent_cookie = false;
};

// One HTTPRoute/GRPCRoute rule, resolved.
struct Rule {
  std::string route;  // "<kind>/<namespace>/<name>", for logs and metrics
  uint32_t rule_index = 0;
  std::vector<Filter> filters;
  std::vector<WeightedBackend> backends;
  // When set, the rule answers with this status instead of proxying (e.g. 500 for an unsupported
  // filter or ExtensionRef, as the spec requires).
  uint16_t direct_status = 0;
  Timeouts timeouts;
  Retry retry;
  SessionPersistence session_persistence;
  bool grpc = false;  // errors are gRPC-shaped (grpc-status in trailers)
};

// One (hostname, match) -> rule pairing. Entries of a listener are in precedence order.
struct RouteEntry {
  // "" matches any host; "*.example.com" a wildcard; otherwise an exact, lower-case hostname.
  // Already the intersection of the listener's and the route's hostnames.
  std::string hostname;
  Match match;
  uint32_t rule = 0;  // index into HttpListener::rules
};

// One Gateway listener (or ListenerSet listener) of protocol HTTP or HTTPS, after merging.
struct HttpListener {
  std::string name;      // "<gateway namespace>/<gateway name>/<listener name>"
  std::string hostname;  // listener hostname: "" any, "*.x.com", or exact
  std::vector<Rule> rules;
  std::vector<RouteEntry> entries;  // precedence order: first match wins
};

// ---------------------------------------------------------------------------------------------
// TLS (frontend).
// ---------------------------------------------------------------------------------------------

struct FrontendValidation {
  std::vector<std::string> ca_pems;
  bool allow_insecure_fallback = false;
};

struct TlsConfig {
  std::string hostname;  // SNI this config serves ("" = default, "*.x.com" wildcard)
  std::vector<Certificate> certificates;
  std::optional<FrontendValidation> client_validation;
};

// ---------------------------------------------------------------------------------------------
// L4 routing (TCPRoute, UDPRoute, TLSRoute passthrough).
// ---------------------------------------------------------------------------------------------

struct L4Route {
  std::string route;                   // "<kind>/<namespace>/<name>"
  std::vector<std::string> hostnames;  // SNI match for TLS passthrough; empty = any
  std::vector<WeightedBackend> backends;
  // The listener this entry is attached to ("<gateway namespace>/<gateway name>/<listener name>")
  // and that listener's hostname ("" any, "*.x.com", exact). Entries of one listener are
  // contiguous in Port::l4_routes and listeners come most specific first: a TLS connection is
  // matched only against the entries of the first listener whose hostname matches its SNI
  // (listener isolation, as for HTTP).
  std::string listener;
  std::string listener_hostname;
};

// ---------------------------------------------------------------------------------------------
// Ports: one bound socket (address, port) and everything served on it.
// ---------------------------------------------------------------------------------------------

enum class Protocol : uint8_t { kHttp, kHttps, kTlsPassthrough, kTlsTerminate, kTcp, kUdp };

struct Port {
  std::string address = "0.0.0.0";
  uint16_t port = 0;
  Protocol protocol = Protocol::kHttp;
  // HTTP/HTTPS: listeners on this port, most specific hostname first (exact, then longer
  // wildcards, then ""). A request is matched only against the first listener whose hostname
  // matches its Host (Gateway API listener isolation).
  std::vector<HttpListener> http_listeners;
  std::vector<TlsConfig> tls;      // HTTPS / TLS terminate: certificates by SNI
  std::vector<L4Route> l4_routes;  // TCP / UDP / TLS
};

struct Snapshot {
  uint64_t version = 0;  // increases with every published snapshot
  std::vector<Port> ports;
  std::vector<Backend> backends;  // referenced by name from rules, mirrors and L4 routes
};

using SnapshotPtr = std::shared_ptr<const Snapshot>;

}  // namespace gantry::ir
