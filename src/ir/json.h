// Stable JSON form of the IR (ir.h). Used by the admin API (GET /config), by `gantry run
// --snapshot FILE` (data plane fed a serialised snapshot, as a separate proxy process will be in
// Kubernetes mode), and by tests. Field names are the C++ member names; enums are strings.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "ir/ir.h"

namespace gantry::ir {

std::string toJson(const Snapshot& snapshot);

// Appends `s` as a quoted JSON string (RFC 8259 escapes). Invalid UTF-8 becomes U+FFFD, so the
// output always parses. Shared by every JSON writer in gantry (IR, admin API).
void appendJsonString(std::string& out, std::string_view s);
StatusOr<Snapshot> fromJson(std::string_view json);

}  // namespace gantry::ir
