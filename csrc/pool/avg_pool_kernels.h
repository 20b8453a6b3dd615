// Average pooling, forward and backward, for float and double: the one template source, included
// inside an ISA namespace by pool_<isa>.cpp (see common/isa_unit.h). avg_pool and
// adaptive_avg_pool share it through the tables of pool_plan.h.
//
// Semantics are PyTorch's: each window's taps inside the input are summed in scan order (row by
// row) starting from 0, then divided by divisor_override, or by the product of the two axes'
// divisor factors (the window's taps inside the padded input with count_include_pad, else the
// taps inside the input).
//
// Backward spreads gy / divisor over each window's taps, windows in output order (as PyTorch), so
// overlapping windows accumulate in a fixed order. It is a linear map whose adjoint is the forward
// pass again, which is how the Python side differentiates it.

template <typename T>
inline T avg_pool_divisor(const PoolPlan& p, std::int64_t oh, std::int64_t ow) {
  return static_cast<T>(p.divisor_override > 0 ? p.divisor_override
                                               : p.h.divisor[oh] * p.w.divisor[ow]);
}

template <typename T>
inline T avg_pool_one(const T* x, std::int64_t in_w, std::int64_t r0, std::int64_t nr,
                      std::int64_t dh, const PoolAxis& w, std::int64_t ow) {
  const std::int64_t c0 = w.first[ow], nc = w.taps[ow], dw = w.dilation;
  T sum = T(0);
  for (std::int64_t r = 0; r < nr; ++r) {
    const T* row = x + (r0 + r * dh) * in_w + c0;
    for (std::int64_t c = 0; c < nc; ++c) sum += row[c * dw];
  }
  return sum;
}

// Output columns [ow, end) of one row, B-byte vectors at a time; all their taps are inside the
// input, so the divisor is the same for all of them. S, KW as for max_pool_row_vector. Returns
// the first column not done.
template <int S, int KW, int B, typename T>
inline std::int64_t avg_pool_row_vector(const T* x, std::int64_t in_w, std::int64_t r0,
                                        std::int64_t nr, std::int64_t dh, const PoolAxis& w,
                                        std::int64_t begin, std::int64_t ow, std::int64_t end, T divisor,
                                        T* y) {
  typedef typename PoolVec<T, B>::raw V;
  constexpr int W = PoolVec<T, B>::width;
  const std::int64_t kw = KW > 0 ? KW : w.kernel, dw = w.dilation;
  const V div = pool_broadcast<T, B>(divisor);
  for (; ow + W <= end; ow += W) {
    const T* base = x + ow * S - w.pad;
    V sum = pool_broadcast<T, B>(T(0));
    for (std::int64_t r = 0; r < nr; ++r) {
      const T* row = base + (r0 + r * dh) * in_w;
      for (std::int64_t k = 0; k < kw; ++k) sum += load_strided<S, B>(row + k * dw);
    }
    const V out = sum / div;
    std::memcpy(y + ow, &out, sizeof(out));
    // A short rest of the row is done by one last block that overlaps the previous one (it
    // writes the same values again), when the interior has room for a whole block.
    if (ow + W < end && ow + 2 * W > end && end - W >= begin) ow = end - 2 * W;
  }
  return ow;
}

template <int S, int KW, typename T>
void avg_pool_plane(const T* x, T* y, const PoolPlan& p, const PoolInterior& inner) {
  const PoolAxis& h = p.h;
  const PoolAxis& w = p.w;
  for (std::int64_t oh = 0; oh < h.out; ++oh) {
    const std::int64_t r0 = h.first[oh], nr = h.taps[oh], dh = h.dilation;
    T* y_row = y + oh * w.out;
    std::int64_t ow = 0;
    if constexpr (S != 0) {
      for (; ow < inner.begin; ++ow)
        y_row[ow] = avg_pool_one(x, w.in, r0, nr, dh, w, ow) / avg_pool_divisor<T>(p, oh, ow);
      const T div = avg_pool_divisor<T>(p, oh, inner.begin);
      const std::int64_t end = inner.end;
      ow = avg_pool_row_vector<S, KW, ACNN_VECTOR_BYTES>(x, w.in, r0, nr, dh, w, inner.begin, ow, end, div, y_row);
      if constexpr (ACNN_VECTOR_BYTES > 32)
        ow = avg_pool_row_vector<S, KW, 32>(x, w.in, r0, nr, dh, w, inner.begin, ow, end, div, y_row);
      if constexpr (ACNN_VECTOR_BYTES > 16)
        ow = avg_pool_row_vector<S, KW, 16>(x, w.in, r0, nr, dh, w, inner.begin, ow, end, div, y_row);
    }
    for (; ow < w.out; ++ow)
      y_row[ow] = avg_pool_one(x, w.in, r0, nr, dh, w, ow) / avg_pool_divisor<T>(p, oh, ow);
  }
}

template <int S, int KW, typename T>
void avg_pool_planes(const T* x, T* y, const PoolPlan& p, const PoolInterior& inner) {
  const std::int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
  parallel_for(p.planes, [&](std::int64_t i) {
    avg_pool_plane<S, KW>(x + i * in_plane, y + i * out_plane, p, inner);
  });
}

template <typename T>
void avg_pool_forward_kernel(const T* x, T* y, const PoolPlan& p) {
  const PoolInterior inner = pool_interior(p.w, kPoolMinBytes / static_cast<int>(sizeof(T)));
  const std::int64_t k = p.w.kernel;
  if (inner.stride == 2 && k == 2) return avg_pool_planes<2, 2>(x, y, p, inner);
  if (inner.stride == 2 && k == 3) return avg_pool_planes<2, 3>(x, y, p, inner);
  if (inner.stride == 2) return avg_pool_planes<2, 0>(x, y, p, inner);
  if (inner.stride == 1 && k == 3) return avg_pool_planes<1, 3>(x, y, p, inner);
  if (inner.stride == 1) return avg_pool_planes<1, 0>(x, y, p, inner);
  avg_pool_planes<0, 0>(x, y, p, inner);
}

// Backward of one plane: gx = 0, then every window adds gy / divisor to its taps.
template <typename T>
void avg_pool_backward_plane(const T* gy, T* gx, const PoolPlan& p) {
  const PoolAxis& h = p.h;
  const PoolAxis& w = p.w;
  std::memset(gx, 0, sizeof(T) * static_cast<std::size_t>(p.in_plane()));
  for (std::int64_t oh = 0; oh < h.out; ++oh) {
    const std::int64_t r0 = h.first[oh], nr = h.taps[oh], dh = h.dilation;
    const T* gy_row = gy + oh * w.out;
    for (std::int64_t ow = 0; ow < w.out; ++ow) {
      const T g = gy_row[ow] / avg_pool_divisor<T>(p, oh, ow);
      const std::int64_t c0 = w.first[ow], nc = w.taps[ow], dw = w.dilation;
      for (std::int64_t r = 0; r < nr; ++r) {
        T* row = gx + (r0 + r * dh) * w.in + c0;
        for (std::int64_t c = 0; c < nc; ++c) row[c * dw] += g;
      }
    }
  }
}

template <typename T>
void avg_pool_backward_kernel(const T* gy, T* gx, const PoolPlan& p) {
  const std::int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
  parallel_for(p.planes, [&](std::int64_t i) {
    avg_pool_backward_plane(gy + i * out_plane, gx + i * in_plane, p);
  });
}
