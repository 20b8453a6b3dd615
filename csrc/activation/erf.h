// The error function, elementwise (called from autograd_cnn/_bindings/activation.pxi for GELU).
//
//   erf_map   y[i] = erf(x[i])     on contiguous arrays of n elements
//
// NumPy has no erf, and a Python-level loop over math.erf costs a microsecond per element; the
// C library's erf is exact to the last bit or two in float and double. One template for both
// dtypes; the loop is split into blocks of 4096 elements so that large arrays use every thread.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/parallel.h"

namespace acnn {

template <typename T>
void erf_map(const T* x, T* y, std::int64_t n) {
  constexpr std::int64_t kBlock = 4096;
  const std::int64_t blocks = (n + kBlock - 1) / kBlock;
  // erf costs tens of cycles an element: weigh the work accordingly
  parallel_for(blocks, 20.0 * static_cast<double>(n), [&](std::int64_t b) {
    const std::int64_t end = std::min(n, (b + 1) * kBlock);
    for (std::int64_t i = b * kBlock; i < end; ++i) y[i] = std::erf(x[i]);
  });
}

}  // namespace acnn
