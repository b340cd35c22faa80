#include "dataplane/upstream/weighted.h"

#include <numeric>

namespace gantry::dataplane::upstream {

WeightedPicker::WeightedPicker(std::span<const uint32_t> weights, uint32_t max_schedule) {
  size_ = static_cast<uint32_t>(weights.size());
  uint32_t nonzero = 0;
  uint64_t g = 0;
  uint64_t sum = 0;
  for (uint32_t i = 0; i < size_; ++i) {
    if (weights[i] == 0) continue;
    ++nonzero;
    single_ = i;
    g = std::gcd(g, static_cast<uint64_t>(weights[i]));
    sum += weights[i];
  }
  if (nonzero == 0) return;  // kEmpty
  if (nonzero == 1) {
    mode_ = Mode::kSingle;
    period_ = 1;
    return;
  }
  std::vector<uint64_t> w(weights.begin(), weights.end());
  for (auto& v : w) v /= g;
  sum /= g;
  // The cursor is 32 bits: a reduced sum beyond 2^31 (only reachable with many huge endpoint
  // weights; Gateway API caps a backendRef weight at 1,000,000) is scaled down, keeping every
  // non-zero weight at least 1. Shares are then exact to within 1 / 2^31 of the total.
  constexpr uint64_t kMaxPeriod = uint64_t{1} << 31;
  if (sum > kMaxPeriod) {
    const uint64_t div = (sum + kMaxPeriod - 1) / kMaxPeriod + 1;
    sum = 0;
    for (auto& v : w) {
      if (v != 0) v = std::max<uint64_t>(1, v / div);
      sum += v;
    }
  }
  period_ = static_cast<uint32_t>(sum);

  if (nonzero == size_ && period_ == size_) {  // all weights equal: plain round robin
    mode_ = Mode::kUniform;
    return;
  }
  if (period_ <= max_schedule && size_ <= 0xFFFF) {
    // nginx smooth weighted round robin (ngx_http_upstream_get_peer), run once over a period:
    // every step adds each weight to its item's credit, picks the largest credit (first on a
    // tie) and charges it the total. Credits sum to 0 after every step and return to all-zero
    // after exactly one period, in which each item is picked w_i times.
    mode_ = Mode::kSchedule;
    schedule_.resize(period_);
    std::vector<int64_t> credit(size_, 0);
    for (uint32_t k = 0; k < period_; ++k) {
      uint32_t best = size_;
      for (uint32_t i = 0; i < size_; ++i) {
        if (w[i] == 0) continue;
        credit[i] += static_cast<int64_t>(w[i]);
        if (best == size_ || credit[i] > credit[best]) best = i;
      }
      credit[best] -= static_cast<int64_t>(sum);
      schedule_[k] = static_cast<uint16_t>(best);
    }
    return;
  }
  mode_ = Mode::kStride;
  cum_.resize(size_);
  uint64_t run = 0;
  for (uint32_t i = 0; i < size_; ++i) {
    run += w[i];
    cum_[i] = static_cast<uint32_t>(run);
  }
  // Golden-ratio stride (the most evenly spreading irrational rotation, three-gap theorem),
  // moved to the next value coprime with the period so that the walk visits every position once.
  uint64_t s = static_cast<uint64_t>(static_cast<double>(sum) * 0.6180339887498949);
  if (s == 0) s = 1;
  while (std::gcd(s, sum) != 1) s = s + 1 < sum ? s + 1 : 1;
  stride_ = static_cast<uint32_t>(s);
}

}  // namespace gantry::dataplane::upstream
