// Per-pick cost of the three smooth weighted selections considered for upstream::WeightedPicker
// (dataplane/upstream/weighted.h), for N items with unequal weights:
//   Schedule/N:  the smooth order precomputed with the RouteTable; a pick = load + compare (used).
//   Stride/N:    x += s mod period, then a binary search of the cumulative weights (the fallback
//                for periods too long to precompute).
//   NginxSwrr/N: nginx's smooth weighted round robin run per pick over a per-worker credit
//                vector (O(N) per pick, and per-worker state sized by the items).
// Run: build-*/bench_weighted
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "dataplane/upstream/weighted.h"

namespace {

using gantry::dataplane::upstream::WeightedPicker;

std::vector<uint32_t> weightsFor(int n) {
  std::vector<uint32_t> w;
  for (int i = 0; i < n; ++i) w.push_back(static_cast<uint32_t>(i % 3 == 0 ? 7 : i % 3 + 1));
  return w;
}

void pickLoop(benchmark::State& state, const WeightedPicker& p) {
  uint32_t cursor = 0;
  for (auto _ : state) {
    uint32_t i = p.pick(cursor);
    benchmark::DoNotOptimize(i);
  }
}

void BM_Schedule(benchmark::State& state) {
  const auto w = weightsFor(static_cast<int>(state.range(0)));
  WeightedPicker p(w);
  if (!p.usesSchedule()) state.SkipWithError("expected a schedule");
  pickLoop(state, p);
}

void BM_Stride(benchmark::State& state) {
  const auto w = weightsFor(static_cast<int>(state.range(0)));
  WeightedPicker p(w, 0);
  pickLoop(state, p);
}

void BM_NginxSwrr(benchmark::State& state) {
  const auto w = weightsFor(static_cast<int>(state.range(0)));
  int64_t total = 0;
  for (uint32_t v : w) total += v;
  std::vector<int64_t> credit(w.size(), 0);  // the per-worker state this design needs
  for (auto _ : state) {
    size_t best = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      credit[i] += w[i];
      if (credit[i] > credit[best]) best = i;
    }
    credit[best] -= total;
    benchmark::DoNotOptimize(best);
  }
}

BENCHMARK(BM_Schedule)->Arg(2)->Arg(4)->Arg(16)->Arg(64);
BENCHMARK(BM_Stride)->Arg(2)->Arg(4)->Arg(16)->Arg(64);
BENCHMARK(BM_NginxSwrr)->Arg(2)->Arg(4)->Arg(16)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
