#include "dataplane/upstream/weighted.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace gantry::dataplane::upstream {
namespace {

std::vector<uint32_t> run(const WeightedPicker& p, uint32_t n, uint32_t state = 0) {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < n; ++i) out.push_back(p.pick(state));
  return out;
}

// Longest run of `item` in the sequence read as a cycle (a worker keeps going round).
uint32_t longestCyclicRun(const std::vector<uint32_t>& seq, uint32_t item) {
  std::vector<uint32_t> twice(seq);
  twice.insert(twice.end(), seq.begin(), seq.end());
  uint32_t best = 0, cur = 0;
  for (uint32_t v : twice) {
    cur = v == item ? cur + 1 : 0;
    best = std::max(best, cur);
  }
  return std::min<uint32_t>(best, static_cast<uint32_t>(seq.size()));
}

std::vector<uint32_t> counts(const std::vector<uint32_t>& seq, size_t n) {
  std::vector<uint32_t> c(n, 0);
  for (uint32_t v : seq) ++c.at(v);
  return c;
}

TEST(WeightedPicker, FiftyFiftyAlternates) {
  const std::vector<uint32_t> w{50, 50};
  WeightedPicker p(w);
  EXPECT_EQ(p.period(), 2u);  // 50/50 reduces to 1/1
  auto seq = run(p, 100);
  for (size_t i = 1; i < seq.size(); ++i) EXPECT_NE(seq[i], seq[i - 1]) << i;
}

TEST(WeightedPicker, NinetyTenIsSpreadAndExact) {
  const std::vector<uint32_t> w{90, 10};
  WeightedPicker p(w);
  ASSERT_EQ(p.period(), 10u);
  auto seq = run(p, 10);
  EXPECT_EQ(counts(seq, 2), (std::vector<uint32_t>{9, 1}));
  EXPECT_EQ(longestCyclicRun(seq, 0), 9u);
  EXPECT_EQ(longestCyclicRun(seq, 1), 1u);
  // Over 10,000 picks (the canary measurement): exactly 9,000 and 1,000.
  EXPECT_EQ(counts(run(p, 10000), 2), (std::vector<uint32_t>{9000, 1000}));
}

TEST(WeightedPicker, ZeroWeightNeverPicked) {
  const std::vector<uint32_t> w{0, 3, 0, 1, 0};
  for (uint32_t max_schedule : {WeightedPicker::kMaxSchedule, 0u}) {
    WeightedPicker p(w, max_schedule);
    auto c = counts(run(p, 4000, 7), w.size());
    EXPECT_EQ(c, (std::vector<uint32_t>{0, 3000, 0, 1000, 0})) << max_schedule;
  }
}

TEST(WeightedPicker, EmptyAndSingle) {
  EXPECT_TRUE(WeightedPicker().empty());
  const std::vector<uint32_t> zeros{0, 0};
  EXPECT_TRUE(WeightedPicker(zeros).empty());
  const std::vector<uint32_t> one{0, 0, 7};
  WeightedPicker p(one);
  ASSERT_FALSE(p.empty());
  uint32_t state = 12345;  // e.g. a worker id: any start is valid
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p.pick(state), 2u);
}

TEST(WeightedPicker, EqualWeightsAreRoundRobinFromAnyStart) {
  const std::vector<uint32_t> w{2, 2, 2};
  WeightedPicker p(w);
  EXPECT_EQ(p.period(), 3u);
  uint32_t state = 4;  // out of range: reduced, then cycles
  EXPECT_EQ(p.pick(state), 1u);
  EXPECT_EQ(p.pick(state), 2u);
  EXPECT_EQ(p.pick(state), 0u);
  EXPECT_EQ(p.pick(state), 1u);
}

// Every item gets exactly its share over a full period, for the schedule and the stride walk;
// runs stay short.
TEST(WeightedPicker, SharesExactAndRunsShort) {
  const std::vector<std::vector<uint32_t>> sets{
      {1, 1}, {2, 1},       {3, 1},        {9, 1},   {1, 4},       {5, 1, 1}, {1, 2, 3, 4},
      {7, 3}, {60, 30, 10}, {1, 1, 1, 97}, {100, 1}, {33, 33, 34}, {4, 0, 4}, {13, 7, 5, 2}};
  for (const auto& w : sets) {
    uint64_t total = 0;
    for (uint32_t v : w) total += v;
    for (uint32_t max_schedule : {WeightedPicker::kMaxSchedule, 0u}) {
      WeightedPicker p(w, max_schedule);
      EXPECT_EQ(p.usesSchedule(),
                max_schedule != 0 && p.period() > 1 &&
                    !std::all_of(w.begin(), w.end(), [&](uint32_t v) { return v == w[0]; }));
      auto seq = run(p, p.period() * 3);
      auto c = counts(seq, w.size());
      for (size_t i = 0; i < w.size(); ++i) {
        EXPECT_EQ(uint64_t{c[i]} * total, uint64_t{w[i]} * 3 * p.period())
            << "item " << i << " max_schedule " << max_schedule;
        if (w[i] == 0) continue;
        // An item never runs longer than ceil(w_i / w_j) for the heaviest other item j (the
        // exact bound for two items); the stride walk (only for very long periods) is within 2x.
        uint64_t heaviest_other = 0;
        for (size_t j = 0; j < w.size(); ++j)
          if (j != i) heaviest_other = std::max<uint64_t>(heaviest_other, w[j]);
        const uint64_t ideal = (w[i] + heaviest_other - 1) / heaviest_other;
        const uint32_t bound =
            static_cast<uint32_t>(std::max<uint64_t>(1, max_schedule == 0 ? 2 * ideal + 1 : ideal));
        EXPECT_LE(longestCyclicRun(seq, static_cast<uint32_t>(i)), bound)
            << "item " << i << " of set starting " << w[0] << " max_schedule " << max_schedule;
      }
    }
  }
}

TEST(WeightedPicker, HugeWeightsUseStrideWithExactShares) {
  const std::vector<uint32_t> w{999'999, 1};
  WeightedPicker p(w);
  EXPECT_FALSE(p.usesSchedule());
  ASSERT_EQ(p.period(), 1'000'000u);
  uint32_t state = 0;
  uint32_t ones = 0;
  for (uint32_t i = 0; i < p.period(); ++i) ones += p.pick(state) == 1 ? 1 : 0;
  EXPECT_EQ(ones, 1u);
  EXPECT_EQ(state, 0u);  // back at the start after one period: a permutation
}

TEST(WeightedPicker, SumsBeyond31BitsAreScaled) {
  const std::vector<uint32_t> w{4'000'000'000u, 1'000'000'001u};
  WeightedPicker p(w);
  EXPECT_FALSE(p.empty());
  EXPECT_LE(p.period(), 1u << 31);
  uint32_t state = 0;
  uint64_t firsts = 0;
  for (int i = 0; i < 100'000; ++i) firsts += p.pick(state) == 0 ? 1 : 0;
  EXPECT_NEAR(static_cast<double>(firsts), 80'000.0, 100.0);
}

}  // namespace
}  // namespace gantry::dataplane::upstream
