// The convolution's layouts (ConvPlan, conv.h): the copies into them before the micro-kernels run
// and out of the kernels' tile buffers after, and the packed weights. Included by conv_kernels.h
// inside the ISA namespace.
//
//   conv_pack_input      x -> phase layout (padded, stride-phase planes): forward, weight gradient
//   pack_channel_planes  x -> the phase planes alone (no slack): the channel-vectorised forward
//   conv_pack_wide       dy -> wide layout (rows widened to plane_w, margins): backward kernels;
//                        also the channel input gradient's compact one (channel_wide_layout)
//   pack_output_gradient_channels  dy -> pixel-major, output channels innermost: the
//                        channel-vectorised weight gradient
//   pack_weight_blocks   w -> blocks of output channels, in broadcast order: forward
//   pack_transposed_weight_blocks  w -> blocks of input channels per plane: backward_input
//   store_wide_tile      a forward tile -> y (dense rows, plus the bias)
//   store_channel_tile   a channel-vectorised tile -> y or dx (transposed, plus the bias);
//                        store_channel_tile_rc transposes whole tiles in registers
//   scatter_plane_tile   a backward_input tile of one phase plane -> dx
//   *_validity           the masks of the exact mode (1 = data, 0 = structural zero)
//
// Why inline vector code: the copies matter for small layers (LeNet), whose rows are 10-60
// elements, where a call to memcpy / memset costs more than the copy. So rows are copied with
// Vec<T> loads and stores, images without column padding as one block, and stride-2/4 rows
// de-interleaved with shuffles instead of element by element (all column phases of a row from one
// pass of loads: pack_row_phases).

// First and one-past-last index i >= 0 (and < limit) with 0 <= i*step + phase - pad < size.
inline void valid_range(std::int64_t step, std::int64_t phase, std::int64_t pad, std::int64_t size,
                        std::int64_t limit, std::int64_t* lo, std::int64_t* hi) {
  const std::int64_t a = pad - phase;
  *lo = a <= 0 ? 0 : ceil_div(a, step);
  const std::int64_t b = size - 1 + pad - phase;
  *hi = b < 0 ? 0 : std::min(limit, b / step + 1);
  if (*hi < *lo) *hi = *lo;
}

// Short-row helpers for the layout copies: vector loads and stores with a scalar tail, inline
// (rows are often only 10-60 elements, where a call to memcpy / memset costs more than the copy).
// (Rows of at least one vector end with one vector overlapping the previous one.)
template <typename T>
inline void zero_row(T* d, std::int64_t n) {
  constexpr int W = Vec<T>::width;
  if (n < W) {
    for (std::int64_t k = 0; k < n; ++k) d[k] = T(0);
    return;
  }
  for (std::int64_t k = 0; k + W < n; k += W) Vec<T>::zero().store(d + k);
  Vec<T>::zero().store(d + n - W);
}

template <typename T>
inline void copy_row(T* d, const T* s, std::int64_t n) {
  constexpr int W = Vec<T>::width;
  if (n < W) {
    std::memcpy(d, s, static_cast<std::size_t>(n) * sizeof(T));
    return;
  }
  for (std::int64_t k = 0; k + W < n; k += W) Vec<T>::load(s + k).store(d + k);
  Vec<T>::load(s + n - W).store(d + n - W);
}

// d[k] = s[k] + b for k < n, the same way.
template <typename T>
inline void add_row(T* d, const T* s, std::int64_t n, T b) {
  using V = Vec<T>;
  constexpr int W = V::width;
  if (n < W) {
    for (std::int64_t k = 0; k < n; ++k) d[k] = s[k] + b;
    return;
  }
  const V bv = V::broadcast(b);
  for (std::int64_t k = 0; k + W < n; k += W) (V::load(s + k) + bv).store(d + k);
  (V::load(s + n - W) + bv).store(d + n - W);
}

// d[k] = s[k * SW] for k < n (SW = 2 or 4), reading only s[0 .. avail): SW vectors are
// de-interleaved with Lanes::even (one round for SW = 2, two for SW = 4), the tail is scalar.
// With SW = 2, a row of at least one vector whose last element is the last available one (a row
// that starts at an odd column of the image: half the rows of a stride-2 layer's planes) ends
// with one vector overlapping the one before, from Lanes::stride2, instead of a scalar tail.
template <typename T, int SW>
inline void copy_row_strided(T* d, const T* s, std::int64_t n, std::int64_t avail) {
  using V = Vec<T>;
  using L = Lanes<V::width>;
  constexpr int W = V::width;
  std::int64_t k = 0;
  if constexpr (SW == 2) {
    if (n >= W && 2 * n - 1 <= avail) {
      V r;
      for (; k + W < n; k += W) {
        r.v = L::even(V::load(s + 2 * k).v, V::load(s + 2 * k + W).v);
        r.store(d + k);
      }
      const T* p = s + 2 * (n - W);
      r.v = L::stride2(V::load(p).v, V::load(p + W - 1).v);
      r.store(d + n - W);
      return;
    }
  }
  for (; (k + W) * SW <= avail && k + W <= n; k += W) {
    const T* p = s + k * SW;
    V r;
    if constexpr (SW == 2) {
      r.v = L::even(V::load(p).v, V::load(p + W).v);
    } else {
      r.v = L::even(L::even(V::load(p).v, V::load(p + W).v),
                    L::even(V::load(p + 2 * W).v, V::load(p + 3 * W).v));
    }
    r.store(d + k);
  }
  for (; k < n; ++k) d[k] = s[k * SW];
}

// d[r][k] = s[k * SW + r] for k < m and every r < SW (SW = 2 or 4): the SW column phases of one
// image row from one pass of loads, each group of SW vectors de-interleaved into all SW phases
// (Lanes::even and Lanes::odd; two rounds for SW = 4). Reads s[0 .. m * SW) only: a row of at
// least one vector ends with one vector overlapping the one before (the same values again); a
// shorter one takes narrower vectors (Bytes), below 16 bytes element by element.
template <typename T, int SW, int Bytes = ACNN_VECTOR_BYTES>
inline void split_row_phases(T* const* d, const T* s, std::int64_t m) {
  using V = VecOf<T, Bytes>;
  using L = Lanes<V::width>;
  constexpr int W = V::width;
  if (m < W) {
    if constexpr (Bytes > 16) {
      split_row_phases<T, SW, Bytes / 2>(d, s, m);
    } else {
      for (std::int64_t k = 0; k < m; ++k)
        for (int r = 0; r < SW; ++r) d[r][k] = s[k * SW + r];
    }
    return;
  }
  auto block = [&](std::int64_t k) {
    const T* p = s + k * SW;
    const typename V::raw a = V::load(p).v, b = V::load(p + W).v;
    V r[SW];
    if constexpr (SW == 2) {
      r[0].v = L::even(a, b);
      r[1].v = L::odd(a, b);
    } else {
      // the even / odd elements of the four vectors (s[4k], s[4k + 2], ... and s[4k + 1], ...),
      // then the even / odd ones of those
      const typename V::raw c = V::load(p + 2 * W).v, e = V::load(p + 3 * W).v;
      const typename V::raw e0 = L::even(a, b), e1 = L::even(c, e);
      const typename V::raw o0 = L::odd(a, b), o1 = L::odd(c, e);
      r[0].v = L::even(e0, e1);  // s[4k]
      r[1].v = L::even(o0, o1);  // s[4k + 1]
      r[2].v = L::odd(e0, e1);   // s[4k + 2]
      r[3].v = L::odd(o0, o1);   // s[4k + 3]
    }
    for (int q = 0; q < SW; ++q) r[q].store(d[q] + k);
  };
  for (std::int64_t k = 0; k + W < m; k += W) block(k);
  block(m - W);
}

// One padded row of the SW (2 or 4) column-phase planes of conv_pack_input, all of which take data
// from image row s: row0 is the row in the first of the SW planes (the next ones follow at
// plane_size), jrange as there. The columns all phases take are de-interleaved in one pass
// (split_row_phases); a phase with one more (its first image column, (pw - PW0) mod SW, comes
// before the others') gets its last element alone. Copying each phase by its own pass
// (copy_row_strided) loaded every source vector SW times; this loads it once: AlexNet conv1's x
// (stride 4) 0.15 ms faster, the stride-2 copies a little or not at all, as they wait on memory
// (benchmarks/PERFORMANCE.md, 2026-12-06).
template <typename T, int SW>
inline void pack_row_phases(const std::int64_t* jrange, std::int64_t PW0, std::int64_t plane_w,
                            std::int64_t plane_size, const T* s, T* row0) {
  T* d[SW];  // by first image column r
  std::int64_t count[SW], m = plane_w;
  for (int pw = 0; pw < SW; ++pw) {
    T* row = row0 + pw * plane_size;
    const std::int64_t jlo = jrange[2 * pw], jhi = jrange[2 * pw + 1];
    zero_row(row, jlo);
    zero_row(row + jhi, plane_w - jhi);
    const std::int64_t r = (pw - PW0) & (SW - 1);  // (pw - PW0) mod SW: SW is a power of two
    d[r] = row + jlo;
    count[r] = jhi - jlo;
    m = std::min(m, count[r]);
  }
  split_row_phases<T, SW>(d, s, m);
  for (int r = 0; r < SW; ++r)
    for (std::int64_t k = m; k < count[r]; ++k) d[r][k] = s[k * SW + r];
}

// Weights (C_out, C_in / G, taps) regrouped as wp[grp][block][ic][tap][ob] for blocks of `ob`
// output channels, zero-padded past the group's last channel: what the forward kernels broadcast.
template <typename T>
inline void pack_weight_blocks(const ConvGeom& g, std::int64_t taps, int ob, const T* w, T* wp) {
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, nob = ceil_div(cog, ob);
  parallel_for(g.G * nob, double(g.C_out) * cig * taps, [&](std::int64_t gb) {
    const std::int64_t grp = gb / nob, b = gb % nob;
    T* dst = wp + gb * cig * taps * ob;
    for (std::int64_t ic = 0; ic < cig; ++ic)
      for (std::int64_t t = 0; t < taps; ++t)
        for (int o = 0; o < ob; ++o) {
          const std::int64_t oc = b * ob + o;
          dst[(ic * taps + t) * ob + o] =
              oc < cog ? w[((grp * cog + oc) * cig + ic) * taps + t] : T(0);
        }
  });
}

// Weights regrouped for the transposed convolution (backward_input), whose blocks are of input
// channels: wp[grp][plane][block][oc][tap of the plane][kBlockChannels], zero-padded past the
// group's last input channel. transposed_weight_block: where block b (of bc channels) of plane pl
// of group grp starts.
template <typename T>
inline T* transposed_weight_block(const ConvGeom& g, const ConvPlan& p, T* wp, std::int64_t grp,
                                  std::int64_t pl, std::int64_t b, int bc = kBlockChannels) {
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, nib = ceil_div(cig, bc);
  const std::int64_t ntp = p.plane_begin[pl + 1] - p.plane_begin[pl];
  return wp + grp * nib * cog * p.taps * bc + p.plane_begin[pl] * nib * cog * bc +
         b * cog * ntp * bc;
}

template <typename T>
void pack_transposed_weight_blocks(const ConvGeom& g, const ConvPlan& p, const T* w, T* wp) {
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, taps = p.taps;
  const std::int64_t nib = ceil_div(cig, kBlockChannels);
  parallel_for(g.G * p.planes * nib, double(g.C_in) * cog * taps, [&](std::int64_t it) {
    const std::int64_t b = it % nib, pl = (it / nib) % p.planes, grp = it / (nib * p.planes);
    const std::int64_t t0 = p.plane_begin[pl], ntp = p.plane_begin[pl + 1] - t0;
    T* dst = transposed_weight_block(g, p, wp, grp, pl, b);
    for (std::int64_t oc = 0; oc < cog; ++oc)
      for (std::int64_t ti = 0; ti < ntp; ++ti)
        for (int o = 0; o < kBlockChannels; ++o) {
          const std::int64_t ic = b * kBlockChannels + o;
          dst[(oc * ntp + ti) * kBlockChannels + o] =
              ic < cig ? w[((grp * cog + oc) * cig + ic) * taps + p.plane_taps[t0 + ti]] : T(0);
        }
  });
}

// The taps of each phase plane in the order of their dy offsets (plane_tap_wide_offset), for the
// channel-vectorised input gradient: order[k] (an index into plane_taps, within plane k's range)
// and offs[k] its offset, ascending within each plane, so that the taps of one kernel row become
// runs of adjacent offsets (the transposed convolution reads them right to left).
struct PlaneTapOrder {
  std::vector<std::int64_t> order, offs;
};

inline PlaneTapOrder plane_taps_by_offset(const ConvPlan& p) {
  PlaneTapOrder o;
  o.order.resize(static_cast<std::size_t>(p.taps));
  for (std::int64_t k = 0; k < p.taps; ++k) o.order[k] = k;
  for (std::int64_t pl = 0; pl < p.planes; ++pl)
    std::stable_sort(o.order.begin() + p.plane_begin[pl], o.order.begin() + p.plane_begin[pl + 1],
                     [&](std::int64_t a, std::int64_t b) {
                       return p.plane_tap_wide_offset[a] < p.plane_tap_wide_offset[b];
                     });
  o.offs.resize(o.order.size());
  for (std::int64_t k = 0; k < p.taps; ++k) o.offs[k] = p.plane_tap_wide_offset[o.order[k]];
  return o;
}

// Weights regrouped for the transposed convolution with vectors of W input channels (the
// channel-vectorised input gradient): wp[grp][plane][block][oc][tap of the plane, by offset][W],
// zero-padded past the group's last input channel; block b of plane pl of group grp starts at
// transposed_weight_block(g, p, wp, grp, pl, b, W).
template <typename T>
void pack_transposed_channel_weights(const ConvGeom& g, const ConvPlan& p,
                                     const PlaneTapOrder& order, int w_lanes, const T* w, T* wp) {
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, taps = p.taps;
  const std::int64_t nib = ceil_div(cig, w_lanes);
  parallel_for(g.G * p.planes * nib, double(g.C_in) * cog * taps, [&](std::int64_t it) {
    const std::int64_t b = it % nib, pl = (it / nib) % p.planes, grp = it / (nib * p.planes);
    const std::int64_t t0 = p.plane_begin[pl], ntp = p.plane_begin[pl + 1] - t0;
    T* dst = transposed_weight_block(g, p, wp, grp, pl, b, w_lanes);
    for (std::int64_t oc = 0; oc < cog; ++oc)
      for (std::int64_t ti = 0; ti < ntp; ++ti) {
        const std::int64_t tap = p.plane_taps[order.order[t0 + ti]];
        for (int o = 0; o < w_lanes; ++o) {
          const std::int64_t ic = b * w_lanes + o;
          dst[(oc * ntp + ti) * w_lanes + o] =
              ic < cig ? w[((grp * cog + oc) * cig + ic) * taps + tap] : T(0);
        }
      }
  });
}

// x (N, C, H, W) -> phase layout (N, C, phase_channel_size): padded, stride-phase planes, zero
// slack; planes that no tap reads are all zeros.
template <typename T>
void conv_pack_input(const ConvGeom& g, const ConvPlan& p, const T* x, T* xq) {
  std::vector<std::int64_t> jrange(2 * g.SW);  // per column phase: first, end of image columns
  for (std::int64_t pw = 0; pw < g.SW; ++pw)
    valid_range(g.SW, pw, g.PW0, g.W, p.plane_w, &jrange[2 * pw], &jrange[2 * pw + 1]);
  // per row phase ph, at stride 2 and 4: whether all its column phases take data (every plane
  // read, every phase with image columns); then its rows inside the image go to pack_row_phases
  std::vector<char> split(static_cast<std::size_t>(g.SH), g.SW == 2 || g.SW == 4);
  for (std::int64_t ph = 0; ph < g.SH; ++ph)
    for (std::int64_t pw = 0; pw < g.SW; ++pw) {
      const std::int64_t plane = ph * g.SW + pw;
      if (p.plane_begin[plane] == p.plane_begin[plane + 1] || jrange[2 * pw] >= jrange[2 * pw + 1])
        split[ph] = 0;
    }
  parallel_for(g.N * g.C_in, double(g.N) * g.C_in * p.phase_channel_size, [&](std::int64_t nc) {
    const T* src = x + nc * g.H * g.W;
    T* dst = xq + nc * p.phase_channel_size;
    if (g.SH == 1 && g.SW == 1 && g.PW0 == 0 && g.PW1 == 0) {
      // no column padding: the image is one block of the plane, between rows of padding
      const std::int64_t below = p.plane_h - g.PH0 - g.H;  // >= 0: plane_h = H + PH0 + PH1
      zero_row(dst, g.PH0 * p.plane_w);
      copy_row(dst + g.PH0 * p.plane_w, src, g.H * g.W);
      zero_row(dst + (g.PH0 + g.H) * p.plane_w,
               below * p.plane_w + (p.phase_channel_size - p.plane_size));
      return;
    }
    // padded rows in order, all column phases of a row in turn (it stays in L1 for stride > 1)
    for (std::int64_t i = 0; i < p.plane_h; ++i) {
      for (std::int64_t ph = 0; ph < g.SH; ++ph) {
        const std::int64_t h = i * g.SH + ph - g.PH0;
        if (split[ph] && h >= 0 && h < g.H) {
          T* row0 = dst + ph * g.SW * p.plane_size + i * p.plane_w;
          if (g.SW == 2) {
            pack_row_phases<T, 2>(jrange.data(), g.PW0, p.plane_w, p.plane_size, src + h * g.W,
                                  row0);
          } else {
            pack_row_phases<T, 4>(jrange.data(), g.PW0, p.plane_w, p.plane_size, src + h * g.W,
                                  row0);
          }
          continue;
        }
        for (std::int64_t pw = 0; pw < g.SW; ++pw) {
          const std::int64_t plane = ph * g.SW + pw;
          T* row = dst + plane * p.plane_size + i * p.plane_w;
          const std::int64_t jlo = jrange[2 * pw], jhi = jrange[2 * pw + 1];
          // a plane no tap reads (a 1x1 stride-2 kernel reads one of four) is only zeroed: the
          // kernels' tiles may still run into it, and must meet zeros there, not stale values
          const bool unread = p.plane_begin[plane] == p.plane_begin[plane + 1];
          if (h < 0 || h >= g.H || jlo >= jhi || unread) {
            zero_row(row, p.plane_w);
            continue;
          }
          zero_row(row, jlo);
          const T* s = src + h * g.W + jlo * g.SW + pw - g.PW0;
          const std::int64_t avail = g.W - (jlo * g.SW + pw - g.PW0);  // source row from s
          if (g.SW == 1) {
            copy_row(row + jlo, s, jhi - jlo);
          } else if (g.SW == 2) {
            copy_row_strided<T, 2>(row + jlo, s, jhi - jlo, avail);
          } else if (g.SW == 4) {
            copy_row_strided<T, 4>(row + jlo, s, jhi - jlo, avail);
          } else {
            for (std::int64_t j = jlo; j < jhi; ++j) row[j] = s[(j - jlo) * g.SW];
          }
          zero_row(row + jhi, p.plane_w - jhi);
        }
      }
    }
    std::fill(dst + p.planes * p.plane_size, dst + p.phase_channel_size, T(0));
  });
}

// dy (N, C_out, OH, OW) -> wide layout (N, C_out, wide_channel_size): wide_front zeros, OH rows
// of plane_w (zeros past OW), zeros.
// With `margins` false only the rows and the zeros up to the next whole vector after them are
// written (all the weight gradient reads); the transposed convolution also reads the margins.
// front, cs (> 0): another front and channel size than wide_front, wide_channel_size (the compact
// layout of the channel-vectorised input gradient, channel_wide_layout; cs >= front +
// wide_outputs).
template <typename T>
void conv_pack_wide(const ConvGeom& g, const ConvPlan& p, const T* dy, T* dyw, bool margins,
                    std::int64_t front = 0, std::int64_t cs = 0) {
  using V = Vec<T>;
  constexpr int W = V::width;
  const std::int64_t gap = p.plane_w - g.OW;  // zeros after each row
  if (cs <= 0) front = p.wide_front, cs = p.wide_channel_size;
  // rows of at most a vector (8x8 with 16 lanes: plane_w 10) go as one vector each, its lanes past
  // OW zeroed (keep), spilling zeros into the next row's start (which that row's store then
  // overwrites) or the channel's tail: no call to memcpy per row of a few elements
  const bool short_rows = p.plane_w <= W && front + (g.OH - 1) * p.plane_w + W <= cs;
  typename V::int_raw keep;
  for (int k = 0; k < W; ++k) keep[k] = k < g.OW ? -1 : 0;
  const T* dy_end = dy + g.N * g.C_out * g.OH * g.OW;
  parallel_for(g.N * g.C_out, double(g.N) * g.C_out * cs, [&](std::int64_t nc) {
    const T* src = dy + nc * g.OH * g.OW;
    T* dst = dyw + nc * cs;
    if (margins) zero_row(dst, front);
    for (std::int64_t oh = 0; oh < g.OH; ++oh) {
      T* row = dst + front + oh * p.plane_w;
      if (short_rows) {
        const T* s = src + oh * g.OW;
        V v;
        if (s + W <= dy_end) {
          v = V::load(s);
        } else {  // the last rows of dy: no load past its end
          alignas(64) T last[W] = {};
          std::memcpy(last, s, static_cast<std::size_t>(g.OW) * sizeof(T));
          v = V::load(last);
        }
        v.v = (typename V::raw)((typename V::int_raw)v.v & keep);
        v.store(row);
      } else if (gap <= W && p.plane_w >= W) {
        // the row's last vector zeroed first (one store, aligned when plane_w is a multiple of W),
        // then the data copied over the front of it
        V::zero().store(row + p.plane_w - W);
        copy_row(row, src + oh * g.OW, g.OW);
      } else {
        copy_row(row, src + oh * g.OW, g.OW);
        zero_row(row + g.OW, gap);
      }
    }
    const std::int64_t tail =
        margins ? cs : std::min(cs, front + ceil_div(p.wide_outputs, W) * W + W);
    const std::int64_t end = front + p.wide_outputs;
    if (tail > end) zero_row(dst + end, tail - end);
  });
}

// Transposes a square of W x W lanes in registers: row i, lane j -> row j, lane i. log2(W) rounds
// of interleaving row i with row i + W/2 into rows 2i and 2i + 1 (each round moves one bit of the
// row index into the lane index).
template <typename V>
__attribute__((always_inline)) inline void transpose_square(V (&r)[V::width]) {
  constexpr int W = V::width;
#pragma GCC unroll 4
  for (int round = 1; round < W; round *= 2) {
    V n[W];
#pragma GCC unroll 8
    for (int i = 0; i < W / 2; ++i) {
      n[2 * i].v = Lanes<W>::interleave_lo(r[i].v, r[i + W / 2].v);
      n[2 * i + 1].v = Lanes<W>::interleave_hi(r[i].v, r[i + W / 2].v);
    }
#pragma GCC unroll 16
    for (int i = 0; i < W; ++i) r[i] = n[i];
  }
}

// A channel-major block of W channels x W pixels -> pixel-major, in registers: channel i (the
// first nc real, the rest zeros) read from src + i * src_ld, pixel j written to dst + j * dst_ld
// (W channels). The layout copies that put channels innermost (pack_output_gradient_channels,
// conv_1x1.h's transpose_input_1x1) go through it.
template <typename T>
__attribute__((always_inline)) inline void transpose_to_pixels(const T* src, std::int64_t src_ld,
                                                               std::int64_t nc, T* dst,
                                                               std::int64_t dst_ld) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V r[W];
#pragma GCC unroll 16
  for (int i = 0; i < W; ++i) r[i] = i < nc ? V::load(src + i * src_ld) : V::zero();
  transpose_square(r);
#pragma GCC unroll 16
  for (int j = 0; j < W; ++j) r[j].store(dst + j * dst_ld);
}

// dy (N, C_out, OH, OW) -> pixel-major with output channels innermost, for the channel-vectorised
// weight gradient, in output tiles of tile_channels channels (whole vectors): dyc[n][grp] holds the
// group's cog channels zero-padded to cogp (whole vectors), tile by tile, each tile pixel-major,
// [pixel][tile width] (pixel = oh*OW + ow; every tile tile_channels wide but the last, which holds
// the rest). So a block's dy rows are contiguous at a compile-time stride (OV*W), which frees the
// micro-kernel's registers of the row stride's multiples and streams each tile's chunk as one
// block (weight_chan_rows, AVX-512 3x3 256 -> 256 8x8: see benchmarks/PERFORMANCE.md). Squares of
// W channels x W pixels are transposed in registers (transpose_to_pixels; about a quarter of the
// time of element-by-element copies, which took 10-20 % of the weight gradient on 8x8-16x16
// images); the pixels past the last whole vector one by one.
template <typename T>
void pack_output_gradient_channels(const ConvGeom& g, std::int64_t cogp, std::int64_t tile_channels,
                                   const T* dy, T* dyc) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cog = g.C_out / g.G, pixels = g.OH * g.OW, full = pixels / W * W;
  parallel_for(g.N * g.G, double(g.N) * g.G * cogp * pixels, [&](std::int64_t ng) {
    const T* src = dy + ng * cog * pixels;  // (n, grp) -> channels grp*cog .. of sample n
    for (std::int64_t oc0 = 0; oc0 < cogp; oc0 += W) {
      const std::int64_t nc = std::min<std::int64_t>(W, cog - oc0);
      const std::int64_t tc0 = oc0 / tile_channels * tile_channels;  // the tile's first channel
      const std::int64_t ld = std::min(tile_channels, cogp - tc0);   // its width
      T* dst = dyc + ng * pixels * cogp + tc0 * pixels + (oc0 - tc0);
      for (std::int64_t p0 = 0; p0 < full; p0 += W)
        transpose_to_pixels(src + oc0 * pixels + p0, pixels, nc, dst + p0 * ld, ld);
      for (std::int64_t p = full; p < pixels; ++p)
        for (std::int64_t i = 0; i < W; ++i)
          dst[p * ld + i] = i < nc ? src[(oc0 + i) * pixels + p] : T(0);
    }
  });
}

// For the exact mode: 1 at the image pixels of one channel's phase layout (phase_channel_size
// elements), 0 at its
// padding and slack.
template <typename T>
std::vector<T> phase_layout_validity(const ConvGeom& g, const ConvPlan& p) {
  std::vector<T> valid(static_cast<std::size_t>(p.phase_channel_size), T(0));
  for (std::int64_t ph = 0; ph < g.SH; ++ph)
    for (std::int64_t pw = 0; pw < g.SW; ++pw) {
      std::int64_t ilo, ihi, jlo, jhi;
      valid_range(g.SH, ph, g.PH0, g.H, p.plane_h, &ilo, &ihi);
      valid_range(g.SW, pw, g.PW0, g.W, p.plane_w, &jlo, &jhi);
      for (std::int64_t i = ilo; i < ihi; ++i)
        for (std::int64_t j = jlo; j < jhi; ++j)
          valid[(ph * g.SW + pw) * p.plane_size + i * p.plane_w + j] = T(1);
    }
  return valid;
}

// For the exact mode: n elements, 1 at front + q for the output positions q < wide_outputs whose
// column is a real output column (< OW), 0 elsewhere (the margins and the discarded columns of the
// wide layout).
template <typename T>
std::vector<T> wide_layout_validity(const ConvGeom& g, const ConvPlan& p, std::int64_t front,
                                    std::int64_t n) {
  std::vector<T> valid(static_cast<std::size_t>(n), T(0));
  for (std::int64_t q = 0; q < p.wide_outputs && front + q < n; ++q)
    if (q % p.plane_w < g.OW) valid[front + q] = T(1);
  return valid;
}

// Copies the valid part of a wide tile (OB rows of `tile` values for positions q0..) into the
// dense output (OH, OW) of each channel, adding the bias when given.
template <typename T>
inline void store_wide_tile(const T* tbuf, int tile, int ob, std::int64_t q0, std::int64_t qend,
                            std::int64_t plane_w, std::int64_t OW, T* out, std::int64_t out_cs,
                            const T* bias) {
  std::int64_t q = q0;
  const std::int64_t end = std::min(q0 + tile, qend);
  while (q < end) {
    const std::int64_t oh = q / plane_w, ow = q - oh * plane_w;
    if (ow >= OW) {
      q = (oh + 1) * plane_w;
      continue;
    }
    const std::int64_t n = std::min(OW - ow, end - q);
    for (int o = 0; o < ob; ++o) {
      const T* s = tbuf + o * tile + (q - q0);
      T* d = out + o * out_cs + oh * OW + ow;
      if (bias) {
        add_row(d, s, n, bias[o]);
      } else {
        copy_row(d, s, n);
      }
    }
    q += n;
  }
}

// Writes the image pixels among `tile` plane positions from p0 (limited to [plo, phi)) of one
// (phase plane, input-channel block): position (i, j) of plane (ph, pw) is pixel
// (i*SH + ph - PH0, j*SW + pw - PW0); columns outside [jlo, jhi) are padding. Channel o's values
// start at src + o * src_os.
template <typename T>
inline void scatter_plane_tile(const ConvGeom& g, std::int64_t plane_w, std::int64_t ph,
                               std::int64_t pw, std::int64_t jlo, std::int64_t jhi, const T* src,
                               std::int64_t src_os, int ob, std::int64_t p0, std::int64_t tile,
                               std::int64_t plo, std::int64_t phi, T* out, std::int64_t out_cs) {
  std::int64_t q = std::max(p0, plo);
  const std::int64_t end = std::min(p0 + tile, phi);
  while (q < end) {
    const std::int64_t i = q / plane_w, j = q - i * plane_w;
    if (j < jlo) {
      q += jlo - j;
      continue;
    }
    if (j >= jhi) {
      q = (i + 1) * plane_w;
      continue;
    }
    const std::int64_t cnt = std::min(jhi - j, end - q);
    const std::int64_t h = i * g.SH + ph - g.PH0;
    T* d = out + h * g.W + j * g.SW + pw - g.PW0;
    for (int o = 0; o < ob; ++o) {
      const T* s = src + o * src_os + (q - p0);
      T* dd = d + o * out_cs;
      if (g.SW == 1) {
        for (std::int64_t k = 0; k < cnt; ++k) dd[k] = s[k];
      } else {
        for (std::int64_t k = 0; k < cnt; ++k) dd[k * g.SW] = s[k];
      }
    }
    q += cnt;
  }
}

// ---------------------------------------------------------------------------------------------
// The input of the channel-vectorised forward (conv_forward_channels). Its tiles broadcast single
// pixels of the phase planes and never read past them, so its copy holds the planes only, with a
// channel stride of channel_forward_stride elements instead of phase_channel_size (no zeroed
// slack: a 64-channel 8x8 image takes 25 KiB instead of 60, and stays in L1), and planes no tap
// reads are left unwritten. The rows are copied in whole vectors that may run past the row's end
// into elements written later (the next row, plane or the stride's spare vector): no scalar tail,
// no call per row (those copies cost a sixth of the 8x8 and a quarter of the stride-2 forwards).

// Elements per channel: the planes rounded up to whole vectors, plus the one vector a row's last
// store may run past them.
template <typename T>
inline std::int64_t channel_forward_stride(const ConvPlan& p) {
  constexpr int W = Vec<T>::width;
  return (ceil_div(p.planes * p.plane_size, W) + 1) * W;
}

// d[k] = s[k * SW] for k < n (SW = 1 or 2) in whole vectors: writes d[0 .. ceil(n / W) * W) (past
// n, what follows in s) and reads s[0 .. ceil(n / W) * W * SW); the caller keeps both in bounds.
template <typename T, int SW>
inline void copy_row_vectors(T* d, const T* s, std::int64_t n) {
  using V = Vec<T>;
  constexpr int W = V::width;
  for (std::int64_t k = 0; k < n; k += W) {
    V r;
    if constexpr (SW == 1) {
      r = V::load(s + k);
    } else {
      r.v = Lanes<W>::even(V::load(s + 2 * k).v, V::load(s + 2 * k + W).v);
    }
    r.store(d + k);
  }
}

// Channel nc of x (N, C, H, W), at src, -> its planes at dst, for conv_forward_channels. jrange:
// per column phase, the first and end column of image pixels (valid_range); readable: the
// elements of x from src on. Rows are written in increasing address order, and each row writes
// all its elements (zeros, data, zeros) in whole vectors starting inside it, so an element a
// vector store ran into is always written again afterwards by the row it belongs to.
template <typename T>
inline void pack_channel_planes(const ConvGeom& g, const ConvPlan& p, const std::int64_t* jrange,
                                const T* src, std::int64_t readable, T* dst) {
  constexpr int W = Vec<T>::width;
  if (g.SH == 1 && g.SW == 1) {  // one plane: rows of zeros, the image's rows, rows of zeros
    const std::int64_t jlo = jrange[0], jhi = jrange[1], n = jhi - jlo;
    const std::int64_t span = ceil_div(n, W) * W, top = std::min(g.PH0, p.plane_h);
    const std::int64_t end = std::min(p.plane_h, g.PH0 + g.H);
    for (std::int64_t k = 0; k < top * p.plane_w; k += W) Vec<T>::zero().store(dst + k);
    for (std::int64_t i = top; i < end && n > 0; ++i) {
      T* row = dst + i * p.plane_w;
      const std::int64_t at = (i - g.PH0) * g.W + jlo - g.PW0;
      for (std::int64_t k = 0; k < jlo; k += W) Vec<T>::zero().store(row + k);
      if (at + span <= readable) {
        copy_row_vectors<T, 1>(row + jlo, src + at, n);
      } else {
        for (std::int64_t j = 0; j < n; ++j) row[jlo + j] = src[at + j];
      }
      for (std::int64_t k = jhi; k < p.plane_w; k += W) Vec<T>::zero().store(row + k);
    }
    const std::int64_t rest = n > 0 ? end : top;  // the first row left to zero
    for (std::int64_t k = rest * p.plane_w; k < p.plane_size; k += W)
      Vec<T>::zero().store(dst + k);
    return;
  }
  for (std::int64_t plane = 0; plane < p.planes; ++plane) {
    if (p.plane_begin[plane] == p.plane_begin[plane + 1]) continue;  // no tap reads it
    const std::int64_t ph = plane / g.SW, pw = plane % g.SW;
    const std::int64_t jlo = jrange[2 * pw], jhi = jrange[2 * pw + 1];
    const std::int64_t span = ceil_div(jhi - jlo, W) * W * g.SW;  // source elements a row reads
    for (std::int64_t i = 0; i < p.plane_h; ++i) {
      T* row = dst + plane * p.plane_size + i * p.plane_w;
      const std::int64_t h = i * g.SH + ph - g.PH0;
      if (h < 0 || h >= g.H || jlo >= jhi) {
        for (std::int64_t k = 0; k < p.plane_w; k += W) Vec<T>::zero().store(row + k);
        continue;
      }
      // the padding before the data: whole vectors of zeros, which the data then overwrites
      for (std::int64_t k = 0; k < jlo; k += W) Vec<T>::zero().store(row + k);
      const std::int64_t at = h * g.W + jlo * g.SW + pw - g.PW0;
      const bool inside = at + span <= readable;  // the whole vectors stay inside x
      if (g.SW == 1 && inside) {
        copy_row_vectors<T, 1>(row + jlo, src + at, jhi - jlo);
      } else if (g.SW == 2 && inside) {
        copy_row_vectors<T, 2>(row + jlo, src + at, jhi - jlo);
      } else {
        for (std::int64_t j = jlo; j < jhi; ++j) row[j] = src[at + (j - jlo) * g.SW];
      }
      for (std::int64_t k = jhi; k < p.plane_w; k += W) Vec<T>::zero().store(row + k);
    }
  }
}

// Copies a channel tile (tbuf[(r*rc + j)*lanes + o]: pixel-major, `lanes` channels per pixel) of
// nr rows x nc columns and ob channels into y (out: its first channel's first pixel), adding the
// bias (0 when none: the sums start at +0, so they are never -0 and + 0 changes no bit).
template <typename T>
inline void store_channel_tile(const T* tbuf, int lanes, int rc, int nr, std::int64_t nc, int ob,
                               T* out, std::int64_t out_cs, std::int64_t OW, const T* bias) {
  for (int o = 0; o < ob; ++o) {
    const T bo = bias ? bias[o] : T(0);
    for (int r = 0; r < nr; ++r) {
      T* d = out + o * out_cs + r * OW;
      const T* s = tbuf + r * rc * lanes + o;
      for (std::int64_t j = 0; j < nc; ++j) d[j] = s[j * lanes] + bo;
    }
  }
}

// The pixel vectors x[0 .. P) of a channel tile (x[j][o]: channel o of pixel j; P a power of two,
// at most W) transposed in registers into channel-major order, stored as out[o * P + j] (W * P
// elements): log2(P) rounds of interleaving, each pairing the vectors that differ in one bit of
// j, from the highest bit down, so that j ends in the low lane bits and o in the rest.
template <int P, typename R>
__attribute__((always_inline)) inline void transpose_pixel_vectors(R (&x)[P]) {
  constexpr int W = int(sizeof(R) / sizeof(x[0][0]));
#pragma GCC unroll 4
  for (int bit = P / 2; bit >= 1; bit /= 2)
#pragma GCC unroll 16
    for (int i = 0; i < P; ++i)
      if ((i & bit) == 0) {
        const R a = x[i], b = x[i + bit];
        x[i] = Lanes<W>::interleave_lo(a, b);
        x[i + bit] = Lanes<W>::interleave_hi(a, b);
      }
}

// store_channel_tile for a tile of RC columns (RC a compile-time count): where the tile is whole
// (nc == RC), each row's pixel vectors are transposed in registers (transpose_pixel_vectors, in
// groups of P pixels, P the power of two from RC up, at most W; a group short of P is filled with
// zero vectors, whose lanes are not stored) and each channel's run of pixels is copied out as one
// block, instead of element by element (the scalar copy took a tenth of the stride-2 3x3 forward's
// tiles of 6 columns). The same values: the bias is added to each pixel vector before the
// transpose, as store_channel_tile adds it to each element.
template <typename T, int RC>
inline void store_channel_tile_rc(const T* tbuf, int lanes, int nr, std::int64_t nc, int ob,
                                  T* out, std::int64_t out_cs, std::int64_t OW, const T* bias) {
  using V = Vec<T>;
  constexpr int W = V::width;
  constexpr int P = [] {
    int p = 1;
    while (p < RC && p < W) p *= 2;
    return p;
  }();
  if (nc != RC) {
    store_channel_tile(tbuf, lanes, RC, nr, nc, ob, out, out_cs, OW, bias);
    return;
  }
  alignas(64) T tmp[W * P];
  for (int v = 0; v * W < ob; ++v) {  // each vector of channels of a pixel (two in pair tiles)
    const int oc = std::min(W, ob - v * W);
    V bv = V::zero();
    if (bias) {
      alignas(64) T bpad[W] = {};
      for (int o = 0; o < oc; ++o) bpad[o] = bias[v * W + o];
      bv = V::load(bpad);
    }
    for (int r = 0; r < nr; ++r)
#pragma GCC unroll 4
      for (int j0 = 0; j0 < RC; j0 += P) {
        constexpr int kLast = RC % P == 0 ? P : RC % P;  // pixels of the last group
        const int count = j0 + P <= RC ? P : kLast;
        typename V::raw x[P];
#pragma GCC unroll 16
        for (int j = 0; j < P; ++j) {
          if (j < count) {
            x[j] = V::load(tbuf + (r * RC + j0 + j) * lanes + v * W).v;
            if (bias) x[j] += bv.v;
          } else {
            x[j] = V::zero().v;
          }
        }
        transpose_pixel_vectors<P>(x);
#pragma GCC unroll 16
        for (int k = 0; k < P; ++k) std::memcpy(tmp + k * W, &x[k], sizeof(x[k]));
        T* d = out + (v * W) * out_cs + r * OW + j0;
        for (int o = 0; o < oc; ++o)
          std::memcpy(d + o * out_cs, tmp + o * P, static_cast<std::size_t>(count) * sizeof(T));
      }
  }
}
