// Which memory allocator this binary was linked with (CMake option GANTRY_MALLOC), for
// `gantry version`.
#pragma once

#include <string>

namespace gantry::cli {

// "jemalloc 5.3.0-0-g54eaed1d8b56...", "mimalloc 2.0.6", "tcmalloc 2.10" or "glibc malloc": the
// version comes from the library itself, so it names the allocator that actually serves malloc.
std::string allocatorName();

}  // namespace gantry::cli
