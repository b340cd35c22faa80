// libFuzzer target for the TLS ClientHello peeker (dataplane/tls/client_hello.h), the first code
// that sees attacker bytes on a TLS passthrough listener.
//
// Build and run (clang, ASan + UBSan):
//   CC=clang CXX=clang++ cmake -S . -B build-tls-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Fuzz
//   ninja -C build-tls-fuzz fuzz_tls_client_hello
//   build-tls-fuzz/fuzz_tls_client_hello -max_total_time=60 -max_len=4096 \
//       fuzz/tls_client_hello/corpus
// The seed corpus holds real ClientHellos from `openssl s_client` (make_corpus.py regenerates it).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "dataplane/tls/client_hello.h"

using gantry::dataplane::tls::ClientHelloInfo;
using gantry::dataplane::tls::peekClientHello;
using gantry::dataplane::tls::PeekStatus;

namespace {
void require(bool c) {
  if (!c) std::abort();
}
bool hostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ClientHelloInfo info;
  auto r = peekClientHello(data, size, &info);
  require(r.reason != nullptr);
  if (r.status != PeekStatus::kOk) {
    require(r.status == PeekStatus::kNeedMore || r.status == PeekStatus::kNotTls ||
            r.status == PeekStatus::kMalformed);
    return 0;
  }
  // Invariants of an accepted ClientHello.
  require(info.wire_bytes <= size);
  require(info.sni().size() <= gantry::dataplane::tls::kMaxSniBytes);
  for (char c : info.sni()) require(hostChar(c));
  size_t total = 0;
  for (size_t i = 0; i < info.alpnCount(); ++i) {
    auto p = info.alpn(i);
    require(!p.empty());
    total += 1 + p.size();
  }
  require(total == info.alpnWire().size());
  // The answer depends only on the bytes up to the end of the ClientHello: an exact-size copy of
  // that prefix (so ASan sees any read past it) gives the same result, and every shorter prefix
  // is "need more".
  std::unique_ptr<uint8_t[]> copy(new uint8_t[info.wire_bytes]);
  std::memcpy(copy.get(), data, info.wire_bytes);
  ClientHelloInfo again;
  require(peekClientHello(copy.get(), info.wire_bytes, &again).status == PeekStatus::kOk);
  require(again.sni() == info.sni());
  require(again.alpnWire() == info.alpnWire());
  require(peekClientHello(copy.get(), info.wire_bytes - 1, &again).status == PeekStatus::kNeedMore);
  return 0;
}
