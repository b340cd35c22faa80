// Internal to controlplane/translate: what a translation can report about its own work, for the
// incremental translator (incremental.h), which splices re-translated routes into a previous
// result. Not a contract for other areas.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "controlplane/translate/translate.h"

namespace gantry::controlplane::internal {

// One listener (Gateway or ListenerSet), identified by its position in the result.
struct TraceListener {
  std::string name;                    // ir::HttpListener::name form ("ns/gw/l", "listenerset:...")
  uint32_t status_index = UINT32_MAX;  // its Gateway or ListenerSet status in result.statuses
  uint32_t status_listener = 0;        // its index in that status' listeners
  // Where it is in the snapshot: (port index, http_listeners index), one per bound address.
  std::vector<std::pair<uint32_t, uint32_t>> http;
};

// What one HTTPRoute contributed.
struct TraceRoute {
  size_t object_index = 0;            // index in objects.http_routes
  std::vector<uint32_t> counted;      // listeners (indices into listeners) it counts on
  std::vector<uint32_t> reached;      // programmed listeners that got its rules and entries
  std::vector<uint32_t> claimed;      // listeners it attached to before HTTP/GRPC conflicts
  std::vector<std::string> backends;  // ir::Backend names it resolved (repeats possible)
  // (Service "<ns>/<name>", Gateway "<ns>/<name>"): its accepted parents use the Service
  // (BackendTLSPolicy ancestors).
  std::vector<std::pair<std::string, std::string>> service_gateways;
};

struct TranslateTrace {
  std::vector<TraceListener> listeners;
  std::vector<TraceRoute> http_routes;      // the HTTPRoutes translated, in objects order
  std::vector<std::string> other_backends;  // backends resolved by GRPCRoutes and L4 routes
  std::vector<std::pair<std::string, std::string>> other_service_gateways;  // theirs
  std::vector<uint32_t> grpc_listeners;  // listeners some GRPCRoute attached to (pre-conflict)
};

// translate() that also fills `trace`. With `only_http_routes` (ascending indices into
// objects.http_routes) only those HTTPRoutes are translated, and no GRPCRoute or L4 route: the
// result then holds their statuses, rules and entries, and every non-route status as usual;
// `extra_service_gateways` adds the other routes' (Service, Gateway) pairs, so that the
// BackendTLSPolicy statuses are those of the whole set. The objects must have unique keys
// (api::ObjectSet::keys_unique).
TranslateResult translateTraced(
    const api::ObjectSet& objects, const TranslateOptions& options,
    const std::vector<api::ObjectStatus>& previous, TranslateTrace& trace,
    const std::vector<size_t>* only_http_routes = nullptr,
    const std::vector<std::pair<std::string, std::string>>* extra_service_gateways = nullptr);

}  // namespace gantry::controlplane::internal
