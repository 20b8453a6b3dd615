// Deterministic parallel loops. Work is cut into the same chunks whatever the thread count, so a
// kernel that reduces per chunk and then combines chunks in index order gives bit-identical
// results on 1 or many threads.
#pragma once

#include <cstdint>

#include "runtime.h"

namespace acnn {

// Calls fn(i) for i in [0, n), spread statically over num_threads() OpenMP threads.
template <typename Fn>
inline void parallel_for(std::int64_t n, Fn&& fn) {
  const int threads = num_threads();
  if (threads <= 1 || n <= 1) {
    for (std::int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t i = 0; i < n; ++i) fn(i);
}

// Below this much work (elements moved or multiply-adds) a loop runs on the calling thread: a
// parallel region costs microseconds to open, and far more when another process holds the other
// core. Every work item computes its own outputs, so the result is the same either way.
constexpr double kSerialWork = 1 << 20;

// parallel_for(n, fn) when the loop's total `work` pays for a parallel region, else serial.
template <typename Fn>
inline void parallel_for(std::int64_t n, double work, Fn&& fn) {
  if (work < kSerialWork) {
    for (std::int64_t i = 0; i < n; ++i) fn(i);
  } else {
    parallel_for(n, fn);
  }
}

}  // namespace acnn
