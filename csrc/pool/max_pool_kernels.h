// Max pooling, forward and backward, for float and double: the one template source, included
// inside an ISA namespace by pool_<isa>.cpp (see common/isa_unit.h). Works on contiguous planes
// (N * C of them, NCHW); the tables of pool_plan.h describe the windows, so max_pool and
// adaptive_max_pool share these kernels.
//
// Semantics are PyTorch's, bit for bit: each window is scanned row by row, tap by tap, starting
// from -inf with the index of its first tap inside the input; a tap replaces the running maximum
// when `value > max || isnan(value)`. So the first maximum wins ties and the last NaN wins.
// Padding taps are skipped (padding acts as -inf and is never chosen). The arg-max is the flat
// position in the input plane, stored as I (int32 when the plane has < 2^31 elements, else int64).
// When no gradient is needed the caller passes ind = nullptr and the kernel keeps values only.
//
// Backward never recomputes a window: it scatters each output gradient to the saved arg-max
// (max_pool_scatter); when no two windows share an input element (e.g. 2x2 stride 2) it writes
// the same values input by input instead, once each, with no zero fill first. The adjoint of that
// scatter is a gather by the same indices (max_pool_gather); the two are each other's backward,
// which gives every higher derivative.

// One output (oh, ow) through the general (scalar) path.
template <typename T, typename I>
inline void max_pool_one(const T* x, std::int64_t in_w, std::int64_t r0, std::int64_t nr,
                         std::int64_t dh, const PoolAxis& w, std::int64_t ow, T* y, I* ind) {
  const std::int64_t c0 = w.first[ow], nc = w.taps[ow], dw = w.dilation;
  T best = -std::numeric_limits<T>::infinity();
  std::int64_t best_at = r0 * in_w + c0;
  for (std::int64_t r = 0; r < nr; ++r) {
    const std::int64_t row_at = (r0 + r * dh) * in_w;
    const T* row = x + row_at;
    for (std::int64_t c = 0; c < nc; ++c) {
      const std::int64_t iw = c0 + c * dw;
      const T v = row[iw];
      const bool take = (v > best) | (v != v);  // branch-free: maxima of real data are random
      best = take ? v : best;
      best_at = take ? row_at + iw : best_at;
    }
  }
  *y = best;
  if (ind) *ind = static_cast<I>(best_at);
}

// One tap of the scan rule on vectors: best = v where v > best or v is NaN (and best_at = at).
// Exact: the rule itself. Otherwise the rule without NaN (v > best: a plain running maximum) plus
// a running sum of the taps, which is NaN whenever a tap was NaN: fewer instructions per tap, and
// a block whose sum ends NaN is scanned again exactly (inf - inf makes such a rescan too, which
// only costs time).
template <bool Exact, bool Idx, typename V, typename IV>
inline void max_pool_take(V v, V& best, IV& best_at, IV at, V& sum) {
  if constexpr (Exact) {
    const auto take = (v > best) | (v != v);
    best = take ? v : best;
    if constexpr (Idx) best_at = take ? at : best_at;
  } else {
    const auto take = v > best;
    if constexpr (Idx) best_at = take ? at : best_at;
    best = take ? v : best;
    sum += v;
  }
}

// NB blocks of W output columns side by side from column ow (NB independent chains of
// compare-and-select per tap keep the core busy while each waits for its previous select).
// Returns false when the fast scan (!Exact) met a NaN: then the caller scans again exactly.
template <int NB, bool Exact, bool Idx, int S, int KW, int B, typename T>
inline bool max_pool_blocks(const T* x, std::int64_t in_w, std::int64_t r0, std::int64_t nr,
                            std::int64_t dh, const PoolAxis& w, std::int64_t ow,
                            typename VecOf<T, B>::raw* best, typename VecOf<T, B>::int_raw* at) {
  typedef VecOf<T, B> PV;
  typedef typename PV::raw V;
  typedef typename PV::int_raw IV;
  typedef typename PV::int_lane IS;
  constexpr int W = PV::width;
  const std::int64_t kw = KW > 0 ? KW : w.kernel, dw = w.dilation;
  const std::int64_t col0 = ow * S - w.pad;  // input column of lane 0's first tap
  const IV lane_offset = pool_iota<T, B>(S);
  V sum = PV::broadcast(T(0)).v;
  for (int b = 0; b < NB; ++b) {
    best[b] = PV::broadcast(-std::numeric_limits<T>::infinity()).v;
    at[b] = lane_offset + static_cast<IS>(r0 * in_w + col0 + b * W * S);
  }
  for (std::int64_t r = 0; r < nr; ++r) {
    const std::int64_t row_at = (r0 + r * dh) * in_w;
    const T* row = x + row_at + col0;
    for (int b = 0; b < NB; ++b) {
      const IV lane_at = lane_offset + static_cast<IS>(row_at + col0 + b * W * S);
      pool_for_taps<S, B>(row + b * W * S, kw, dw, [&](V v, std::int64_t k) {
        max_pool_take<Exact, Idx>(v, best[b], at[b], lane_at + static_cast<IS>(k * dw), sum);
      });
    }
  }
  if constexpr (Exact) return true;
  const auto nan = sum != sum;
  bool any = false;
  for (int i = 0; i < W; ++i) any |= nan[i] != 0;
  return !any;
}

// Output columns [ow, end) of one output row, B-byte vectors at a time: lane j is column ow + j.
// S is the column stride (1 or 2); KW the kernel width when known at compile time (0: w.kernel);
// Idx: track and store the arg-max. Returns the first column it did not do.
template <int S, int KW, bool Idx, int B, typename T, typename I>
inline std::int64_t max_pool_row_vector(const T* x, std::int64_t in_w, std::int64_t r0,
                                        std::int64_t nr, std::int64_t dh, const PoolAxis& w,
                                        std::int64_t begin, std::int64_t ow, std::int64_t end, T* y,
                                        I* ind) {
  typedef VecOf<T, B> PV;
  constexpr int W = PV::width;
  typename PV::raw best[2];
  typename PV::int_raw at[2];
  for (; ow + 2 * W <= end; ow += 2 * W) {
    if (!max_pool_blocks<2, false, Idx, S, KW, B>(x, in_w, r0, nr, dh, w, ow, best, at))
      max_pool_blocks<2, true, Idx, S, KW, B>(x, in_w, r0, nr, dh, w, ow, best, at);
    std::memcpy(y + ow, &best[0], sizeof(best[0]));
    std::memcpy(y + ow + W, &best[1], sizeof(best[1]));
    if constexpr (Idx) {
      pool_store_index<T, B, I>(ind + ow, at[0]);
      pool_store_index<T, B, I>(ind + ow + W, at[1]);
    }
  }
  for (; ow + W <= end; ow += W) {
    if (!max_pool_blocks<1, false, Idx, S, KW, B>(x, in_w, r0, nr, dh, w, ow, best, at))
      max_pool_blocks<1, true, Idx, S, KW, B>(x, in_w, r0, nr, dh, w, ow, best, at);
    std::memcpy(y + ow, &best[0], sizeof(best[0]));
    if constexpr (Idx) pool_store_index<T, B, I>(ind + ow, at[0]);
    // A short rest of the row is done by one last block that overlaps the previous one (it
    // writes the same values again), when the interior has room for a whole block.
    if (ow + W < end && ow + 2 * W > end && end - W >= begin) ow = end - 2 * W;
  }
  return ow;
}

// One plane. S = 0: general path only; S = 1, 2: the interior columns [inner.begin, inner.end)
// go through full-width vectors, then narrower ones for what is left of each row.
template <int S, int KW, bool Idx, typename T, typename I>
void max_pool_plane(const T* x, T* y, I* ind, const PoolPlan& p, const PoolInterior& inner) {
  const PoolAxis& h = p.h;
  const PoolAxis& w = p.w;
  const std::int64_t in_w = w.in;
  for (std::int64_t oh = 0; oh < h.out; ++oh) {
    const std::int64_t r0 = h.first[oh], nr = h.taps[oh], dh = h.dilation;
    T* y_row = y + oh * w.out;
    I* ind_row = Idx ? ind + oh * w.out : nullptr;
    std::int64_t ow = 0;
    if constexpr (S != 0) {
      for (; ow < inner.begin; ++ow)
        max_pool_one(x, in_w, r0, nr, dh, w, ow, y_row + ow, Idx ? ind_row + ow : nullptr);
      const std::int64_t b = inner.begin, e = inner.end;
      constexpr int B = ACNN_VECTOR_BYTES;
      ow = max_pool_row_vector<S, KW, Idx, B>(x, in_w, r0, nr, dh, w, b, ow, e, y_row, ind_row);
      if constexpr (B > 32)
        ow = max_pool_row_vector<S, KW, Idx, 32>(x, in_w, r0, nr, dh, w, b, ow, e, y_row, ind_row);
      if constexpr (B > 16)
        ow = max_pool_row_vector<S, KW, Idx, 16>(x, in_w, r0, nr, dh, w, b, ow, e, y_row, ind_row);
    }
    for (; ow < w.out; ++ow)
      max_pool_one(x, in_w, r0, nr, dh, w, ow, y_row + ow, Idx ? ind_row + ow : nullptr);
  }
}

template <int S, int KW, bool Idx, typename T, typename I>
void max_pool_planes(const T* x, T* y, I* ind, const PoolPlan& p, const PoolInterior& inner) {
  const std::int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
  parallel_for(p.planes, p.work(), [&](std::int64_t i) {
    max_pool_plane<S, KW, Idx>(x + i * in_plane, y + i * out_plane,
                               Idx ? ind + i * out_plane : nullptr, p, inner);
  });
}

template <bool Idx, typename T, typename I>
void max_pool_dispatch(const T* x, T* y, I* ind, const PoolPlan& p, const PoolInterior& inner) {
  const std::int64_t k = p.w.kernel;
  if (inner.stride == 2 && k == 2) return max_pool_planes<2, 2, Idx>(x, y, ind, p, inner);
  if (inner.stride == 2 && k == 3) return max_pool_planes<2, 3, Idx>(x, y, ind, p, inner);
  if (inner.stride == 2) return max_pool_planes<2, 0, Idx>(x, y, ind, p, inner);
  if (inner.stride == 1 && k == 3) return max_pool_planes<1, 3, Idx>(x, y, ind, p, inner);
  if (inner.stride == 1) return max_pool_planes<1, 0, Idx>(x, y, ind, p, inner);
  max_pool_planes<0, 0, Idx>(x, y, ind, p, inner);
}

// y[plane] = max over each window of x[plane]; ind = the flat arg-max within the plane, or
// nullptr for values only (instantiated for I = int32 only).
template <typename T, typename I>
void max_pool_forward_kernel(const T* x, T* y, I* ind, const PoolPlan& p) {
  PoolInterior inner = pool_interior(p.w, kPoolMinBytes / static_cast<int>(sizeof(T)));
  // the vector path tracks indices in lanes as wide as T: int32 lanes for float need small planes
  if (sizeof(T) == 4 && p.in_plane() >= (std::int64_t(1) << 31)) inner.stride = 0;
  if constexpr (std::is_same<I, std::int32_t>::value) {
    if (ind == nullptr) return max_pool_dispatch<false>(x, y, ind, p, inner);
  }
  max_pool_dispatch<true>(x, y, ind, p, inner);
}

// Disjoint windows (see PoolOwners), columns [2 * ow - pad, 2 * (ow + n) - pad) of one input row:
// each output column's two inputs are gy + 0 where the arg-max points, else +0 (the + 0 turns -0
// into +0, as the scatter's 0 + gy does). at0 = the row's flat position. Returns the next ow.
template <int B, typename T, typename I>
inline std::int64_t max_pool_unpool_pairs(const T* gy_row, const I* ind_row, T* row,
                                          std::int64_t at0, std::int64_t pad,
                                          std::int64_t begin, std::int64_t ow, std::int64_t end) {
  typedef VecOf<T, B> PV;
  typedef typename PV::raw V;
  typedef typename PV::int_raw IV;
  typedef typename PV::int_lane IS;
  constexpr int W = PV::width;
  const V zero = PV::broadcast(T(0)).v;
  const IV lane_offset = pool_iota<T, B>(2);
  for (; ow + W <= end; ow += W) {
    const std::int64_t c = 2 * ow - pad;
    V g;
    std::memcpy(&g, gy_row + ow, sizeof(V));
    g += zero;
    const IV at = pool_load_index<T, B>(ind_row + ow);
    const IV first = lane_offset + static_cast<IS>(at0 + c);
    const V v0 = at == first ? g : zero;
    const V v1 = at == first + 1 ? g : zero;
    const V lo = Lanes<W>::interleave_lo(v0, v1), hi = Lanes<W>::interleave_hi(v0, v1);
    std::memcpy(row + c, &lo, sizeof(V));
    std::memcpy(row + c + W, &hi, sizeof(V));
    // a short rest: one last block overlapping the previous one (same values written again)
    if (ow + W < end && ow + 2 * W > end && end - W >= begin) ow = end - 2 * W;
  }
  return ow;
}

// One plane of the scatter for disjoint windows: every gx element written once, input-centric.
template <typename T, typename I>
void max_pool_scatter_disjoint_plane(const T* gy, const I* ind, T* gx, const PoolPlan& p,
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
    const I* ind_row = ind + oh * out_w;
    const std::int64_t at0 = r * in_w;
    std::int64_t c = 0;
    if (pairs.stride != 0) {
      const std::int64_t c_begin = 2 * pairs.begin - pad;
      for (; c < c_begin; ++c) {
        const std::int64_t ow = col_owner[c];
        row[c] = ow >= 0 && ind_row[ow] == at0 + c ? gy_row[ow] + T(0) : T(0);
      }
      constexpr int B = ACNN_VECTOR_BYTES;
      const std::int64_t b = pairs.begin, e = pairs.end;
      std::int64_t ow = b;
      ow = max_pool_unpool_pairs<B>(gy_row, ind_row, row, at0, pad, b, ow, e);
      if constexpr (B > 32)
        ow = max_pool_unpool_pairs<32>(gy_row, ind_row, row, at0, pad, b, ow, e);
      if constexpr (B > 16)
        ow = max_pool_unpool_pairs<16>(gy_row, ind_row, row, at0, pad, b, ow, e);
      c = 2 * ow - pad;
    }
    for (; c < in_w; ++c) {
      const std::int64_t ow = col_owner[c];
      row[c] = ow >= 0 && ind_row[ow] == at0 + c ? gy_row[ow] + T(0) : T(0);
    }
  }
}

// gx[plane] = 0, then gx[plane][ind[j]] += gy[plane][j] for j in output order (as PyTorch).
// Disjoint windows take the input-centric path above (the same values, written once).
template <typename T, typename I>
void max_pool_scatter_kernel(const T* gy, const I* ind, T* gx, const PoolPlan& p) {
  const std::int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
  const PoolOwners own = pool_owners(p);
  if (own.disjoint) {
    PoolInterior pairs = pool_pair_interior(p.w, kPoolMinBytes / static_cast<int>(sizeof(T)));
    // the vector lanes compare indices as wide as T: int32 lanes for float need small planes
    if (sizeof(T) == 4 && in_plane >= (std::int64_t(1) << 31)) pairs.stride = 0;
    parallel_for(p.planes, p.work(), [&](std::int64_t i) {
      max_pool_scatter_disjoint_plane(gy + i * out_plane, ind + i * out_plane, gx + i * in_plane,
                                      p, own, pairs);
    });
    return;
  }
  // Overlapping windows: the scatter with the banded zero fill (pool_zero_rows_to)
  const PoolAxis& h = p.h;
  const std::int64_t in_w = p.w.in, out_w = p.w.out;
  parallel_for(p.planes, p.work(), [&](std::int64_t i) {
    T* g = gx + i * in_plane;
    const T* go = gy + i * out_plane;
    const I* at = ind + i * out_plane;
    std::int64_t zeroed = 0;
    for (std::int64_t oh = 0; oh < h.out; ++oh) {
      pool_zero_rows_to(g, in_w, pool_row_reach(h, oh), &zeroed);
      const T* go_row = go + oh * out_w;
      const I* at_row = at + oh * out_w;
      for (std::int64_t ow = 0; ow < out_w; ++ow) g[at_row[ow]] += go_row[ow];
    }
    pool_zero_rows_to(g, in_w, h.in, &zeroed);
  });
}

// y[plane][j] = x[plane][ind[j]]: the adjoint of the scatter.
template <typename T, typename I>
void max_pool_gather_kernel(const T* x, const I* ind, T* y, const PoolPlan& p) {
  const std::int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
  parallel_for(p.planes, p.work(), [&](std::int64_t i) {
    const T* src = x + i * in_plane;
    const I* at = ind + i * out_plane;
    T* dst = y + i * out_plane;
    for (std::int64_t j = 0; j < out_plane; ++j) dst[j] = src[at[j]];
  });
}
