// libFuzzer target: arbitrary bytes as a manifest file. parseFile must never throw, crash, hang
// or exhaust memory, whatever the input (YAML parser quirks included); every error it reports must
// carry the file name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "api/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gantry::api::SourceFile file{"fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)};
  gantry::api::ParseResult out;
  gantry::api::parseFile(file, out);
  for (const auto& e : out.errors) {
    if (e.file != "fuzz.yaml" || e.line < 0) std::abort();
    (void)e.toString();
  }
  return 0;
}
