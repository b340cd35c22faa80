// IncrementalTranslator: see incremental.h for when a delta is used and why.
//
// How a delta works. The state kept from the last result says, per HTTPRoute, where it was
// counted (listener attachedRoutes), which programmed listeners hold its rules and entries, and
// which backends it resolved (trace.h). For a change:
//  1. the changed routes are found by comparing fingerprints position by position;
//  2. the new versions are translated alone (translateTraced with only those routes), against
//     every other object, which yields their statuses, their rules and entries on each listener
//     (already in precedence order among themselves), and their backends;
//  3. on every listener an old or new version reaches, the old rules and entries are dropped and
//     the new ones inserted: rules grouped by route in objects order (as translate() appends
//     them), entries by binary search in the HTTPRoute matching precedence, whose key is
//     recomputed from the IR entry and its route's creationTimestamp/namespace/name (two entries
//     of different routes are always ordered before the rule and match indexes matter);
//  4. attachedRoutes are adjusted, route statuses replaced in their sorted place, backends
//     reference-counted.
#include "controlplane/translate/incremental.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "controlplane/translate/hostnames.h"
#include "controlplane/translate/trace.h"

namespace gantry::controlplane {

namespace {

constexpr std::string_view kRoutePrefix = "HTTPRoute/";

// What translation reads of an object other than its spec, plus the spec's fingerprint.
struct ObjectFingerprint {
  std::string ns, name, created;
  int64_t generation = 0;
  uint64_t spec_hash = 0;
  std::map<std::string, std::string> labels;
  bool operator==(const ObjectFingerprint&) const = default;
};

template <typename T>
ObjectFingerprint fingerprint(const T& o) {
  const api::ObjectMeta& m = o.metadata;
  ObjectFingerprint f{m.namespace_, m.name, m.creation_timestamp, m.generation, m.spec_hash, {}};
  if constexpr (std::is_same_v<T, api::L4Route>) f.name = o.kind + "/" + m.name;
  f.labels = m.labels;
  return f;
}

// Every kind except HTTPRoutes, in a fixed order.
std::vector<std::vector<ObjectFingerprint>> otherFingerprints(const api::ObjectSet& o,
                                                              bool& unknown_hash) {
  std::vector<std::vector<ObjectFingerprint>> out;
  auto add = [&](const auto& v) {
    auto& fs = out.emplace_back();
    fs.reserve(v.size());
    for (const auto& x : v) {
      fs.push_back(fingerprint(x));
      unknown_hash |= x.metadata.spec_hash == 0;
    }
  };
  add(o.gateway_classes);
  add(o.gateways);
  add(o.listener_sets);
  add(o.grpc_routes);
  add(o.l4_routes);
  add(o.reference_grants);
  add(o.backend_tls_policies);
  add(o.namespaces);
  add(o.services);
  add(o.endpoint_slices);
  add(o.secrets);
  add(o.config_maps);
  return out;
}

bool sameOptions(const TranslateOptions& a, const TranslateOptions& b) {
  return a.controller_name == b.controller_name && a.bind_address == b.bind_address &&
         a.address_pool == b.address_pool && a.unusable_addresses == b.unusable_addresses &&
         a.unavailable_ports == b.unavailable_ports;
}

struct RouteFingerprint {
  std::string ns, name, created;
  int64_t generation = 0;
  uint64_t spec_hash = 0;
  bool sameAs(const api::HttpRoute& r) const {
    const api::ObjectMeta& m = r.metadata;
    return spec_hash == m.spec_hash && generation == m.generation && name == m.name &&
           ns == m.namespace_ && created == m.creation_timestamp;
  }
};

RouteFingerprint routeFingerprint(const api::HttpRoute& r) {
  const api::ObjectMeta& m = r.metadata;
  return {m.namespace_, m.name, m.creation_timestamp, m.generation, m.spec_hash};
}

std::string routeKey(const api::ObjectMeta& m) {
  std::string k;
  k.reserve(kRoutePrefix.size() + m.namespace_.size() + 1 + m.name.size());
  k.append(kRoutePrefix).append(m.namespace_).append("/").append(m.name);
  return k;  // = ir::Rule::route
}

// A route's place in the precedence order across routes: oldest creationTimestamp ("" = not yet
// assigned: newest), then namespace, then name (as translate() sorts them).
struct RouteOrder {
  std::string_view created, ns, name;
};

int compareOrder(const RouteOrder& a, const RouteOrder& b) {
  if (a.created != b.created) {
    if (a.created.empty()) return 1;
    if (b.created.empty()) return -1;
    return a.created < b.created ? -1 : 1;
  }
  if (int c = a.ns.compare(b.ns); c != 0) return c < 0 ? -1 : 1;
  if (int c = a.name.compare(b.name); c != 0) return c < 0 ? -1 : 1;
  return 0;
}

// The HTTPRoute matching precedence of one IR entry, up to the route (translate.cc entryBefore):
// two entries of different routes are always decided by this key.
int compareEntries(const ir::RouteEntry& a, const RouteOrder& ra, const ir::RouteEntry& b,
                   const RouteOrder& rb) {
  auto hostClass = [](const std::string& h) { return h.empty() ? 2 : (isWildcard(h) ? 1 : 0); };
  auto rank = [](const ir::Match& m) {
    return m.path.type == ir::PathMatchType::kExact               ? 0
           : m.path.type == ir::PathMatchType::kRegularExpression ? 1
                                                                  : 2;
  };
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (x > y ? 1 : 0); };
  if (int c = cmp(hostClass(a.hostname), hostClass(b.hostname))) return c;
  if (int c = cmp(b.hostname.size(), a.hostname.size())) return c;  // longer first
  const int pa = rank(a.match), pb = rank(b.match);
  if (int c = cmp(pa, pb)) return c;
  if (pa != 0) {
    if (int c = cmp(b.match.path.value.size(), a.match.path.value.size())) return c;
  }
  if (int c = cmp(b.match.method.empty() ? 0 : 1, a.match.method.empty() ? 0 : 1)) return c;
  if (int c = cmp(b.match.headers.size(), a.match.headers.size())) return c;
  if (int c = cmp(b.match.query_params.size(), a.match.query_params.size())) return c;
  return compareOrder(ra, rb);
}

bool isNonRouteStatus(const api::ObjectStatus& s) {
  return s.kind == "GatewayClass" || s.kind == "Gateway" || s.kind == "ListenerSet";
}

// [begin, end) of the HTTPRoute statuses: after the GatewayClass, Gateway and ListenerSet ones,
// sorted by namespace and name (translate.cc run()).
std::pair<size_t, size_t> httpRouteRange(const std::vector<api::ObjectStatus>& st) {
  size_t b = 0;
  while (b < st.size() && isNonRouteStatus(st[b])) ++b;
  size_t e = b;
  while (e < st.size() && st[e].kind == "HTTPRoute") ++e;
  return {b, e};
}

bool statusBefore(const api::ObjectStatus& a, std::string_view ns, std::string_view name) {
  if (a.namespace_ != ns) return a.namespace_ < ns;
  return a.name < name;
}

// The statuses of a delta, before they are built: the previous ones, the changed routes' new
// ones, and the attachedRoutes changes at (status index, listener index).
struct PendingStatuses {
  std::shared_ptr<const std::vector<api::ObjectStatus>> prev;
  size_t prev_b = 0, prev_e = 0;         // the HTTPRoute statuses in prev
  std::vector<api::ObjectStatus> fresh;  // the new versions', sorted by namespace/name
  std::unordered_set<std::string> gone;  // previous versions ("HTTPRoute/ns/name")
  std::vector<std::pair<uint32_t, uint32_t>> minus, plus;
  bool policies = false;  // BackendTLSPolicy statuses replaced by `policy_statuses`
  std::vector<api::ObjectStatus> policy_statuses;
};

std::shared_ptr<const std::vector<api::ObjectStatus>> buildStatuses(PendingStatuses& ps) {
  const std::vector<api::ObjectStatus>& prev = *ps.prev;
  auto statuses = std::make_shared<std::vector<api::ObjectStatus>>();
  statuses->reserve(prev.size() + ps.fresh.size());
  statuses->insert(statuses->end(), prev.begin(), prev.begin() + ps.prev_b);
  for (const auto& [s, l] : ps.minus) --(*statuses)[s].listeners[l].attached_routes;
  for (const auto& [s, l] : ps.plus) ++(*statuses)[s].listeners[l].attached_routes;
  size_t i = ps.prev_b, j = 0;
  std::string key;
  auto gone = [&](const api::ObjectStatus& s) {
    if (ps.gone.empty()) return false;
    key.assign(kRoutePrefix).append(s.namespace_).append("/").append(s.name);
    return ps.gone.count(key) != 0;
  };
  while (i < ps.prev_e || j < ps.fresh.size()) {
    if (i < ps.prev_e && gone(prev[i])) {
      ++i;
      continue;
    }
    if (j < ps.fresh.size() &&
        (i == ps.prev_e || statusBefore(ps.fresh[j], prev[i].namespace_, prev[i].name))) {
      statuses->push_back(std::move(ps.fresh[j++]));
    } else {
      statuses->push_back(prev[i++]);
    }
  }
  for (size_t k = ps.prev_e; k < prev.size(); ++k) {
    if (ps.policies && prev[k].kind == "BackendTLSPolicy") continue;
    statuses->push_back(prev[k]);
  }
  if (ps.policies) {
    // Their ancestors are the Gateways whose routes use their Services: recomputed with the
    // changed routes (they come last, sorted by namespace/name, in translate()'s result).
    for (auto& p : ps.policy_statuses) statuses->push_back(std::move(p));
  }
  return statuses;
}

}  // namespace

struct IncrementalTranslator::State {
  struct Route {
    uint32_t pos = 0;  // index in objects.http_routes
    std::string created, ns, name;
    std::vector<uint32_t> counted, reached, claimed;
    std::vector<std::string> backends;
    std::vector<std::pair<std::string, std::string>> service_gateways;
    RouteOrder order() const { return {created, ns, name}; }
  };

  TranslateOptions options;
  std::vector<std::vector<ObjectFingerprint>> others;
  std::vector<RouteFingerprint> routes;
  std::unordered_map<std::string, Route> by_route;  // by ir::Rule::route ("HTTPRoute/ns/name")
  std::vector<internal::TraceListener> listeners;
  std::vector<uint32_t> grpc_listeners;  // listeners some GRPCRoute attaches to (sorted)
  std::unordered_map<std::string, uint32_t> backend_refs;  // ir::Backend name -> routes using it
  // (Service, Gateway) -> routes of that Gateway using that Service (BackendTLSPolicy ancestors).
  std::map<std::pair<std::string, std::string>, uint32_t> service_gateway_refs;
  std::shared_ptr<const ir::Snapshot> snapshot;
  std::shared_ptr<const std::vector<api::ObjectStatus>> statuses;  // null while `pending`
  std::optional<PendingStatuses> pending;
};

IncrementalTranslator::IncrementalTranslator() = default;
IncrementalTranslator::~IncrementalTranslator() = default;

void IncrementalTranslator::reset() { state_.reset(); }

std::shared_ptr<const std::vector<api::ObjectStatus>> IncrementalTranslator::finishStatuses() {
  if (!state_) return nullptr;
  if (state_->pending) {
    try {
      state_->statuses = buildStatuses(*state_->pending);
    } catch (...) {
      state_.reset();
      throw;
    }
    state_->pending.reset();
  }
  return state_->statuses;
}

namespace {

// Why `objects` cannot be translated incrementally at all ("" = it can).
std::string ineligible(const api::ObjectSet& objects) {
  if (!objects.keys_unique) return "keys not known to be unique";
  for (const auto& g : objects.gateways)
    if (g.backend_client_certificate_ref) return "a Gateway has a backend client certificate";
  return "";
}

}  // namespace

IncrementalResult IncrementalTranslator::translate(
    const api::ObjectSet& objects, const TranslateOptions& options,
    std::shared_ptr<const std::vector<api::ObjectStatus>> previous, uint64_t version,
    bool defer_statuses) {
  if (!previous) previous = std::make_shared<const std::vector<api::ObjectStatus>>();
  finishStatuses();  // the last delta's, if they were deferred
  std::string reason = ineligible(objects);
  if (reason.empty() && !state_) reason = "no previous result";
  if (reason.empty() && state_->statuses != previous)
    reason = "previous statuses not the last result";
  if (reason.empty() && !sameOptions(state_->options, options)) reason = "options changed";
  if (reason.empty()) {
    IncrementalResult out;
    try {
      if (delta(objects, options, previous, version, defer_statuses, out, reason)) return out;
    } catch (...) {
      state_.reset();  // possibly half-updated: the next call translates everything
      throw;
    }
  }
  return full(objects, options, previous, version, std::move(reason));
}

IncrementalResult IncrementalTranslator::full(
    const api::ObjectSet& objects, const TranslateOptions& options,
    const std::shared_ptr<const std::vector<api::ObjectStatus>>& previous, uint64_t version,
    std::string reason) {
  state_.reset();
  IncrementalResult out;
  out.full_reason = std::move(reason);
  out.routes_translated = objects.http_routes.size();
  const bool traceable = ineligible(objects).empty();
  internal::TranslateTrace trace;
  TranslateResult r = traceable ? internal::translateTraced(objects, options, *previous, trace)
                                : controlplane::translate(objects, options, *previous);
  r.snapshot.version = version;
  out.snapshot = std::make_shared<const ir::Snapshot>(std::move(r.snapshot));
  out.statuses = std::make_shared<const std::vector<api::ObjectStatus>>(std::move(r.statuses));
  if (!traceable) return out;

  auto st = std::make_unique<State>();
  st->options = options;
  st->options.now.clear();
  bool unknown_hash = false;
  st->others = otherFingerprints(objects, unknown_hash);
  st->routes.reserve(objects.http_routes.size());
  for (const auto& r : objects.http_routes) {
    st->routes.push_back(routeFingerprint(r));
    unknown_hash |= r.metadata.spec_hash == 0;
  }
  if (unknown_hash) return out;  // no fingerprints: no delta next time
  st->by_route.reserve(trace.http_routes.size());
  for (auto& tr : trace.http_routes) {
    const api::ObjectMeta& m = objects.http_routes[tr.object_index].metadata;
    State::Route sr;
    sr.pos = static_cast<uint32_t>(tr.object_index);
    sr.created = m.creation_timestamp;
    sr.ns = m.namespace_;
    sr.name = m.name;
    sr.counted = std::move(tr.counted);
    sr.reached = std::move(tr.reached);
    sr.claimed = std::move(tr.claimed);
    for (auto& b : tr.backends) ++st->backend_refs[b];
    sr.backends = std::move(tr.backends);
    for (auto& p : tr.service_gateways) ++st->service_gateway_refs[p];
    sr.service_gateways = std::move(tr.service_gateways);
    st->by_route.emplace(routeKey(m), std::move(sr));
  }
  for (const auto& b : trace.other_backends) ++st->backend_refs[b];
  for (const auto& p : trace.other_service_gateways) ++st->service_gateway_refs[p];
  st->listeners = std::move(trace.listeners);
  st->grpc_listeners = std::move(trace.grpc_listeners);
  std::sort(st->grpc_listeners.begin(), st->grpc_listeners.end());
  st->snapshot = out.snapshot;
  st->statuses = out.statuses;
  state_ = std::move(st);
  return out;
}

namespace {

struct NewRoute {
  std::string key;
  uint32_t pos;
  const api::ObjectMeta* meta;
  RouteOrder order() const { return {meta->creation_timestamp, meta->namespace_, meta->name}; }
};

}  // namespace

bool IncrementalTranslator::delta(
    const api::ObjectSet& objects, const TranslateOptions& options,
    const std::shared_ptr<const std::vector<api::ObjectStatus>>& previous, uint64_t version,
    bool defer_statuses, IncrementalResult& out, std::string& reason) {
  State& st = *state_;
  // 1. What changed.
  {
    bool unknown_hash = false;
    if (otherFingerprints(objects, unknown_hash) != st.others) {
      reason = "objects other than HTTPRoutes changed";
      return false;
    }
    if (unknown_hash) {
      reason = "objects without spec fingerprint";
      return false;
    }
  }
  const auto& routes = objects.http_routes;
  std::vector<size_t> changed_new;           // positions in objects.http_routes to translate
  std::vector<const State::Route*> removed;  // previous versions to take out
  std::vector<std::string_view> removed_keys;
  const size_t common = std::min(routes.size(), st.routes.size());
  auto removeOld = [&](size_t i) {
    const RouteFingerprint& f = st.routes[i];
    std::string k;
    k.append(kRoutePrefix).append(f.ns).append("/").append(f.name);
    auto it = st.by_route.find(k);
    if (it == st.by_route.end()) return false;
    removed.push_back(&it->second);
    removed_keys.push_back(it->first);
    return true;
  };
  for (size_t i = 0; i < routes.size(); ++i) {
    if (routes[i].metadata.spec_hash == 0) {
      reason = "objects without spec fingerprint";
      return false;
    }
    if (i < common && st.routes[i].sameAs(routes[i])) continue;
    changed_new.push_back(i);
    if (i < common && !removeOld(i)) {
      reason = "state out of step";
      return false;
    }
  }
  for (size_t i = common; i < st.routes.size(); ++i) {
    if (!removeOld(i)) {
      reason = "state out of step";
      return false;
    }
  }
  const size_t changes = changed_new.size() + removed.size();
  if (changes > 64 && changes * 4 > routes.size()) {
    reason = "too many routes changed";
    return false;
  }

  // 2. The new versions, translated alone. Their previous statuses (for lastTransitionTime)
  // and the non-route statuses are all `previous` they need.
  const std::vector<api::ObjectStatus>& prev = *previous;
  // Named, not a structured binding: clang 14 (Fuzz and Sanitize builds) cannot capture a
  // structured binding in a lambda (C++20 P1091 is clang 16).
  const auto prev_range = httpRouteRange(prev);
  const size_t prev_b = prev_range.first, prev_e = prev_range.second;
  std::vector<api::ObjectStatus> prev_subset(prev.begin(), prev.begin() + prev_b);
  const bool policies = !objects.backend_tls_policies.empty();
  // BackendTLSPolicy statuses: the (Service, Gateway) pairs of every route but the changed ones
  // (their new versions add their own), and the policies' previous statuses.
  std::vector<std::pair<std::string, std::string>> other_pairs;
  if (policies) {
    auto refs = st.service_gateway_refs;
    for (const State::Route* r : removed)
      for (const auto& p : r->service_gateways) --refs[p];
    for (const auto& [p, n] : refs)
      if (n > 0) other_pairs.push_back(p);
    for (size_t k = prev_e; k < prev.size(); ++k)
      if (prev[k].kind == "BackendTLSPolicy") prev_subset.push_back(prev[k]);
  }
  for (size_t i : changed_new) {
    const api::ObjectMeta& m = routes[i].metadata;
    auto it = std::lower_bound(
        prev.begin() + prev_b, prev.begin() + prev_e, 0,
        [&](const api::ObjectStatus& s, int) { return statusBefore(s, m.namespace_, m.name); });
    if (it != prev.begin() + prev_e && it->namespace_ == m.namespace_ && it->name == m.name)
      prev_subset.push_back(*it);
  }
  internal::TranslateTrace trace;
  TranslateResult part = internal::translateTraced(objects, options, prev_subset, trace,
                                                   &changed_new, policies ? &other_pairs : nullptr);
  if (trace.listeners.size() != st.listeners.size()) {
    reason = "listeners differ";
    return false;
  }
  for (size_t k = 0; k < trace.listeners.size(); ++k) {
    const auto& a = trace.listeners[k];
    const auto& b = st.listeners[k];
    if (a.name != b.name || a.status_index != b.status_index ||
        a.status_listener != b.status_listener || a.http != b.http) {
      reason = "listeners differ";
      return false;
    }
  }
  // HTTPRoute/GRPCRoute hostname conflicts are decided per listener across routes of both kinds
  // (translate.cc httpGrpcConflicts): a delta is exact only if no changed route, old or new
  // version, attaches to a listener a GRPCRoute attaches to.
  if (!st.grpc_listeners.empty()) {
    auto shared = [&](const std::vector<uint32_t>& claimed) {
      for (uint32_t id : claimed)
        if (std::binary_search(st.grpc_listeners.begin(), st.grpc_listeners.end(), id)) return true;
      return false;
    };
    bool conflict = false;
    for (const State::Route* r : removed) conflict = conflict || shared(r->claimed);
    for (const auto& tr : trace.http_routes) conflict = conflict || shared(tr.claimed);
    if (conflict) {
      reason = "a changed HTTPRoute shares a listener with a GRPCRoute";
      return false;
    }
  }
  const ir::Snapshot& old_snap = *st.snapshot;
  if (part.snapshot.ports.size() != old_snap.ports.size()) {
    reason = "ports differ";
    return false;
  }
  std::vector<NewRoute> fresh;
  fresh.reserve(trace.http_routes.size());
  std::unordered_map<std::string_view, const NewRoute*> fresh_by_key;
  for (const auto& tr : trace.http_routes) {
    const api::ObjectMeta& m = routes[tr.object_index].metadata;
    fresh.push_back({routeKey(m), static_cast<uint32_t>(tr.object_index), &m});
  }
  for (const auto& f : fresh) fresh_by_key.emplace(f.key, &f);

  // 3. Statuses: the non-route ones with attachedRoutes adjusted, the HTTPRoute ones merged --
  // now, or after the snapshot is published (finishStatuses): traffic does not wait for them.
  PendingStatuses ps;
  ps.prev = previous;
  ps.prev_b = prev_b;
  ps.prev_e = prev_e;
  auto positions = [&](const std::vector<uint32_t>& counted,
                       std::vector<std::pair<uint32_t, uint32_t>>& into) {
    for (uint32_t id : counted) {
      const auto& l = st.listeners[id];
      if (l.status_index >= prev_b || l.status_listener >= prev[l.status_index].listeners.size())
        return false;
      into.emplace_back(l.status_index, l.status_listener);
    }
    return true;
  };
  for (const State::Route* r : removed) {
    if (!positions(r->counted, ps.minus)) {
      reason = "status layout differs";
      return false;
    }
  }
  for (const auto& tr : trace.http_routes) {
    if (!positions(tr.counted, ps.plus)) {
      reason = "status layout differs";
      return false;
    }
  }
  for (std::string_view k : removed_keys) ps.gone.emplace(k);
  {
    auto [part_b, part_e] = httpRouteRange(part.statuses);
    ps.fresh.assign(std::make_move_iterator(part.statuses.begin() + part_b),
                    std::make_move_iterator(part.statuses.begin() + part_e));
    ps.policies = policies;
    for (size_t k = part_e; k < part.statuses.size(); ++k)
      if (part.statuses[k].kind == "BackendTLSPolicy")
        ps.policy_statuses.push_back(std::move(part.statuses[k]));
  }

  // 4. Backends, reference-counted by the routes that resolved them.
  for (const State::Route* r : removed)
    for (const auto& b : r->backends) --st.backend_refs[b];
  for (const auto& tr : trace.http_routes)
    for (const auto& b : tr.backends) ++st.backend_refs[b];
  for (const State::Route* r : removed)
    for (const auto& p : r->service_gateways) --st.service_gateway_refs[p];
  for (const auto& tr : trace.http_routes)
    for (const auto& p : tr.service_gateways) ++st.service_gateway_refs[p];
  std::erase_if(st.service_gateway_refs, [](const auto& e) { return e.second == 0; });

  // 5. The snapshot: unaffected listeners copied, affected ones spliced.
  std::vector<std::pair<uint32_t, uint32_t>> affected;
  auto touch = [&](const std::vector<uint32_t>& reached) {
    for (uint32_t id : reached)
      for (const auto& pos : st.listeners[id].http) affected.push_back(pos);
  };
  for (const State::Route* r : removed) touch(r->reached);
  for (const auto& tr : trace.http_routes) touch(tr.reached);
  std::sort(affected.begin(), affected.end());
  affected.erase(std::unique(affected.begin(), affected.end()), affected.end());

  const std::unordered_set<std::string_view> gone_keys(removed_keys.begin(), removed_keys.end());
  auto oldOrder = [&](const std::string& route) -> RouteOrder {
    auto it = st.by_route.find(route);
    if (it == st.by_route.end()) return {};
    return it->second.order();
  };
  auto oldPos = [&](const std::string& route) -> uint32_t {
    auto it = st.by_route.find(route);
    return it == st.by_route.end() ? 0 : it->second.pos;
  };
  bool ok = true;
  auto splice = [&](const ir::HttpListener& old, ir::HttpListener& add) {
    ir::HttpListener hl;
    hl.name = old.name;
    hl.hostname = old.hostname;
    // Rules: blocks per route in objects order; each new block goes before the first old rule
    // of a later route (old rules are in old positions, equal to the new ones for kept routes).
    const size_t n_old = old.rules.size();
    std::vector<uint32_t> old_map(n_old, UINT32_MAX), new_map(add.rules.size(), UINT32_MAX);
    std::vector<char> keep(n_old, 1);
    for (size_t i = 0; i < n_old; ++i) {
      if (i > 0 && old.rules[i].route == old.rules[i - 1].route) {
        keep[i] = keep[i - 1];
      } else {
        keep[i] = gone_keys.count(old.rules[i].route) == 0;
      }
    }
    hl.rules.reserve(n_old + add.rules.size());
    size_t oi = 0;
    for (size_t b = 0; b < add.rules.size();) {
      size_t e = b;
      while (e < add.rules.size() && add.rules[e].route == add.rules[b].route) ++e;
      auto f = fresh_by_key.find(add.rules[b].route);
      if (f == fresh_by_key.end()) {
        ok = false;
        return hl;
      }
      const uint32_t pos = f->second->pos;
      size_t lo = oi, hi = n_old;
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (oldPos(old.rules[mid].route) <= pos) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      for (; oi < lo; ++oi) {
        if (!keep[oi]) continue;
        old_map[oi] = static_cast<uint32_t>(hl.rules.size());
        hl.rules.push_back(old.rules[oi]);
      }
      for (size_t k = b; k < e; ++k) {
        new_map[k] = static_cast<uint32_t>(hl.rules.size());
        hl.rules.push_back(std::move(add.rules[k]));
      }
      b = e;
    }
    for (; oi < n_old; ++oi) {
      if (!keep[oi]) continue;
      old_map[oi] = static_cast<uint32_t>(hl.rules.size());
      hl.rules.push_back(old.rules[oi]);
    }
    // Entries: each new one (already in order among themselves) after every old entry that
    // precedes it; the search for the next one starts where the last one went in.
    hl.entries.reserve(old.entries.size() + add.entries.size());
    size_t eo = 0;
    for (auto& ne : add.entries) {
      if (ne.rule >= add.rules.size() || new_map[ne.rule] == UINT32_MAX) {
        ok = false;
        return hl;
      }
      auto f = fresh_by_key.find(hl.rules[new_map[ne.rule]].route);
      if (f == fresh_by_key.end()) {
        ok = false;
        return hl;
      }
      const RouteOrder no = f->second->order();
      size_t lo = eo, hi = old.entries.size();
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const ir::RouteEntry& oe = old.entries[mid];
        const ir::Rule& orule = old.rules[oe.rule];
        // Entries of a removed route with the same key count as before: they are dropped.
        if (compareEntries(oe, oldOrder(orule.route), ne, no) <= 0) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      for (; eo < lo; ++eo) {
        const ir::RouteEntry& oe = old.entries[eo];
        if (old_map[oe.rule] == UINT32_MAX) continue;
        hl.entries.push_back(oe);
        hl.entries.back().rule = old_map[oe.rule];
      }
      ne.rule = new_map[ne.rule];
      hl.entries.push_back(std::move(ne));
    }
    for (; eo < old.entries.size(); ++eo) {
      const ir::RouteEntry& oe = old.entries[eo];
      if (old_map[oe.rule] == UINT32_MAX) continue;
      hl.entries.push_back(oe);
      hl.entries.back().rule = old_map[oe.rule];
    }
    return hl;
  };

  ir::Snapshot snap;
  snap.version = version;
  snap.ports.reserve(old_snap.ports.size());
  size_t next_affected = 0;
  for (uint32_t p = 0; p < old_snap.ports.size(); ++p) {
    const ir::Port& op = old_snap.ports[p];
    ir::Port& np = snap.ports.emplace_back();
    np.address = op.address;
    np.port = op.port;
    np.protocol = op.protocol;
    np.tls = op.tls;
    np.l4_routes = op.l4_routes;
    ir::Port& pp = part.snapshot.ports[p];
    if (pp.http_listeners.size() != op.http_listeners.size()) {
      reason = "ports differ";
      return false;
    }
    np.http_listeners.reserve(op.http_listeners.size());
    for (uint32_t l = 0; l < op.http_listeners.size(); ++l) {
      const bool hit = next_affected < affected.size() && affected[next_affected].first == p &&
                       affected[next_affected].second == l;
      if (!hit) {
        np.http_listeners.push_back(op.http_listeners[l]);
        continue;
      }
      ++next_affected;
      if (pp.http_listeners[l].name != op.http_listeners[l].name) {
        reason = "ports differ";
        return false;
      }
      np.http_listeners.push_back(splice(op.http_listeners[l], pp.http_listeners[l]));
      if (!ok) {
        reason = "rules out of step";
        return false;
      }
    }
  }
  // Backends: the old ones still used, and the new ones (both sorted by name).
  {
    auto used = [&](const std::string& name) {
      auto it = st.backend_refs.find(name);
      return it != st.backend_refs.end() && it->second > 0;
    };
    const auto& ob = old_snap.backends;
    auto& nb = part.snapshot.backends;
    snap.backends.reserve(ob.size() + nb.size());
    size_t i = 0, j = 0;
    while (i < ob.size() || j < nb.size()) {
      if (j == nb.size() || (i < ob.size() && ob[i].name < nb[j].name)) {
        if (used(ob[i].name)) snap.backends.push_back(ob[i]);
        ++i;
      } else if (i == ob.size() || nb[j].name < ob[i].name) {
        snap.backends.push_back(std::move(nb[j++]));
      } else {
        snap.backends.push_back(ob[i]);
        ++i;
        ++j;
      }
    }
    for (auto it = st.backend_refs.begin(); it != st.backend_refs.end();)
      it = it->second == 0 ? st.backend_refs.erase(it) : std::next(it);
  }

  // 6. The new state.
  for (std::string_view k : removed_keys) st.by_route.erase(std::string(k));
  for (size_t k = 0; k < trace.http_routes.size(); ++k) {
    auto& tr = trace.http_routes[k];
    const api::ObjectMeta& m = *fresh[k].meta;
    State::Route sr;
    sr.pos = fresh[k].pos;
    sr.created = m.creation_timestamp;
    sr.ns = m.namespace_;
    sr.name = m.name;
    sr.counted = std::move(tr.counted);
    sr.reached = std::move(tr.reached);
    sr.claimed = std::move(tr.claimed);
    sr.backends = std::move(tr.backends);
    sr.service_gateways = std::move(tr.service_gateways);
    st.by_route.insert_or_assign(fresh[k].key, std::move(sr));
  }
  st.routes.resize(routes.size());
  for (size_t i : changed_new) st.routes[i] = routeFingerprint(routes[i]);
  st.snapshot = std::make_shared<const ir::Snapshot>(std::move(snap));
  st.pending = std::move(ps);
  st.statuses.reset();
  if (!defer_statuses) finishStatuses();
  out.snapshot = st.snapshot;
  out.statuses = st.statuses;
  out.incremental = true;
  out.routes_translated = fresh.size();
  out.routes_removed = removed.size();
  return true;
}

}  // namespace gantry::controlplane
