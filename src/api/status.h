// Kubernetes-shaped status that gantry writes for the objects it owns (GatewayClass, Gateway,
// ListenerSet, every Route kind, BackendTLSPolicy). Produced by controlplane/translate; served by
// the admin API (GET /status) and, in Kubernetes mode, written to the API server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/objects.h"

namespace gantry::api {

// metav1.Condition. Types, statuses and reasons are exactly the Gateway API's strings.
struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
  int64_t observed_generation = 0;
  std::string last_transition_time;  // RFC 3339; kept when (status, reason) did not change
};

struct RouteParentStatus {
  ParentReference parent_ref;  // group/kind/namespace written out in full
  std::string controller_name;
  std::vector<Condition> conditions;
};

struct ListenerStatus {
  std::string name;
  std::vector<RouteGroupKind> supported_kinds;
  int32_t attached_routes = 0;
  std::vector<Condition> conditions;
};

struct GatewayStatusAddress {
  std::string type = "IPAddress";
  std::string value;
};

// The status of one object. Which members are used depends on kind.
struct ObjectStatus {
  std::string api_version;  // e.g. gateway.networking.k8s.io/v1
  std::string kind;
  std::string name;
  std::string namespace_;
  int64_t generation = 0;
  std::vector<Condition> conditions;            // GatewayClass, Gateway, ListenerSet, policies
  std::vector<ListenerStatus> listeners;        // Gateway, ListenerSet
  std::vector<GatewayStatusAddress> addresses;  // Gateway
  std::vector<RouteParentStatus> parents;       // Routes; BackendTLSPolicy (PolicyAncestorStatus)
  std::vector<std::string> supported_features;  // GatewayClass
  // Gateway: status.attachedListenerSets, the ListenerSets allowed by spec.allowedListeners whose
  // parentRef selects this Gateway and that are Accepted=True. Unset (omitted) for a Gateway that
  // allows no ListenerSets and is targeted by none.
  std::optional<int32_t> attached_listener_sets;
};

}  // namespace gantry::api
