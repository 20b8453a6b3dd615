// Average pooling, forward and backward, for float and double: the one template source, included
// inside an ISA namespace by pool_<isa>.cpp (see common/isa_unit.h). avg_pool and
// adaptive_avg_pool share it through the tables of pool_plan.h.
//
// Semantics are PyTorch's: each window's taps inside the input are summed in scan order (row by
// row) starting from 0, then divided by divisor_override, or by the product of the two axes'
// divisor factors (the window's taps inside the padded input with count_include_pad, else the
// taps inside the input).
//
// Backward spreads gy / divisor over each window's taps. The general path goes window by window in
// output order (PyTorch's order); when the column axis is regular with stride 1 or 2 it goes tap
// by tap over whole rows, vectorised; when windows are disjoint (no input in two windows) it
// writes each input's one term directly. Every input element accumulates in a fixed order,
// the same on every ISA and thread count (only the last bits can differ from PyTorch's). The
// backward is a linear map whose adjoint is the forward pass again, which is how the Python side
// differentiates it.

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
                                        std::int64_t begin, std::int64_t ow, std::int64_t end,
                                        T divisor, T* y) {
  typedef VecOf<T, B> PV;
  typedef typename PV::raw V;
  constexpr int W = PV::width;
  const std::int64_t kw = KW > 0 ? KW : w.kernel, dw = w.dilation;
  const V div = PV::broadcast(divisor).v;
  for (; ow + W <= end; ow += W) {
    const T* base = x + ow * S - w.pad;
    V sum = PV::broadcast(T(0)).v;
    for (std::int64_t r = 0; r < nr; ++r) {
      const T* row = base + (r0 + r * dh) * in_w;
      pool_for_taps<S, B>(row, kw, dw, [&](V v, std::int64_t) { sum += v; });
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
      const std::int64_t b = inner.begin, e = inner.end;
      constexpr int B = ACNN_VECTOR_BYTES;
      ow = avg_pool_row_vector<S, KW, B>(x, w.in, r0, nr, dh, w, b, ow, e, div, y_row);
      if constexpr (B > 32)
        ow = avg_pool_row_vector<S, KW, 32>(x, w.in, r0, nr, dh, w, b, ow, e, div, y_row);
      if constexpr (B > 16)
        ow = avg_pool_row_vector<S, KW, 16>(x, w.in, r0, nr, dh, w, b, ow, e, div, y_row);
    }
    for (; ow < w.out; ++ow)
      y_row[ow] = avg_pool_one(x, w.in, r0, nr, dh, w, ow) / avg_pool_divisor<T>(p, oh, ow);
  }
}

template <int S, int KW, typename T>
void avg_pool_planes(const T* x, T* y, const PoolPlan& p, const PoolInterior& inner) {
  const std::int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
  parallel_for(p.planes, p.work(), [&](std::int64_t i) {
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

// Backward of one plane, general path: gx = 0, then every window adds gy / divisor to its taps,
// windows in output order (PyTorch's order).
template <typename T>
void avg_pool_backward_plane(const T* gy, T* gx, const PoolPlan& p) {
  const PoolAxis& h = p.h;
  const PoolAxis& w = p.w;
  std::int64_t zeroed = 0;  // the banded zero fill (pool_zero_rows_to)
  for (std::int64_t oh = 0; oh < h.out; ++oh) {
    const std::int64_t r0 = h.first[oh], nr = h.taps[oh], dh = h.dilation;
    pool_zero_rows_to(gx, w.in, pool_row_reach(h, oh), &zeroed);
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
  pool_zero_rows_to(gx, w.in, h.in, &zeroed);
}

// The backward on a regular column axis with stride S (1 or 2), input-centric along the row:
// input column c (u = c + pad) receives from tap k (offset o = k * dilation) of window
// ow = (u - o) / S, when that is a whole number. For one output row and one tap row, every input
// column sums its taps' g = gy / divisor in registers (k ascending, starting from 0) and adds the
// sum to gx once: no read-modify-write of a column twice in a row. g lives in a buffer with zero
// margins, so windows off either end contribute +0 (which changes no sum: sums never hold -0).

// The W (S = 1) or 2W (S = 2) input columns from relative position u of one row, B-byte vectors;
// g[-margin, out + margin) is readable. Returns the next u.
template <int S, int B, typename T>
inline std::int64_t avg_pool_gather_taps(const T* g, T* row, const PoolAxis& w, std::int64_t u,
                                         std::int64_t u_end) {
  typedef VecOf<T, B> PV;
  typedef typename PV::raw V;
  constexpr int W = PV::width;
  const V zero = PV::broadcast(T(0)).v;
  for (; u + S * W <= u_end; u += S * W) {
    T* dst = row + (u - w.pad);
    if constexpr (S == 1) {
      V acc = zero;
      for (std::int64_t k = 0; k < w.kernel; ++k) {
        V t;
        std::memcpy(&t, g + (u - k * w.dilation), sizeof(V));
        acc += t;
      }
      V old;
      std::memcpy(&old, dst, sizeof(V));
      old += acc;
      std::memcpy(dst, &old, sizeof(V));
    } else {  // u is even: lanes 2j take offsets o even from g[u/2 + j - o/2], 2j + 1 odd ones
      V lo = zero, hi = zero;
      for (std::int64_t k = 0; k < w.kernel; ++k) {
        const std::int64_t o = k * w.dilation;
        V t;
        std::memcpy(&t, g + (u - o + (o & 1)) / 2, sizeof(V));  // u - o + (o & 1) is even
        if (o & 1) {
          lo += Lanes<W>::interleave_lo(zero, t);
          hi += Lanes<W>::interleave_hi(zero, t);
        } else {
          lo += Lanes<W>::interleave_lo(t, zero);
          hi += Lanes<W>::interleave_hi(t, zero);
        }
      }
      V a, b;
      std::memcpy(&a, dst, sizeof(V));
      std::memcpy(&b, dst + W, sizeof(V));
      a += lo;
      b += hi;
      std::memcpy(dst, &a, sizeof(V));
      std::memcpy(dst + W, &b, sizeof(V));
    }
  }
  return u;
}

// One input column by the same rule (row edges and short rows).
template <int S, typename T>
inline void avg_pool_gather_one(const T* g, T* row, const PoolAxis& w, std::int64_t u) {
  T acc = T(0);
  for (std::int64_t k = 0; k < w.kernel; ++k) {
    const std::int64_t v = u - k * w.dilation;  // S * ow
    if (v >= 0 && v % S == 0 && v / S < w.out) acc += g[v / S];
  }
  row[u - w.pad] += acc;
}

template <int S, typename T>
void avg_pool_backward_plane_rows(const T* gy, T* gx, const PoolPlan& p, const T* divisors,
                                  T* g) {
  const PoolAxis& h = p.h;
  const PoolAxis& w = p.w;
  std::int64_t zeroed = 0;  // the banded zero fill (pool_zero_rows_to)
  const std::int64_t u_begin = w.pad, u_end = w.in + w.pad;  // the input row in u coordinates
  for (std::int64_t oh = 0; oh < h.out; ++oh) {
    const std::int64_t r0 = h.first[oh], nr = h.taps[oh], dh = h.dilation;
    pool_zero_rows_to(gx, w.in, pool_row_reach(h, oh), &zeroed);
    const T* gy_row = gy + oh * w.out;
    const T* div_row = divisors + oh * w.out;
    for (std::int64_t ow = 0; ow < w.out; ++ow) g[ow] = gy_row[ow] / div_row[ow];
    for (std::int64_t r = 0; r < nr; ++r) {
      T* row = gx + (r0 + r * dh) * w.in;
      std::int64_t u = u_begin;
      if (S == 2 && (u & 1)) avg_pool_gather_one<S>(g, row, w, u++);  // vectors start at even u
      u = avg_pool_gather_taps<S, ACNN_VECTOR_BYTES>(g, row, w, u, u_end);
      if constexpr (ACNN_VECTOR_BYTES > 32) u = avg_pool_gather_taps<S, 32>(g, row, w, u, u_end);
      if constexpr (ACNN_VECTOR_BYTES > 16) u = avg_pool_gather_taps<S, 16>(g, row, w, u, u_end);
      for (; u < u_end; ++u) avg_pool_gather_one<S>(g, row, w, u);
    }
  }
  pool_zero_rows_to(gx, w.in, h.in, &zeroed);
}

// Disjoint windows (see PoolOwners), columns [2 * ow - pad, 2 * (ow + n) - pad) of one input row:
// both inputs of output column ow get gy / divisor + 0 (the + 0 as in 0 + g of the paths above).
template <int B, typename T>
inline std::int64_t avg_pool_unpool_pairs(const T* gy_row, T* row, std::int64_t pad, T divisor,
                                          std::int64_t begin, std::int64_t ow, std::int64_t end) {
  typedef VecOf<T, B> PV;
  typedef typename PV::raw V;
  constexpr int W = PV::width;
  const V zero = PV::broadcast(T(0)).v;
  const V div = PV::broadcast(divisor).v;
  for (; ow + W <= end; ow += W) {
    V g;
    std::memcpy(&g, gy_row + ow, sizeof(V));
    g = g / div + zero;
    const V lo = Lanes<W>::interleave_lo(g, g), hi = Lanes<W>::interleave_hi(g, g);
    T* dst = row + (2 * ow - pad);
    std::memcpy(dst, &lo, sizeof(V));
    std::memcpy(dst + W, &hi, sizeof(V));
    // a short rest: one last block overlapping the previous one (same values written again)
    if (ow + W < end && ow + 2 * W > end && end - W >= begin) ow = end - 2 * W;
  }
  return ow;
}

// One plane of the backward for disjoint windows: every gx element written once, input-centric.
template <typename T>
void avg_pool_backward_disjoint_plane(const T* gy, T* gx, const PoolPlan& p,
                                      const PoolOwners& own, const PoolInterior& pairs) {
  const std::int64_t in_w = p.w.in, out_w = p.w.out, pad = p.w.pad;
  const std::int64_t* col_owner = own.cols.data();
  for (std::int64_t r = 0; r < p.h.in; ++r) {
    T* row = gx + r * in_w;
    const std::int64_t oh = own.rows[static_cast<std::size_t>(r)];
    if (oh < 0) {
      std::memset(row, 0, sizeof(T) * static_cast<std::size_t>(in_w));
      continue;
    }
    const T* gy_row = gy + oh * out_w;
    std::int64_t c = 0;
    if (pairs.stride != 0) {
      const std::int64_t c_begin = 2 * pairs.begin - pad;
      for (; c < c_begin; ++c) {
        const std::int64_t ow = col_owner[c];
        row[c] = ow >= 0 ? gy_row[ow] / avg_pool_divisor<T>(p, oh, ow) + T(0) : T(0);
      }
      constexpr int B = ACNN_VECTOR_BYTES;
      const T div = avg_pool_divisor<T>(p, oh, pairs.begin);
      const std::int64_t b = pairs.begin, e = pairs.end;
      std::int64_t ow = b;
      ow = avg_pool_unpool_pairs<B>(gy_row, row, pad, div, b, ow, e);
      if constexpr (B > 32) ow = avg_pool_unpool_pairs<32>(gy_row, row, pad, div, b, ow, e);
      if constexpr (B > 16) ow = avg_pool_unpool_pairs<16>(gy_row, row, pad, div, b, ow, e);
      c = 2 * ow - pad;
    }
    for (; c < in_w; ++c) {
      const std::int64_t ow = col_owner[c];
      row[c] = ow >= 0 ? gy_row[ow] / avg_pool_divisor<T>(p, oh, ow) + T(0) : T(0);
    }
  }
}

template <typename T>
void avg_pool_backward_kernel(const T* gy, T* gx, const PoolPlan& p) {
  const std::int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
  const PoolOwners own = pool_owners(p);
  if (own.disjoint) {
    const PoolInterior pairs =
        pool_pair_interior(p.w, kPoolMinBytes / static_cast<int>(sizeof(T)));
    parallel_for(p.planes, p.work(), [&](std::int64_t i) {
      avg_pool_backward_disjoint_plane(gy + i * out_plane, gx + i * in_plane, p, own, pairs);
    });
    return;
  }
  const std::int64_t stride = p.w.regular ? p.w.stride : 0;
  // the row-wise path visits every tap of the kernel (the general one only those inside the
  // input): keep it to kernels that are not much wider than the input
  const bool row_wise = (stride == 1 || stride == 2) && p.w.kernel <= 64 &&
                        (p.w.kernel - 1) * p.w.dilation <= 2 * p.w.in;
  if (row_wise) {
    std::vector<T> divisors(static_cast<std::size_t>(out_plane));  // the same for every plane
    for (std::int64_t oh = 0; oh < p.h.out; ++oh)
      for (std::int64_t ow = 0; ow < p.w.out; ++ow)
        divisors[oh * p.w.out + ow] = avg_pool_divisor<T>(p, oh, ow);
    // g[-margin, out + margin): the widest vector may read a kernel's span left of its first
    // window and a vector's width right of the last one
    const std::int64_t margin = (p.w.kernel - 1) * p.w.dilation + 64;
    parallel_for(p.planes, p.work(), [&](std::int64_t i) {
      std::vector<T> buffer(static_cast<std::size_t>(p.w.out + 2 * margin), T(0));
      T* g = buffer.data() + margin;
      const T* gyi = gy + i * out_plane;
      T* gxi = gx + i * in_plane;
      if (stride == 1)
        avg_pool_backward_plane_rows<1>(gyi, gxi, p, divisors.data(), g);
      else
        avg_pool_backward_plane_rows<2>(gyi, gxi, p, divisors.data(), g);
    });
    return;
  }
  parallel_for(p.planes, p.work(), [&](std::int64_t i) {
    avg_pool_backward_plane(gy + i * out_plane, gx + i * in_plane, p);
  });
}
