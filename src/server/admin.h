// The admin API: a small loopback HTTP/1.1 server (own thread, own asio::io_context; requests
// parsed with llhttp) that serves what the controller knows.
//
//   GET /status   {"items":[{apiVersion, kind, metadata:{name, namespace, generation},
//                  status:{...}}]}: Kubernetes-shaped status of every object gantry writes status
//                  for (GatewayClass, Gateway, ListenerSet, Routes, BackendTLSPolicy).
//   GET /config   the active snapshot (ir::toJson).
//   GET /errors   {"errors":[{file, line, object, field, message}], "count": n}.
//   GET /healthz  200 while the process is alive.
//   GET /readyz   200 once the first snapshot has been published, 503 before.
//   anything else 404 (405 for other methods on a known path).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/parse.h"
#include "api/status.h"
#include "common/status.h"
#include "ir/ir.h"

namespace gantry::server {

// What the admin API reads; every callback must be thread-safe (it runs on the admin thread).
struct AdminSource {
  std::function<std::vector<api::ObjectStatus>()> statuses;
  std::function<std::vector<api::ValidationError>()> errors;
  std::function<ir::SnapshotPtr()> snapshot;
  std::function<bool()> ready;
  std::function<std::string()> stats_json;  // optional: GET /stats
};

class AdminServer {
 public:
  // Binds `address` ("host:port"; port 0 = any free port) and starts serving on its own thread.
  static StatusOr<std::unique_ptr<AdminServer>> start(const std::string& address,
                                                      AdminSource source);
  virtual ~AdminServer() = default;
  virtual uint16_t port() const = 0;  // the bound port
  virtual void stop() = 0;
};

// JSON bodies, exposed for tests and for `gantry status`.
std::string statusesToJson(const std::vector<api::ObjectStatus>& statuses);
std::string errorsToJson(const std::vector<api::ValidationError>& errors);
// A JSON string literal (with quotes), escaped per RFC 8259 section 7.
std::string jsonString(std::string_view s);

// "host:port" -> (host, port); "[v6]:port" accepted.
StatusOr<std::pair<std::string, uint16_t>> splitHostPort(const std::string& address);

}  // namespace gantry::server
