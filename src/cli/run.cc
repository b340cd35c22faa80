// `gantry run`: create the Server (workers), feed it snapshots (from --snapshot FILE, or from the
// file-provider Controller with --config DIR), always start the admin API, serve until
// SIGTERM/SIGINT and the drain have finished.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "ir/json.h"
#include "server/controller.h"
#include "server/server.h"

namespace gantry::cli {

int run(const RunOptions& o) {
  auto level = spdlog::level::from_str(o.log_level);
  if (level == spdlog::level::off && o.log_level != "off") {
    std::fprintf(stderr, "gantry run: unknown --log-level '%s'\n", o.log_level.c_str());
    return 1;
  }
  spdlog::set_level(level);

  server::ServerOptions so;
  so.workers = o.workers;
  so.max_request_header_bytes = o.max_request_header_bytes;
  so.max_request_headers = o.max_request_headers;
  so.idle_timeout_ms = o.idle_timeout_ms;
  so.header_timeout_ms = o.header_timeout_ms;
  so.max_connections_per_worker = o.max_connections_per_worker;
  so.upstream_connect_timeout_ms = o.upstream_connect_timeout_ms;
  so.upstream_response_timeout_ms = o.upstream_response_timeout_ms;
  so.drain_timeout_ms = o.drain_timeout_ms;
  auto server = server::Server::create(so);
  if (!server) {
    std::fprintf(stderr, "gantry run: %s\n", server.status().message().c_str());
    return 1;
  }

  if (!o.snapshot_file.empty()) {
    std::ifstream f(o.snapshot_file, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "gantry run: cannot read snapshot %s\n", o.snapshot_file.c_str());
      return 1;
    }
    std::stringstream ss;
    ss << f.rdbuf();
    auto snap = ir::fromJson(ss.str());
    if (!snap) {
      std::fprintf(stderr, "gantry run: invalid snapshot %s: %s\n", o.snapshot_file.c_str(),
                   snap.status().message().c_str());
      return 1;
    }
    Status st = (*server)->publish(std::make_shared<const ir::Snapshot>(std::move(*snap)));
    if (!st) {
      // Ports that bound are served; the others are reported (server.h contract).
      std::fprintf(stderr, "gantry run: %s\n", st.message().c_str());
    }
    spdlog::info("serving snapshot {} from {}", (*server)->current()->version, o.snapshot_file);
  }

  server::ControllerOptions co;
  co.config_dir = o.config_dir;  // "" in --snapshot mode: only the admin API runs
  co.admin_address = o.admin_address;
  co.translate.controller_name = o.controller_name;
  co.translate.bind_address = o.bind_address;
  co.translate.address_pool = o.address_pool;
  auto controller = server::Controller::start(co, **server);
  if (!controller) {
    std::fprintf(stderr, "gantry run: %s\n", controller.status().message().c_str());
    return 1;
  }

  (*server)->run();
  (*controller)->stop();
  spdlog::info("drained, exiting");
  return 0;
}

}  // namespace gantry::cli
