// The standalone controller: the file provider (providers/files) feeding the translator
// (controlplane/translate) and publishing each result to the Server, plus the admin API.
// Runs on its own threads; never on a worker.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "controlplane/translate/translate.h"
#include "server/server.h"

namespace gantry::server {

struct ControllerOptions {
  std::string config_dir;     // "" = no file provider (e.g. `run --snapshot`)
  std::string admin_address;  // host:port; "" = no admin API
  controlplane::TranslateOptions translate;
};

class Controller {
 public:
  // Loads the folder once (errors are logged and reported in status, never fatal unless the
  // folder itself is unreadable), publishes the first snapshot, starts watching, starts the admin
  // API. `server` must outlive the Controller.
  static StatusOr<std::unique_ptr<Controller>> start(const ControllerOptions& options,
                                                     Server& server);
  virtual ~Controller() = default;
  virtual void stop() = 0;
};

}  // namespace gantry::server
