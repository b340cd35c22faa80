// Objects -> IR + status: a pure function of its inputs (no I/O, no clock except `now`).
// Table-tested in tests/unit/controlplane and fuzzed.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/objects.h"
#include "api/status.h"
#include "ir/ir.h"

namespace gantry::controlplane {

struct TranslateOptions {
  std::string controller_name = "gantry.io/gateway-controller";
  std::string bind_address = "0.0.0.0";  // used when a Gateway has no spec.addresses
  std::string address_pool;              // CIDR; "" = none (see docs)
  std::string now;                       // RFC 3339, for lastTransitionTime of new conditions
};

struct TranslateResult {
  ir::Snapshot snapshot;
  std::vector<api::ObjectStatus> statuses;
};

// `previous` carries the statuses last written, so that lastTransitionTime is kept when a
// condition's status did not change, and address-pool assignments stay stable.
TranslateResult translate(const api::ObjectSet& objects, const TranslateOptions& options,
                          const std::vector<api::ObjectStatus>& previous = {});

}  // namespace gantry::controlplane
