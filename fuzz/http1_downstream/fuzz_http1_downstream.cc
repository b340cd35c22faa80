// libFuzzer target: arbitrary bytes -> the REAL downstream HTTP/1 connection handler
// (dataplane::serveConnection, the same coroutine a worker runs for an accepted socket), over a
// socketpair, with the route table and in-process origin of fuzz/downstream_harness.h.
//
// Build: CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Fuzz
// Run:   build-fuzz/fuzz_http1_downstream -max_total_time=60 -dict=fuzz/http1_downstream/http1.dict
//        fuzz/http1_downstream/corpus
#include <cstdint>
#include <string_view>

#include "../downstream_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gantry;
  static fuzz::Env* env = new fuzz::Env;  // lives for the process: its worker keeps pooled state
  fuzz::runConnection(*env, std::string_view(reinterpret_cast<const char*>(data), size),
                      /*shut_when_sent=*/true);
  return 0;
}
