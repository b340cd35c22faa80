// libFuzzer target: the client connection preface followed by arbitrary bytes -> the REAL
// downstream connection handler (dataplane::serveConnection sees the preface and hands the
// connection to http2::serveHttp2, as for an accepted h2c socket), over a socketpair. The route
// table exercises every stream outcome: proxying to an in-process HTTP/1.1 upstream (same
// io_context, so exchanges complete deterministically; /trailers answers chunked with trailers,
// /big with 200 KiB so that flow control and the deferred data provider run), a direct status,
// an invalid backendRef (500), a backend without endpoints (503), a redirect and no route (404).
// The fuzzer's bytes are HTTP/2 frames (see corpus/ and http2.dict, made by make_corpus.py).
//
// Build: CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Fuzz
// Run:   build-fuzz/fuzz_http2_downstream -max_total_time=60 -dict=fuzz/http2_downstream/http2.dict
//        fuzz/http2_downstream/corpus
#include <cstdint>
#include <string>

#include "../downstream_harness.h"
#include "dataplane/http2/server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gantry;
  static fuzz::Env* env = new fuzz::Env;  // lives for the process: its worker keeps pooled state
  std::string input(dataplane::http2::kClientPreface);
  input.append(reinterpret_cast<const char*>(data), size);
  fuzz::runConnection(*env, input, /*shut_when_sent=*/false);
  return 0;
}
