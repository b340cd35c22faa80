// Consistency checks on a translation result, for tests, the fuzzer and (cheaply) the controller
// before it publishes a snapshot: every reference inside the snapshot resolves, ports are unique,
// and every condition is complete. A failure here is a translator bug, never a user error.
#pragma once

#include "common/status.h"
#include "controlplane/translate/translate.h"

namespace gantry::controlplane {

Status validateResult(const TranslateResult& result);

}  // namespace gantry::controlplane
