// Public entry of the per-channel family (called from autograd_cnn/_bindings/channel.pxi). Arrays
// are C-contiguous with shape (N, C, L); per-channel vectors have C elements. The binding checks
// the shapes; a null pointer stands for an absent optional argument.
//
//   channel_moments(x, N, C, L, mean, var)               mean and biased variance per channel
//   channel_sums(g, x, shift, N, C, L, sum_g, sum_gx)    sum g; sum g * (x - shift) (shift may
//                                                        be null)
//   channel_affine(x, shift, scale, bias, g, gscale, N, C, L, y)
//                                                        y = (x - shift) * scale + bias + g * gscale
//                                                        (shift, bias, g/gscale may be null)
//
// Results do not depend on the thread count (see channel_kernels.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/runtime.h"

namespace acnn {

#define ACNN_CHANNEL_DECLARE(NS)                                                             \
  namespace NS {                                                                             \
  template <typename T>                                                                      \
  void channel_moments(const T*, std::int64_t, std::int64_t, std::int64_t, std::int64_t,    \
                       double*, T*, T*);                                                     \
  template <typename T>                                                                      \
  void channel_sums(const T*, const T*, const T*, std::int64_t, std::int64_t, std::int64_t,  \
                    std::int64_t, double*, T*, T*);                                          \
  template <typename T>                                                                      \
  void channel_affine(const T*, const T*, const T*, const T*, const T*, const T*,            \
                      std::int64_t, std::int64_t, std::int64_t, T*);                         \
  }
ACNN_CHANNEL_DECLARE(avx512)
ACNN_CHANNEL_DECLARE(avx2)
ACNN_CHANNEL_DECLARE(baseline)
#undef ACNN_CHANNEL_DECLARE

// How many segments each channel's reduction is cut into: one per 32768 values (a work item
// worth a thread), from the shape alone so the bits never depend on the thread count.
inline std::int64_t channel_segments(std::int64_t N, std::int64_t L) {
  return std::max<std::int64_t>(1, N * L / (std::int64_t(1) << 15));
}

template <typename T>
void channel_moments(const T* x, std::int64_t N, std::int64_t C, std::int64_t L, T* mean, T* var) {
  const std::int64_t S = channel_segments(N, L);
  std::vector<double> scratch(static_cast<std::size_t>(3 * C * S));
  ACNN_DISPATCH(channel_moments<T>, x, N, C, L, S, scratch.data(), mean, var);
}

template <typename T>
void channel_sums(const T* g, const T* x, const T* shift, std::int64_t N, std::int64_t C,
                  std::int64_t L, T* sum_g, T* sum_gx) {
  const std::int64_t S = channel_segments(N, L);
  std::vector<double> scratch(static_cast<std::size_t>(2 * C * S));
  ACNN_DISPATCH(channel_sums<T>, g, x, shift, N, C, L, S, scratch.data(), sum_g, sum_gx);
}

template <typename T>
void channel_affine(const T* x, const T* shift, const T* scale, const T* bias, const T* g,
                    const T* gscale, std::int64_t N, std::int64_t C, std::int64_t L, T* y) {
  ACNN_DISPATCH(channel_affine<T>, x, shift, scale, bias, g, gscale, N, C, L, y);
}

}  // namespace acnn
