// The convolution micro-kernels: the register-blocked inner loops that do all the arithmetic, on
// the layouts of conv_packing.h. Included by conv_kernels.h inside the ISA namespace.
//
//   corr_tile         out[o][q0 .. q0+TILE) = sum_c sum_t w[c][t][o] * in[c][q0 + off[t] .. +TILE):
//                     OB channels x RB vectors of positions in registers (forward, backward_input).
//   corr_tile_images  the same with one vector of positions in each of RB images (backward_input
//                     of small planes), skipping the taps that read only zeros.
//   chan_tile,        a vector of W channels per output pixel: output channels in the forward,
//   chan_tile_rows,   input channels in backward_input (narrow images, where wide rows would
//   chan_tile_any     discard many columns); chan_tile_any picks the tile for a row count.
//   chan_tile_rows3   chan_tile_rows on three rows (the forward's narrow tiles)
//   chan_tile_rows_edges  chan_tile_rows without the products with zeros at the image's edges
//                     (TileEdges); chan_tile_any and chan_tile_rows3 take it where a tile has them.
//   chan_tile_pair    chan_tile with two vectors of output channels (the forward's other taps), on
//                     x itself where it can, leaving out the padding's pixels (TapSpan).
//   weight_pass       WO output channels x WT columns ((input channel, tap) pairs) of vector
//                     partial sums of the weight gradient.
//   weight_chan_pass  the weight gradient with OV vectors of output channels x K columns, one dw
//                     element per lane (narrow images).
//
// How GCC is steered: weights come as broadcast loads (splat); vectors that several FMAs share are
// pinned in registers (in_register), since GCC otherwise folds them back into every FMA as a
// memory operand, one load per FMA; pointers it would otherwise track per element are made opaque.

// A vector of copies of *p. (Written as *p - 0, which is exactly *p, so the compiler emits one
// broadcast load; 0 + *p is not foldable because of signed zeros and costs an add and a shuffle.)
template <typename T>
inline Vec<T> splat(const T* p) {
  Vec<T> r;
  r.v = *p - typename Vec<T>::raw{};
  return r;
}

// p + n elements, added on the address rather than with pointer arithmetic. A tile that reads x
// itself (chan_tile_pair, chan_tile_rows) starts at its corner pixel, which lies in the padding,
// before x, at the image's top-left; the tile never reads there (TapSpan, TileEdges), but in C++
// merely forming a pointer outside its array with pointer arithmetic is undefined. Only pixels
// inside x are dereferenced.
template <typename T>
inline const T* address_offset(const T* p, std::int64_t n) {
  return reinterpret_cast<const T*>(reinterpret_cast<std::uintptr_t>(p) +
                                    static_cast<std::uintptr_t>(n) * sizeof(T));
}

// Makes the compiler keep v in a register: without it, GCC may fold a vector that several FMAs
// share back into each FMA as a memory operand, turning one load into one load per FMA (which made
// the weight gradient load-bound). An empty asm, so no instruction is emitted.
template <typename T>
inline void in_register(Vec<T>& v) {
#if defined(__x86_64__) || defined(__i386__)
  asm("" : "+v"(v.v));
#else
  (void)v;
#endif
}

// A micro-kernel's accumulator block: zeroed, and stored row by row (block row a, vector b at
// out + (a * B + b) * W), the layout every tile buffer here uses.
template <typename V, int A, int B>
__attribute__((always_inline)) inline void zero_block(V (&acc)[A][B]) {
#pragma GCC unroll 16
  for (int a = 0; a < A; ++a)
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) acc[a][b] = V::zero();
}

template <typename V, int A, int B, typename T>
__attribute__((always_inline)) inline void store_block(const V (&acc)[A][B], T* out) {
#pragma GCC unroll 16
  for (int a = 0; a < A; ++a)
#pragma GCC unroll 16
    for (int b = 0; b < B; ++b) acc[a][b].store(out + (a * B + b) * V::width);
}

// One step of the OB x RB register block: acc[o][r] += w[o] * x[r], with OB broadcast weights and
// RB input vectors (OB*RB fused multiply-adds).
template <typename V, int OB, int RB, typename T>
__attribute__((always_inline)) inline void fma_step(V (&acc)[OB][RB], const T* w,
                                                    const V (&x)[RB]) {
#pragma GCC unroll 16
  for (int o = 0; o < OB; ++o) {
    const V b = splat(w + o);
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) acc[o][r] = V::fma(b, x[r], acc[o][r]);
  }
}

// out[o][r*W + lane] = sum_c sum_t w[c][t][o] * in[c * cs + offs[t] + r*W + lane] for OB channels
// o and RB vectors r: each step loads RB input vectors and OB broadcast weights for OB*RB fused
// multiply-adds. w is packed [c][t][kBlockChannels] (conv_packing.h). Every stream of `streams` is
// prefetched a few output rows ahead (prefetch_streams); without streams, every tap's row is.
// Exact (the exact mode of conv_forward / conv_backward_input): `valid` marks the layout positions
// that hold data (1) or structural zeros (0; indexed like in's channel layout from the tile's
// start), and products at structural zeros are left out instead of added: an Inf or NaN weight
// times such a zero would otherwise give NaN where the true result has none.
template <typename T, int OB, int RB, bool Exact>
__attribute__((always_inline)) inline void corr_tile(const T* in, std::int64_t cs, std::int64_t nch,
                                                     const std::int64_t* offs, std::int64_t ntaps,
                                                     const std::int64_t* streams,
                                                     std::int64_t nstreams, const T* w, T* out,
                                                     const T* valid) {
  using V = Vec<T>;
  constexpr int W = V::width;
  constexpr int kAhead = 12 * W;  // prefetch distance, about three output rows of 3x3 at 56x56
  V acc[OB][RB];
  zero_block(acc);
  for (std::int64_t c = 0; c < nch; ++c) {
    const T* src = in + c * cs;
    const T* wc = w + c * ntaps * kBlockChannels;
    // the input rows a later tile will read: one prefetch per cache line of each row (stream),
    // or one per tap without streams or with more stream lines than taps (11x11 stride 4)
    const bool per_tap = nstreams == 0 || nstreams * RB > ntaps;
    if (!per_tap)
      for (std::int64_t i = 0; i < nstreams; ++i)
#pragma GCC unroll 8
        for (int r = 0; r < RB; ++r) __builtin_prefetch(src + streams[i] + kAhead + r * W);
    for (std::int64_t t = 0; t < ntaps; ++t) {
      const T* s = src + offs[t];
      if (per_tap) __builtin_prefetch(s + kAhead);
      V xv[RB];
#pragma GCC unroll 8
      for (int r = 0; r < RB; ++r) xv[r] = V::load(s + r * W);
      const T* wt = wc + t * kBlockChannels;
      if constexpr (Exact) {
#pragma GCC unroll 8
        for (int r = 0; r < RB; ++r) {
          const auto keep = V::load(valid + offs[t] + r * W).v != V::zero().v;
#pragma GCC unroll 16
          for (int o = 0; o < OB; ++o) {
            const V b = splat(wt + o);
            acc[o][r].v = keep ? b.v * xv[r].v + acc[o][r].v : acc[o][r].v;
          }
        }
      } else {
        fma_step(acc, wt, xv);
      }
    }
  }
  store_block(acc, out);
}

// The distinct input rows ("streams") that taps at offsets offs[0 .. n) read: offsets closer than
// one vector to a kept one are merged (the column taps of one kernel row). corr_tile prefetches
// each stream once per channel instead of once per tap: at stride 2 a tile's taps read six rows
// in four phase planes, and per-tap prefetches covered only a third of their lines. Empty (per-tap
// prefetches) when a tile's input over all `channels` fits in L1 anyway (there the stream
// prefetches only cost time). The transposed convolution keeps per-tap prefetches, which measured
// faster for it (benchmarks/PERFORMANCE.md).
inline std::vector<std::int64_t> prefetch_streams(const std::int64_t* offs, std::int64_t n, int w,
                                                  std::int64_t channels, std::size_t elem_bytes) {
  std::vector<std::int64_t> sorted(offs, offs + n), kept;
  std::sort(sorted.begin(), sorted.end());
  for (const std::int64_t o : sorted)
    if (kept.empty() || o >= kept.back() + w) kept.push_back(o);
  const std::size_t footprint =
      static_cast<std::size_t>(channels) * kept.size() * 16 * w * elem_bytes;
  if (footprint <= 32 * 1024) kept.clear();  // (16 vectors: a tile and the prefetch distance)
  return kept;
}

// The forward for narrow outputs (many discarded wide-row columns, e.g. LeNet's 10 of 14), with
// the roles swapped: a vector holds W output channels, and each of NR x RC output pixels (NR rows,
// RC columns: no discarded columns) has its own accumulator, updated with a broadcast input pixel.
// out[(r*RC + j)*W + o] = sum_c sum_t w[c][t][o] * in[c][r*wq + j + off[t]].
template <typename T, int NR, int RC>
__attribute__((always_inline)) inline void chan_tile(const T* in, std::int64_t cs, std::int64_t nch,
                                                     const std::int64_t* offs, std::int64_t ntaps,
                                                     std::int64_t wq, const T* w, T* out) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V acc[NR][RC];
  zero_block(acc);
  for (std::int64_t c = 0; c < nch; ++c) {
    const T* src = in + c * cs;
    const T* wc = w + c * ntaps * W;
    for (std::int64_t t = 0; t < ntaps; ++t) {
      const T* rows[NR];
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        rows[r] = src + offs[t] + r * wq;
        // an opaque pointer, so the broadcasts below address it with constant displacements
        // (otherwise GCC keeps one induction variable per pixel and spills them)
        asm("" : "+r"(rows[r]));
      }
      V wv = V::load(wc + t * W);
      in_register(wv);
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
        for (int j = 0; j < RC; ++j) acc[r][j] = V::fma(splat(rows[r] + j), wv, acc[r][j]);
    }
  }
  store_block(acc, out);
}

// chan_tile for the taps of one kernel row at adjacent columns (SW = DW = 1, KW taps): input pixel
// u of a row serves output pixel u - kw through tap kw, so each pixel is broadcast once per row of
// taps and meets KW weight vectors held in registers (about KW times fewer loads than chan_tile,
// whose broadcasts made it load-bound). The same sums in the same order as chan_tile.
template <typename T, int NR, int RC, int KW>
__attribute__((always_inline)) inline void chan_tile_rows(const T* in, std::int64_t cs,
                                                          std::int64_t nch,
                                                          const std::int64_t* offs,
                                                          std::int64_t kh_count, std::int64_t wq,
                                                          const T* w, T* out) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V acc[NR][RC];
  zero_block(acc);
  for (std::int64_t c = 0; c < nch; ++c) {
    const T* src = address_offset(in, c * cs);
    const T* wc = w + c * kh_count * KW * W;
    for (std::int64_t kh = 0; kh < kh_count; ++kh) {
      V wv[KW];
#pragma GCC unroll 8
      for (int kw = 0; kw < KW; ++kw) {
        wv[kw] = V::load(wc + (kh * KW + kw) * W);
        in_register(wv[kw]);
      }
      const T* rows[NR];
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        rows[r] = address_offset(src, offs[kh * KW] + r * wq);
        asm("" : "+r"(rows[r]));  // constant displacements for the broadcasts (see chan_tile)
      }
#pragma GCC unroll 24
      for (int u = 0; u < RC + KW - 1; ++u) {
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
          const V b = splat(address_offset(rows[r], u));
#pragma GCC unroll 8
          for (int kw = 0; kw < KW; ++kw) {
            const int j = u - kw;
            if (j >= 0 && j < RC) acc[r][j] = V::fma(b, wv[kw], acc[r][j]);
          }
        }
      }
    }
  }
  store_block(acc, out);
}

// Which parts of a chan_tile_rows tile read only zeros of its input (padding, the margins of dy's
// wide layout), so that chan_tile_rows_edges can leave their multiply-adds out: kernel row kh meets
// data on tile rows [row_lo[kh], row_hi[kh]) only, and the first `left` and last `right` of the
// RC + KW - 1 window columns hold none on any row. On 8x8 images with 3x3 taps and padding 1 that
// is 16 % of the products (24 of every 64 output pixels have a tap outside the image), 8 % on
// 16x16: PyTorch (oneDNN) skips them too. `all`: the tile reads no zeros worth leaving out.
// Leaving out products with exact zeros changes no sum (at most the sign of an exact zero).
// Computed once per tile position by chan_tile_edges (conv_schedule.h).
struct TileEdges {
  static constexpr int kMaxKernelRows = 16;  // taller kernels: no rows left out
  bool all = true;
  // every pixel the tile reads, less those it leaves out, is data: it can read the image itself
  bool inside = false;
  int left = 0, right = 0;
  std::int8_t row_lo[kMaxKernelRows] = {}, row_hi[kMaxKernelRows] = {};
};

// One kernel row of chan_tile_rows_edges on tile rows [R0, R1), window columns [left, RC + KW - 1
// - right) (left, right < KW).
template <typename T, int NR, int RC, int KW, int R0, int R1>
__attribute__((always_inline)) inline void chan_rows_edge_body(Vec<T> (&acc)[NR][RC],
                                                               const T* const* rows,
                                                               const Vec<T>* wv, int left,
                                                               int right) {
  using V = Vec<T>;
#pragma GCC unroll 24
  for (int u = 0; u < RC + KW - 1; ++u) {
    if (u < KW - 1 && u < left) continue;  // (u is a constant here: one branch for few u)
    if (u >= RC && u >= RC + KW - 1 - right) continue;
#pragma GCC unroll 4
    for (int r = R0; r < R1; ++r) {
      const V b = splat(address_offset(rows[r], u));
#pragma GCC unroll 8
      for (int kw = 0; kw < KW; ++kw) {
        const int j = u - kw;
        if (j >= 0 && j < RC) acc[r][j] = V::fma(b, wv[kw], acc[r][j]);
      }
    }
  }
}

// chan_tile_rows for a tile at the image's edge (TileEdges e): the same sums with the products of
// zeros left out. A kernel row takes one of four compiled shapes: all rows, or without the first
// and/or the last row (rows in between that read zeros, as with padding 2, are still computed).
template <typename T, int NR, int RC, int KW>
__attribute__((always_inline)) inline void chan_tile_rows_edges(
    const T* in, std::int64_t cs, std::int64_t nch, const std::int64_t* offs,
    std::int64_t kh_count, std::int64_t wq, const TileEdges& e, const T* w, T* out) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V acc[NR][RC];
  zero_block(acc);
  const int left = e.left, right = e.right;
  for (std::int64_t c = 0; c < nch; ++c) {
    const T* src = address_offset(in, c * cs);
    const T* wc = w + c * kh_count * KW * W;
    for (std::int64_t kh = 0; kh < kh_count; ++kh) {
      const int lo = e.row_lo[kh], hi = e.row_hi[kh];
      if (lo >= hi) continue;
      V wv[KW];
#pragma GCC unroll 8
      for (int kw = 0; kw < KW; ++kw) {
        wv[kw] = V::load(wc + (kh * KW + kw) * W);
        in_register(wv[kw]);
      }
      const T* rows[NR];
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        rows[r] = address_offset(src, offs[kh * KW] + r * wq);
        asm("" : "+r"(rows[r]));  // constant displacements for the broadcasts (see chan_tile)
      }
      if (lo == 0 && hi == NR) {
        chan_rows_edge_body<T, NR, RC, KW, 0, NR>(acc, rows, wv, left, right);
      } else if constexpr (NR > 1) {
        if (lo == 0) {
          chan_rows_edge_body<T, NR, RC, KW, 0, NR - 1>(acc, rows, wv, left, right);
        } else if (hi == NR) {
          chan_rows_edge_body<T, NR, RC, KW, 1, NR>(acc, rows, wv, left, right);
        } else {
          chan_rows_edge_body<T, NR, RC, KW, 1, NR - 1>(acc, rows, wv, left, right);
        }
      }
    }
  }
  store_block(acc, out);
}

// chan_tile_rows, or chan_tile_rows_edges where the tile reads zeros worth leaving out.
template <typename T, int NR, int RC, int KW>
__attribute__((always_inline)) inline void chan_tile_rows_at(const T* in, std::int64_t cs,
                                                             std::int64_t nch,
                                                             const std::int64_t* offs,
                                                             std::int64_t kh_count,
                                                             std::int64_t wq, const TileEdges& e,
                                                             const T* w, T* out) {
  if (e.all) {
    chan_tile_rows<T, NR, RC, KW>(in, cs, nch, offs, kh_count, wq, w, out);
  } else {
    chan_tile_rows_edges<T, NR, RC, KW>(in, cs, nch, offs, kh_count, wq, e, w, out);
  }
}

// One chan_tile of NR (1 or 2) rows x RC columns for a runtime row count and tap-row width:
// chan_tile_rows for rows of row_taps = 3 or 5 adjacent taps (offs[kh * row_taps] the first tap of
// kernel row kh, ntaps / row_taps kernel rows), else the general chan_tile. The forward and the
// channel-vectorised input gradient both tile this way. The four shapes stay spelled out (folding
// the row count into with_count<2> measured 7 % slower on LeNet conv2 and 3x3 64->64 on 8x8, Zen 5,
// 2026-12-04).
template <typename T, int RC>
__attribute__((always_inline)) inline void chan_tile_any(int row_taps, int nr, const T* in,
                                                         std::int64_t cs, std::int64_t nch,
                                                         const std::int64_t* offs,
                                                         std::int64_t ntaps, std::int64_t wq,
                                                         const TileEdges& e, const T* w, T* out) {
  if (row_taps == 5) {
    if (nr == 2) {
      chan_tile_rows_at<T, 2, RC, 5>(in, cs, nch, offs, ntaps / 5, wq, e, w, out);
    } else {
      chan_tile_rows_at<T, 1, RC, 5>(in, cs, nch, offs, ntaps / 5, wq, e, w, out);
    }
  } else if (row_taps == 3) {
    if (nr == 2) {
      chan_tile_rows_at<T, 2, RC, 3>(in, cs, nch, offs, ntaps / 3, wq, e, w, out);
    } else {
      chan_tile_rows_at<T, 1, RC, 3>(in, cs, nch, offs, ntaps / 3, wq, e, w, out);
    }
  } else if (nr == 2) {
    chan_tile<T, 2, RC>(in, cs, nch, offs, ntaps, wq, w, out);
  } else {
    chan_tile<T, 1, RC>(in, cs, nch, offs, ntaps, wq, w, out);
  }
}

// chan_tile_rows on three rows (the forward's tiles of at most kAccumulators / 3 columns, row_taps
// 3 or 5): an accumulator then meets its next multiply-add nine, not six, multiply-adds later,
// longer than an FMA's latency at two per cycle.
template <typename T, int RC>
__attribute__((always_inline)) inline void chan_tile_rows3(int row_taps, const T* in,
                                                           std::int64_t cs, std::int64_t nch,
                                                           const std::int64_t* offs,
                                                           std::int64_t ntaps, std::int64_t wq,
                                                           const TileEdges& e, const T* w,
                                                           T* out) {
  if (row_taps == 5) {
    chan_tile_rows_at<T, 3, RC, 5>(in, cs, nch, offs, ntaps / 5, wq, e, w, out);
  } else {
    chan_tile_rows_at<T, 3, RC, 3>(in, cs, nch, offs, ntaps / 3, wq, e, w, out);
  }
}

// Where one tap of a chan_tile_pair tile reads image pixels when the tile reads x itself (no
// padded copy): tile rows [r0, r1) and columns [j0, j1); its other pixels would be padding, whose
// products are left out. Computed per tile position by pair_tile_spans (conv_schedule.h).
struct TapSpan {
  std::int8_t r0 = 0, r1 = 0, j0 = 0, j1 = 0;
};

// chan_tile with two vectors of output channels (2W channels, w packed [c][t][2W]) per pixel: each
// broadcast input pixel meets two weight vectors, half the broadcasts per multiply-add of
// chan_tile, for the taps chan_tile_rows cannot share (stride 2, 1x1, dilation), where chan_tile's
// one broadcast per multiply-add made it load-bound. NR x RC pixels x 2 vectors of accumulators;
// out[((r*RC + j)*2 + v)*W + lane]: pixel-major, channel v*W + lane. Pixel (r, j) of tap t reads
// in[c*cs + offs[t] + r*wq + j*SC]: SC = 1 on the phase planes, the column stride on x itself
// (conv_forward_channels). spans (one TapSpan per tap, or null: every tap reads data on every
// pixel) mark the pixels each tap reads outside the image, which are left out; a tap is checked
// pixel by pixel only where its span is not the whole tile (at the image's edge), and a tile
// called with a null `spans` (inlined: a constant) compiles without the checks. The same sums in
// the same order as chan_tile, less the products with padding. Prefetch: each tap also prefetches
// its rows two cache lines ahead, for tiles whose rows over all channels do not stay in L1 from one
// tile to the next (pair_tile_prefetch, conv_schedule.h).
template <typename T, int NR, int RC, int SC, bool Prefetch>
__attribute__((always_inline)) inline void chan_tile_pair(const T* in, std::int64_t cs,
                                                          std::int64_t nch,
                                                          const std::int64_t* offs,
                                                          std::int64_t ntaps, std::int64_t wq,
                                                          const TapSpan* spans, const T* w,
                                                          T* out) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V acc[NR * RC][2];
  zero_block(acc);
  for (std::int64_t c = 0; c < nch; ++c) {
    const T* src = address_offset(in, c * cs);
    const T* wc = w + c * ntaps * 2 * W;
    for (std::int64_t t = 0; t < ntaps; ++t) {
      TapSpan s{0, NR, 0, RC};
      if (spans) {
        s = spans[t];
        if (s.r0 >= s.r1 || s.j0 >= s.j1) continue;  // padding only
      }
      const T* rows[NR];
#pragma GCC unroll 4
      for (int r = 0; r < NR; ++r) {
        rows[r] = address_offset(src, offs[t] + r * wq);
        asm("" : "+r"(rows[r]));  // constant displacements for the broadcasts (see chan_tile)
      }
      if constexpr (Prefetch) {
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) __builtin_prefetch(address_offset(rows[r], 32));
      }
      V w0 = V::load(wc + t * 2 * W), w1 = V::load(wc + t * 2 * W + W);
      in_register(w0);
      in_register(w1);
      // Check: test each pixel against the span (a branch per pixel, in edge tiles only)
      auto step = [&](auto check) __attribute__((always_inline)) {
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r)
#pragma GCC unroll 16
          for (int j = 0; j < RC; ++j) {
            if (decltype(check)::value && (r < s.r0 || r >= s.r1 || j < s.j0 || j >= s.j1))
              continue;
            const V b = splat(address_offset(rows[r], j * SC));
            acc[r * RC + j][0] = V::fma(b, w0, acc[r * RC + j][0]);
            acc[r * RC + j][1] = V::fma(b, w1, acc[r * RC + j][1]);
          }
      };
      if (s.r0 == 0 && s.r1 == NR && s.j0 == 0 && s.j1 == RC) {
        step(std::false_type{});
      } else {
        step(std::true_type{});
      }
    }
  }
  store_block(acc, out);
}

// corr_tile across images: one vector of positions in each of RB images (image stride `img`),
// and only the taps listed in sel (the others read only zeros; see conv_backward_input).
// out[(o*RB + r)*W + lane].
template <typename T, int OB, int RB>
__attribute__((always_inline)) inline void corr_tile_images(const T* in, std::int64_t img,
                                                            std::int64_t cs, std::int64_t nch,
                                                            const std::int64_t* offs,
                                                            const std::int64_t* sel,
                                                            std::int64_t nsel, std::int64_t ntaps,
                                                            const T* w, T* out) {
  using V = Vec<T>;
  V acc[OB][RB];
  zero_block(acc);
  for (std::int64_t c = 0; c < nch; ++c) {
    const T* src = in + c * cs;
    const T* wc = w + c * ntaps * kBlockChannels;
    for (std::int64_t k = 0; k < nsel; ++k) {
      const std::int64_t t = sel[k];
      const T* s = src + offs[t];
      V xv[RB];
#pragma GCC unroll 8
      for (int r = 0; r < RB; ++r) xv[r] = V::load(s + r * img);
      fma_step(acc, wc + t * kBlockChannels, xv);
    }
  }
  store_block(acc, out);
}

// The weight-gradient passes' sums, A x B vectors, copied between registers and their memory
// (block row a, vector b at mem[a * B + b]) at the start and end of a pass.
template <typename V, int A, int B>
__attribute__((always_inline)) inline void load_sums(V (&acc)[A][B], const V* mem) {
#pragma GCC unroll 8
  for (int a = 0; a < A; ++a)
#pragma GCC unroll 24
    for (int b = 0; b < B; ++b) acc[a][b] = mem[a * B + b];
}

template <typename V, int A, int B>
__attribute__((always_inline)) inline void store_sums(const V (&acc)[A][B], V* mem) {
#pragma GCC unroll 8
  for (int a = 0; a < A; ++a)
#pragma GCC unroll 24
    for (int b = 0; b < B; ++b) mem[a * B + b] = acc[a][b];
}

// One pass of the weight-gradient block over positions [q0, q1) of `samples` samples: WO output
// channels x WT columns of vector partial sums, column t reading the input at xp + offs[t] (its
// input channel and tap), loaded from and stored back to `acc` (so a position chunk can stay in
// L1 while several column blocks sweep over it). validx, in the exact mode, is indexed like xp. Not
// inlined: inlined into the driver, GCC spilled a dy vector and re-read it per FMA in some
// instances. Exact (the exact mode of conv_backward_weight): validq[q] is 1 at the output positions
// that exist (0 at the discarded wide-row columns) and validx marks the image pixels of the input's
// phase layout (0 at padding): a product is added only when both hold. Otherwise the zero dy at a
// discarded column times an Inf input pixel, or an Inf dy times the input's zero padding, gives
// NaN where the true sum has none.
template <typename T, int WO, int WT, bool Exact>
__attribute__((noinline)) void weight_pass(const T* dyp, std::int64_t ld, const T* xp,
                                           const std::int64_t* offs, std::int64_t q0,
                                           std::int64_t q1, Vec<T>* acc_mem, std::int64_t samples,
                                           std::int64_t dy_ns, std::int64_t x_ns,
                                           const T* validq, const T* validx) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V acc[WO][WT];
  load_sums(acc, acc_mem);
  for (std::int64_t n = 0; n < samples; ++n, dyp += dy_ns, xp += x_ns) {
    const T* xs[WT];
#pragma GCC unroll 8
    for (int t = 0; t < WT; ++t) xs[t] = xp + offs[t];
    for (std::int64_t q = q0; q < q1; q += W) {
      V d[WO];
#pragma GCC unroll 8
      for (int o = 0; o < WO; ++o) {
        d[o] = V::load(dyp + o * ld + q);
        in_register(d[o]);
      }
#pragma GCC unroll 8
      for (int t = 0; t < WT; ++t) {
        const V xv = V::load(xs[t] + q);
        if constexpr (Exact) {
          const auto keep = (V::load(validq + q).v != V::zero().v) &
                            (V::load(validx + offs[t] + q).v != V::zero().v);
#pragma GCC unroll 8
          for (int o = 0; o < WO; ++o)
            acc[o][t].v = keep ? d[o].v * xv.v + acc[o][t].v : acc[o][t].v;
        } else {
#pragma GCC unroll 8
          for (int o = 0; o < WO; ++o) acc[o][t] = V::fma(d[o], xv, acc[o][t]);
        }
      }
    }
  }
  store_sums(acc, acc_mem);
}

// The weight gradient for narrow images (conv_backward_weight_channels), with vectors of W output
// channels instead of positions: dy comes pixel-major with its output channels innermost, the
// block's OV vectors contiguous per pixel (an output tile of pack_output_gradient_channels, rows
// OV*W apart), so each output pixel contributes one dy vector per OV blocks of W channels, and each
// of K columns ((input channel, tap) pairs, column k reading the input at xp + offs[k]) one
// broadcast input value:
//   acc[v][k][lane] += dy[n][pixel][v*W + lane] * x[n][offs[k] + oh*plane_w + ow]
// over `samples` samples (strides dy_ns, x_ns), in each the output pixels [first, first + count)
// (pixel = oh*cols + ow; dyp and xp point at pixel 0), in order. Per pixel: OV vector loads and K
// broadcasts for OV*K fused multiply-adds, and no lane is spent on a discarded column; each lane
// is one dw element, so no reduction across lanes follows. The sums are loaded from and stored
// back to acc_mem, so several blocks can sweep one cache-sized chunk in turn. Not inlined, like
// weight_pass.
template <typename T, int OV, int K>
__attribute__((noinline)) void weight_chan_pass(const T* dyp, std::int64_t dy_ns, const T* xp,
                                                std::int64_t x_ns, const std::int64_t* offs,
                                                std::int64_t first, std::int64_t count,
                                                std::int64_t cols, std::int64_t plane_w,
                                                std::int64_t samples, Vec<T>* acc_mem) {
  using V = Vec<T>;
  constexpr int W = V::width, dy_ld = OV * W;  // the tile's dy rows (pack_output_gradient_channels)
  V acc[OV][K];
  load_sums(acc, acc_mem);
  // one loop over the pixels (an 8x8 image's rows are too short to set up per row); the input
  // pointer skips the plane's padding columns at the end of each row
  const std::int64_t skip = plane_w - cols, oh0 = first / cols, ow0 = first % cols;
  for (std::int64_t n = 0; n < samples; ++n, dyp += dy_ns, xp += x_ns) {
    const T* d = dyp + first * dy_ld;
    const T* xr = xp + oh0 * plane_w + ow0;
    std::int64_t ow = ow0;
    for (std::int64_t i = 0; i < count; ++i, d += dy_ld) {
      V dv[OV];
#pragma GCC unroll 4
      for (int v = 0; v < OV; ++v) {
        dv[v] = V::load(d + v * W);
        in_register(dv[v]);
      }
#pragma GCC unroll 24
      for (int k = 0; k < K; ++k) {
        V b = splat(xr + offs[k]);
        if constexpr (OV > 1) in_register(b);
#pragma GCC unroll 4
        for (int v = 0; v < OV; ++v) acc[v][k] = V::fma(dv[v], b, acc[v][k]);
      }
      ++xr;
      if (++ow == cols) {
        ow = 0;
        xr += skip;
      }
    }
  }
  store_sums(acc, acc_mem);
}

// weight_chan_pass for columns that come in whole kernel rows of KW taps at adjacent input columns
// (stride and dilation 1 along the width: 3x3 and 5x5 on narrow images), KR such rows, row r's
// first tap reading the input at xp + row_offs[r]: the input pixel at column u of a row serves
// output column u - kw through tap kw, so each input pixel is broadcast once per kernel row and
// meets the dy vectors of KW neighbouring output pixels held in registers (a ring of KW per
// channel vector), instead of once per tap: per output pixel OV dy loads and about KR * (RC + KW
// - 1) / RC broadcasts for OV*KR*KW multiply-adds (weight_chan_pass: KR*KW broadcasts). Output
// rows go in segments of RC = kWgradRowColumns columns, unrolled; the columns past the last whole
// segment take weight_chan_pass's step. Whole rows [row0, row0 + nrows) of each of `samples`
// samples.
//
// The products with the input's padding are left out: kernel row r reads image rows only for the
// output rows [row_span[2r], row_span[2r + 1]), and the input's image columns are the plane
// columns [col0, col1); a kernel row on an output row outside its span is skipped, and where a
// row is one segment with a padding column at each end (8 output columns), the segment's first and
// last broadcast, with all their multiply-adds (padding 2 leaves the second columns in, wider rows
// all of them: 4 % of the products on 16x16). On an 8x8 image with 3x3 taps and padding 1 that
// leaves out 16 % (10 broadcasts per row of 8 outputs, 2 of them padding, and 2 of 24 (output row,
// kernel row) pairs), on 16x16 4 %. Each sum acc[v][r*KW + kw] is otherwise added to over
// (sample, pixel) in order with the same multiply-adds as weight_chan_pass; a left-out product is
// an exact zero, so the sums are the same but for the sign of an exact zero (and for a non-finite
// dy, which no longer meets the padding).
template <typename T, int OV, int KR, int KW>
__attribute__((noinline)) void weight_chan_rows(const T* dyp, std::int64_t dy_ns, const T* xp,
                                                std::int64_t x_ns, const std::int64_t* row_offs,
                                                const std::int64_t* row_span, std::int64_t row0,
                                                std::int64_t nrows, std::int64_t cols,
                                                std::int64_t plane_w, std::int64_t col0,
                                                std::int64_t col1, std::int64_t samples,
                                                Vec<T>* acc_mem) {
  using V = Vec<T>;
  constexpr int W = V::width, RC = kWgradRowColumns, U = RC + KW - 1;  // U: columns a segment reads
  constexpr int dy_ld = OV * W;  // the tile's dy rows (pack_output_gradient_channels)
  static_assert(KR <= 31, "the padding rows are a bit mask");
  V acc[OV][KR * KW];
  load_sums(acc, acc_mem);
  const std::int64_t full = cols / RC * RC;
  // the output rows whose kernel rows all read image rows: [inner0, inner1)
  std::int64_t inner0 = row0, inner1 = row0 + nrows;
  for (int r = 0; r < KR; ++r) {
    inner0 = std::max(inner0, row_span[2 * r]);
    inner1 = std::min(inner1, row_span[2 * r + 1]);
  }
  inner0 = std::min(inner0, row0 + nrows);
  inner1 = std::max(inner0, inner1);
  // Output rows [oh0, oh1) of one sample. EdgeCols: a row is one segment whose first and last
  // input columns are padding, left out (an 8x8 image with padding 1). ByRow: leave out the kernel
  // rows outside their spans, one kernel row at a time, each reloading the ring of dy (OV more
  // loads per broadcast, still within the load ports). Both at compile time, in loops of their
  // own: tests inside the unrolled segment, or all variants in one loop, made GCC shuffle and
  // spill the sums (1.5x slower).
  auto row_range = [&](auto edge_cols, auto by_row, const T* dys, const T* xs, std::int64_t oh0,
                       std::int64_t oh1) __attribute__((always_inline)) {
    constexpr bool EdgeCols = decltype(edge_cols)::value, ByRow = decltype(by_row)::value;
    constexpr int LO = EdgeCols ? 1 : 0, HI = EdgeCols ? 1 : 0;
    for (std::int64_t oh = oh0; oh < oh1; ++oh) {
      unsigned pad_rows = 0;  // bit r: kernel row r reads a padding row at this output row
      if constexpr (ByRow) {
        for (int r = 0; r < KR; ++r)
          if (oh < row_span[2 * r] || oh >= row_span[2 * r + 1]) pad_rows |= 1u << r;
      }
      const T* d = dys + oh * cols * dy_ld;
      const T* rows[KR];
#pragma GCC unroll 8
      for (int r = 0; r < KR; ++r) {
        rows[r] = xs + oh * plane_w + row_offs[r];
        asm("" : "+r"(rows[r]));  // constant displacements for the broadcasts (see chan_tile)
      }
      std::int64_t ow0 = 0;
      for (; ow0 < full; ow0 += RC, d += RC * dy_ld) {
        // kernel rows [r0, r1) over the segment's input columns
        auto sweep = [&](int r0, int r1) __attribute__((always_inline)) {
          V dv[KW][OV];  // dy of output columns u - KW + 1 .. u, output column j in dv[j % KW]
#pragma GCC unroll 16
          for (int u = 0; u < U; ++u) {
            if (u < RC) {
#pragma GCC unroll 4
              for (int v = 0; v < OV; ++v) {
                dv[u % KW][v] = V::load(d + u * dy_ld + v * W);
                in_register(dv[u % KW][v]);
              }
            }
            if (u < LO || u >= U - HI) continue;
#pragma GCC unroll 8
            for (int r = r0; r < r1; ++r) {
              V b = splat(rows[r] + ow0 + u);
              in_register(b);
#pragma GCC unroll 8
              for (int kw = 0; kw < KW; ++kw) {
                const int j = u - kw;
                if (j >= 0 && j < RC)
#pragma GCC unroll 4
                  for (int v = 0; v < OV; ++v)
                    acc[v][r * KW + kw] = V::fma(dv[j % KW][v], b, acc[v][r * KW + kw]);
              }
            }
          }
        };
        if constexpr (ByRow) {
#pragma GCC unroll 8
          for (int r = 0; r < KR; ++r)
            if (!(pad_rows >> r & 1u)) sweep(r, r + 1);
        } else {
          sweep(0, KR);
        }
      }
      for (std::int64_t ow = full; ow < cols; ++ow, d += dy_ld) {
        V dv[OV];
#pragma GCC unroll 4
        for (int v = 0; v < OV; ++v) {
          dv[v] = V::load(d + v * W);
          in_register(dv[v]);
        }
        const std::int64_t kwlo = col0 - ow, kwhi = col1 - ow;  // taps on image columns
#pragma GCC unroll 8
        for (int r = 0; r < KR; ++r) {
          if (ByRow && (pad_rows >> r & 1u)) continue;
#pragma GCC unroll 8
          for (int kw = 0; kw < KW; ++kw) {
            if (kw < kwlo || kw >= kwhi) continue;
            const V b = splat(rows[r] + ow + kw);
#pragma GCC unroll 4
            for (int v = 0; v < OV; ++v)
              acc[v][r * KW + kw] = V::fma(dv[v], b, acc[v][r * KW + kw]);
          }
        }
      }
    }
  };
  // rows of one segment with a padding column at each end: leave those columns out
  auto samples_with = [&](auto edge_cols) __attribute__((always_inline)) {
    for (std::int64_t n = 0; n < samples; ++n, dyp += dy_ns, xp += x_ns) {
      row_range(edge_cols, std::true_type{}, dyp, xp, row0, inner0);
      row_range(edge_cols, std::false_type{}, dyp, xp, inner0, inner1);
      row_range(edge_cols, std::true_type{}, dyp, xp, inner1, row0 + nrows);
    }
  };
  if (cols == RC && col0 >= 1 && col1 <= U - 1) {
    samples_with(std::true_type{});
  } else {
    samples_with(std::false_type{});
  }
  store_sums(acc, acc_mem);
}
