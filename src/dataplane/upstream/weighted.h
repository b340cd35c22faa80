// WeightedPicker: the one weighted selection of the data plane -- HTTP/1, HTTP/2 and gRPC
// backendRefs of a rule, the endpoints of a backend, ExternalAuth endpoints, L4 backendRefs and
// endpoints all pick through it.
//
// Gateway API BackendRef.weight: "the proportion of requests forwarded to the referenced backend
// ... computed as weight/(sum of all weights in this BackendRefs list)"; weight 0 means "no
// traffic". The proportion must hold over short windows too: a counter walking weight units (the
// previous code) sent a 50/50 split as 50 requests in a row to one backend, which defeats a
// canary's purpose and piles a burst on one pool.
//
// How: the picker is immutable, built with the RouteTable (never on the request path), and the
// caller keeps one uint32_t cursor per worker (LocalTable's counters), so a pick is lock-free and
// allocation-free. The sequence is the nginx "smooth weighted round robin" order over the weights
// divided by their gcd (50/50 -> period 2: A B A B; 90/10 -> period 10: 9 A and 1 B spread out),
// computed ONCE into a schedule, so a pick is one load and one compare instead of the O(n) walk
// that nginx does per request (bench/micro/weighted.cc measures the three options). Over one
// period every item gets exactly its share, and an item i is never picked more than
// ceil(w_i / w_j) times in a row, j being the heaviest other item (tests/unit/dataplane/
// weighted_test.cc). Per worker: each worker has its own cursor, so the interleaving is smooth
// per worker (and per keep-alive connection); the sum over workers keeps the exact shares.
//
// Weights whose reduced period is too long for a small schedule (e.g. 999999/1) fall back to a
// stride walk: x_k = k * s mod period with s coprime with the period (near period * golden ratio),
// mapped to an item by its cumulative weights. It is a permutation of [0, period), so shares are
// still exact over a period, and the golden-ratio stride spreads each item's range evenly.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace gantry::dataplane::upstream {

class WeightedPicker {
 public:
  // Longest schedule kept (2 bytes an entry): every weight set whose gcd-reduced sum is at most
  // this uses the exact smooth order.
  static constexpr uint32_t kMaxSchedule = 1024;

  WeightedPicker() = default;
  // weights[i] is item i's weight; 0 = never picked. max_schedule: tests and benchmarks pass 0
  // to force the stride walk.
  explicit WeightedPicker(std::span<const uint32_t> weights, uint32_t max_schedule = kMaxSchedule);

  // No item has a weight > 0: pick() must not be called.
  bool empty() const { return mode_ == Mode::kEmpty; }
  // Number of items (weights given, including zeros).
  uint32_t size() const { return size_; }
  // Length of one full cycle of picks (the gcd-reduced sum of the weights).
  uint32_t period() const { return period_; }
  bool usesSchedule() const { return mode_ == Mode::kSchedule; }

  // The next item for the caller's cursor `state` (per worker; any initial value is valid, e.g.
  // a worker id to start workers at different places). Not to be called when empty().
  uint32_t pick(uint32_t& state) const {
    uint32_t c = state;
    if (c >= period_) [[unlikely]]
      c %= period_;
    switch (mode_) {
      case Mode::kSingle:
        return single_;
      case Mode::kUniform:
        state = c + 1 == period_ ? 0 : c + 1;
        return c;
      case Mode::kSchedule:
        state = c + 1 == period_ ? 0 : c + 1;
        return schedule_[c];
      case Mode::kStride: {
        uint64_t next = static_cast<uint64_t>(c) + stride_;
        state = static_cast<uint32_t>(next >= period_ ? next - period_ : next);
        return static_cast<uint32_t>(std::upper_bound(cum_.begin(), cum_.end(), c) - cum_.begin());
      }
      case Mode::kEmpty:
        break;
    }
    return 0;
  }

 private:
  enum class Mode : uint8_t { kEmpty, kSingle, kUniform, kSchedule, kStride };
  Mode mode_ = Mode::kEmpty;
  uint32_t size_ = 0;
  uint32_t period_ = 0;
  uint32_t single_ = 0;
  uint32_t stride_ = 0;
  std::vector<uint16_t> schedule_;  // kSchedule: item of each position of the period
  std::vector<uint32_t> cum_;       // kStride: running sum of the reduced weights
};

}  // namespace gantry::dataplane::upstream
