// The data plane's one reading of the monotonic clock, in milliseconds (deadlines and timeouts;
// Worker::nowMs() is the per-worker cached copy for the hot path).
#pragma once

#include <chrono>
#include <cstdint>

namespace gantry::dataplane {

inline int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace gantry::dataplane
