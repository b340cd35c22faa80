// The server: worker threads (one per core) that own their connections, and the distribution of
// IR snapshots to them (RCU: docs/config-propagation.md).
//
// Threading: create(), publish(), run() and shutdown() are called from the main/control thread
// (publish() is also safe from any thread). Workers never block on the control plane.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "ir/ir.h"

namespace gantry::server {

struct ServerOptions {
  unsigned workers = 0;  // 0 = hardware concurrency
  uint32_t max_request_header_bytes = 64 * 1024;
  uint32_t max_request_headers = 100;
  uint32_t idle_timeout_ms = 60'000;
  uint32_t header_timeout_ms = 10'000;
  uint32_t max_connections_per_worker = 100'000;
  uint32_t upstream_connect_timeout_ms = 5'000;
  uint32_t upstream_response_timeout_ms = 0;
  uint32_t drain_timeout_ms = 15'000;
};

class Server {
 public:
  static StatusOr<std::unique_ptr<Server>> create(const ServerOptions& options);
  virtual ~Server() = default;

  // Publishes a new snapshot: ports are bound/unbound to match it (a port that cannot be bound is
  // reported in the returned Status and the rest is served), then every worker swaps its pointer.
  // In-flight streams finish on the snapshot they started with.
  virtual Status publish(ir::SnapshotPtr snapshot) = 0;
  virtual ir::SnapshotPtr current() const = 0;

  // Where the last publish() spent its time (admin /stats, the controller's per-change log).
  struct PublishTimings {
    uint64_t version = 0;         // snapshot version
    uint64_t route_table_us = 0;  // RouteTable::build
    uint64_t total_us = 0;        // the whole publish() call (table, binds, posting to workers)
    // publish() entry -> every worker has swapped to the new table (0: not all yet).
    uint64_t swapped_us = 0;
  };
  virtual PublishTimings lastPublishTimings() const { return {}; }

  // Blocks until shutdown() (or SIGTERM/SIGINT, handled by run()) and the drain have finished.
  virtual void run() = 0;
  // Stop accepting, let in-flight requests finish for up to drain_timeout_ms, then stop.
  virtual void shutdown() = 0;
};

}  // namespace gantry::server
