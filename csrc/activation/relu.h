// Public entry of the ReLU family (called from autograd_cnn/_bindings/activation.pxi).
//
//   relu_forward   y[i] = x[i] < 0 ? 0 : x[i] (NaN stays NaN, -0.0 stays -0.0, as in PyTorch),
//                  mask[i] = x[i] > 0 (unless mask is null: no backward will read it)
//   relu_backward  dx[i] = mask[i] ? g[i] : 0        (a NaN or Inf gradient where the mask is 0
//                                                     gives 0, as PyTorch's threshold backward)
// on contiguous arrays of n elements; mask is one byte (0 or 1) per element, NumPy's bool.
// NumPy's own np.where(mask, g, 0) takes about 1 ms on a LeNet-sized activation (300k elements of
// random sign); this is memory-bound, 20-50x faster.
#pragma once

#include <cstdint>

#include "common/runtime.h"

namespace acnn {

#define ACNN_RELU_DECLARE(NS)                                                          \
  namespace NS {                                                                       \
  template <typename T> void relu_forward(const T*, T*, std::uint8_t*, std::int64_t);  \
  template <typename T> void relu_backward(const T*, const std::uint8_t*, T*, std::int64_t); \
  }
ACNN_RELU_DECLARE(avx512)
ACNN_RELU_DECLARE(avx2)
ACNN_RELU_DECLARE(baseline)
#undef ACNN_RELU_DECLARE

template <typename T>
void relu_forward(const T* x, T* y, std::uint8_t* mask, std::int64_t n) {
  ACNN_DISPATCH(relu_forward<T>, x, y, mask, n);
}

template <typename T>
void relu_backward(const T* g, const std::uint8_t* mask, T* dx, std::int64_t n) {
  ACNN_DISPATCH(relu_backward<T>, g, mask, dx, n);
}

}  // namespace acnn
