// gantry: one binary, controller and data plane. main() only parses flags and dispatches.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/allocator.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"gantry: a Kubernetes Gateway API implementation (controller + proxy)"};
  app.require_subcommand(1);

  gantry::cli::RunOptions o;
  auto* run = app.add_subcommand("run", "Serve traffic for the Gateway API objects in a folder");
  run->add_option("--config", o.config_dir, "Folder of YAML/JSON manifests, watched for changes");
  run->add_option("--snapshot", o.snapshot_file, "Serve a serialised IR snapshot (JSON) instead");
  run->add_option("--workers", o.workers, "Worker threads (default: number of cores)");
  run->add_option("--admin-address", o.admin_address, "Admin API address (host:port)");
  run->add_option("--bind-address", o.bind_address, "Address Gateways bind without spec.addresses");
  run->add_option("--address-pool", o.address_pool, "CIDR to give each Gateway its own address");
  run->add_option("--controller-name", o.controller_name, "GatewayClass controllerName to accept");
  run->add_option("--log-level", o.log_level, "trace, debug, info, warn, error");
  run->add_option("--max-request-header-bytes", o.max_request_header_bytes, "Larger -> 431");
  run->add_option("--max-request-headers", o.max_request_headers, "More header fields -> 431");
  run->add_option("--idle-timeout-ms", o.idle_timeout_ms, "Keep-alive idle timeout");
  run->add_option("--header-timeout-ms", o.header_timeout_ms, "Time to receive request headers");
  run->add_option("--max-connections-per-worker", o.max_connections_per_worker, "Per worker");
  run->add_option("--upstream-connect-timeout-ms", o.upstream_connect_timeout_ms,
                  "Connect timeout");
  run->add_option("--upstream-response-timeout-ms", o.upstream_response_timeout_ms,
                  "Time to first response byte when no route timeout applies (0 = none)");
  run->add_option("--drain-timeout-ms", o.drain_timeout_ms, "Graceful shutdown drain time");
  run->callback([&] {
    if (o.config_dir.empty() == o.snapshot_file.empty())
      throw CLI::ValidationError("run", "exactly one of --config or --snapshot is required");
  });

  std::string validate_dir;
  auto* validate = app.add_subcommand("validate", "Check manifests; print every problem");
  validate->add_option("dir", validate_dir, "Folder of manifests")->required();

  std::string admin = "127.0.0.1:9901";
  auto* status = app.add_subcommand("status", "Show Gateways, listeners and routes of an instance");
  status->add_option("--admin-address", admin, "Admin API address of the running gantry");

  app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand("version")) {
    std::printf("gantry %s (allocator: %s)\n", GANTRY_VERSION,
                gantry::cli::allocatorName().c_str());
    return 0;
  }
  if (*run) return gantry::cli::run(o);
  if (*validate) return gantry::cli::validate(validate_dir);
  if (*status) return gantry::cli::status(admin);
  return 2;
}
