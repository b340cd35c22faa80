#include "cli/allocator.h"

#include <fmt/format.h>

#if defined(GANTRY_MALLOC_JEMALLOC)
#include <jemalloc/jemalloc.h>
#elif defined(GANTRY_MALLOC_MIMALLOC)
#include <mimalloc.h>
#elif defined(GANTRY_MALLOC_TCMALLOC)
#include <gperftools/tcmalloc.h>
#else
#include <gnu/libc-version.h>
#endif

namespace gantry::cli {

std::string allocatorName() {
#if defined(GANTRY_MALLOC_JEMALLOC)
  const char* version = nullptr;
  size_t len = sizeof(version);
  if (mallctl("version", &version, &len, nullptr, 0) != 0 || version == nullptr) return "jemalloc";
  return fmt::format("jemalloc {}", version);
#elif defined(GANTRY_MALLOC_MIMALLOC)
  const int v = mi_version();  // major * 100 + minor * 10 + patch
  return fmt::format("mimalloc {}.{}.{}", v / 100, v / 10 % 10, v % 10);
#elif defined(GANTRY_MALLOC_TCMALLOC)
  int major = 0, minor = 0;
  const char* patch = nullptr;
  tc_version(&major, &minor, &patch);
  return fmt::format("tcmalloc {}.{}{}", major, minor, patch ? patch : "");
#else
  return fmt::format("glibc {} malloc", gnu_get_libc_version());
#endif
}

}  // namespace gantry::cli
