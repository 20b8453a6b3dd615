// Public entry of the sum kernel family (called from the Cython binding).
#pragma once

#include <cstdint>
#include <vector>

#include "common/runtime.h"

namespace acnn {

#define ACNN_SUM_DECLARE(NS)                                                                 \
  namespace NS {                                                                             \
  template <typename T> void sum_contiguous(const T*, std::int64_t, T*, T*);                 \
  template <typename T> void channel_sum(const T*, std::int64_t, std::int64_t, std::int64_t, T*); \
  }
ACNN_SUM_DECLARE(avx512)
ACNN_SUM_DECLARE(avx2)
ACNN_SUM_DECLARE(baseline)
#undef ACNN_SUM_DECLARE

// Deterministic (thread-count independent) sum of n contiguous elements.
template <typename T>
T sum(const T* x, std::int64_t n) {
  std::vector<T> partials(static_cast<std::size_t>(n / 16384 + 1));
  T out = T(0);
  ACNN_DISPATCH(sum_contiguous<T>, x, n, partials.data(), &out);
  return out;
}

// out[c] = sum of x[n][c][i] over n < N and i < L (x contiguous, shape (N, C, L)); deterministic.
template <typename T>
void channel_sum(const T* x, std::int64_t N, std::int64_t C, std::int64_t L, T* out) {
  ACNN_DISPATCH(channel_sum<T>, x, N, C, L, out);
}

}  // namespace acnn
