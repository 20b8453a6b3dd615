// Public entry of the sum kernel family (called from the Cython binding).
#pragma once

#include <cstdint>
#include <vector>

#include "common/runtime.h"

namespace acnn {

namespace avx512 { template <typename T> void sum_contiguous(const T*, std::int64_t, T*, T*); }
namespace avx2 { template <typename T> void sum_contiguous(const T*, std::int64_t, T*, T*); }
namespace baseline { template <typename T> void sum_contiguous(const T*, std::int64_t, T*, T*); }

// Deterministic (thread-count independent) sum of n contiguous elements.
template <typename T>
T sum(const T* x, std::int64_t n) {
  std::vector<T> partials(static_cast<std::size_t>(n / 16384 + 1));
  T out = T(0);
  ACNN_DISPATCH(sum_contiguous<T>, x, n, partials.data(), &out);
  return out;
}

}  // namespace acnn
