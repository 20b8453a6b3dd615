// Deterministic parallel loops. Work is cut into the same items whatever the thread count, so a
// kernel that reduces per item and then combines items in index order gives bit-identical results
// on 1 or many threads; only how many threads share the items changes, decided from the amount of
// work (parallel_threads).
#pragma once

#include <algorithm>
#include <cstdint>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "runtime.h"

namespace acnn {

// The grain: multiply-adds (or elements moved) one thread must get for a parallel region to pay.
// Opening one costs microseconds (far more when another process holds a core), about what this
// much work takes on one core, so a loop takes one thread per grain of work at most.
constexpr double kGrainWork = 1 << 19;
// Below this much work in total a loop runs on the calling thread (two grains).
constexpr double kSerialWork = 2 * kGrainWork;

// How many threads a loop of `items` work items and `work` in total keeps busy, with at most
// max_threads: at most one per item and one per grain of work (a small layer runs on fewer threads
// than a large one); then the fewest threads that leave the busiest one no more items (18 items on
// 16 threads: 9 threads of 2 items, not 16 of which two get 2 and the rest wait for them). Pure
// arithmetic: autograd_cnn._C.parallel_threads exposes it to the tests.
inline int parallel_threads(std::int64_t items, double work, int max_threads) {
  if (items <= 1 || max_threads <= 1 || !(work >= kSerialWork)) return 1;
  std::int64_t t = std::min<std::int64_t>(max_threads, items);
  t = std::min<std::int64_t>(t, static_cast<std::int64_t>(work / kGrainWork));
  if (t <= 1) return 1;
  // (ceilings written so that items up to INT64_MAX cannot overflow)
  const std::int64_t per = items / t + (items % t != 0);  // the busiest thread's items
  return static_cast<int>(items / per + (items % per != 0));
}

// The items thread k of `threads` takes: the contiguous run [begin, end) of balanced runs (sizes
// differ by at most one), in thread order.
inline void parallel_range(std::int64_t items, int threads, int k, std::int64_t* begin,
                           std::int64_t* end) {
  *begin = items * k / threads;
  *end = items * (k + 1) / threads;
}

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

// Calls fn(i) for i in [0, n) on parallel_threads(n, work, num_threads()) threads, each taking a
// contiguous run of items (parallel_range). Every item computes its own outputs, so the result is
// the same on any number of threads.
template <typename Fn>
inline void parallel_for(std::int64_t n, double work, Fn&& fn) {
  const int threads = parallel_threads(n, work, num_threads());
  if (threads <= 1) {
    for (std::int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    std::int64_t begin, end;
    parallel_range(n, omp_get_num_threads(), omp_get_thread_num(), &begin, &end);
    for (std::int64_t i = begin; i < end; ++i) fn(i);
  }
#else
  for (std::int64_t i = 0; i < n; ++i) fn(i);
#endif
}

}  // namespace acnn
