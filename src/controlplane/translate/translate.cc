// controlplane::translate(): Gateway API objects -> IR snapshot + Kubernetes-shaped status.
//
// Pipeline (each step only reads what the previous ones decided):
//   1. GatewayClasses of our controllerName -> Accepted; every other class (and its Gateways and
//      their Routes) is ignored entirely: no status, no routing.
//   2. Gateways in precedence order (creationTimestamp, then namespace/name): addresses, listeners
//      (protocol, TLS refs, allowedRoutes kinds), ListenerSets, listener conflicts, then port
//      clashes with Gateways that bound the same (address, port) earlier.
//   3. Routes: parentRefs -> listeners (sectionName, port, kinds, namespaces, hostnames), rules ->
//      ir::Rule (backends resolved through Services and EndpointSlices, ReferenceGrants).
//   4. Listener outputs -> ir::Port per (address, port), entries sorted in the HTTPRoute matching
//      precedence; backends de-duplicated by name.
//   5. Conditions get observedGeneration and lastTransitionTime (kept from `previous` when the
//      condition's type, status and reason did not change).
//
// Performance: attachment of a route with exact hostnames looks up the listeners of its parent by
// hostname (exact, each wildcard suffix, "") instead of scanning all listeners, so 10,000 routes
// over 1,000 single-hostname listeners stay linear.
#include "controlplane/translate/translate.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "controlplane/translate/features.h"
#include "controlplane/translate/hostnames.h"
#include "controlplane/translate/trace.h"

namespace gantry::controlplane {
namespace {

constexpr std::string_view kGroup = "gateway.networking.k8s.io";
constexpr std::string_view kApiVersion = "gateway.networking.k8s.io/v1";
constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";
constexpr std::string_view kNamespaceNameLabel = "kubernetes.io/metadata.name";

std::string key(std::string_view ns, std::string_view name) {
  std::string k;
  k.reserve(ns.size() + name.size() + 1);
  k.append(ns).append("/").append(name);
  return k;
}

api::Condition makeCondition(std::string type, bool ok, std::string reason,
                             std::string message = "") {
  api::Condition c;
  c.type = std::move(type);
  c.status = ok ? "True" : "False";
  c.reason = std::move(reason);
  c.message = std::move(message);
  return c;
}

// Route precedence across routes: oldest creationTimestamp first, then "{namespace}/{name}".
template <typename Meta>
bool metaBefore(const Meta& a, const Meta& b) {
  if (a.creation_timestamp != b.creation_timestamp) {
    // "" (not yet assigned) sorts last: such an object is the newest one.
    if (a.creation_timestamp.empty()) return false;
    if (b.creation_timestamp.empty()) return true;
    return a.creation_timestamp < b.creation_timestamp;
  }
  if (a.namespace_ != b.namespace_) return a.namespace_ < b.namespace_;
  return a.name < b.name;
}

// ------------------------------------------------------------------------------------------------
// Label selectors and namespaces
// ------------------------------------------------------------------------------------------------

bool selectorMatches(const api::LabelSelector& sel, const std::map<std::string, std::string>& l) {
  for (const auto& [k, v] : sel.match_labels) {
    auto it = l.find(k);
    if (it == l.end() || it->second != v) return false;
  }
  for (const auto& req : sel.match_expressions) {
    auto it = l.find(req.key);
    const bool has = it != l.end();
    const bool in =
        has && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    if (req.op == "In") {
      if (!in) return false;
    } else if (req.op == "NotIn") {
      if (in) return false;
    } else if (req.op == "Exists") {
      if (!has) return false;
    } else if (req.op == "DoesNotExist") {
      if (has) return false;
    } else {
      return false;  // unknown operator: the API server rejects it; never match
    }
  }
  return true;
}

class Namespaces {
 public:
  explicit Namespaces(const std::vector<api::Namespace>& nss) {
    for (const auto& n : nss) labels_[n.metadata.name] = n.metadata.labels;
  }
  // A namespace without a Namespace object has only the label the API server always sets,
  // kubernetes.io/metadata.name.
  const std::map<std::string, std::string>& labels(const std::string& ns) {
    auto it = labels_.find(ns);
    if (it == labels_.end()) it = labels_.emplace(ns, std::map<std::string, std::string>{}).first;
    it->second[std::string(kNamespaceNameLabel)] = ns;
    return it->second;
  }

 private:
  std::unordered_map<std::string, std::map<std::string, std::string>> labels_;
};

// ------------------------------------------------------------------------------------------------
// ReferenceGrant
// ------------------------------------------------------------------------------------------------

class Grants {
 public:
  explicit Grants(const std::vector<api::ReferenceGrant>& grants) {
    for (const auto& g : grants) by_ns_[g.metadata.namespace_].push_back(&g);
  }
  // A reference from (fromGroup, fromKind) in fromNs to (toGroup, toKind, toName) in toNs.
  // Same-namespace references need no grant.
  bool allowed(std::string_view from_group, std::string_view from_kind, const std::string& from_ns,
               std::string_view to_group, std::string_view to_kind, const std::string& to_ns,
               const std::string& to_name) const {
    if (from_ns == to_ns) return true;
    auto it = by_ns_.find(to_ns);
    if (it == by_ns_.end()) return false;
    for (const api::ReferenceGrant* g : it->second) {
      bool from_ok = false;
      for (const auto& f : g->from) {
        if (f.group == from_group && f.kind == from_kind && f.namespace_ == from_ns) {
          from_ok = true;
          break;
        }
      }
      if (!from_ok) continue;
      for (const auto& t : g->to) {
        if (t.group == to_group && t.kind == to_kind && (!t.name || *t.name == to_name))
          return true;
      }
    }
    return false;
  }

 private:
  std::unordered_map<std::string, std::vector<const api::ReferenceGrant*>> by_ns_;
};

// ------------------------------------------------------------------------------------------------
// Durations (Gateway API Duration: ^([0-9]{1,5}(h|m|s|ms)){1,4}$)
// ------------------------------------------------------------------------------------------------

std::optional<uint64_t> parseDurationMs(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    uint64_t n = 0;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      n = n * 10 + static_cast<uint64_t>(s[i] - '0');
      ++i;
      if (++digits > 9) return std::nullopt;
    }
    if (digits == 0) return std::nullopt;
    if (s.substr(i, 2) == "ms") {
      total += n;
      i += 2;
    } else if (i < s.size() && s[i] == 'h') {
      total += n * 3600000;
      ++i;
    } else if (i < s.size() && s[i] == 'm') {
      total += n * 60000;
      ++i;
    } else if (i < s.size() && s[i] == 's') {
      total += n * 1000;
      ++i;
    } else {
      return std::nullopt;
    }
  }
  return total;
}

uint32_t clampMs(uint64_t v) { return v > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v); }

// ------------------------------------------------------------------------------------------------
// IP addresses and the address pool
// ------------------------------------------------------------------------------------------------

struct Ip {
  bool v6 = false;
  unsigned __int128 value = 0;
};

std::optional<Ip> parseIp(const std::string& s) {
  Ip ip;
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
    ip.value = ntohl(a4.s_addr);
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
    ip.v6 = true;
    for (int i = 0; i < 16; ++i) ip.value = (ip.value << 8) | a6.s6_addr[i];
    return ip;
  }
  return std::nullopt;
}

std::string formatIp(const Ip& ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (!ip.v6) {
    in_addr a4{};
    a4.s_addr = htonl(static_cast<uint32_t>(ip.value));
    inet_ntop(AF_INET, &a4, buf, sizeof(buf));
  } else {
    in6_addr a6{};
    unsigned __int128 v = ip.value;
    for (int i = 15; i >= 0; --i) {
      a6.s6_addr[i] = static_cast<uint8_t>(v & 0xff);
      v >>= 8;
    }
    inet_ntop(AF_INET6, &a6, buf, sizeof(buf));
  }
  return buf;
}

struct Pool {
  bool v6 = false;
  unsigned __int128 first = 0;  // first usable
  unsigned __int128 last = 0;   // last usable
  bool contains(const Ip& ip) const { return ip.v6 == v6 && ip.value >= first && ip.value <= last; }
};

std::optional<Pool> parsePool(const std::string& cidr) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto base = parseIp(cidr.substr(0, slash));
  if (!base) return std::nullopt;
  int bits = 0;
  try {
    bits = std::stoi(cidr.substr(slash + 1));
  } catch (...) {
    return std::nullopt;
  }
  const int width = base->v6 ? 128 : 32;
  if (bits < 0 || bits > width) return std::nullopt;
  const int host_bits = width - bits;
  unsigned __int128 size = host_bits >= 128 ? ~static_cast<unsigned __int128>(0)
                                            : (static_cast<unsigned __int128>(1) << host_bits);
  unsigned __int128 mask = host_bits >= 128 ? 0 : ~(size - 1);
  Pool p;
  p.v6 = base->v6;
  p.first = base->value & mask;
  p.last = p.first + (size - 1);
  // IPv4 subnets larger than /31 reserve the network and broadcast addresses.
  if (!p.v6 && host_bits >= 2) {
    p.first += 1;
    p.last -= 1;
  }
  return p;
}

bool isWildcardAddress(const std::string& a) { return a.empty() || a == "0.0.0.0" || a == "::"; }

// ------------------------------------------------------------------------------------------------
// Listeners
// ------------------------------------------------------------------------------------------------

enum class PClass { kHttp, kHttps, kTlsPassthrough, kTlsTerminate, kTcp, kUdp, kUnsupported };

PClass protocolClass(const api::Listener& l) {
  if (l.protocol == "HTTP") return PClass::kHttp;
  if (l.protocol == "HTTPS") return PClass::kHttps;
  if (l.protocol == "TLS") {
    if (l.tls && l.tls->mode == "Terminate") return PClass::kTlsTerminate;
    return PClass::kTlsPassthrough;
  }
  if (l.protocol == "TCP") return PClass::kTcp;
  if (l.protocol == "UDP") return PClass::kUdp;
  return PClass::kUnsupported;
}

bool isUdp(PClass c) { return c == PClass::kUdp; }
bool usesHostname(PClass c) {
  return c == PClass::kHttp || c == PClass::kHttps || c == PClass::kTlsPassthrough ||
         c == PClass::kTlsTerminate;
}

// Route kinds a listener of this protocol serves (status.listeners[].supportedKinds defaults).
std::vector<std::string> defaultKinds(PClass c) {
  switch (c) {
    case PClass::kHttp:
    case PClass::kHttps:
      return {"HTTPRoute", "GRPCRoute"};
    case PClass::kTlsPassthrough:
    case PClass::kTlsTerminate:
      return {"TLSRoute"};
    case PClass::kTcp:
      return {"TCPRoute"};
    case PClass::kUdp:
      return {"UDPRoute"};
    case PClass::kUnsupported:
      return {};
  }
  return {};
}

ir::Protocol irProtocol(PClass c) {
  switch (c) {
    case PClass::kHttp:
      return ir::Protocol::kHttp;
    case PClass::kHttps:
      return ir::Protocol::kHttps;
    case PClass::kTlsPassthrough:
      return ir::Protocol::kTlsPassthrough;
    case PClass::kTlsTerminate:
      return ir::Protocol::kTlsTerminate;
    case PClass::kTcp:
      return ir::Protocol::kTcp;
    case PClass::kUdp:
      return ir::Protocol::kUdp;
    case PClass::kUnsupported:
      break;
  }
  return ir::Protocol::kHttp;
}

struct GatewayCtx;
struct ListenerSetCtx;

struct PendingEntry {
  // Sort key, HTTPRoute matching precedence.
  int host_class = 0;  // 0 exact, 1 wildcard, 2 any
  size_t host_len = 0;
  int path_rank = 0;  // 0 Exact, 1 RegularExpression, 2 PathPrefix, 3 GRPCRoute method match
  size_t path_len = 0;
  size_t grpc_service_len = 0;  // GRPCRoute: characters in the matching service, then method
  size_t grpc_method_len = 0;
  bool has_method = false;
  size_t headers = 0;
  size_t queries = 0;
  size_t route_order = 0;
  uint32_t rule_index = 0;
  uint32_t match_index = 0;
  ir::RouteEntry entry;
};

struct PendingL4 {
  size_t route_order = 0;
  ir::L4Route route;
};

struct ListenerCtx {
  const api::Listener* spec = nullptr;
  GatewayCtx* gateway = nullptr;
  ListenerSetCtx* set = nullptr;  // null: the Gateway's own listener
  std::string owner_ns;           // namespace of the Gateway or ListenerSet
  std::string hostname;           // lower-cased, "" = any
  PClass pclass = PClass::kUnsupported;

  std::vector<api::RouteGroupKind> supported_kinds;
  bool accepted = true;
  std::string accepted_reason = "Accepted";
  std::string accepted_message;
  bool conflicted = false;
  std::string conflict_reason;
  bool resolved = true;
  std::string resolved_reason = "ResolvedRefs";
  std::string resolved_message;
  bool invalid = false;  // Programmed=False Invalid (e.g. no usable certificate)
  std::string invalid_message;
  std::optional<api::Condition> overlapping_tls;
  std::vector<ir::Certificate> certificates;
  std::optional<ir::FrontendValidation> client_validation;
  int32_t attached_routes = 0;
  size_t last_counted_route = SIZE_MAX;
  uint32_t trace_id = 0;  // index in TranslateTrace::listeners (when tracing)

  // Routing output.
  std::vector<ir::Rule> rules;
  std::vector<PendingEntry> entries;
  std::vector<PendingL4> l4;

  bool programmed() const;
  bool supportsKind(std::string_view kind) const {
    for (const auto& k : supported_kinds)
      if (k.kind == kind && k.group == kGroup) return true;
    return false;
  }
  std::string irName() const;
};

struct ListenerGroup {
  std::vector<ListenerCtx*> all;
  std::unordered_map<std::string, std::vector<ListenerCtx*>> by_host;
  void index() {
    for (ListenerCtx* l : all) by_host[l->hostname].push_back(l);
  }
};

struct ListenerSetCtx {
  const api::ListenerSet* ls = nullptr;
  GatewayCtx* parent = nullptr;
  bool allowed = false;
  std::string rejected_reason;  // NotAllowed, ParentNotAccepted
  std::vector<ListenerCtx> listeners;
  ListenerGroup group;
};

struct GatewayCtx {
  const api::Gateway* gw = nullptr;
  std::vector<ListenerCtx> listeners;
  ListenerGroup group;
  std::vector<ListenerSetCtx*> sets;
  std::vector<std::string> addresses;
  bool accepted = true;
  std::string accepted_reason = "Accepted";
  std::string accepted_message;
  bool address_ok = true;
  std::string address_reason;  // AddressNotAssigned / AddressNotUsable
  std::string address_message;
  bool unsupported_address = false;
  std::string unsupported_address_message;
  bool insecure_frontend = false;
  bool needs_pool_address = false;
};

bool ListenerCtx::programmed() const {
  return accepted && !conflicted && !invalid && gateway->accepted && gateway->address_ok &&
         (set == nullptr || set->allowed);
}

std::string ListenerCtx::irName() const {
  if (set) {
    return "listenerset:" + set->ls->metadata.namespace_ + "/" + set->ls->metadata.name + "/" +
           spec->name;
  }
  return gateway->gw->metadata.namespace_ + "/" + gateway->gw->metadata.name + "/" + spec->name;
}

// ------------------------------------------------------------------------------------------------
// The translator
// ------------------------------------------------------------------------------------------------

struct RouteCtx {
  std::string kind;
  const api::ObjectMeta* meta = nullptr;
  const std::vector<api::ParentReference>* parent_refs = nullptr;
  const std::vector<std::string>* hostnames = nullptr;
  size_t order = 0;
  size_t status_index = 0;
  const std::optional<std::string>* use_default_gateways = nullptr;
};

struct Attachment {
  ListenerCtx* listener = nullptr;
  std::vector<std::string> hostnames;  // intersections ("" = any) for HTTP/GRPC/TLS
};

struct ParentEval {
  api::ParentReference ref;
  GatewayCtx* gateway = nullptr;
  bool accepted = false;
  std::string reason;
  std::string message;
  std::vector<Attachment> attachments;
};

struct RefProblem {
  std::string reason;
  std::string message;
};

class Translator {
 public:
  Translator(const api::ObjectSet& objects, const TranslateOptions& options,
             const std::vector<api::ObjectStatus>& previous)
      : objs_(objects),
        opts_(options),
        previous_(previous),
        namespaces_(objects.namespaces),
        grants_(objects.reference_grants) {}

  TranslateResult run();
  // Tracing for the incremental translator (trace.h); `only_http`: translate only those routes.
  // `extra_service_gateways`: (Service, Gateway) pairs of the routes not translated, for the
  // BackendTLSPolicy ancestors.
  void trace(internal::TranslateTrace* t, const std::vector<size_t>* only_http,
             const std::vector<std::pair<std::string, std::string>>* extra_service_gateways) {
    trace_ = t;
    only_http_ = only_http;
    extra_service_gateways_ = extra_service_gateways;
  }

 private:
  // Steps.
  void indexObjects();
  void gatewayClasses();
  void gateways();
  void assignAddresses(std::vector<GatewayCtx*>& order);
  void buildListener(ListenerCtx& l, std::string_view owner_kind);
  void resolveCertificates(ListenerCtx& l, std::string_view owner_kind);
  void frontendValidation(GatewayCtx& g, ListenerCtx& l);
  void conflicts(GatewayCtx& g);
  void overlappingTls(GatewayCtx& g);
  void portClashes(const std::vector<GatewayCtx*>& order);
  void gatewayStatus(GatewayCtx& g);
  std::optional<RefProblem> gatewayClientCertificate(const GatewayCtx& g) const;
  std::string backendForGateway(const std::string& name, const GatewayCtx& g);
  void applyGatewayClientCertificate(std::vector<ir::WeightedBackend>& backends,
                                     const GatewayCtx& g);
  void listenerSetStatus(ListenerSetCtx& s);
  api::ListenerStatus listenerStatus(const ListenerCtx& l) const;

  void routes();
  std::vector<ParentEval> evalParents(const RouteCtx& r);
  void attachToGroup(const RouteCtx& r, ListenerGroup& group, const api::ParentReference& ref,
                     ParentEval& out);
  bool namespaceAllowed(const ListenerCtx& l, const std::string& route_ns);
  void httpRoute(const api::HttpRoute& route, RouteCtx& rc, std::vector<ParentEval>& parents);
  void grpcRoute(const api::GrpcRoute& route, RouteCtx& rc, std::vector<ParentEval>& parents);
  void httpGrpcConflicts(const std::vector<RouteCtx>& all, const std::vector<size_t>& by_order,
                         std::vector<std::vector<ParentEval>>& parents);
  void l4Route(const api::L4Route& route, RouteCtx& rc);
  void writeRouteStatus(const RouteCtx& rc, std::vector<ParentEval>& parents,
                        const std::optional<RefProblem>& ref_problem,
                        const std::optional<RefProblem>& rule_problem, bool all_rules_invalid,
                        const std::string& partially_invalid);

  // Backends.
  std::string resolveBackend(const api::BackendObjectReference& ref, const std::string& route_ns,
                             std::string_view route_kind, bool grpc, bool udp,
                             std::optional<RefProblem>& problem,
                             std::vector<std::string>* services_used);
  std::optional<ir::BackendTls> backendTls(const api::Service& svc, const api::ServicePort& port);
  std::vector<ir::Filter> convertFilters(const std::vector<api::HttpRouteFilter>& filters,
                                         const std::string& route_ns, std::string_view route_kind,
                                         std::optional<RefProblem>& ref_problem,
                                         std::string& unsupported, bool& incompatible,
                                         std::vector<std::string>* services_used);

  void backendTlsPolicies();
  void buildPorts();
  void finalizeConditions();

  const api::ObjectSet& objs_;
  const TranslateOptions& opts_;
  const std::vector<api::ObjectStatus>& previous_;
  Namespaces namespaces_;
  Grants grants_;

  TranslateResult result_;

  std::unordered_map<std::string, const api::GatewayClass*> classes_;  // ours only
  std::unordered_set<std::string> rejected_classes_;                   // ours, but Accepted=False
  std::unordered_map<std::string, std::unique_ptr<GatewayCtx>> gateways_;
  std::vector<GatewayCtx*> gateway_order_;
  std::unordered_map<std::string, std::unique_ptr<ListenerSetCtx>> sets_;
  std::unordered_map<std::string, const api::Service*> services_;
  std::unordered_map<std::string, std::vector<const api::EndpointSlice*>> slices_;
  std::unordered_map<std::string, const api::Secret*> secrets_;
  std::unordered_map<std::string, const api::ConfigMap*> config_maps_;
  std::map<std::string, ir::Backend> backends_;
  // BackendTLSPolicy: "<ns>/<service>" -> policies targeting it (winner first after sorting).
  std::unordered_map<std::string, std::vector<const api::BackendTlsPolicy*>> tls_policies_;
  std::unordered_map<std::string, std::set<std::string>> service_gateways_;  // svc -> gateways
  std::unordered_map<std::string, const api::BackendTlsPolicy*> policy_winner_;

  internal::TranslateTrace* trace_ = nullptr;
  const std::vector<size_t>* only_http_ = nullptr;
  internal::TraceRoute* trace_route_ = nullptr;         // the HTTPRoute being translated
  std::vector<std::string>* trace_backends_ = nullptr;  // where resolved backends are noted
  const std::vector<std::pair<std::string, std::string>>* extra_service_gateways_ = nullptr;

  // A route of Gateway g uses Service svc ("<ns>/<name>"): g is an ancestor of its policies.
  void noteServiceGateway(const std::string& svc, const GatewayCtx& g) {
    std::string gw = key(g.gw->metadata.namespace_, g.gw->metadata.name);
    if (trace_) {
      (trace_route_ ? trace_route_->service_gateways : trace_->other_service_gateways)
          .emplace_back(svc, gw);
    }
    service_gateways_[svc].insert(std::move(gw));
  }
};

void Translator::indexObjects() {
  for (const auto& s : objs_.services) services_[key(s.metadata.namespace_, s.metadata.name)] = &s;
  for (const auto& es : objs_.endpoint_slices) {
    auto it = es.metadata.labels.find(std::string(kServiceNameLabel));
    if (it == es.metadata.labels.end()) continue;
    slices_[key(es.metadata.namespace_, it->second)].push_back(&es);
  }
  for (const auto& s : objs_.secrets) secrets_[key(s.metadata.namespace_, s.metadata.name)] = &s;
  for (const auto& c : objs_.config_maps)
    config_maps_[key(c.metadata.namespace_, c.metadata.name)] = &c;
}

// ---------------------------------------------------------------------------------------------
// GatewayClass
// ---------------------------------------------------------------------------------------------

void Translator::gatewayClasses() {
  std::vector<const api::GatewayClass*> ours;
  for (const auto& gc : objs_.gateway_classes) {
    // Classes of other controllers are not ours to write status for.
    if (gc.controller_name != opts_.controller_name) continue;
    ours.push_back(&gc);
  }
  std::sort(ours.begin(), ours.end(),
            [](auto* a, auto* b) { return a->metadata.name < b->metadata.name; });
  std::vector<std::string> features(kSupportedFeatures.begin(), kSupportedFeatures.end());
  std::sort(features.begin(), features.end());
  for (const auto* gc : ours) {
    classes_[gc->metadata.name] = gc;
    api::ObjectStatus st;
    st.api_version = std::string(kApiVersion);
    st.kind = "GatewayClass";
    st.name = gc->metadata.name;
    st.generation = gc->metadata.generation;
    if (gc->parameters_ref) {
      // gantry defines no parameters kind: "InvalidParameters ... the parametersRef field refers
      // to ... an unsupported resource or kind".
      const auto& pr = *gc->parameters_ref;
      rejected_classes_.insert(gc->metadata.name);
      st.conditions.push_back(makeCondition("Accepted", false, "InvalidParameters",
                                            "parametersRef " +
                                                (pr.group.empty() ? "" : pr.group + "/") + pr.kind +
                                                " " + pr.name + " is not a kind gantry supports"));
    } else {
      st.conditions.push_back(makeCondition(
          "Accepted", true, "Accepted", "GatewayClass is accepted by " + opts_.controller_name));
    }
    st.supported_features = features;
    result_.statuses.push_back(std::move(st));
  }
}

// ---------------------------------------------------------------------------------------------
// Gateways and listeners
// ---------------------------------------------------------------------------------------------

void Translator::resolveCertificates(ListenerCtx& l, std::string_view owner_kind) {
  const auto& tls = *l.spec->tls;
  for (const auto& ref : tls.certificate_refs) {
    const std::string ns = ref.namespace_.value_or(l.owner_ns);
    auto fail = [&](std::string reason, std::string msg) {
      if (l.resolved) {
        l.resolved = false;
        l.resolved_reason = std::move(reason);
        l.resolved_message = std::move(msg);
      }
    };
    if (!ref.group.empty() || ref.kind != "Secret") {
      fail("InvalidCertificateRef", "unsupported certificateRef kind " +
                                        (ref.group.empty() ? "" : ref.group + "/") + ref.kind +
                                        " for " + ref.name);
      continue;
    }
    if (!grants_.allowed(kGroup, owner_kind, l.owner_ns, "", "Secret", ns, ref.name)) {
      fail("RefNotPermitted", "certificateRef to Secret " + key(ns, ref.name) +
                                  " is not permitted by any ReferenceGrant");
      continue;
    }
    auto it = secrets_.find(key(ns, ref.name));
    if (it == secrets_.end()) {
      fail("InvalidCertificateRef", "Secret " + key(ns, ref.name) + " does not exist");
      continue;
    }
    const auto& data = it->second->data;
    auto crt = data.find("tls.crt");
    auto k = data.find("tls.key");
    if (crt == data.end() || k == data.end() ||
        crt->second.find("-----BEGIN CERTIFICATE-----") == std::string::npos ||
        k->second.find("PRIVATE KEY-----") == std::string::npos) {
      fail("InvalidCertificateRef",
           "Secret " + key(ns, ref.name) + " has no PEM tls.crt and tls.key");
      continue;
    }
    l.certificates.push_back({crt->second, k->second});
  }
}

void Translator::buildListener(ListenerCtx& l, std::string_view owner_kind) {
  const api::Listener& spec = *l.spec;
  l.pclass = protocolClass(spec);
  l.hostname = spec.hostname ? toLower(*spec.hostname) : "";
  if (!usesHostname(l.pclass)) l.hostname.clear();

  if (l.pclass == PClass::kUnsupported) {
    l.accepted = false;
    l.accepted_reason = "UnsupportedProtocol";
    l.accepted_message = "protocol " + spec.protocol + " is not supported";
  }

  // supportedKinds: the valid kinds of spec.allowedRoutes.kinds, or the protocol's defaults.
  const std::vector<std::string> defaults = defaultKinds(l.pclass);
  if (spec.allowed_routes.kinds.empty()) {
    for (const auto& k : defaults) l.supported_kinds.push_back({std::string(kGroup), k});
  } else {
    std::vector<std::string> bad;
    for (const auto& k : spec.allowed_routes.kinds) {
      const bool ok = k.group == kGroup &&
                      std::find(defaults.begin(), defaults.end(), k.kind) != defaults.end();
      if (ok) {
        bool dup = false;
        for (const auto& s : l.supported_kinds) dup |= s.kind == k.kind;
        if (!dup) l.supported_kinds.push_back(k);
      } else {
        bad.push_back((k.group.empty() ? "" : k.group + "/") + k.kind);
      }
    }
    if (!bad.empty() && l.pclass != PClass::kUnsupported) {
      std::string msg = "unsupported route kinds:";
      for (const auto& b : bad) msg += " " + b;
      l.resolved = false;
      l.resolved_reason = "InvalidRouteKinds";
      l.resolved_message = msg;
    }
  }

  // TLS: HTTPS and TLS Terminate need at least one usable certificate.
  if (l.pclass == PClass::kHttps || l.pclass == PClass::kTlsTerminate) {
    if (!spec.tls || spec.tls->certificate_refs.empty()) {
      l.resolved = false;
      l.resolved_reason = "InvalidCertificateRef";
      l.resolved_message = "listener has no certificateRefs";
    } else {
      resolveCertificates(l, owner_kind);
    }
    if (l.certificates.empty()) {
      l.invalid = true;
      l.invalid_message = "no valid certificate";
    }
  }
}

void Translator::frontendValidation(GatewayCtx& g, ListenerCtx& l) {
  if (l.pclass != PClass::kHttps || !g.gw->frontend_tls) return;
  const auto& ft = *g.gw->frontend_tls;
  const api::FrontendTlsValidation* v = nullptr;
  for (const auto& pp : ft.per_port)
    if (pp.port == l.spec->port) v = &pp.validation;
  if (!v && ft.default_validation) v = &*ft.default_validation;
  if (!v) return;
  ir::FrontendValidation fv;
  fv.allow_insecure_fallback = v->mode == "AllowInsecureFallback";
  if (fv.allow_insecure_fallback) g.insecure_frontend = true;
  const std::string& ns = g.gw->metadata.namespace_;
  for (const auto& ref : v->ca_certificate_refs) {
    const std::string rns = ref.namespace_.value_or(ns);
    auto fail = [&](std::string reason, std::string msg) {
      if (l.resolved) {
        l.resolved = false;
        l.resolved_reason = std::move(reason);
        l.resolved_message = std::move(msg);
      }
    };
    if (!ref.group.empty() || (ref.kind != "ConfigMap" && ref.kind != "Secret")) {
      fail("InvalidCACertificateKind", "unsupported caCertificateRef kind " + ref.kind);
      continue;
    }
    if (!grants_.allowed(kGroup, "Gateway", ns, "", ref.kind, rns, ref.name)) {
      fail("RefNotPermitted", "caCertificateRef to " + ref.kind + " " + key(rns, ref.name) +
                                  " is not permitted by any ReferenceGrant");
      continue;
    }
    const std::map<std::string, std::string>* data = nullptr;
    if (ref.kind == "ConfigMap") {
      auto it = config_maps_.find(key(rns, ref.name));
      if (it != config_maps_.end()) data = &it->second->data;
    } else {
      auto it = secrets_.find(key(rns, ref.name));
      if (it != secrets_.end()) data = &it->second->data;
    }
    auto ca = data ? data->find("ca.crt") : std::map<std::string, std::string>::const_iterator{};
    if (!data || ca == data->end() ||
        ca->second.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      fail("InvalidCACertificateRef", ref.kind + " " + key(rns, ref.name) + " has no PEM ca.crt");
      continue;
    }
    fv.ca_pems.push_back(ca->second);
  }
  if (fv.ca_pems.empty()) {
    l.accepted = false;
    l.accepted_reason = "NoValidCACertificate";
    l.accepted_message = "no valid CA certificate for client certificate validation";
    return;
  }
  l.client_validation = std::move(fv);
}

// Two listeners are indistinct when they share port and transport and either their protocols
// cannot share a socket (ProtocolConflict) or they also share the hostname (HostnameConflict).
// Note `tls` is not considered: listeners differing only in TLS config still conflict.
std::optional<std::string> conflictBetween(const ListenerCtx& a, const ListenerCtx& b) {
  if (a.spec->port != b.spec->port || isUdp(a.pclass) != isUdp(b.pclass)) return std::nullopt;
  if (a.pclass != b.pclass) return "ProtocolConflict";
  if (!usesHostname(a.pclass) || a.hostname == b.hostname) return "HostnameConflict";
  return std::nullopt;
}

void Translator::conflicts(GatewayCtx& g) {
  // The Gateway's own listeners: every indistinct listener is rejected, no winner is picked
  // (Gateway spec.listeners, "Handling indistinct Listeners").
  auto mark = [](ListenerCtx& l, const std::string& reason, const std::string& other) {
    if (l.conflicted) return;
    l.conflicted = true;
    l.conflict_reason = reason;
    if (l.accepted) {
      l.accepted = false;
      l.accepted_reason = reason;
      l.accepted_message = "conflicts with listener " + other;
    }
  };
  std::vector<ListenerCtx*> earlier;
  for (auto& a : g.listeners) {
    if (a.pclass == PClass::kUnsupported) continue;
    for (ListenerCtx* b : earlier) {
      if (auto r = conflictBetween(a, *b)) {
        // A protocol conflict outranks a hostname conflict on the same listener.
        mark(a, *r, b->spec->name);
        mark(*b, *r, a.spec->name);
        if (*r == "ProtocolConflict") {
          a.conflict_reason = b->conflict_reason = *r;
          a.accepted_reason = b->accepted_reason = *r;
        }
      }
    }
    earlier.push_back(&a);
  }
  // ListenerSets: "Implementations MUST treat the parent Gateway as having the merged list of all
  // listeners from itself and attached ListenerSets" with the Gateway first, then ListenerSets by
  // creation time and name; the first listener of a conflicting pair keeps its place.
  for (ListenerSetCtx* s : g.sets) {
    if (!s->allowed) continue;
    std::vector<ListenerCtx*> mine;
    for (auto& a : s->listeners) {
      if (a.pclass == PClass::kUnsupported) continue;
      for (ListenerCtx* b : earlier) {
        if (auto r = conflictBetween(a, *b)) {
          mark(a, *r, b->set ? b->set->ls->metadata.name + "/" + b->spec->name : b->spec->name);
          break;
        }
      }
      mine.push_back(&a);
    }
    earlier.insert(earlier.end(), mine.begin(), mine.end());
  }
}

void Translator::overlappingTls(GatewayCtx& g) {
  // OverlappingTLSConfig MUST be set on all TLS-terminating listeners of a port whose hostnames
  // overlap (a wildcard covering another listener's hostname).
  std::vector<ListenerCtx*> tls;
  auto collect = [&](std::vector<ListenerCtx>& ls) {
    for (auto& l : ls)
      if ((l.pclass == PClass::kHttps || l.pclass == PClass::kTlsTerminate) && l.accepted)
        tls.push_back(&l);
  };
  collect(g.listeners);
  for (ListenerSetCtx* s : g.sets)
    if (s->allowed) collect(s->listeners);
  for (size_t i = 0; i < tls.size(); ++i) {
    for (size_t j = i + 1; j < tls.size(); ++j) {
      ListenerCtx& a = *tls[i];
      ListenerCtx& b = *tls[j];
      if (a.spec->port != b.spec->port) continue;
      if (a.hostname.empty() || b.hostname.empty()) continue;
      if (!intersectHostnames(a.hostname, b.hostname)) continue;
      auto c = makeCondition(
          "OverlappingTLSConfig", true, "OverlappingHostnames",
          "hostnames of listeners " + a.spec->name + " and " + b.spec->name + " overlap");
      a.overlapping_tls = c;
      b.overlapping_tls = c;
    }
  }
}

void Translator::assignAddresses(std::vector<GatewayCtx*>& order) {
  std::optional<Pool> pool;
  if (!opts_.address_pool.empty()) pool = parsePool(opts_.address_pool);

  std::set<std::string> taken;  // pool addresses in use this round
  // spec.addresses first: they are bound as given.
  for (GatewayCtx* g : order) {
    bool has_empty_ip = false;
    for (const auto& a : g->gw->addresses) {
      if (a.type != "IPAddress") {
        g->unsupported_address = true;
        g->unsupported_address_message = "address type " + a.type + " is not supported";
        continue;
      }
      if (a.value.empty()) {
        // An IPAddress without value asks the implementation to assign one (GatewayAddressEmpty).
        has_empty_ip = true;
        continue;
      }
      auto ip = parseIp(a.value);
      if (!ip) {
        g->address_ok = false;
        g->address_reason = "AddressNotUsable";
        g->address_message = "address " + a.value + " is not a valid IP address";
        continue;
      }
      std::string norm = formatIp(*ip);
      if (std::find(opts_.unusable_addresses.begin(), opts_.unusable_addresses.end(), a.value) !=
              opts_.unusable_addresses.end() ||
          std::find(opts_.unusable_addresses.begin(), opts_.unusable_addresses.end(), norm) !=
              opts_.unusable_addresses.end()) {
        g->address_ok = false;
        g->address_reason = "AddressNotUsable";
        g->address_message = "address " + a.value + " cannot be used on this host";
        continue;
      }
      if (std::find(g->addresses.begin(), g->addresses.end(), norm) == g->addresses.end())
        g->addresses.push_back(norm);
      taken.insert(norm);
    }
    g->needs_pool_address = g->addresses.empty() && (g->gw->addresses.empty() || has_empty_ip) &&
                            !g->unsupported_address && g->address_ok;
  }
  if (!pool) {
    if (!opts_.address_pool.empty()) {
      for (GatewayCtx* g : order) {
        if (!g->needs_pool_address) continue;
        g->address_ok = false;
        g->address_reason = "AddressNotAssigned";
        g->address_message = "address pool " + opts_.address_pool + " is not a valid CIDR";
      }
      return;
    }
    for (GatewayCtx* g : order)
      if (g->needs_pool_address) g->addresses.push_back(opts_.bind_address);
    return;
  }
  // Keep last round's pick (status.addresses in `previous`) so that a Gateway's address is
  // stable across reloads.
  std::unordered_map<std::string, std::string> prev_pick;
  for (const auto& st : previous_) {
    if (st.kind != "Gateway" || st.addresses.empty()) continue;
    prev_pick[key(st.namespace_, st.name)] = st.addresses.front().value;
  }
  std::vector<GatewayCtx*> fresh;
  for (GatewayCtx* g : order) {
    if (!g->needs_pool_address) continue;
    auto it = prev_pick.find(key(g->gw->metadata.namespace_, g->gw->metadata.name));
    if (it != prev_pick.end()) {
      auto ip = parseIp(it->second);
      if (ip && pool->contains(*ip) && !taken.count(formatIp(*ip))) {
        g->addresses.push_back(formatIp(*ip));
        taken.insert(g->addresses.back());
        continue;
      }
    }
    fresh.push_back(g);
  }
  unsigned __int128 next = pool->first;
  for (GatewayCtx* g : fresh) {
    bool found = false;
    while (next <= pool->last) {
      Ip ip{pool->v6, next};
      std::string s = formatIp(ip);
      if (next == pool->last) {
        if (!taken.count(s)) {
          g->addresses.push_back(s);
          taken.insert(s);
          found = true;
        }
        next = pool->last;
        break;
      }
      ++next;
      if (!taken.count(s)) {
        g->addresses.push_back(s);
        taken.insert(s);
        found = true;
        break;
      }
    }
    if (!found) {
      g->address_ok = false;
      g->address_reason = "AddressNotAssigned";
      g->address_message = "address pool " + opts_.address_pool + " is exhausted";
    }
  }
}

// A later Gateway's listener cannot bind an (address, port) that an earlier Gateway holds,
// unless both are compatible and merged: same address, same protocol (HTTP, HTTPS, TLS), distinct
// hostnames ("Implementations MAY merge separate Gateways onto a single set of Addresses if all
// Listeners across all Gateways are compatible").
void Translator::portClashes(const std::vector<GatewayCtx*>& order) {
  struct Holder {
    std::string address;
    const GatewayCtx* gateway;
    const ListenerCtx* listener;
  };
  std::map<std::pair<uint16_t, bool>, std::vector<Holder>> bound;
  for (GatewayCtx* g : order) {
    if (!g->accepted || !g->address_ok) continue;
    std::vector<ListenerCtx*> ls;
    for (auto& l : g->listeners) ls.push_back(&l);
    for (ListenerSetCtx* s : g->sets)
      if (s->allowed)
        for (auto& l : s->listeners) ls.push_back(&l);
    std::vector<std::pair<std::pair<uint16_t, bool>, Holder>> add;
    for (ListenerCtx* l : ls) {
      if (!l->accepted || l->conflicted) continue;
      auto k = std::make_pair(l->spec->port, isUdp(l->pclass));
      std::string clash;
      for (const std::string& addr : g->addresses) {
        for (const auto& [ua, up] : opts_.unavailable_ports) {
          if (up == l->spec->port && ua == addr)
            clash = "port " + std::to_string(up) + " on " + addr + " could not be bound";
        }
      }
      auto it = bound.find(k);
      if (it != bound.end()) {
        for (const std::string& addr : g->addresses) {
          for (const Holder& h : it->second) {
            if (h.gateway == g) continue;
            const bool same = h.address == addr;
            const bool overlap = same || isWildcardAddress(h.address) || isWildcardAddress(addr);
            if (!overlap) continue;
            const bool mergeable = same && h.listener->pclass == l->pclass &&
                                   usesHostname(l->pclass) && h.listener->hostname != l->hostname;
            if (!mergeable) {
              clash = "port " + std::to_string(l->spec->port) + " on " + addr +
                      " is already used by Gateway " +
                      key(h.gateway->gw->metadata.namespace_, h.gateway->gw->metadata.name);
              break;
            }
          }
          if (!clash.empty()) break;
        }
      }
      if (!clash.empty()) {
        l->accepted = false;
        l->accepted_reason = "PortUnavailable";
        l->accepted_message = clash;
        continue;
      }
      for (const std::string& addr : g->addresses) add.push_back({k, Holder{addr, g, l}});
    }
    for (auto& [k, h] : add) bound[k].push_back(h);
  }
}

api::ListenerStatus Translator::listenerStatus(const ListenerCtx& l) const {
  api::ListenerStatus ls;
  ls.name = l.spec->name;
  ls.supported_kinds = l.supported_kinds;
  ls.attached_routes = l.attached_routes;
  ls.conditions.push_back(
      makeCondition("Accepted", l.accepted, l.accepted_reason, l.accepted_message));
  if (!l.accepted) {
    ls.conditions.push_back(
        makeCondition("Programmed", false, l.accepted_reason, l.accepted_message));
  } else if (l.invalid) {
    ls.conditions.push_back(makeCondition("Programmed", false, "Invalid", l.invalid_message));
  } else if (!l.gateway->address_ok) {
    ls.conditions.push_back(
        makeCondition("Programmed", false, "Invalid", "the Gateway has no usable address"));
  } else if (!l.gateway->accepted) {
    ls.conditions.push_back(
        makeCondition("Programmed", false, "Invalid", "the Gateway is not accepted"));
  } else {
    ls.conditions.push_back(makeCondition("Programmed", true, "Programmed"));
  }
  ls.conditions.push_back(
      makeCondition("ResolvedRefs", l.resolved, l.resolved_reason, l.resolved_message));
  if (l.conflicted) {
    ls.conditions.push_back(
        makeCondition("Conflicted", true, l.conflict_reason, l.accepted_message));
  } else {
    ls.conditions.push_back(makeCondition("Conflicted", false, "NoConflicts"));
  }
  if (l.overlapping_tls) ls.conditions.push_back(*l.overlapping_tls);
  return ls;
}

void Translator::gateways() {
  // Gateways of our classes, in precedence order.
  for (const auto& gw : objs_.gateways) {
    if (!classes_.count(gw.gateway_class_name)) continue;
    auto g = std::make_unique<GatewayCtx>();
    g->gw = &gw;
    gateway_order_.push_back(g.get());
    gateways_[key(gw.metadata.namespace_, gw.metadata.name)] = std::move(g);
  }
  std::sort(gateway_order_.begin(), gateway_order_.end(),
            [](auto* a, auto* b) { return metaBefore(a->gw->metadata, b->gw->metadata); });

  for (GatewayCtx* g : gateway_order_) {
    g->listeners.resize(g->gw->listeners.size());
    for (size_t i = 0; i < g->gw->listeners.size(); ++i) {
      ListenerCtx& l = g->listeners[i];
      l.spec = &g->gw->listeners[i];
      l.gateway = g;
      l.owner_ns = g->gw->metadata.namespace_;
      buildListener(l, "Gateway");
      frontendValidation(*g, l);
      g->group.all.push_back(&l);
    }
    g->group.index();
  }

  // ListenerSets attach to a Gateway of ours that allows them (spec.allowedListeners).
  std::vector<ListenerSetCtx*> set_order;
  for (const auto& ls : objs_.listener_sets) {
    const auto& pr = ls.parent_ref;
    if (pr.group != kGroup || pr.kind != "Gateway") continue;
    auto git = gateways_.find(key(pr.namespace_.value_or(ls.metadata.namespace_), pr.name));
    if (git == gateways_.end()) continue;
    auto s = std::make_unique<ListenerSetCtx>();
    s->ls = &ls;
    s->parent = git->second.get();
    const api::Gateway& gw = *s->parent->gw;
    const std::string& from = gw.allowed_listeners_from;
    if (from == "All") {
      s->allowed = true;
    } else if (from == "Same") {
      s->allowed = ls.metadata.namespace_ == gw.metadata.namespace_;
    } else if (from == "Selector") {
      s->allowed = gw.allowed_listeners_selector &&
                   selectorMatches(*gw.allowed_listeners_selector,
                                   namespaces_.labels(ls.metadata.namespace_));
    }
    if (!s->allowed) s->rejected_reason = "NotAllowed";
    s->listeners.resize(ls.listeners.size());
    for (size_t i = 0; i < ls.listeners.size(); ++i) {
      ListenerCtx& l = s->listeners[i];
      l.spec = &ls.listeners[i];
      l.gateway = s->parent;
      l.set = s.get();
      l.owner_ns = ls.metadata.namespace_;
      buildListener(l, "ListenerSet");
      s->group.all.push_back(&l);
    }
    s->group.index();
    set_order.push_back(s.get());
    sets_[key(ls.metadata.namespace_, ls.metadata.name)] = std::move(s);
  }
  std::sort(set_order.begin(), set_order.end(),
            [](auto* a, auto* b) { return metaBefore(a->ls->metadata, b->ls->metadata); });
  for (ListenerSetCtx* s : set_order) s->parent->sets.push_back(s);

  assignAddresses(gateway_order_);
  for (GatewayCtx* g : gateway_order_) {
    conflicts(*g);
    if (rejected_classes_.count(g->gw->gateway_class_name)) {
      g->accepted = false;
      g->accepted_reason = "Invalid";
      g->accepted_message = "GatewayClass " + g->gw->gateway_class_name + " is not accepted";
    } else if (g->gw->infrastructure_parameters_ref) {
      const auto& pr = *g->gw->infrastructure_parameters_ref;
      g->accepted = false;
      g->accepted_reason = "InvalidParameters";
      g->accepted_message = "infrastructure.parametersRef " +
                            (pr.group.empty() ? "" : pr.group + "/") + pr.kind + " " + pr.name +
                            " is not a kind gantry supports";
    } else if (g->unsupported_address) {
      g->accepted = false;
      g->accepted_reason = "UnsupportedAddress";
      g->accepted_message = g->unsupported_address_message;
    }
  }
  portClashes(gateway_order_);
  for (GatewayCtx* g : gateway_order_) {
    overlappingTls(*g);
    if (g->accepted) {
      size_t valid = 0, total = g->listeners.size();
      for (const auto& l : g->listeners) valid += l.accepted ? 1 : 0;
      if (valid == 0) {
        g->accepted = false;
        g->accepted_reason = "ListenersNotValid";
        g->accepted_message = "no valid listener";
      } else if (valid < total) {
        g->accepted_reason = "ListenersNotValid";
        std::string msg = "invalid listeners:";
        for (const auto& l : g->listeners)
          if (!l.accepted) msg += " " + l.spec->name + " (" + l.accepted_reason + ")";
        g->accepted_message = msg;
      }
    }
    for (ListenerSetCtx* s : g->sets) {
      if (s->allowed && !g->accepted) {
        s->allowed = false;
        s->rejected_reason = "ParentNotAccepted";
      }
    }
  }
}

// spec.tls.backend.clientCertificateRef: the certificate gantry presents to backends over TLS.
// Checked for status (InvalidClientCertificateRef / RefNotPermitted) here; used through
// backendForGateway.
std::optional<RefProblem> Translator::gatewayClientCertificate(const GatewayCtx& g) const {
  if (!g.gw->backend_client_certificate_ref) return std::nullopt;
  const auto& ref = *g.gw->backend_client_certificate_ref;
  const std::string& gw_ns = g.gw->metadata.namespace_;
  const std::string ns = ref.namespace_.value_or(gw_ns);
  if (!ref.group.empty() || ref.kind != "Secret") {
    return RefProblem{"InvalidClientCertificateRef",
                      "clientCertificateRef " + (ref.group.empty() ? "" : ref.group + "/") +
                          ref.kind + " " + ref.name + " is not a Secret"};
  }
  if (!grants_.allowed(kGroup, "Gateway", gw_ns, "", "Secret", ns, ref.name)) {
    return RefProblem{"RefNotPermitted", "clientCertificateRef to Secret " + key(ns, ref.name) +
                                             " is not permitted by any ReferenceGrant"};
  }
  auto it = secrets_.find(key(ns, ref.name));
  if (it == secrets_.end()) {
    return RefProblem{"InvalidClientCertificateRef",
                      "Secret " + key(ns, ref.name) + " does not exist"};
  }
  const auto& data = it->second->data;
  auto crt = data.find("tls.crt");
  auto k = data.find("tls.key");
  if (crt == data.end() || k == data.end() ||
      crt->second.find("-----BEGIN CERTIFICATE-----") == std::string::npos ||
      k->second.find("PRIVATE KEY-----") == std::string::npos) {
    return RefProblem{"InvalidClientCertificateRef",
                      "Secret " + key(ns, ref.name) + " has no PEM tls.crt and tls.key"};
  }
  return std::nullopt;
}

// The IR backend that Gateway g's routes use for backend `name`. Backends are shared by name
// between Gateways, but the client certificate (spec.tls.backend.clientCertificateRef, "the
// client certificate to be presented to backends when they request one") belongs to the Gateway:
// a TLS backend reached from a Gateway with a valid certificate becomes its own backend,
// "<name>@client-cert:<gateway namespace>/<gateway name>", carrying it. An invalid reference
// (status ResolvedRefs False) sends no certificate.
std::string Translator::backendForGateway(const std::string& name, const GatewayCtx& g) {
  if (name.empty() || !g.gw->backend_client_certificate_ref) return name;
  auto it = backends_.find(name);
  if (it == backends_.end() || !it->second.tls) return name;
  const std::string gw_key = key(g.gw->metadata.namespace_, g.gw->metadata.name);
  std::string variant = name + "@client-cert:" + gw_key;
  if (backends_.count(variant)) return variant;
  if (gatewayClientCertificate(g)) return name;
  const auto& ref = *g.gw->backend_client_certificate_ref;
  const auto& data =
      secrets_.at(key(ref.namespace_.value_or(g.gw->metadata.namespace_), ref.name))->data;
  ir::Backend b = it->second;
  b.name = variant;
  b.tls->client_certificate = ir::Certificate{data.at("tls.crt"), data.at("tls.key")};
  backends_.emplace(variant, std::move(b));
  return variant;
}

void Translator::applyGatewayClientCertificate(std::vector<ir::WeightedBackend>& backends,
                                               const GatewayCtx& g) {
  if (!g.gw->backend_client_certificate_ref) return;
  for (auto& wb : backends) wb.backend = backendForGateway(wb.backend, g);
}

void Translator::gatewayStatus(GatewayCtx& g) {
  api::ObjectStatus st;
  st.api_version = std::string(kApiVersion);
  st.kind = "Gateway";
  st.name = g.gw->metadata.name;
  st.namespace_ = g.gw->metadata.namespace_;
  st.generation = g.gw->metadata.generation;
  st.conditions.push_back(
      makeCondition("Accepted", g.accepted, g.accepted_reason, g.accepted_message));
  if (!g.accepted) {
    st.conditions.push_back(makeCondition("Programmed", false, "Invalid", g.accepted_message));
  } else if (!g.address_ok) {
    st.conditions.push_back(
        makeCondition("Programmed", false, g.address_reason, g.address_message));
  } else {
    st.conditions.push_back(makeCondition("Programmed", true, "Programmed"));
  }
  bool resolved = true;
  for (const auto& l : g.listeners) resolved &= l.resolved;
  if (auto problem = gatewayClientCertificate(g)) {
    // Gateway-level references (spec.tls.backend.clientCertificateRef) take precedence over
    // the summary of the listeners' ResolvedRefs.
    st.conditions.push_back(
        makeCondition("ResolvedRefs", false, problem->reason, problem->message));
  } else {
    st.conditions.push_back(
        resolved ? makeCondition("ResolvedRefs", true, "ResolvedRefs")
                 : makeCondition("ResolvedRefs", false, "ListenersNotResolved",
                                 "one or more listeners have unresolved references"));
  }
  if (g.insecure_frontend) {
    st.conditions.push_back(makeCondition("InsecureFrontendValidationMode", true,
                                          "ConfigurationChanged",
                                          "client certificate validation allows insecure "
                                          "fallback"));
  }
  if (g.address_ok && g.accepted) {
    for (const auto& a : g.addresses) st.addresses.push_back({"IPAddress", a});
  }
  for (const auto& l : g.listeners) st.listeners.push_back(listenerStatus(l));
  // GatewayStatus.attachedListenerSets: "A ListenerSet is successfully attached to a Gateway when
  // ... selected by the Gateway's AllowedListeners field, ... has a valid ParentRef selecting the
  // Gateway, ... status has the condition Accepted: true" (Accepted needs one valid listener).
  if (g.gw->allowed_listeners_from != "None" || !g.sets.empty()) {
    int32_t attached = 0;
    for (const ListenerSetCtx* s : g.sets) {
      if (!s->allowed) continue;
      if (std::any_of(s->listeners.begin(), s->listeners.end(),
                      [](const ListenerCtx& l) { return l.accepted; }))
        ++attached;
    }
    st.attached_listener_sets = attached;
  }
  result_.statuses.push_back(std::move(st));
}

void Translator::listenerSetStatus(ListenerSetCtx& s) {
  api::ObjectStatus st;
  st.api_version = std::string(kApiVersion);
  st.kind = "ListenerSet";
  st.name = s.ls->metadata.name;
  st.namespace_ = s.ls->metadata.namespace_;
  st.generation = s.ls->metadata.generation;
  if (!s.allowed) {
    std::string msg = s.rejected_reason == "NotAllowed"
                          ? "the parent Gateway's allowedListeners does not allow this ListenerSet"
                          : "the parent Gateway is not accepted";
    st.conditions.push_back(makeCondition("Accepted", false, s.rejected_reason, msg));
    st.conditions.push_back(makeCondition("Programmed", false, s.rejected_reason, msg));
  } else {
    size_t valid = 0;
    for (const auto& l : s.listeners) valid += l.accepted ? 1 : 0;
    if (valid == 0) {
      st.conditions.push_back(
          makeCondition("Accepted", false, "ListenersNotValid", "no valid listener"));
      st.conditions.push_back(
          makeCondition("Programmed", false, "ListenersNotValid", "no valid listener"));
    } else {
      if (valid < s.listeners.size()) {
        st.conditions.push_back(
            makeCondition("Accepted", true, "ListenersNotValid", "some listeners are not valid"));
      } else {
        st.conditions.push_back(makeCondition("Accepted", true, "Accepted"));
      }
      if (s.parent->address_ok) {
        st.conditions.push_back(makeCondition("Programmed", true, "Programmed"));
      } else {
        st.conditions.push_back(
            makeCondition("Programmed", false, "Invalid", s.parent->address_message));
      }
    }
    for (const auto& l : s.listeners) st.listeners.push_back(listenerStatus(l));
  }
  result_.statuses.push_back(std::move(st));
}

// ---------------------------------------------------------------------------------------------
// Routes: attachment
// ---------------------------------------------------------------------------------------------

bool Translator::namespaceAllowed(const ListenerCtx& l, const std::string& route_ns) {
  const auto& ar = l.spec->allowed_routes;
  if (ar.namespaces_from == "All") return true;
  if (ar.namespaces_from == "Same") return route_ns == l.owner_ns;
  if (ar.namespaces_from == "Selector") {
    return ar.namespaces_selector &&
           selectorMatches(*ar.namespaces_selector, namespaces_.labels(route_ns));
  }
  return false;  // None (ListenerSet parents) or unknown
}

void Translator::attachToGroup(const RouteCtx& r, ListenerGroup& group,
                               const api::ParentReference& ref, ParentEval& out) {
  static const std::vector<std::string> kAny = {""};
  const std::vector<std::string>& route_hosts = r.hostnames->empty() ? kAny : *r.hostnames;
  const bool l4_no_host = r.kind == "TCPRoute" || r.kind == "UDPRoute";
  const std::string& route_ns = r.meta->namespace_;

  auto tryListener = [&](ListenerCtx* l) -> bool {
    if (!l->supportsKind(r.kind) || !namespaceAllowed(*l, route_ns)) return false;
    Attachment a;
    a.listener = l;
    if (l4_no_host) {
      out.attachments.push_back(std::move(a));
      return true;
    }
    for (const auto& h : route_hosts) {
      auto x = intersectHostnames(l->hostname, toLower(h));
      if (x && std::find(a.hostnames.begin(), a.hostnames.end(), *x) == a.hostnames.end())
        a.hostnames.push_back(*x);
    }
    if (a.hostnames.empty()) return false;
    out.attachments.push_back(std::move(a));
    return true;
  };

  // Fast path: no sectionName/port and only exact route hostnames -> look listeners up by host.
  bool fast = !ref.section_name && !ref.port && !l4_no_host && !r.hostnames->empty();
  for (const auto& h : *r.hostnames) fast &= !isWildcard(h);
  if (fast) {
    std::vector<ListenerCtx*> cands;
    auto add = [&](const std::string& h) {
      auto it = group.by_host.find(h);
      if (it == group.by_host.end()) return;
      for (ListenerCtx* l : it->second)
        if (std::find(cands.begin(), cands.end(), l) == cands.end()) cands.push_back(l);
    };
    std::string wildcard;  // one buffer for every "*.<suffix>" looked up
    for (const auto& h0 : *r.hostnames) {
      std::string h = toLower(h0);
      add(h);
      for (size_t p = h.find('.'); p != std::string::npos; p = h.find('.', p + 1)) {
        wildcard.assign(1, '*');
        wildcard.append(h, p, std::string::npos);
        add(wildcard);
      }
    }
    add("");
    // Keep the listeners' declaration order.
    std::sort(cands.begin(), cands.end());
    for (ListenerCtx* l : cands) tryListener(l);
    if (!out.attachments.empty()) {
      out.accepted = true;
      return;
    }
  }

  // General path (also computes the reason when nothing attaches).
  out.attachments.clear();
  size_t matching_parent = 0, allowed = 0;
  for (ListenerCtx* l : group.all) {
    if (ref.section_name && *ref.section_name != l->spec->name) continue;
    if (ref.port && *ref.port != l->spec->port) continue;
    ++matching_parent;
    if (!l->supportsKind(r.kind) || !namespaceAllowed(*l, route_ns)) continue;
    ++allowed;
    tryListener(l);
  }
  if (!out.attachments.empty()) {
    out.accepted = true;
    return;
  }
  out.accepted = false;
  if (matching_parent == 0) {
    out.reason = "NoMatchingParent";
    out.message = "no listener matches the parentRef's sectionName/port";
  } else if (allowed == 0) {
    out.reason = "NotAllowedByListeners";
    out.message = "no listener allows this route's kind and namespace";
  } else {
    out.reason = "NoMatchingListenerHostname";
    out.message = "no listener hostname intersects the route's hostnames";
  }
}

std::vector<ParentEval> Translator::evalParents(const RouteCtx& r) {
  std::vector<ParentEval> out;
  // Default Gateways (experimental, GEP-3793): a Route whose useDefaultGateways names a scope is
  // claimed by every Gateway whose spec.defaultScope is that scope, "subject to the usual rules
  // about which routes the Gateway can attach to" -- i.e. as if it had a parentRef to it.
  const std::vector<api::ParentReference>* refs = r.parent_refs;
  std::vector<api::ParentReference> with_defaults;
  if (r.use_default_gateways && r.use_default_gateways->has_value() &&
      **r.use_default_gateways != "None") {
    with_defaults = *r.parent_refs;
    for (GatewayCtx* g : gateway_order_) {
      if (g->gw->default_scope.value_or("None") != **r.use_default_gateways) continue;
      bool explicit_ref = false;
      for (const auto& p : *r.parent_refs) {
        explicit_ref |= p.group == kGroup && p.kind == "Gateway" &&
                        p.name == g->gw->metadata.name &&
                        p.namespace_.value_or(r.meta->namespace_) == g->gw->metadata.namespace_;
      }
      if (explicit_ref) continue;
      api::ParentReference p;
      p.name = g->gw->metadata.name;
      p.namespace_ = g->gw->metadata.namespace_;
      with_defaults.push_back(p);
    }
    refs = &with_defaults;
  }
  for (const auto& ref : *refs) {
    if (ref.group != kGroup || (ref.kind != "Gateway" && ref.kind != "ListenerSet")) continue;
    const std::string ns = ref.namespace_.value_or(r.meta->namespace_);
    ParentEval pe;
    pe.ref = ref;
    pe.ref.namespace_ = ns;
    // The same parentRef listed twice is one parent.
    bool dup = false;
    for (const auto& e : out) {
      dup |= e.ref.kind == pe.ref.kind && e.ref.namespace_ == pe.ref.namespace_ &&
             e.ref.name == pe.ref.name && e.ref.section_name == pe.ref.section_name &&
             e.ref.port == pe.ref.port;
    }
    if (dup) continue;
    if (ref.kind == "Gateway") {
      auto it = gateways_.find(key(ns, ref.name));
      if (it == gateways_.end()) continue;  // not ours (or absent): not ours to write status
      pe.gateway = it->second.get();
      attachToGroup(r, pe.gateway->group, ref, pe);
    } else {
      auto it = sets_.find(key(ns, ref.name));
      if (it == sets_.end()) continue;
      ListenerSetCtx* s = it->second.get();
      pe.gateway = s->parent;
      if (!s->allowed) {
        pe.accepted = false;
        pe.reason = "NotAllowedByListeners";
        pe.message = "the ListenerSet is not accepted by its parent Gateway";
      } else {
        attachToGroup(r, s->group, ref, pe);
      }
    }
    out.push_back(std::move(pe));
  }
  return out;
}

void Translator::writeRouteStatus(const RouteCtx& rc, std::vector<ParentEval>& parents,
                                  const std::optional<RefProblem>& ref_problem,
                                  const std::optional<RefProblem>& rule_problem,
                                  bool all_rules_invalid, const std::string& partially_invalid) {
  if (parents.empty()) return;
  api::ObjectStatus& st = result_.statuses[rc.status_index];
  for (auto& pe : parents) {
    api::RouteParentStatus ps;
    ps.parent_ref = pe.ref;
    ps.controller_name = opts_.controller_name;
    if (pe.accepted && all_rules_invalid && rule_problem) {
      pe.accepted = false;
      pe.reason = rule_problem->reason;
      pe.message = rule_problem->message;
    }
    ps.conditions.push_back(pe.accepted ? makeCondition("Accepted", true, "Accepted")
                                        : makeCondition("Accepted", false, pe.reason, pe.message));
    ps.conditions.push_back(ref_problem ? makeCondition("ResolvedRefs", false, ref_problem->reason,
                                                        ref_problem->message)
                                        : makeCondition("ResolvedRefs", true, "ResolvedRefs"));
    if (pe.accepted && !partially_invalid.empty()) {
      ps.conditions.push_back(
          makeCondition("PartiallyInvalid", true, "UnsupportedValue", partially_invalid));
    }
    st.parents.push_back(std::move(ps));
  }
  // attachedRoutes counts routes with Accepted=True on the listener, once per route.
  for (auto& pe : parents) {
    if (!pe.accepted) continue;
    for (auto& a : pe.attachments) {
      if (a.listener->last_counted_route == rc.order) continue;
      a.listener->last_counted_route = rc.order;
      ++a.listener->attached_routes;
      if (trace_route_) trace_route_->counted.push_back(a.listener->trace_id);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Backends
// ---------------------------------------------------------------------------------------------

std::optional<ir::BackendTls> Translator::backendTls(const api::Service& svc,
                                                     const api::ServicePort& port) {
  auto it = tls_policies_.find(key(svc.metadata.namespace_, svc.metadata.name));
  if (it == tls_policies_.end()) return std::nullopt;
  // The oldest policy wins a (service, sectionName) target; a policy naming the port's section
  // is more specific than one naming the whole Service.
  const api::BackendTlsPolicy* best = nullptr;
  bool best_section = false;
  for (const api::BackendTlsPolicy* p : it->second) {
    for (const auto& t : p->target_refs) {
      if (!t.group.empty() || t.kind != "Service" || t.name != svc.metadata.name) continue;
      const bool section = t.section_name.has_value();
      if (section && *t.section_name != port.name) continue;
      if (!best || (section && !best_section)) {
        best = p;
        best_section = section;
      }
    }
  }
  if (!best) return std::nullopt;
  auto w = policy_winner_.find(key(svc.metadata.namespace_, svc.metadata.name) + "#" +
                               (best_section ? port.name : std::string("*")));
  if (w != policy_winner_.end() && w->second != best) return std::nullopt;
  ir::BackendTls tls;
  tls.sni = best->hostname;
  tls.use_system_cas = best->well_known_ca_certificates.value_or("") == "System";
  for (const auto& ref : best->ca_certificate_refs) {
    const std::string k = key(svc.metadata.namespace_, ref.name);
    if (ref.group.empty() && ref.kind == "ConfigMap") {
      auto c = config_maps_.find(k);
      if (c != config_maps_.end()) {
        auto d = c->second->data.find("ca.crt");
        if (d != c->second->data.end()) tls.ca_pems.push_back(d->second);
      }
    } else if (ref.group.empty() && ref.kind == "Secret") {
      auto s = secrets_.find(k);
      if (s != secrets_.end()) {
        auto d = s->second->data.find("ca.crt");
        if (d != s->second->data.end()) tls.ca_pems.push_back(d->second);
      }
    }
  }
  for (const auto& san : best->subject_alt_names)
    tls.subject_alt_names.push_back(san.type == "URI" ? san.uri : san.hostname);
  if (tls.ca_pems.empty() && !tls.use_system_cas) return std::nullopt;  // policy invalid
  return tls;
}

std::string Translator::resolveBackend(const api::BackendObjectReference& ref,
                                       const std::string& route_ns, std::string_view route_kind,
                                       bool grpc, bool udp, std::optional<RefProblem>& problem,
                                       std::vector<std::string>* services_used) {
  auto fail = [&](std::string reason, std::string msg) {
    if (!problem) problem = RefProblem{std::move(reason), std::move(msg)};
    return std::string();
  };
  if (!ref.group.empty() || ref.kind != "Service") {
    return fail("InvalidKind", "backendRef " + (ref.group.empty() ? "" : ref.group + "/") +
                                   ref.kind + " " + ref.name + " is not a supported kind");
  }
  const std::string ns = ref.namespace_.value_or(route_ns);
  if (!grants_.allowed(kGroup, route_kind, route_ns, "", "Service", ns, ref.name)) {
    return fail("RefNotPermitted", "backendRef to Service " + key(ns, ref.name) +
                                       " is not permitted by any ReferenceGrant");
  }
  auto sit = services_.find(key(ns, ref.name));
  if (sit == services_.end()) {
    return fail("BackendNotFound", "Service " + key(ns, ref.name) + " does not exist");
  }
  const api::Service& svc = *sit->second;
  if (!ref.port) {
    return fail("BackendNotFound", "backendRef to Service " + key(ns, ref.name) + " has no port");
  }
  const api::ServicePort* sp = nullptr;
  for (const auto& p : svc.ports) {
    if (p.port == *ref.port && (p.protocol == (udp ? "UDP" : "TCP"))) sp = &p;
  }
  api::ServicePort synthetic;  // ExternalName Services often declare no ports
  if (!sp && svc.type == "ExternalName" && svc.ports.empty()) {
    synthetic.port = *ref.port;
    sp = &synthetic;
  }
  if (!sp) {
    return fail("BackendNotFound", "Service " + key(ns, ref.name) + " has no " +
                                       (udp ? "UDP" : "TCP") + " port " +
                                       std::to_string(*ref.port));
  }
  // Service appProtocol (KEP-3726 standard names); GRPCRoute backends default to h2c.
  ir::AppProtocol proto = grpc ? ir::AppProtocol::kH2c : ir::AppProtocol::kHttp1;
  if (sp->app_protocol && !udp && route_kind != "TCPRoute" && route_kind != "TLSRoute") {
    const std::string& ap = *sp->app_protocol;
    if (ap == "kubernetes.io/h2c" || ap == "h2c" || ap == "grpc") {
      proto = ir::AppProtocol::kH2c;
    } else if (ap == "kubernetes.io/ws") {
      proto = ir::AppProtocol::kWebSocket;
    } else if (ap == "kubernetes.io/wss") {
      proto = ir::AppProtocol::kWebSocketTls;
    } else if (ap == "http" || ap == "HTTP" || ap == "kubernetes.io/http" || ap == "https" ||
               ap == "HTTPS") {
      // HTTP/1.1 (TLS to the backend is BackendTLSPolicy's business).
    } else {
      return fail("UnsupportedProtocol", "Service " + key(ns, ref.name) + " port " +
                                             std::to_string(sp->port) +
                                             " has unsupported appProtocol " + ap);
    }
  }
  // GEP-1911 "Supporting Protocols": kubernetes.io/wss (WebSocket over TLS) on an HTTPRoute is
  // supported "only if there is a corresponding BackendTLSPolicy" (GEP-1897): without one there is
  // no trust to verify the backend with, so the ref is invalid ("If a Route is not able to send
  // traffic to the backend using the specified protocol ... ResolvedRefs ... UnsupportedProtocol").
  if (proto == ir::AppProtocol::kWebSocketTls && !backendTls(svc, *sp)) {
    return fail("UnsupportedProtocol", "Service " + key(ns, ref.name) + " port " +
                                           std::to_string(sp->port) +
                                           " has appProtocol kubernetes.io/wss but no valid "
                                           "BackendTLSPolicy (GEP-1911: wss needs one)");
  }
  if (services_used) services_used->push_back(key(ns, ref.name));

  std::string name = key(ns, ref.name) + ":" + std::to_string(sp->port);
  if (udp) name += "/udp";
  if (proto == ir::AppProtocol::kH2c && !(sp->app_protocol)) name += "/h2c";
  if (trace_backends_) trace_backends_->push_back(name);
  if (backends_.count(name)) return name;

  ir::Backend b;
  b.name = name;
  b.app_protocol = proto;
  if (!udp) {
    b.tls = backendTls(svc, *sp);
    if (b.tls && proto == ir::AppProtocol::kH2c) b.app_protocol = ir::AppProtocol::kHttp2Tls;
  }
  if (svc.type == "ExternalName") {
    b.endpoints.push_back({svc.external_name, sp->port, 1});
  } else {
    std::set<std::pair<std::string, uint16_t>> seen;
    auto slit = slices_.find(key(ns, ref.name));
    if (slit != slices_.end()) {
      for (const api::EndpointSlice* es : slit->second) {
        // Service ports map to slice ports by name (unnamed == ""); the slice port number is the
        // resolved targetPort.
        std::optional<uint16_t> port;
        for (const auto& p : es->ports) {
          if (p.name.value_or("") == sp->name && p.protocol == sp->protocol) port = p.port;
        }
        if (!port) {
          if (!es->ports.empty()) continue;  // this slice serves other ports only
          port = sp->target_port_number.value_or(sp->port);
        }
        if (!*port) continue;
        for (const auto& ep : es->endpoints) {
          if (!ep.conditions.ready.value_or(true)) continue;  // nil = ready
          for (const auto& addr : ep.addresses) {
            if (seen.insert({addr, *port}).second) b.endpoints.push_back({addr, *port, 1});
          }
        }
      }
    }
    std::sort(b.endpoints.begin(), b.endpoints.end(), [](const auto& x, const auto& y) {
      return std::tie(x.address, x.port) < std::tie(y.address, y.port);
    });
  }
  backends_.emplace(name, std::move(b));
  return name;
}

ir::PathModifier convertPathModifier(const std::optional<api::HttpPathModifier>& m) {
  ir::PathModifier out;
  if (!m) return out;
  if (m->type == "ReplaceFullPath") {
    out.type = ir::PathModifierType::kReplaceFullPath;
    out.value = m->replace_full_path.value_or("/");
  } else if (m->type == "ReplacePrefixMatch") {
    out.type = ir::PathModifierType::kReplacePrefixMatch;
    out.value = m->replace_prefix_match.value_or("/");
  }
  return out;
}

ir::HeaderModifier convertHeaders(const api::HttpHeaderFilter& f) {
  ir::HeaderModifier m;
  for (const auto& h : f.set) m.set.push_back({h.name, h.value});
  for (const auto& h : f.add) m.add.push_back({h.name, h.value});
  for (const auto& r : f.remove) m.remove.push_back(toLower(r));
  return m;
}

std::vector<ir::Filter> Translator::convertFilters(const std::vector<api::HttpRouteFilter>& filters,
                                                   const std::string& route_ns,
                                                   std::string_view route_kind,
                                                   std::optional<RefProblem>& ref_problem,
                                                   std::string& unsupported, bool& incompatible,
                                                   std::vector<std::string>* services_used) {
  std::vector<ir::Filter> out;
  bool redirect = false, rewrite = false;
  for (const auto& f : filters) {
    ir::Filter x;
    if (f.type == "RequestHeaderModifier" && f.request_header_modifier) {
      x.type = ir::FilterType::kRequestHeaderModifier;
      x.header_modifier = convertHeaders(*f.request_header_modifier);
    } else if (f.type == "ResponseHeaderModifier" && f.response_header_modifier) {
      x.type = ir::FilterType::kResponseHeaderModifier;
      x.header_modifier = convertHeaders(*f.response_header_modifier);
    } else if (f.type == "RequestRedirect" && f.request_redirect && route_kind == "HTTPRoute") {
      redirect = true;
      x.type = ir::FilterType::kRequestRedirect;
      const auto& r = *f.request_redirect;
      x.redirect.scheme = r.scheme.value_or("");
      x.redirect.hostname = r.hostname.value_or("");
      x.redirect.port = r.port;
      x.redirect.path = convertPathModifier(r.path);
      x.redirect.status_code = r.status_code;
    } else if (f.type == "URLRewrite" && f.url_rewrite && route_kind == "HTTPRoute") {
      rewrite = true;
      x.type = ir::FilterType::kUrlRewrite;
      x.rewrite.hostname = f.url_rewrite->hostname.value_or("");
      x.rewrite.path = convertPathModifier(f.url_rewrite->path);
    } else if (f.type == "RequestMirror" && f.request_mirror) {
      x.type = ir::FilterType::kRequestMirror;
      std::string b = resolveBackend(f.request_mirror->backend_ref, route_ns, route_kind,
                                     route_kind == "GRPCRoute", false, ref_problem, services_used);
      if (b.empty()) continue;  // unresolved mirror: reported in ResolvedRefs, not mirrored
      x.mirror.backend = b;
      if (f.request_mirror->fraction) {
        x.mirror.numerator =
            static_cast<uint32_t>(std::max(0, f.request_mirror->fraction->numerator));
        x.mirror.denominator =
            static_cast<uint32_t>(std::max(1, f.request_mirror->fraction->denominator));
      } else if (f.request_mirror->percent) {
        x.mirror.numerator = static_cast<uint32_t>(std::clamp(*f.request_mirror->percent, 0, 100));
        x.mirror.denominator = 100;
      }
    } else if (f.type == "CORS" && f.cors && route_kind == "HTTPRoute") {
      x.type = ir::FilterType::kCors;
      const auto& c = *f.cors;
      x.cors.allow_origins = c.allow_origins;
      x.cors.allow_credentials = c.allow_credentials;
      x.cors.allow_methods = c.allow_methods;
      x.cors.allow_headers = c.allow_headers;
      x.cors.expose_headers = c.expose_headers;
      x.cors.max_age_seconds = static_cast<uint32_t>(std::max(0, c.max_age));
    } else if (f.type == "ExternalAuth" && f.external_auth &&
               (f.external_auth->protocol == "HTTP" || f.external_auth->protocol == "GRPC") &&
               route_kind == "HTTPRoute") {
      // HTTPExternalAuthFilter, HTTP or GRPC (Envoy ext_authz) protocol. An auth backend that
      // does not resolve is reported in ResolvedRefs and keeps an empty name: the data plane then
      // answers 500 (fail closed, never skip the check).
      const auto& a = *f.external_auth;
      x.type = ir::FilterType::kExternalAuth;
      x.ext_auth.grpc = a.protocol == "GRPC";
      x.ext_auth.backend = resolveBackend(a.backend_ref, route_ns, route_kind, false, false,
                                          ref_problem, services_used);
      x.ext_auth.path_prefix = a.path;
      for (const auto& h : a.allowed_request_headers)
        x.ext_auth.allowed_request_headers.push_back(toLower(h));
      for (const auto& h : a.allowed_response_headers)
        x.ext_auth.allowed_response_headers.push_back(toLower(h));
      x.ext_auth.forward_body_max = a.forward_body ? a.max_body_size : 0;
    } else if (f.type == "ExtensionRef") {
      // "If a reference to a custom filter type cannot be resolved, the filter MUST NOT be
      // skipped. Instead, requests that would have been processed by that filter MUST receive a
      // HTTP error response." gantry resolves no extension kinds.
      const auto& e = f.extension_ref;
      if (!ref_problem) {
        ref_problem = RefProblem{"InvalidKind", "ExtensionRef filter " +
                                                    (e ? (e->group.empty() ? "" : e->group + "/") +
                                                             e->kind + " " + e->name
                                                       : std::string("")) +
                                                    " is not supported"};
      }
      unsupported = "ExtensionRef";
      continue;
    } else {
      // Unknown or not implemented filter types: the rule answers 500
      // and the route reports UnsupportedValue.
      if (unsupported.empty()) unsupported = f.type;
      continue;
    }
    out.push_back(std::move(x));
  }
  if (redirect && rewrite) incompatible = true;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Routes: translation
// ---------------------------------------------------------------------------------------------

int hostClass(const std::string& h) { return h.empty() ? 2 : (isWildcard(h) ? 1 : 0); }

// Precedence inputs of a GRPCRoute match, which its path match no longer shows.
struct GrpcKey {
  size_t service_len = 0;
  size_t method_len = 0;
};

void addEntry(ListenerCtx& l, const RouteCtx& rc, const std::string& host, ir::Match m,
              uint32_t rule_index, uint32_t listener_rule, uint32_t match_index,
              const GrpcKey* grpc) {
  PendingEntry e;
  e.host_class = hostClass(host);
  e.host_len = host.size();
  e.path_rank = m.path.type == ir::PathMatchType::kExact               ? 0
                : m.path.type == ir::PathMatchType::kRegularExpression ? 1
                                                                       : 2;
  e.path_len = m.path.value.size();
  if (grpc) {
    // GRPCRouteRule.matches: "Characters in a matching service. Characters in a matching method.
    // Header matches." (after hostname). HTTPRoutes never share a hostname with GRPCRoutes on a
    // listener (see httpGrpcConflicts), so the two orders never interleave for one request.
    e.path_rank = 3;
    e.grpc_service_len = grpc->service_len;
    e.grpc_method_len = grpc->method_len;
  }
  e.has_method = !m.method.empty();
  e.headers = m.headers.size();
  e.queries = m.query_params.size();
  e.route_order = rc.order;
  e.rule_index = rule_index;
  e.match_index = match_index;
  e.entry.hostname = host;
  e.entry.match = std::move(m);
  e.entry.rule = listener_rule;
  l.entries.push_back(std::move(e));
}

// Adds a route's rules to every programmed listener it attached to.
// Consumes `rules` and `matches` (moved rather than copied where only one place needs them).
void addHttpRouteToListeners(const RouteCtx& rc, std::vector<ParentEval>& parents,
                             std::vector<ir::Rule>& rules,
                             std::vector<std::vector<ir::Match>>& matches,
                             const std::vector<std::vector<GrpcKey>>* grpc_keys = nullptr) {
  // A route that reaches one listener with one hostname (the common case) hands that listener its
  // rules and matches instead of copies.
  size_t uses = 0;
  for (const auto& pe : parents) {
    if (!pe.accepted) continue;
    for (const auto& a : pe.attachments)
      if (a.listener->programmed()) uses += a.hostnames.size();
  }
  const bool sole = uses == 1;
  // The listeners this route reached (several parentRefs may reach the same one): where its
  // rules start there, and the hostnames already added. Local to this call, since a route is
  // added once (per-listener maps of every route cost ~6% of a translation at 10,000 routes).
  struct Reached {
    ListenerCtx* listener;
    uint32_t first_rule;
    std::vector<std::string_view> hosts;
  };
  std::vector<Reached> reached;
  for (auto& pe : parents) {
    if (!pe.accepted) continue;
    for (auto& a : pe.attachments) {
      ListenerCtx& l = *a.listener;
      if (!l.programmed()) continue;
      size_t k = 0;
      while (k < reached.size() && reached[k].listener != &l) ++k;
      if (k == reached.size()) {
        reached.push_back({&l, static_cast<uint32_t>(l.rules.size()), {}});
        if (sole) {
          l.rules.insert(l.rules.end(), std::make_move_iterator(rules.begin()),
                         std::make_move_iterator(rules.end()));
        } else {
          l.rules.insert(l.rules.end(), rules.begin(), rules.end());
        }
      }
      for (const auto& h : a.hostnames) {
        auto& hosts = reached[k].hosts;
        if (std::find(hosts.begin(), hosts.end(), h) != hosts.end()) continue;
        hosts.push_back(h);
        for (uint32_t ri = 0; ri < rules.size(); ++ri) {
          for (uint32_t mi = 0; mi < matches[ri].size(); ++mi) {
            ir::Match m = sole ? std::move(matches[ri][mi]) : matches[ri][mi];
            addEntry(l, rc, h, std::move(m), ri, reached[k].first_rule + ri, mi,
                     grpc_keys ? &(*grpc_keys)[ri][mi] : nullptr);
          }
        }
      }
    }
  }
}

ir::SessionPersistence convertSession(const std::optional<api::SessionPersistence>& sp) {
  ir::SessionPersistence out;
  if (!sp) return out;
  out.type = sp->type == "Header" ? ir::SessionPersistenceType::kHeader
                                  : ir::SessionPersistenceType::kCookie;
  out.name = sp->session_name.value_or(
      out.type == ir::SessionPersistenceType::kHeader ? "x-gantry-session" : "gantry-session");
  if (sp->absolute_timeout)
    out.absolute_timeout_s = clampMs(parseDurationMs(*sp->absolute_timeout).value_or(0) / 1000);
  if (sp->idle_timeout)
    out.idle_timeout_s = clampMs(parseDurationMs(*sp->idle_timeout).value_or(0) / 1000);
  out.permanent_cookie = sp->cookie_lifetime_type.value_or("") == "Permanent";
  return out;
}

ir::Match convertHttpMatch(const api::HttpRouteMatch& m) {
  ir::Match x;
  if (m.path) {
    x.path.type = m.path->type == "Exact"               ? ir::PathMatchType::kExact
                  : m.path->type == "RegularExpression" ? ir::PathMatchType::kRegularExpression
                                                        : ir::PathMatchType::kPathPrefix;
    x.path.value = m.path->value;
  }
  for (const auto& h : m.headers) {
    x.headers.push_back({h.type == "RegularExpression" ? ir::ValueMatchType::kRegularExpression
                                                       : ir::ValueMatchType::kExact,
                         toLower(h.name), h.value});
  }
  for (const auto& q : m.query_params) {
    x.query_params.push_back({q.type == "RegularExpression" ? ir::ValueMatchType::kRegularExpression
                                                            : ir::ValueMatchType::kExact,
                              q.name, q.value});
  }
  x.method = m.method.value_or("");
  return x;
}

// Invalid backendRefs stay in a rule's list with an empty name so that their share of requests
// gets 500 ("the proportion of requests that would otherwise have been routed to an invalid
// backend MUST receive an HTTP 500 status code", HTTPRouteRule.backendRefs).

void Translator::httpRoute(const api::HttpRoute& route, RouteCtx& rc,
                           std::vector<ParentEval>& parents) {
  if (parents.empty()) return;
  std::optional<RefProblem> ref_problem;
  std::optional<RefProblem> rule_problem;
  std::vector<ir::Rule> rules;
  std::vector<std::vector<ir::Match>> matches;
  std::vector<std::string> services;
  std::string dropped;
  size_t invalid_rules = 0;
  size_t auth_unresolved = 0;
  std::string auth_unresolved_rules;
  const std::string route_name = "HTTPRoute/" + key(route.metadata.namespace_, route.metadata.name);
  static const std::vector<api::HttpRouteRule> kDefaultRules(1);
  const auto& spec_rules = route.rules.empty() ? kDefaultRules : route.rules;
  for (uint32_t ri = 0; ri < spec_rules.size(); ++ri) {
    const auto& r = spec_rules[ri];
    ir::Rule rule;
    rule.route = route_name;
    rule.rule_index = ri;
    std::string unsupported;
    bool incompatible = false;
    rule.filters = convertFilters(r.filters, route.metadata.namespace_, "HTTPRoute", ref_problem,
                                  unsupported, incompatible, &services);
    for (const auto& br : r.backend_refs) {
      ir::WeightedBackend wb;
      wb.backend = resolveBackend(br.ref, route.metadata.namespace_, "HTTPRoute", false, false,
                                  ref_problem, &services);
      wb.weight = static_cast<uint32_t>(std::max(0, br.weight));
      std::string bu;
      bool bi = false;
      wb.filters = convertFilters(br.filters, route.metadata.namespace_, "HTTPRoute", ref_problem,
                                  bu, bi, &services);
      if (!bu.empty()) wb.backend.clear();  // unsupported per-backend filter: that share gets 500
      rule.backends.push_back(std::move(wb));
    }
    if (r.timeouts) {
      if (r.timeouts->request)
        rule.timeouts.request_ms = clampMs(parseDurationMs(*r.timeouts->request).value_or(0));
      if (r.timeouts->backend_request)
        rule.timeouts.backend_request_ms =
            clampMs(parseDurationMs(*r.timeouts->backend_request).value_or(0));
    }
    if (r.retry) {
      for (int32_t c : r.retry->codes)
        if (c >= 100 && c <= 999) rule.retry.codes.push_back(static_cast<uint16_t>(c));
      rule.retry.attempts = static_cast<uint32_t>(std::max(0, r.retry->attempts.value_or(1)));
      if (r.retry->backoff)
        rule.retry.backoff_ms = clampMs(parseDurationMs(*r.retry->backoff).value_or(0));
    }
    // A rule whose ExternalAuth backendRef does not resolve stays (fail closed: its requests get
    // 500) but makes the route PartiallyInvalid when other rules work (conformance
    // HTTPRouteExternalAuthPartiallyInvalid); ResolvedRefs is already False.
    if (std::any_of(rule.filters.begin(), rule.filters.end(), [](const ir::Filter& f) {
          return f.type == ir::FilterType::kExternalAuth && f.ext_auth.backend.empty();
        })) {
      ++auth_unresolved;
      auth_unresolved_rules += (auth_unresolved_rules.empty() ? "" : ", ") + std::to_string(ri);
    }
    rule.session_persistence = convertSession(r.session_persistence);
    if (!unsupported.empty() || incompatible) {
      rule.direct_status = 500;
      if (unsupported != "ExtensionRef") {
        ++invalid_rules;
        dropped += (dropped.empty() ? "" : ", ") + std::to_string(ri);
        if (!rule_problem) {
          rule_problem = incompatible
                             ? RefProblem{"IncompatibleFilters",
                                          "RequestRedirect and URLRewrite in the same rule"}
                             : RefProblem{"UnsupportedValue",
                                          "filter type " + unsupported + " is not supported"};
        }
      }
    }
    std::vector<ir::Match> ms;
    if (r.matches.empty()) {
      ms.emplace_back();  // CRD default: PathPrefix "/"
    } else {
      for (const auto& m : r.matches) ms.push_back(convertHttpMatch(m));
    }
    rules.push_back(std::move(rule));
    matches.push_back(std::move(ms));
  }
  const bool all_invalid = invalid_rules == spec_rules.size();
  std::string partially;
  if (invalid_rules > 0 && !all_invalid) {
    partially = "Dropped Rule(s) " + dropped + ": " + rule_problem->message +
                " (requests to them get HTTP 500)";
  }
  if (auth_unresolved > 0 && invalid_rules + auth_unresolved < spec_rules.size()) {
    partially += (partially.empty() ? "" : "; ") + std::string("Rule(s) ") + auth_unresolved_rules +
                 ": ExternalAuth backendRef does not resolve (requests to them get HTTP 500)";
  }
  writeRouteStatus(rc, parents, ref_problem, rule_problem, all_invalid, partially);
  for (auto& pe : parents)
    if (pe.accepted)
      for (const auto& s : services) noteServiceGateway(s, *pe.gateway);
  addHttpRouteToListeners(rc, parents, rules, matches);
  if (trace_route_) {
    for (const auto& pe : parents) {
      if (!pe.accepted) continue;
      for (const auto& a : pe.attachments) {
        auto& reached = trace_route_->reached;
        if (a.listener->programmed() &&
            std::find(reached.begin(), reached.end(), a.listener->trace_id) == reached.end())
          reached.push_back(a.listener->trace_id);
      }
    }
  }
}

void Translator::grpcRoute(const api::GrpcRoute& route, RouteCtx& rc,
                           std::vector<ParentEval>& parents) {
  if (parents.empty()) return;
  std::optional<RefProblem> ref_problem;
  std::optional<RefProblem> rule_problem;
  std::vector<ir::Rule> rules;
  std::vector<std::vector<ir::Match>> matches;
  std::vector<std::vector<GrpcKey>> grpc_keys;
  std::vector<std::string> services;
  std::string dropped;
  size_t invalid_rules = 0;
  const std::string route_name = "GRPCRoute/" + key(route.metadata.namespace_, route.metadata.name);
  static const std::vector<api::GrpcRouteRule> kDefaultRules(1);
  const auto& spec_rules = route.rules.empty() ? kDefaultRules : route.rules;
  for (uint32_t ri = 0; ri < spec_rules.size(); ++ri) {
    const auto& r = spec_rules[ri];
    ir::Rule rule;
    rule.route = route_name;
    rule.rule_index = ri;
    rule.grpc = true;
    std::string unsupported;
    bool incompatible = false;
    rule.filters = convertFilters(r.filters, route.metadata.namespace_, "GRPCRoute", ref_problem,
                                  unsupported, incompatible, &services);
    for (const auto& br : r.backend_refs) {
      ir::WeightedBackend wb;
      wb.backend = resolveBackend(br.ref, route.metadata.namespace_, "GRPCRoute", true, false,
                                  ref_problem, &services);
      wb.weight = static_cast<uint32_t>(std::max(0, br.weight));
      std::string bu;
      bool bi = false;
      wb.filters = convertFilters(br.filters, route.metadata.namespace_, "GRPCRoute", ref_problem,
                                  bu, bi, &services);
      if (!bu.empty()) wb.backend.clear();
      rule.backends.push_back(std::move(wb));
    }
    rule.session_persistence = convertSession(r.session_persistence);
    if (!unsupported.empty()) {
      rule.direct_status = 500;
      if (unsupported != "ExtensionRef") {
        ++invalid_rules;
        dropped += (dropped.empty() ? "" : ", ") + std::to_string(ri);
        if (!rule_problem)
          rule_problem =
              RefProblem{"UnsupportedValue", "filter type " + unsupported + " is not supported"};
      }
    }
    // GRPCMethodMatch -> a path match on "/<service>/<method>" (gRPC over HTTP/2 :path).
    std::vector<ir::Match> ms;
    auto convert = [](const api::GrpcRouteMatch* m) {
      ir::Match x;
      if (m && m->method) {
        const auto& mm = *m->method;
        if (mm.type == "RegularExpression") {
          x.path.type = ir::PathMatchType::kRegularExpression;
          // Each side is grouped, so that an alternation ("a|b") stays inside its own part of
          // the path instead of splitting the whole pattern.
          x.path.value =
              "/(?:" + mm.service.value_or("[^/]+") + ")/(?:" + mm.method.value_or("[^/]+") + ")";
        } else if (mm.service && mm.method) {
          x.path.type = ir::PathMatchType::kExact;
          x.path.value = "/" + *mm.service + "/" + *mm.method;
        } else if (mm.service) {
          x.path.type = ir::PathMatchType::kPathPrefix;
          x.path.value = "/" + *mm.service;
        } else if (mm.method) {
          // Method without service: any service. Quote regex metacharacters of the method name.
          std::string q;
          for (char c : *mm.method) {
            if (std::strchr("\\.^$|?*+()[]{}", c)) q += '\\';
            q += c;
          }
          x.path.type = ir::PathMatchType::kRegularExpression;
          x.path.value = "/[^/]+/" + q;
        }
      }
      if (m) {
        for (const auto& h : m->headers) {
          x.headers.push_back({h.type == "RegularExpression"
                                   ? ir::ValueMatchType::kRegularExpression
                                   : ir::ValueMatchType::kExact,
                               toLower(h.name), h.value});
        }
      }
      return x;
    };
    std::vector<GrpcKey> keys;
    if (r.matches.empty()) {
      ms.push_back(convert(nullptr));
      keys.emplace_back();
    } else {
      for (const auto& m : r.matches) {
        ms.push_back(convert(&m));
        GrpcKey k;
        if (m.method) {
          k.service_len = m.method->service ? m.method->service->size() : 0;
          k.method_len = m.method->method ? m.method->method->size() : 0;
        }
        keys.push_back(k);
      }
    }
    grpc_keys.push_back(std::move(keys));
    rules.push_back(std::move(rule));
    matches.push_back(std::move(ms));
  }
  const bool all_invalid = !spec_rules.empty() && invalid_rules == spec_rules.size();
  std::string partially;
  if (invalid_rules > 0 && !all_invalid) {
    partially = "Dropped Rule(s) " + dropped + ": " + rule_problem->message;
  }
  writeRouteStatus(rc, parents, ref_problem, rule_problem, all_invalid, partially);
  for (auto& pe : parents)
    if (pe.accepted)
      for (const auto& s : services) noteServiceGateway(s, *pe.gateway);
  addHttpRouteToListeners(rc, parents, rules, matches, &grpc_keys);
}

void Translator::l4Route(const api::L4Route& route, RouteCtx& rc) {
  std::vector<ParentEval> parents = evalParents(rc);
  if (parents.empty()) return;
  std::optional<RefProblem> ref_problem;
  std::vector<std::string> services;
  const bool udp = route.kind == "UDPRoute";
  std::vector<ir::WeightedBackend> backends;
  for (const auto& rule : route.rules) {
    for (const auto& br : rule.backend_refs) {
      ir::WeightedBackend wb;
      wb.backend = resolveBackend(br.ref, route.metadata.namespace_, route.kind, false, udp,
                                  ref_problem, &services);
      wb.weight = static_cast<uint32_t>(std::max(0, br.weight));
      backends.push_back(std::move(wb));
    }
  }
  writeRouteStatus(rc, parents, ref_problem, std::nullopt, false, "");
  const std::string name = route.kind + "/" + key(route.metadata.namespace_, route.metadata.name);
  for (auto& pe : parents) {
    if (!pe.accepted) continue;
    for (const auto& s : services) noteServiceGateway(s, *pe.gateway);
    for (auto& a : pe.attachments) {
      ListenerCtx& l = *a.listener;
      if (!l.programmed()) continue;
      bool dup = false;
      for (const auto& p : l.l4) dup |= p.route_order == rc.order;
      if (dup) continue;
      PendingL4 p;
      p.route_order = rc.order;
      p.route.route = name;
      if (route.kind == "TLSRoute") {
        for (const auto& h : a.hostnames)
          if (!h.empty()) p.route.hostnames.push_back(h);
        if (std::find(a.hostnames.begin(), a.hostnames.end(), "") != a.hostnames.end())
          p.route.hostnames.clear();  // "" = any SNI
      }
      p.route.backends = backends;
      l.l4.push_back(std::move(p));
    }
  }
}

// Hostnames already claimed on a listener by routes of one kind.
struct HostSet {
  bool any = false;
  std::unordered_set<std::string> exact;
  std::unordered_set<std::string> wildcards;
  bool empty() const { return !any && exact.empty() && wildcards.empty(); }
  void add(const std::string& h) {
    if (h.empty()) {
      any = true;
    } else if (isWildcard(h)) {
      wildcards.insert(h);
    } else {
      exact.insert(h);
    }
  }
  bool intersects(const std::string& h) const {
    if (empty()) return false;
    if (any || h.empty()) return true;
    if (!isWildcard(h)) {
      if (exact.count(h)) return true;
      for (size_t p = h.find('.'); p != std::string::npos; p = h.find('.', p + 1))
        if (wildcards.count("*" + h.substr(p))) return true;
      return false;
    }
    for (const auto& w : wildcards)
      if (intersectHostnames(w, h)) return true;
    for (const auto& e : exact)
      if (hostMatches(h, e)) return true;
    return false;
  }
};

// GRPCRouteSpec.hostnames: "If a Route (A) of type HTTPRoute or GRPCRoute is attached to a
// Listener and that listener already has another Route (B) of the other type attached and the
// intersection of the hostnames of A and B is non-empty, then the implementation MUST accept
// exactly one of these two routes" -- the oldest, then by namespace/name. The other one loses
// that listener; a parentRef left without listeners is not Accepted.
void Translator::httpGrpcConflicts(const std::vector<RouteCtx>& all,
                                   const std::vector<size_t>& by_order,
                                   std::vector<std::vector<ParentEval>>& parents) {
  std::unordered_map<const ListenerCtx*, std::array<HostSet, 2>> claimed;
  for (size_t k : by_order) {
    if (k >= parents.size()) continue;  // L4 routes
    const int mine = all[k].kind == "GRPCRoute" ? 1 : 0;
    for (auto& pe : parents[k]) {
      if (!pe.accepted) continue;
      std::vector<Attachment> kept;
      std::string lost;
      for (auto& a : pe.attachments) {
        auto& sets = claimed[a.listener];
        bool conflict = false;
        for (const auto& h : a.hostnames) conflict |= sets[1 - mine].intersects(h);
        if (conflict) {
          lost += (lost.empty() ? "" : ", ") + a.listener->spec->name;
          continue;
        }
        for (const auto& h : a.hostnames) sets[mine].add(h);
        kept.push_back(std::move(a));
      }
      pe.attachments = std::move(kept);
      if (pe.attachments.empty()) {
        pe.accepted = false;
        pe.reason = "NotAllowedByListeners";
        pe.message = "an older " + std::string(mine ? "HTTPRoute" : "GRPCRoute") +
                     " already serves these hostnames on listener(s) " + lost;
      }
    }
  }
}

void Translator::routes() {
  // The routes to translate: all of them, or (incremental translation, trace.h) some HTTPRoutes.
  std::vector<const api::HttpRoute*> http_routes;
  static const std::vector<api::GrpcRoute> kNoGrpc;
  static const std::vector<api::L4Route> kNoL4;
  const auto& grpc_routes = only_http_ ? kNoGrpc : objs_.grpc_routes;
  const auto& l4_routes = only_http_ ? kNoL4 : objs_.l4_routes;
  if (only_http_) {
    for (size_t k : *only_http_) http_routes.push_back(&objs_.http_routes[k]);
  } else {
    for (const auto& r : objs_.http_routes) http_routes.push_back(&r);
  }
  // One precedence order over every route kind (creationTimestamp, then namespace/name).
  std::vector<RouteCtx> all;
  all.reserve(http_routes.size() + grpc_routes.size() + l4_routes.size());
  result_.statuses.reserve(result_.statuses.size() + all.capacity());
  for (const api::HttpRoute* r : http_routes)
    all.push_back({"HTTPRoute", &r->metadata, &r->parent_refs, &r->hostnames, 0, 0,
                   &r->use_default_gateways});
  for (const auto& r : grpc_routes)
    all.push_back(
        {"GRPCRoute", &r.metadata, &r.parent_refs, &r.hostnames, 0, 0, &r.use_default_gateways});
  static const std::vector<std::string> kNoHosts;
  for (const auto& r : l4_routes)
    all.push_back({r.kind, &r.metadata, &r.parent_refs,
                   r.kind == "TLSRoute" ? &r.hostnames : &kNoHosts, 0, 0, &r.use_default_gateways});
  std::vector<size_t> idx(all.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  // Sort keys gathered once (the metadata lies scattered over the objects): creationTimestamp
  // and namespace as ranks among their few distinct values ("" timestamp last), then the name.
  struct OrderKey {
    uint32_t ts, ns;
    std::string_view name;
  };
  std::vector<OrderKey> keys(all.size());
  {
    // Distinct values in order; consecutive routes mostly share both, so the last lookup is
    // remembered.
    std::map<std::string_view, uint32_t> ts_rank, ns_rank;
    auto collect = [](std::map<std::string_view, uint32_t>& m, std::string_view v,
                      std::string_view& last, bool& any) {
      if (any && v == last) return;
      m.emplace(v, 0);
      last = v;
      any = true;
    };
    std::string_view last_ts, last_ns;
    bool any_ts = false, any_ns = false;
    for (const auto& rc : all) {
      collect(ts_rank, rc.meta->creation_timestamp, last_ts, any_ts);
      collect(ns_rank, rc.meta->namespace_, last_ns, any_ns);
    }
    uint32_t n = 0;
    for (auto& [v, r] : ts_rank) r = v.empty() ? UINT32_MAX : n++;  // "" (not yet assigned): newest
    n = 0;
    for (auto& [v, r] : ns_rank) r = n++;
    auto rankOf = [](const std::map<std::string_view, uint32_t>& m, std::string_view v,
                     std::string_view& last, uint32_t& last_rank, bool& any) {
      if (!any || v != last) {
        last_rank = m.at(v);
        last = v;
        any = true;
      }
      return last_rank;
    };
    uint32_t ts_r = 0, ns_r = 0;
    any_ts = any_ns = false;
    for (size_t i = 0; i < all.size(); ++i) {
      const api::ObjectMeta& m = *all[i].meta;
      keys[i] = {rankOf(ts_rank, m.creation_timestamp, last_ts, ts_r, any_ts),
                 rankOf(ns_rank, m.namespace_, last_ns, ns_r, any_ns), m.name};
    }
  }
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    const OrderKey& x = keys[a];
    const OrderKey& y = keys[b];
    if (x.ts != y.ts) return x.ts < y.ts;
    if (x.ns != y.ns) return x.ns < y.ns;
    if (int c = x.name.compare(y.name); c != 0) return c < 0;
    return all[a].kind < all[b].kind;
  });
  for (size_t o = 0; o < idx.size(); ++o) all[idx[o]].order = o;

  size_t i = 0;
  auto prepare = [&](RouteCtx& rc) {
    api::ObjectStatus st;
    st.api_version = std::string(kApiVersion);
    st.kind = rc.kind;
    st.name = rc.meta->name;
    st.namespace_ = rc.meta->namespace_;
    st.generation = rc.meta->generation;
    rc.status_index = result_.statuses.size();
    result_.statuses.push_back(std::move(st));
  };
  // HTTPRoutes and GRPCRoutes: attachment first, so that the two kinds can be checked against
  // each other per listener before anything is counted or programmed.
  const size_t n_http_grpc = http_routes.size() + grpc_routes.size();
  std::vector<std::vector<ParentEval>> parents(n_http_grpc);
  for (size_t k = 0; k < n_http_grpc; ++k) parents[k] = evalParents(all[k]);
  if (trace_) {
    // The listeners each route claims hostnames on before HTTPRoute/GRPCRoute conflicts are
    // decided (httpGrpcConflicts): where a changed HTTPRoute could change a GRPCRoute's fate.
    trace_->http_routes.resize(http_routes.size());
    trace_backends_ = &trace_->other_backends;
    for (size_t k = 0; k < n_http_grpc; ++k) {
      for (const auto& pe : parents[k]) {
        if (!pe.accepted) continue;
        for (const auto& a : pe.attachments) {
          auto& ids =
              k < http_routes.size() ? trace_->http_routes[k].claimed : trace_->grpc_listeners;
          if (std::find(ids.begin(), ids.end(), a.listener->trace_id) == ids.end())
            ids.push_back(a.listener->trace_id);
        }
      }
    }
  }
  if (!http_routes.empty() && !grpc_routes.empty()) httpGrpcConflicts(all, idx, parents);
  for (const api::HttpRoute* r : http_routes) {
    RouteCtx& rc = all[i];
    if (trace_) {
      trace_route_ = &trace_->http_routes[i];
      trace_route_->object_index = only_http_ ? (*only_http_)[i] : i;
      trace_backends_ = &trace_route_->backends;
    }
    prepare(rc);
    httpRoute(*r, rc, parents[i]);
    ++i;
  }
  if (trace_) {
    trace_route_ = nullptr;
    trace_backends_ = &trace_->other_backends;
  }
  for (const auto& r : grpc_routes) {
    RouteCtx& rc = all[i];
    prepare(rc);
    grpcRoute(r, rc, parents[i]);
    ++i;
  }
  for (const auto& r : l4_routes) {
    RouteCtx& rc = all[i++];
    prepare(rc);
    l4Route(r, rc);
  }
  trace_backends_ = nullptr;
}

// ---------------------------------------------------------------------------------------------
// BackendTLSPolicy
// ---------------------------------------------------------------------------------------------

void Translator::backendTlsPolicies() {
  std::vector<const api::BackendTlsPolicy*> order;
  for (const auto& p : objs_.backend_tls_policies) order.push_back(&p);
  std::sort(order.begin(), order.end(),
            [](auto* a, auto* b) { return metaBefore(a->metadata, b->metadata); });
  for (const auto* p : order) {
    for (const auto& t : p->target_refs) {
      if (!t.group.empty() || t.kind != "Service") continue;
      const std::string svc = key(p->metadata.namespace_, t.name);
      auto& v = tls_policies_[svc];
      if (std::find(v.begin(), v.end(), p) == v.end()) v.push_back(p);
      // "Conflicted": the oldest policy wins a target (Service + sectionName).
      policy_winner_.emplace(svc + "#" + t.section_name.value_or("*"), p);
    }
  }
}

}  // namespace

// Status for BackendTLSPolicies (after routes, which tell which Gateways use each Service).
static void backendTlsPolicyStatus(
    const api::ObjectSet& objs, const TranslateOptions& opts,
    const std::unordered_map<std::string, std::set<std::string>>& service_gateways,
    const std::unordered_map<std::string, const api::BackendTlsPolicy*>& winners,
    const std::unordered_map<std::string, const api::ConfigMap*>& config_maps,
    const std::unordered_map<std::string, const api::Secret*>& secrets,
    const std::unordered_map<std::string, const api::Service*>& services,
    std::vector<api::ObjectStatus>& out) {
  for (const auto& p : objs.backend_tls_policies) {
    std::set<std::string> ancestors;
    bool conflicted = false, target_found = false;
    for (const auto& t : p.target_refs) {
      if (!t.group.empty() || t.kind != "Service") continue;
      const std::string svc = key(p.metadata.namespace_, t.name);
      if (services.count(svc)) target_found = true;
      auto w = winners.find(svc + "#" + t.section_name.value_or("*"));
      if (w != winners.end() && w->second != &p) conflicted = true;
      auto g = service_gateways.find(svc);
      if (g != service_gateways.end()) ancestors.insert(g->second.begin(), g->second.end());
    }
    if (ancestors.empty()) continue;  // no Gateway of ours uses the targets: no ancestor status
    std::optional<api::Condition> resolved;
    bool any_valid = p.well_known_ca_certificates.value_or("") == "System";
    for (const auto& ref : p.ca_certificate_refs) {
      const std::string k = key(p.metadata.namespace_, ref.name);
      const std::map<std::string, std::string>* data = nullptr;
      if (!ref.group.empty() || (ref.kind != "ConfigMap" && ref.kind != "Secret")) {
        if (!resolved)
          resolved = makeCondition("ResolvedRefs", false, "InvalidKind",
                                   "caCertificateRef kind " + ref.kind + " is not supported");
        continue;
      }
      if (ref.kind == "ConfigMap") {
        auto c = config_maps.find(k);
        if (c != config_maps.end()) data = &c->second->data;
      } else {
        auto s = secrets.find(k);
        if (s != secrets.end()) data = &s->second->data;
      }
      if (!data || !data->count("ca.crt") ||
          data->at("ca.crt").find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        if (!resolved)
          resolved = makeCondition("ResolvedRefs", false, "InvalidCACertificateRef",
                                   ref.kind + " " + k + " has no PEM ca.crt");
        continue;
      }
      any_valid = true;
    }
    api::Condition accepted = makeCondition("Accepted", true, "Accepted");
    if (!target_found) {
      accepted = makeCondition("Accepted", false, "TargetNotFound", "target Service not found");
    } else if (conflicted) {
      accepted = makeCondition("Accepted", false, "Conflicted",
                               "an older BackendTLSPolicy targets the same Service port");
    } else if (!any_valid) {
      accepted =
          makeCondition("Accepted", false, "NoValidCACertificate", "no valid CA certificate");
    }
    api::ObjectStatus st;
    st.api_version = std::string(kApiVersion);
    st.kind = "BackendTLSPolicy";
    st.name = p.metadata.name;
    st.namespace_ = p.metadata.namespace_;
    st.generation = p.metadata.generation;
    for (const auto& a : ancestors) {
      api::RouteParentStatus ps;
      auto slash = a.find('/');
      ps.parent_ref.group = std::string(kGroup);
      ps.parent_ref.kind = "Gateway";
      ps.parent_ref.namespace_ = a.substr(0, slash);
      ps.parent_ref.name = a.substr(slash + 1);
      ps.controller_name = opts.controller_name;
      ps.conditions.push_back(accepted);
      ps.conditions.push_back(resolved ? *resolved
                                       : makeCondition("ResolvedRefs", true, "ResolvedRefs"));
      st.parents.push_back(std::move(ps));
    }
    out.push_back(std::move(st));
  }
}

namespace {

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

bool entryBefore(const PendingEntry& a, const PendingEntry& b) {
  // Hostname: "largest number of characters in a matching non-wildcard hostname", then "in a
  // matching hostname" (HTTPRouteSpec.hostnames); "" (any) last.
  if (a.host_class != b.host_class) return a.host_class < b.host_class;
  if (a.host_len != b.host_len) return a.host_len > b.host_len;
  // HTTPRouteRule.matches: Exact path, longest prefix, method, most headers, most query params.
  // RegularExpression precedence is implementation-specific: gantry puts it between Exact and
  // PathPrefix (longer patterns first), so that a regex is not shadowed by a catch-all prefix.
  if (a.path_rank != b.path_rank) return a.path_rank < b.path_rank;
  if (a.path_rank == 3) {
    if (a.grpc_service_len != b.grpc_service_len) return a.grpc_service_len > b.grpc_service_len;
    if (a.grpc_method_len != b.grpc_method_len) return a.grpc_method_len > b.grpc_method_len;
  } else if (a.path_rank != 0 && a.path_len != b.path_len) {
    return a.path_len > b.path_len;
  }
  if (a.has_method != b.has_method) return a.has_method;
  if (a.headers != b.headers) return a.headers > b.headers;
  if (a.queries != b.queries) return a.queries > b.queries;
  // Then oldest route, then namespace/name (route_order), then rule order, then match order.
  if (a.route_order != b.route_order) return a.route_order < b.route_order;
  if (a.rule_index != b.rule_index) return a.rule_index < b.rule_index;
  if (a.match_index != b.match_index) return a.match_index < b.match_index;
  return a.entry.hostname < b.entry.hostname;
}

}  // namespace

namespace {

void Translator::buildPorts() {
  struct PortBuild {
    PClass pclass;
    std::vector<ListenerCtx*> listeners;
  };
  std::map<std::tuple<std::string, uint16_t, bool>, PortBuild> ports;
  std::unordered_map<const ListenerCtx*, size_t> uses;
  for (GatewayCtx* g : gateway_order_) {
    std::vector<ListenerCtx*> ls;
    for (auto& l : g->listeners) ls.push_back(&l);
    for (ListenerSetCtx* s : g->sets)
      for (auto& l : s->listeners) ls.push_back(&l);
    for (ListenerCtx* l : ls) {
      if (!l->programmed()) continue;
      for (const auto& addr : g->addresses) {
        auto& pb = ports[{addr, l->spec->port, isUdp(l->pclass)}];
        pb.pclass = l->pclass;
        pb.listeners.push_back(l);
        ++uses[l];
      }
    }
  }
  for (auto& [k, pb] : ports) {
    ir::Port port;
    port.address = std::get<0>(k);
    port.port = std::get<1>(k);
    port.protocol = irProtocol(pb.pclass);
    std::stable_sort(pb.listeners.begin(), pb.listeners.end(), [](auto* a, auto* b) {
      return listenerHostnameBefore(a->hostname, b->hostname);
    });
    for (ListenerCtx* l : pb.listeners) {
      if (pb.pclass == PClass::kHttps || pb.pclass == PClass::kTlsTerminate) {
        ir::TlsConfig tc;
        tc.hostname = l->hostname;
        tc.certificates = l->certificates;
        tc.client_validation = l->client_validation;
        port.tls.push_back(std::move(tc));
      }
      if (pb.pclass == PClass::kHttp || pb.pclass == PClass::kHttps) {
        ir::HttpListener hl;
        hl.name = l->irName();
        hl.hostname = l->hostname;
        // Sorted by reference (a PendingEntry is large to move); the listener's rules and
        // entries are moved out on its last use (a Gateway with several addresses puts the same
        // listener on several ports).
        std::vector<PendingEntry*> sorted;
        sorted.reserve(l->entries.size());
        for (auto& e : l->entries) sorted.push_back(&e);
        std::sort(sorted.begin(), sorted.end(),
                  [](const PendingEntry* a, const PendingEntry* b) { return entryBefore(*a, *b); });
        const bool last_use = --uses[l] == 0;
        hl.entries.reserve(sorted.size());
        if (last_use) {
          hl.rules = std::move(l->rules);
          for (PendingEntry* e : sorted) hl.entries.push_back(std::move(e->entry));
        } else {
          hl.rules = l->rules;
          for (const PendingEntry* e : sorted) hl.entries.push_back(e->entry);
        }
        for (auto& rule : hl.rules) applyGatewayClientCertificate(rule.backends, *l->gateway);
        if (trace_) {
          trace_->listeners[l->trace_id].http.emplace_back(
              static_cast<uint32_t>(result_.snapshot.ports.size()),
              static_cast<uint32_t>(port.http_listeners.size()));
        }
        port.http_listeners.push_back(std::move(hl));
      } else {
        std::sort(l->l4.begin(), l->l4.end(),
                  [](const auto& a, const auto& b) { return a.route_order < b.route_order; });
        // TCP and UDP carry no hostname: only the oldest route is bound to the listener (both are
        // Accepted; see conformance TCPRouteMultipleRoutesAttachment).
        if (pb.pclass == PClass::kTcp || pb.pclass == PClass::kUdp) {
          if (!l->l4.empty()) {
            port.l4_routes.push_back(l->l4.front().route);
            port.l4_routes.back().listener = l->irName();
            applyGatewayClientCertificate(port.l4_routes.back().backends, *l->gateway);
          }
          continue;
        }
        // TLSRoute: one entry per SNI hostname, most specific first (exact, longer wildcards,
        // then any), oldest route first on equal hostnames, so that the first match wins.
        struct Sni {
          std::string host;
          size_t order;
          const ir::L4Route* route;
        };
        std::vector<Sni> snis;
        for (const auto& p4 : l->l4) {
          if (p4.route.hostnames.empty()) {
            snis.push_back({"", p4.route_order, &p4.route});
          } else {
            for (const auto& h : p4.route.hostnames) snis.push_back({h, p4.route_order, &p4.route});
          }
        }
        std::stable_sort(snis.begin(), snis.end(), [](const Sni& a, const Sni& b) {
          if (a.host != b.host) return listenerHostnameBefore(a.host, b.host);
          return a.order < b.order;
        });
        for (const Sni& s4 : snis) {
          ir::L4Route r = *s4.route;
          r.hostnames.clear();
          if (!s4.host.empty()) r.hostnames.push_back(s4.host);
          r.listener = l->irName();
          r.listener_hostname = l->hostname;
          applyGatewayClientCertificate(r.backends, *l->gateway);
          port.l4_routes.push_back(std::move(r));
        }
      }
    }
    result_.snapshot.ports.push_back(std::move(port));
  }
  for (auto& [name, b] : backends_) result_.snapshot.backends.push_back(std::move(b));
}

// ---------------------------------------------------------------------------------------------
// Conditions: observedGeneration and lastTransitionTime
// ---------------------------------------------------------------------------------------------

// Same parentRef, as written out in status (absent namespace/sectionName equal to empty).
bool sameParentRef(const api::ParentReference& a, const api::ParentReference& b) {
  auto opt = [](const std::optional<std::string>& s) {
    return s ? std::string_view(*s) : std::string_view();
  };
  return a.name == b.name && opt(a.section_name) == opt(b.section_name) && a.port == b.port &&
         opt(a.namespace_) == opt(b.namespace_) && a.kind == b.kind && a.group == b.group;
}

void stamp(std::vector<api::Condition>& conds, const std::vector<api::Condition>* prev,
           int64_t generation, const std::string& now) {
  for (auto& c : conds) {
    c.observed_generation = generation;
    c.last_transition_time = now;
    if (!prev) continue;
    for (const auto& p : *prev) {
      if (p.type == c.type && p.status == c.status && p.reason == c.reason &&
          !p.last_transition_time.empty()) {
        c.last_transition_time = p.last_transition_time;
        break;
      }
    }
  }
}

// Statuses by (kind, namespace, name), as views into `previous` (no key strings: at 10,000
// routes building string keys was a visible part of every re-translation).
struct StatusKey {
  std::string_view kind, ns, name;
  bool operator==(const StatusKey&) const = default;
};
struct StatusKeyHash {
  size_t operator()(const StatusKey& k) const {
    const std::hash<std::string_view> h;
    return h(k.name) ^ (h(k.ns) * 31) ^ (h(k.kind) * 131);
  }
};

void Translator::finalizeConditions() {
  // `previous` is usually the last result, in the same order: each status is looked for at the
  // position after the previous match first, and the hash map of every previous status is only
  // built when that misses (at 10,000 routes the map was ~5% of a re-translation).
  std::unordered_map<StatusKey, const api::ObjectStatus*, StatusKeyHash> prev;
  bool indexed = false;
  size_t cursor = 0;
  auto previousOf = [&](const api::ObjectStatus& st) -> const api::ObjectStatus* {
    if (cursor < previous_.size()) {
      const api::ObjectStatus& p = previous_[cursor];
      if (p.name == st.name && p.namespace_ == st.namespace_ && p.kind == st.kind) {
        ++cursor;
        return &p;
      }
    }
    if (!indexed) {
      prev.reserve(previous_.size());
      // Later duplicates win, as before (an object's status appears once per result).
      for (const auto& p : previous_) prev[StatusKey{p.kind, p.namespace_, p.name}] = &p;
      indexed = true;
    }
    auto it = prev.find(StatusKey{st.kind, st.namespace_, st.name});
    if (it == prev.end()) return nullptr;
    cursor = static_cast<size_t>(it->second - previous_.data()) + 1;
    return it->second;
  };
  for (auto& st : result_.statuses) {
    const api::ObjectStatus* p = previousOf(st);
    stamp(st.conditions, p ? &p->conditions : nullptr, st.generation, opts_.now);
    for (auto& l : st.listeners) {
      const std::vector<api::Condition>* pc = nullptr;
      if (p)
        for (const auto& pl : p->listeners)
          if (pl.name == l.name) pc = &pl.conditions;
      stamp(l.conditions, pc, st.generation, opts_.now);
    }
    for (auto& ps : st.parents) {
      const std::vector<api::Condition>* pc = nullptr;
      if (p) {
        for (const auto& pp : p->parents)
          if (sameParentRef(pp.parent_ref, ps.parent_ref)) pc = &pp.conditions;
      }
      stamp(ps.conditions, pc, st.generation, opts_.now);
    }
  }
}

TranslateResult Translator::run() {
  indexObjects();
  backendTlsPolicies();
  gatewayClasses();
  gateways();
  if (trace_) {
    // Every listener gets an id: Gateways in precedence order, each followed by its ListenerSets.
    auto add = [&](ListenerCtx& l) {
      l.trace_id = static_cast<uint32_t>(trace_->listeners.size());
      trace_->listeners.emplace_back().name = l.irName();
    };
    for (GatewayCtx* g : gateway_order_) {
      for (auto& l : g->listeners) add(l);
      for (ListenerSetCtx* s : g->sets)
        for (auto& l : s->listeners) add(l);
    }
  }
  routes();
  // Gateway and ListenerSet status after routes (attachedRoutes). Insert them after the classes.
  std::vector<api::ObjectStatus> route_statuses;
  size_t n_classes = 0;
  for (const auto& s : result_.statuses) n_classes += s.kind == "GatewayClass" ? 1 : 0;
  route_statuses.assign(std::make_move_iterator(result_.statuses.begin() + n_classes),
                        std::make_move_iterator(result_.statuses.end()));
  result_.statuses.resize(n_classes);
  std::vector<GatewayCtx*> by_name = gateway_order_;
  std::sort(by_name.begin(), by_name.end(), [](auto* a, auto* b) {
    return key(a->gw->metadata.namespace_, a->gw->metadata.name) <
           key(b->gw->metadata.namespace_, b->gw->metadata.name);
  });
  auto traceStatus = [&](std::vector<ListenerCtx>& ls) {
    if (!trace_) return;
    for (size_t k = 0; k < ls.size(); ++k) {
      auto& tl = trace_->listeners[ls[k].trace_id];
      tl.status_index = static_cast<uint32_t>(result_.statuses.size());
      tl.status_listener = static_cast<uint32_t>(k);
    }
  };
  for (GatewayCtx* g : by_name) {
    traceStatus(g->listeners);
    gatewayStatus(*g);
  }
  std::vector<ListenerSetCtx*> sets;
  for (auto& [k, s] : sets_) sets.push_back(s.get());
  std::sort(sets.begin(), sets.end(), [](auto* a, auto* b) {
    return key(a->ls->metadata.namespace_, a->ls->metadata.name) <
           key(b->ls->metadata.namespace_, b->ls->metadata.name);
  });
  for (ListenerSetCtx* s : sets) {
    // (A rejected ListenerSet's status lists no listeners; no route attaches to them either.)
    traceStatus(s->listeners);
    listenerSetStatus(*s);
  }
  // Routes: only those with at least one parent of ours; sorted by kind, namespace, name.
  // Sorted by reference (an ObjectStatus is large to move), the kind's rank computed once.
  auto kind_rank = [](const std::string& k) {
    static const std::vector<std::string> kOrder = {"HTTPRoute", "GRPCRoute", "TLSRoute",
                                                    "TCPRoute", "UDPRoute"};
    return std::find(kOrder.begin(), kOrder.end(), k) - kOrder.begin();
  };
  std::vector<std::pair<ptrdiff_t, api::ObjectStatus*>> kept;
  kept.reserve(route_statuses.size());
  for (auto& s : route_statuses)
    if (!s.parents.empty()) kept.emplace_back(kind_rank(s.kind), &s);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    if (a.second->namespace_ != b.second->namespace_)
      return a.second->namespace_ < b.second->namespace_;
    return a.second->name < b.second->name;
  });
  result_.statuses.reserve(result_.statuses.size() + kept.size() +
                           objs_.backend_tls_policies.size());
  for (auto& [rank, s] : kept) result_.statuses.push_back(std::move(*s));
  {
    std::vector<api::ObjectStatus> pol;
    if (extra_service_gateways_)
      for (const auto& [svc, gw] : *extra_service_gateways_) service_gateways_[svc].insert(gw);
    backendTlsPolicyStatus(objs_, opts_, service_gateways_, policy_winner_, config_maps_, secrets_,
                           services_, pol);
    std::sort(pol.begin(), pol.end(), [](const auto& a, const auto& b) {
      return key(a.namespace_, a.name) < key(b.namespace_, b.name);
    });
    for (auto& s : pol) result_.statuses.push_back(std::move(s));
  }
  buildPorts();
  finalizeConditions();
  return std::move(result_);
}

}  // namespace

namespace {

// The API server cannot hold two objects of one kind with the same namespace/name, but a set of
// files can (found by the fuzzer). The first definition wins; later ones are ignored, so that
// every object has exactly one status.
// Keys are views into `v` (no string per object: this runs on every translation).
template <typename T>
bool hasDuplicates(const std::vector<T>& v) {
  std::unordered_set<StatusKey, StatusKeyHash> seen;
  seen.reserve(v.size());
  for (const auto& x : v) {
    StatusKey k{"", x.metadata.namespace_, x.metadata.name};
    if constexpr (std::is_same_v<T, api::L4Route>) k.kind = x.kind;
    if (!seen.insert(k).second) return true;
  }
  return false;
}

template <typename T, typename KeyFn>
void dropDuplicates(std::vector<T>& v, KeyFn keyOf) {
  std::unordered_set<std::string> seen;
  std::vector<T> out;
  out.reserve(v.size());
  for (auto& x : v)
    if (seen.insert(keyOf(x)).second) out.push_back(std::move(x));
  v = std::move(out);
}

template <typename Fn>
void forEachKind(Fn&& fn, auto&... vectors) {
  (fn(vectors), ...);
}

}  // namespace

TranslateResult translate(const api::ObjectSet& objects, const TranslateOptions& options,
                          const std::vector<api::ObjectStatus>& previous) {
  auto keyOf = [](const auto& o) { return key(o.metadata.namespace_, o.metadata.name); };
  auto l4KeyOf = [](const api::L4Route& o) {
    return o.kind + "/" + key(o.metadata.namespace_, o.metadata.name);
  };
  bool dup = !objects.keys_unique && hasDuplicates(objects.l4_routes);
  if (!objects.keys_unique) {
    forEachKind([&](const auto& v) { dup = dup || hasDuplicates(v); }, objects.gateway_classes,
                objects.gateways, objects.listener_sets, objects.http_routes, objects.grpc_routes,
                objects.reference_grants, objects.backend_tls_policies, objects.namespaces,
                objects.services, objects.endpoint_slices, objects.secrets, objects.config_maps);
  }
  if (!dup) {
    Translator t(objects, options, previous);
    return t.run();
  }
  api::ObjectSet unique = objects;
  dropDuplicates(unique.l4_routes, l4KeyOf);
  forEachKind([&](auto& v) { dropDuplicates(v, keyOf); }, unique.gateway_classes, unique.gateways,
              unique.listener_sets, unique.http_routes, unique.grpc_routes, unique.reference_grants,
              unique.backend_tls_policies, unique.namespaces, unique.services,
              unique.endpoint_slices, unique.secrets, unique.config_maps);
  Translator t(unique, options, previous);
  return t.run();
}

namespace internal {

TranslateResult translateTraced(
    const api::ObjectSet& objects, const TranslateOptions& options,
    const std::vector<api::ObjectStatus>& previous, TranslateTrace& trace,
    const std::vector<size_t>* only_http_routes,
    const std::vector<std::pair<std::string, std::string>>* extra_service_gateways) {
  trace = TranslateTrace{};
  Translator t(objects, options, previous);
  t.trace(&trace, only_http_routes, extra_service_gateways);
  return t.run();
}

}  // namespace internal

}  // namespace gantry::controlplane
