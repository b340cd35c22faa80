// Subcommands of the gantry binary. main.cc only parses flags and dispatches here.
#pragma once

#include <cstdint>
#include <string>

namespace gantry::cli {

struct RunOptions {
  std::string config_dir;     // --config DIR: standalone file provider (the default mode)
  std::string snapshot_file;  // --snapshot FILE: serve a serialised IR snapshot (data plane only)
  unsigned workers = 0;       // 0 = number of cores
  std::string admin_address = "127.0.0.1:9901";
  std::string bind_address = "0.0.0.0";
  std::string address_pool;  // CIDR
  std::string controller_name = "gantry.io/gateway-controller";
  std::string log_level = "info";
  // Data plane limits.
  uint32_t max_request_header_bytes = 64 * 1024;  // -> 431
  uint32_t max_request_headers = 100;             // -> 431
  uint32_t idle_timeout_ms = 60'000;              // keep-alive idle
  uint32_t header_timeout_ms = 10'000;            // slowloris defence
  uint32_t max_connections_per_worker = 100'000;
  uint32_t upstream_connect_timeout_ms = 5'000;
  uint32_t upstream_response_timeout_ms = 0;      // 0 = none beyond route timeouts
  uint32_t drain_timeout_ms = 15'000;
};

int run(const RunOptions& options);                    // src/cli/run.cc
int validate(const std::string& dir);                  // src/cli/validate.cc
int status(const std::string& admin_address);          // src/cli/status.cc

}  // namespace gantry::cli
