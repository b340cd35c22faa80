// ir/json at control-plane scale: a snapshot of 10,000 routes over 1,000 hostnames (the issue 3
// benchmark's shape) serialised for /config and parsed back as a separate proxy process would.
#include <benchmark/benchmark.h>

#include <string>

#include "ir/ir.h"
#include "ir/json.h"

namespace {

using namespace gantry::ir;

Snapshot bigSnapshot(int routes, int hostnames, int services) {
  Snapshot s;
  s.version = 1;
  for (int b = 0; b < services; ++b) {
    Backend be;
    be.name = "default/svc-" + std::to_string(b) + ":80";
    be.endpoints = {{"10.0." + std::to_string(b / 250) + "." + std::to_string(b % 250), 8080, 1}};
    s.backends.push_back(std::move(be));
  }
  Port p;
  p.address = "127.0.0.1";
  p.port = 8080;
  HttpListener l;
  l.name = "default/scale/http";
  for (int i = 0; i < routes; ++i) {
    Rule r;
    r.route = "HTTPRoute/default/route-" + std::to_string(i);
    r.backends = {{"default/svc-" + std::to_string(i % services) + ":80", 1, {}}};
    if (i % 10 == 7) {
      Filter f;
      f.type = FilterType::kRequestHeaderModifier;
      f.header_modifier.set = {{"x-route", std::to_string(i)}};
      r.filters.push_back(f);
    }
    l.rules.push_back(std::move(r));
    RouteEntry e;
    e.hostname = "host-" + std::to_string(i % hostnames) + ".example.com";
    e.match.path = {PathMatchType::kPathPrefix, "/r" + std::to_string(i) + "/"};
    if (i % 10 == 3) e.match.headers = {{ValueMatchType::kExact, "x-variant", "v1"}};
    e.rule = static_cast<uint32_t>(i);
    l.entries.push_back(std::move(e));
  }
  p.http_listeners.push_back(std::move(l));
  s.ports.push_back(std::move(p));
  return s;
}

void BM_ToJson(benchmark::State& state) {
  Snapshot s = bigSnapshot(static_cast<int>(state.range(0)), 1000, 100);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string json = toJson(s);
    bytes = json.size();
    benchmark::DoNotOptimize(json);
  }
  state.counters["json_bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<int64_t>(bytes) * state.iterations());
}
BENCHMARK(BM_ToJson)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_FromJson(benchmark::State& state) {
  std::string json = toJson(bigSnapshot(static_cast<int>(state.range(0)), 1000, 100));
  for (auto _ : state) {
    auto parsed = fromJson(json);
    if (!parsed.isOk()) state.SkipWithError(parsed.status().message().c_str());
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<int64_t>(json.size()) * state.iterations());
}
BENCHMARK(BM_FromJson)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
