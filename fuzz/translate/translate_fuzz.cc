// Fuzz: arbitrary manifests (YAML/JSON bytes) -> parse -> translate. The translator must never
// crash, and its result must always be internally consistent (validateResult), whatever the
// parser lets through.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "api/parse.h"
#include "controlplane/translate/translate.h"
#include "controlplane/translate/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gantry;
  api::ParseResult parsed =
      api::parseFiles({{"fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)}});
  controlplane::TranslateOptions opts;
  opts.now = "2025-01-01T00:00:00Z";
  opts.address_pool = (size % 2) ? "10.0.0.0/30" : "";
  auto first = controlplane::translate(parsed.objects, opts);
  if (auto st = controlplane::validateResult(first); !st) {
    std::fprintf(stderr, "inconsistent result: %s\n", st.message().c_str());
    std::abort();
  }
  // Feeding the statuses back must be stable too (lastTransitionTime/address bookkeeping).
  auto second = controlplane::translate(parsed.objects, opts, first.statuses);
  if (auto st = controlplane::validateResult(second); !st) {
    std::fprintf(stderr, "inconsistent result (2nd): %s\n", st.message().c_str());
    std::abort();
  }
  return 0;
}
