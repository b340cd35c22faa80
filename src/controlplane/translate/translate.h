// Objects -> IR + status: a pure function of its inputs (no I/O, no clock except `now`).
// Table-tested in tests/unit/controlplane and fuzzed.
#pragma once

#include <map>
#include <string>
#include <utility>
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
  // What the environment cannot provide, as found by the caller (the translator does no I/O):
  // spec.addresses values that are not usable on this host (e.g. not assigned to any local
  // interface) -> Gateway Programmed=False AddressNotUsable; (address, port) pairs that could not
  // be bound -> that listener Accepted=False PortUnavailable. The caller decides how long an entry
  // stays (e.g. until the Gateway's generation changes), so that status does not flap.
  std::vector<std::string> unusable_addresses;
  std::vector<std::pair<std::string, uint16_t>> unavailable_ports;
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
