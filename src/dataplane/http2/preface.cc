#include <algorithm>

#include "dataplane/http2/server.h"

namespace gantry::dataplane::http2 {

PrefaceMatch matchPreface(std::string_view first_bytes) {
  size_t n = std::min(first_bytes.size(), kClientPreface.size());
  if (first_bytes.substr(0, n) != kClientPreface.substr(0, n)) return PrefaceMatch::kNo;
  return n == kClientPreface.size() ? PrefaceMatch::kComplete : PrefaceMatch::kPartial;
}

}  // namespace gantry::dataplane::http2
