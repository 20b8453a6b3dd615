// Direct convolution kernels, one template for float and double, compiled once per instruction
// set (conv_<isa>.cpp includes this inside namespace acnn::<isa>; see common/isa_unit.h).
//
// All three kernels run on the phase layout of ConvPlan (conv.h): the padded input of one channel
// is split into SH*SW stride-phase planes, so that every tap of every output pixel q (numbered
// q = oh*Wq + ow over "wide" rows of Wq) reads element q + off[tap] of one contiguous array. A
// convolution then becomes a sum of shifted, contiguous vectors, whatever the stride, dilation or
// kernel shape, and one register-blocked micro-kernel does the arithmetic:
//
//   corr_tile:  out[o][q0 .. q0+TILE) = sum_c sum_t w[c][t][o] * in[c][q0 + off[t] .. + TILE)
//
// with OB output channels x RB vectors of positions held in registers (OB*RB accumulators; each
// step loads RB input vectors and OB broadcast weights for OB*RB fused multiply-adds).
//
//   forward          in = padded input planes, c = input channels, t = all taps.
//   backward_input   the adjoint: gradient of each input phase plane p, gathered from the
//                    output gradient stored as zero-padded wide rows: in = dy rows, c = output
//                    channels, t = the taps that fall in plane p, offsets F - local_off[t]. The
//                    stride-phase split makes this a dense gather even for stride > 1.
//   backward_weight  dw[o][c][t] = sum_n sum_q dy[n][o][q] * in[n][c][q + off[t]]: a dot product
//                    per (o, c, t), blocked as WO output channels x WT taps of vector partial sums.
//                    Each weight-gradient element is reduced by exactly one work item in a fixed
//                    order, so the result is the same on any number of threads.
//
// Small planes (at most kSmallPlaneVectors vectors; LeNet) run backward_input across images
// instead (conv_backward_input_images): a tile is one vector of positions in several images, so
// the taps that would read only dy's zero margins are skipped vector by vector.
//
// Narrow outputs, where much of every wide row would be discarded (LeNet's 5x5 on 14x14 keeps 10 of
// 14 columns), run a second forward micro-kernel instead (chan_tile): a vector holds W output
// channels and each output pixel of a 2-row tile has its own accumulator (no discarded columns;
// the tile is transposed into NCHW when stored).
//
// Extra memory: one phase-layout copy of the input (forward), of the output gradient (backward
// input), or of both (backward weight), and one packed copy of the weights; no im2col matrix.
// They live in per-calling-thread scratch buffers reused between calls (conv.cpp).
//
// Speed notes (Zen 5, AVX-512, one thread, float32, 3x3 64->64 on 56x56, N=8): forward and
// backward-input ~85-88% of FMA peak, weight gradient ~75%. The micro-kernel's weights come as
// broadcast loads (splat); it prefetches the input rows the next output rows will read; blocks
// with few channels get more position vectors (rb_for); the last tile of an image or plane has
// only the vectors it needs; backward-input chunks start on a vector boundary so its loads have
// the forward's alignment pattern. Vectors shared by several FMAs are pinned in registers
// (in_register): GCC otherwise re-loads them per FMA. The layout copies matter for small layers
// (LeNet: ~15% of the forward): rows are copied with inline vector code, images without column
// padding as one block, stride-2/4 rows de-interleaved with shuffles.
//
// The weight gradient's inner loop runs at about 85% of peak; its copies of x and dy (memory-bound,
// 7-10% of the call at 56x56) and the discarded wide-row columns (3-4%) take the rest. Its loads
// are not the limit: making every input load aligned (wrong results, same work) or a broadcast
// changed the time by under 5%. What did help: one work item sweeping dy and x once for all its
// tap blocks (AlexNet's 11x11: -12%), one block for LeNet's 6 output channels instead of 4 + 2
// (-25%), and no margins in its dy copy (conv1d: -7 to -15%).

#if ACNN_VECTOR_BYTES == 64
constexpr int kOB = 8;    // output channels per register block (forward / backward_input)
constexpr int kAcc = 24;  // accumulator registers of a block: OB channels x RB position vectors
constexpr int kWO = 4;   // weight gradient: output channels per block
constexpr int kWT = 6;   // weight gradient: taps per block
constexpr int kWOMax = 6;  // weight gradient: up to this many output channels form one block
#else
constexpr int kOB = 4;
constexpr int kAcc = 12;
constexpr int kWO = 3;
constexpr int kWT = 4;
constexpr int kWOMax = 3;
#endif

template <int N>
struct IntC {
  static constexpr int value = N;
};

// Calls f(IntC<n>{}) for a runtime 1 <= n <= Max, so block sizes become compile-time constants.
template <int Max, typename Fn>
inline void with_count(int n, Fn&& f) {
  if constexpr (Max >= 1) {
    if (n == Max) {
      f(IntC<Max>{});
      return;
    }
    with_count<Max - 1>(n, f);
  }
}

// Position vectors per register block for OB output channels: as many as the accumulator budget
// allows, 3 to 8 (so few-channel blocks, e.g. 3 input channels in backward_input, still have
// enough independent sums). Always one of 3, 4, 6, 8, whose tiles all divide kTileUnit vectors.
template <int OB>
constexpr int rb_for() {
  constexpr int r = kAcc / OB;
  return r >= 8 ? 8 : r >= 6 ? 6 : r >= 4 ? 4 : 3;
}
constexpr int kTileUnit = 24;  // vectors; a multiple of every RB, so tiles never straddle chunks

// A vector of copies of *p. (Written as *p - 0, which is exactly *p, so the compiler emits one
// broadcast load; 0 + *p is not foldable because of signed zeros and costs an add and a shuffle.)
template <typename T>
inline Vec<T> splat(const T* p) {
  Vec<T> r;
  r.v = *p - typename Vec<T>::raw{};
  return r;
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

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// First and one-past-last index i >= 0 (and < limit) with 0 <= i*step + phase - pad < size.
inline void valid_range(std::int64_t step, std::int64_t phase, std::int64_t pad, std::int64_t size,
                        std::int64_t limit, std::int64_t* lo, std::int64_t* hi) {
  const std::int64_t a = pad - phase;
  *lo = a <= 0 ? 0 : ceil_div(a, step);
  const std::int64_t b = size - 1 + pad - phase;
  *hi = b < 0 ? 0 : std::min(limit, b / step + 1);
  if (*hi < *lo) *hi = *lo;
}

// With MASK (the exact mode of conv_forward / conv_backward_input), `valid` marks the layout
// positions that hold data (1) or structural zeros (0; indexed like in's channel layout from the
// tile's start), and
// products at structural zeros are left out instead of added: an Inf or NaN weight times such a
// zero would otherwise give NaN where the true gradient has none.
template <typename T, int OB, int RB, bool MASK = false>
__attribute__((always_inline)) inline void corr_tile(const T* in, std::int64_t cs, std::int64_t nch, const std::int64_t* offs,
                      std::int64_t ntaps, const std::int64_t* streams, std::int64_t nstreams,
                      const T* w, T* out, const T* valid = nullptr) {
  using V = Vec<T>;
  constexpr int W = V::width;
  constexpr int kAhead = 12 * W;  // prefetch distance, about three output rows of 3x3 at 56x56
  V acc[OB][RB];
  zero_block(acc);
  for (std::int64_t c = 0; c < nch; ++c) {
    const T* src = in + c * cs;
    const T* wc = w + c * ntaps * kOB;
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
      const T* wt = wc + t * kOB;
      if constexpr (MASK) {
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
#pragma GCC unroll 16
        for (int o = 0; o < OB; ++o) {
          const V b = splat(wt + o);
#pragma GCC unroll 8
          for (int r = 0; r < RB; ++r) acc[o][r] = V::fma(b, xv[r], acc[o][r]);
        }
      }
    }
  }
  store_block(acc, out);
}

// The distinct input rows ("streams") that taps at offsets offs[0 .. n) read: offsets closer than
// one vector to a kept one are merged (the column taps of one kernel row). corr_tile prefetches
// each stream once per channel instead of once per tap: at stride 2 a tile's taps read six rows
// in four phase planes, and per-tap prefetches covered only a third of their lines (stride-2
// forward -4 to -6 %, stride 1 -2 to -3 %). Empty (per-tap prefetches) when a tile's input over
// all `channels` fits in L1 anyway: LeNet's layers were 4-8 % slower with streams. The transposed
// convolution keeps per-tap prefetches (streams made AlexNet's and LeNet's slower).
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

// Weights (C_out, C_in / G, taps) regrouped as wp[grp][block][ic][tap][ob] for blocks of `ob`
// output channels, zero-padded past the group's last channel: what the forward kernels broadcast.
template <typename T>
inline void pack_weight_blocks(const ConvGeom& g, std::int64_t KK, int ob, const T* w, T* wp) {
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, nob = ceil_div(cog, ob);
  parallel_for(g.G * nob, double(g.C_out) * cig * KK, [&](std::int64_t gb) {
    const std::int64_t grp = gb / nob, b = gb % nob;
    T* dst = wp + gb * cig * KK * ob;
    for (std::int64_t ic = 0; ic < cig; ++ic)
      for (std::int64_t t = 0; t < KK; ++t)
        for (int o = 0; o < ob; ++o) {
          const std::int64_t oc = b * ob + o;
          dst[(ic * KK + t) * ob + o] = oc < cog ? w[((grp * cog + oc) * cig + ic) * KK + t] : T(0);
        }
  });
}

// d[k] = s[k * SW] for k < n (SW = 2 or 4), reading only s[0 .. avail): SW vectors are
// de-interleaved with EvenOddLanes (one round for SW = 2, two for SW = 4), the tail is scalar.
template <typename T, int SW>
inline void copy_row_strided(T* d, const T* s, std::int64_t n, std::int64_t avail) {
  using V = Vec<T>;
  using Lanes = EvenOddLanes<V::width>;
  constexpr int W = V::width;
  std::int64_t k = 0;
  for (; (k + W) * SW <= avail && k + W <= n; k += W) {
    const T* p = s + k * SW;
    V r;
    if constexpr (SW == 2) {
      r.v = Lanes::even(V::load(p).v, V::load(p + W).v);
    } else {
      r.v = Lanes::even(Lanes::even(V::load(p).v, V::load(p + W).v),
                        Lanes::even(V::load(p + 2 * W).v, V::load(p + 3 * W).v));
    }
    r.store(d + k);
  }
  for (; k < n; ++k) d[k] = s[k * SW];
}

// For the exact mode: 1 at the image pixels of one channel's phase layout (CS elements), 0 at its
// padding and slack.
template <typename T>
std::vector<T> phase_layout_validity(const ConvGeom& g, const ConvPlan& p) {
  std::vector<T> valid(static_cast<std::size_t>(p.CS), T(0));
  for (std::int64_t ph = 0; ph < g.SH; ++ph)
    for (std::int64_t pw = 0; pw < g.SW; ++pw) {
      std::int64_t ilo, ihi, jlo, jhi;
      valid_range(g.SH, ph, g.PH0, g.H, p.Hq, &ilo, &ihi);
      valid_range(g.SW, pw, g.PW0, g.W, p.Wq, &jlo, &jhi);
      for (std::int64_t i = ilo; i < ihi; ++i)
        for (std::int64_t j = jlo; j < jhi; ++j)
          valid[(ph * g.SW + pw) * p.PL + i * p.Wq + j] = T(1);
    }
  return valid;
}

// x (N, C, H, W) -> phase layout (N, C, CS): padded, stride-phase planes, zero slack.
template <typename T>
void conv_pack_input(const ConvGeom& g, const ConvPlan& p, const T* x, T* xq) {
  std::vector<std::int64_t> jrange(2 * g.SW);  // per column phase: first, end of image columns
  for (std::int64_t pw = 0; pw < g.SW; ++pw)
    valid_range(g.SW, pw, g.PW0, g.W, p.Wq, &jrange[2 * pw], &jrange[2 * pw + 1]);
  parallel_for(g.N * g.C_in, double(g.N) * g.C_in * p.CS, [&](std::int64_t nc) {
    const T* src = x + nc * g.H * g.W;
    T* dst = xq + nc * p.CS;
    if (g.SH == 1 && g.SW == 1 && g.PW0 == 0 && g.PW1 == 0) {
      // no column padding: the image is one block of the plane, between rows of padding
      const std::int64_t below = p.Hq - g.PH0 - g.H;  // >= 0: Hq = H + PH0 + PH1
      zero_row(dst, g.PH0 * p.Wq);
      copy_row(dst + g.PH0 * p.Wq, src, g.H * g.W);
      zero_row(dst + (g.PH0 + g.H) * p.Wq, below * p.Wq + (p.CS - p.PL));
      return;
    }
    // padded rows in order, all column phases of a row in turn (it stays in L1 for stride > 1)
    for (std::int64_t i = 0; i < p.Hq; ++i) {
      for (std::int64_t ph = 0; ph < g.SH; ++ph) {
        const std::int64_t h = i * g.SH + ph - g.PH0;
        for (std::int64_t pw = 0; pw < g.SW; ++pw) {
          T* row = dst + (ph * g.SW + pw) * p.PL + i * p.Wq;
          const std::int64_t jlo = jrange[2 * pw], jhi = jrange[2 * pw + 1];
          if (h < 0 || h >= g.H || jlo >= jhi) {
            zero_row(row, p.Wq);
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
          zero_row(row + jhi, p.Wq - jhi);
        }
      }
    }
    std::fill(dst + p.planes * p.PL, dst + p.CS, T(0));
  });
}

// dy (N, C_out, OH, OW) -> wide rows (N, C_out, LD): F zeros, OH rows of Wq (zeros past OW), zeros.
// With `margins` false only the rows and the zeros up to the next whole vector after them are
// written (all the weight gradient reads); the transposed convolution also reads the margins.
template <typename T>
void conv_pack_wide(const ConvGeom& g, const ConvPlan& p, const T* dy, T* dyw, bool margins) {
  using V = Vec<T>;
  constexpr int W = V::width;
  const std::int64_t gap = p.Wq - g.OW;  // zeros after each row
  parallel_for(g.N * g.C_out, double(g.N) * g.C_out * p.LD, [&](std::int64_t nc) {
    const T* src = dy + nc * g.OH * g.OW;
    T* dst = dyw + nc * p.LD;
    if (margins) zero_row(dst, p.F);
    for (std::int64_t oh = 0; oh < g.OH; ++oh) {
      T* row = dst + p.F + oh * p.Wq;
      if (gap <= W && p.Wq >= W) {
        // the row's last vector zeroed first (one store, aligned when Wq is a multiple of W),
        // then the data copied over the front of it
        V::zero().store(row + p.Wq - W);
        copy_row(row, src + oh * g.OW, g.OW);
      } else {
        copy_row(row, src + oh * g.OW, g.OW);
        zero_row(row + g.OW, gap);
      }
    }
    const std::int64_t tail = margins ? p.LD : std::min(p.LD, p.F + ceil_div(p.Q, W) * W + W);
    std::fill(dst + p.F + p.Q, dst + tail, T(0));
  });
}

// Copies the valid part of a wide tile (OB rows of `tile` values for positions q0..) into the
// dense output (OH, OW) of each channel, adding the bias when given.
template <typename T>
inline void store_wide_tile(const T* tbuf, int tile, int ob, std::int64_t q0, std::int64_t qend,
                            std::int64_t Wq, std::int64_t OW, T* out, std::int64_t out_cs,
                            const T* bias) {
  std::int64_t q = q0;
  const std::int64_t end = std::min(q0 + tile, qend);
  while (q < end) {
    const std::int64_t oh = q / Wq, ow = q - oh * Wq;
    if (ow >= OW) {
      q = (oh + 1) * Wq;
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
    const T* src = in + c * cs;
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
        rows[r] = src + offs[kh * KW] + r * wq;
        asm("" : "+r"(rows[r]));  // constant displacements for the broadcasts (see chan_tile)
      }
#pragma GCC unroll 24
      for (int u = 0; u < RC + KW - 1; ++u) {
#pragma GCC unroll 4
        for (int r = 0; r < NR; ++r) {
          const V b = splat(rows[r] + u);
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

constexpr int kChanRC = kAcc / 2;  // channel-vectorised forward: at most 2 rows x kChanRC pixels

// Whether the forward discards enough of its wide rows (over 1/8) and has enough output channels
// (at least half a vector per group) for the channel-vectorised kernel.
template <typename T>
inline bool use_channel_forward(const ConvGeom& g, const ConvPlan& p) {
  return 8 * (p.Wq - g.OW) > p.Wq && 2 * (g.C_out / g.G) >= Vec<T>::width;
}

template <typename T>
void conv_forward_channels(const ConvGeom& g, const ConvPlan& p, const T* w, const T* bias, T* y,
                           const T* xq, T* wp) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, KK = p.KK;
  const std::int64_t nob = ceil_div(cog, W);
  // wp[grp][block][ic][tap][W]: one weight vector per (input channel, tap)
  pack_weight_blocks(g, KK, W, w, wp);
  const int rc = static_cast<int>(std::min<std::int64_t>(g.OW, kChanRC));
  const std::int64_t nseg = ceil_div(g.OW, rc), nrp = ceil_div(g.OH, 2);
  // rows of 3 or 5 adjacent taps take chan_tile_rows when its KW weight vectors fit in registers
  // beside the 2 x kChanRC accumulators and a broadcast (32 vector registers with AVX-512, 16
  // otherwise: there only KW = 3); 0: the general chan_tile
  constexpr int kVectorRegs = ACNN_VECTOR_BYTES == 64 ? 32 : 16;
  const bool rows_fit = 2 * kChanRC + g.KW + 1 <= kVectorRegs;
  const int row_taps = g.SW == 1 && g.DW == 1 && (g.KW == 3 || g.KW == 5) && rows_fit
                           ? static_cast<int>(g.KW)
                           : 0;
  const std::int64_t out_cs = g.OH * g.OW;
  const double fmas = double(g.N) * g.C_out * out_cs * cig * KK;
  parallel_for(g.N * g.G * nob * nrp, fmas, [&](std::int64_t it) {
    const std::int64_t rp = it % nrp;
    std::int64_t r = it / nrp;
    const std::int64_t b = r % nob;
    r /= nob;
    const std::int64_t grp = r % g.G, n = r / g.G;
    const std::int64_t oh0 = 2 * rp, oc0 = grp * cog + b * W;
    const int nr = static_cast<int>(std::min<std::int64_t>(2, g.OH - oh0));
    const int ob = static_cast<int>(std::min<std::int64_t>(W, cog - b * W));
    const T* in = xq + (n * g.C_in + grp * cig) * p.CS + oh0 * p.Wq;
    const T* wb = wp + (grp * nob + b) * cig * KK * W;
    T* out = y + (n * g.C_out + oc0) * out_cs + oh0 * g.OW;
    alignas(64) T tbuf[2 * kChanRC * W];
    with_count<kChanRC>(rc, [&](auto RCc) {
      constexpr int RC = decltype(RCc)::value;
      for (std::int64_t sg = 0; sg < nseg; ++sg) {
        const std::int64_t ow0 = sg * RC;
        if (row_taps == 5) {
          if (nr == 2) {
            chan_tile_rows<T, 2, RC, 5>(in + ow0, p.CS, cig, p.off.data(), g.KH, p.Wq, wb, tbuf);
          } else {
            chan_tile_rows<T, 1, RC, 5>(in + ow0, p.CS, cig, p.off.data(), g.KH, p.Wq, wb, tbuf);
          }
        } else if (row_taps == 3) {
          if (nr == 2) {
            chan_tile_rows<T, 2, RC, 3>(in + ow0, p.CS, cig, p.off.data(), g.KH, p.Wq, wb, tbuf);
          } else {
            chan_tile_rows<T, 1, RC, 3>(in + ow0, p.CS, cig, p.off.data(), g.KH, p.Wq, wb, tbuf);
          }
        } else if (nr == 2) {
          chan_tile<T, 2, RC>(in + ow0, p.CS, cig, p.off.data(), KK, p.Wq, wb, tbuf);
        } else {
          chan_tile<T, 1, RC>(in + ow0, p.CS, cig, p.off.data(), KK, p.Wq, wb, tbuf);
        }
        const int nc = static_cast<int>(std::min<std::int64_t>(RC, g.OW - ow0));
        for (int o = 0; o < ob; ++o) {
          const T bo = bias ? bias[oc0 + o] : T(0);
          for (int rr = 0; rr < nr; ++rr) {
            T* d = out + o * out_cs + rr * g.OW + ow0;
            for (int j = 0; j < nc; ++j) d[j] = tbuf[(rr * RC + j) * W + o] + bo;
          }
        }
      }
    });
  });
}

template <typename T>
void conv_forward(const ConvGeom& g, const ConvPlan& p, const T* x, const T* w, const T* bias,
                  T* y, T* xq, T* wp, bool exact) {
  constexpr int W = Vec<T>::width;
  static_assert(8 * W <= kConvSlack, "tile longer than the layout slack");
  conv_pack_input(g, p, x, xq);
  // exact mode (non-finite weights): corr_tile leaves out the products with the padding and slack
  // (the channel kernel has no such mode)
  const std::vector<T> valid = exact ? phase_layout_validity<T>(g, p) : std::vector<T>();
  if (!exact && use_channel_forward<T>(g, p)) {
    conv_forward_channels(g, p, w, bias, y, xq, wp);
    return;
  }
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, KK = p.KK;
  const std::int64_t nob = ceil_div(cog, kOB);
  // wp[grp][block][ic][tap][kOB]: the weights one register block broadcasts, in loop order
  pack_weight_blocks(g, KK, kOB, w, wp);
  const std::int64_t chunk = 2 * kTileUnit * W;  // positions per work item
  const std::int64_t nqc = ceil_div(p.Q, chunk);
  const std::int64_t out_cs = g.OH * g.OW;
  const std::vector<std::int64_t> streams = prefetch_streams(p.off.data(), KK, W, cig, sizeof(T));
  const std::int64_t nstreams = static_cast<std::int64_t>(streams.size());
  const double fmas = double(g.N) * g.C_out * p.Q * cig * KK;
  parallel_for(g.N * g.G * nqc * nob, fmas, [&](std::int64_t it) {
    const std::int64_t b = it % nob;
    std::int64_t r = it / nob;
    const std::int64_t qc = r % nqc;
    r /= nqc;
    const std::int64_t grp = r % g.G, n = r / g.G;
    const std::int64_t oc0 = grp * cog + b * kOB;
    const int ob = static_cast<int>(std::min<std::int64_t>(kOB, cog - b * kOB));
    const T* in = xq + (n * g.C_in + grp * cig) * p.CS;
    const T* wb = wp + (grp * nob + b) * cig * KK * kOB;
    T* out = y + (n * g.C_out + oc0) * out_cs;
    const T* bb = bias ? bias + oc0 : nullptr;
    alignas(64) T tbuf[kAcc * W];
    const std::int64_t q_end = std::min(p.Q, (qc + 1) * chunk);
    with_count<kOB>(ob, [&](auto OBc) {
      constexpr int OB = decltype(OBc)::value, RB = rb_for<OB>(), TILE = RB * W;
      std::int64_t q0 = qc * chunk;
      for (; q0 + TILE - W < q_end; q0 += TILE) {  // tiles that need all RB vectors
        if (exact) {
          corr_tile<T, OB, RB, true>(in + q0, p.CS, cig, p.off.data(), KK, streams.data(),
                                     nstreams, wb, tbuf, valid.data() + q0);
        } else {
          corr_tile<T, OB, RB>(in + q0, p.CS, cig, p.off.data(), KK, streams.data(), nstreams, wb,
                               tbuf);
        }
        store_wide_tile(tbuf, TILE, ob, q0, p.Q, p.Wq, g.OW, out, out_cs, bb);
      }
      if (q0 < q_end) {  // the last tile of an image: only the vectors it needs
        with_count<RB - 1>(static_cast<int>(ceil_div(q_end - q0, W)), [&](auto Rc) {
          constexpr int R = decltype(Rc)::value;
          if (exact) {
            corr_tile<T, OB, R, true>(in + q0, p.CS, cig, p.off.data(), KK, streams.data(),
                                      nstreams, wb, tbuf, valid.data() + q0);
          } else {
            corr_tile<T, OB, R>(in + q0, p.CS, cig, p.off.data(), KK, streams.data(), nstreams,
                                wb, tbuf);
          }
          store_wide_tile(tbuf, R * W, ob, q0, p.Q, p.Wq, g.OW, out, out_cs, bb);
        });
      }
    });
  });
}

// Writes the image pixels among `tile` plane positions from p0 (limited to [plo, phi)) of one
// (phase plane, input-channel block): position (i, j) of plane (ph, pw) is pixel
// (i*SH + ph - PH0, j*SW + pw - PW0); columns outside [jlo, jhi) are padding. Channel o's values
// start at src + o * src_os.
template <typename T>
inline void scatter_plane_tile(const ConvGeom& g, std::int64_t Wq, std::int64_t ph, std::int64_t pw,
                               std::int64_t jlo, std::int64_t jhi, const T* src,
                               std::int64_t src_os, int ob, std::int64_t p0, std::int64_t tile, std::int64_t plo,
                               std::int64_t phi, T* out, std::int64_t out_cs) {
  std::int64_t q = std::max(p0, plo);
  const std::int64_t end = std::min(p0 + tile, phi);
  while (q < end) {
    const std::int64_t i = q / Wq, j = q - i * Wq;
    if (j < jlo) {
      q += jlo - j;
      continue;
    }
    if (j >= jhi) {
      q = (i + 1) * Wq;
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
    const T* wc = w + c * ntaps * kOB;
    for (std::int64_t k = 0; k < nsel; ++k) {
      const std::int64_t t = sel[k];
      const T* s = src + offs[t];
      V xv[RB];
#pragma GCC unroll 8
      for (int r = 0; r < RB; ++r) xv[r] = V::load(s + r * img);
      const T* wt = wc + t * kOB;
#pragma GCC unroll 16
      for (int o = 0; o < OB; ++o) {
        const V b = splat(wt + o);
#pragma GCC unroll 8
        for (int r = 0; r < RB; ++r) acc[o][r] = V::fma(b, xv[r], acc[o][r]);
      }
    }
  }
  store_block(acc, out);
}

// Planes of at most this many vectors of positions take the per-vector, across-images path.
constexpr std::int64_t kSmallPlaneVectors = 32;
constexpr std::int64_t kImagesPerItem = 8;  // images per work item on that path

// Backward-input for small planes (LeNet's 14x14 gradient of a 5x5 kernel over 10x10): the
// transposed convolution of a small image reads mostly the zero margins of dy's wide rows (half
// of LeNet conv2's multiply-adds). Here a tile is one vector of plane positions in up to RB
// images, so its taps can be chosen per vector: a tap is skipped when the dy window it reads,
// [p0 + roff, p0 + roff + W), lies outside dy's rows [F, F + Q), where conv_pack_wide wrote only
// zeros. (Only adds of exact zeros are skipped. Vectors that partly overlap dy's data, and the
// discarded columns, still multiply zeros: the exact mode for non-finite weights takes the
// general path instead.)
template <typename T, typename BlockBase>
void conv_backward_input_images(const ConvGeom& g, const ConvPlan& p, const T* dyw, T* dx,
                                BlockBase&& block_base) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G;
  const std::int64_t nib = ceil_div(cig, kOB), nnb = ceil_div(g.N, kImagesPerItem);
  const std::int64_t in_cs = g.H * g.W, img = g.C_out * p.LD;
  const double fmas = double(g.N) * g.C_in * p.PL * cog * p.KK;
  parallel_for(nnb * g.G * p.planes * nib, fmas, [&](std::int64_t it) {
    const std::int64_t b = it % nib;
    std::int64_t r = it / nib;
    const std::int64_t pl = r % p.planes;
    r /= p.planes;
    const std::int64_t grp = r % g.G, nb = r / g.G;
    const std::int64_t n0 = nb * kImagesPerItem, n1 = std::min(g.N, n0 + kImagesPerItem);
    const std::int64_t ph = pl / g.SW, pw = pl % g.SW;
    std::int64_t ilo, ihi, jlo, jhi;
    valid_range(g.SH, ph, g.PH0, g.H, p.Hq, &ilo, &ihi);
    valid_range(g.SW, pw, g.PW0, g.W, p.Wq, &jlo, &jhi);
    const std::int64_t plo = ilo * p.Wq, phi = ihi * p.Wq;
    if (plo >= phi || jlo >= jhi) return;
    const std::int64_t t0 = p.plane_begin[pl], ntp = p.plane_begin[pl + 1] - t0;
    const std::int64_t* roff = p.plane_roff.data() + t0;
    const int ob = static_cast<int>(std::min<std::int64_t>(kOB, cig - b * kOB));
    const T* wb = block_base(grp, pl, b);
    alignas(64) T tbuf[kAcc * W];
    std::int64_t sel[64];
    std::vector<std::int64_t> sel_big;
    std::int64_t* selp = ntp <= 64 ? sel : (sel_big.resize(ntp), sel_big.data());
    with_count<kOB>(ob, [&](auto OBc) {
      constexpr int OB = decltype(OBc)::value, RB = rb_for<OB>();
      for (std::int64_t p0 = plo / W * W; p0 < phi; p0 += W) {
        std::int64_t nsel = 0;
        for (std::int64_t k = 0; k < ntp; ++k)
          if (p0 + roff[k] + W > p.F && p0 + roff[k] < p.F + p.Q) selp[nsel++] = k;
        for (std::int64_t n = n0; n < n1; n += RB) {
          with_count<RB>(static_cast<int>(std::min<std::int64_t>(RB, n1 - n)), [&](auto Rc) {
            constexpr int R = decltype(Rc)::value;
            if (nsel > 0) {
              corr_tile_images<T, OB, R>(dyw + (n * g.C_out + grp * cog) * p.LD + p0, img, p.LD,
                                         cog, roff, selp, nsel, ntp, wb, tbuf);
            } else {
              std::fill(tbuf, tbuf + OB * R * W, T(0));
            }
            for (int rr = 0; rr < R; ++rr)
              scatter_plane_tile(g, p.Wq, ph, pw, jlo, jhi, tbuf + rr * W, std::int64_t(R) * W, ob,
                                 p0, W, plo, phi,
                                 dx + ((n + rr) * g.C_in + grp * cig + b * kOB) * in_cs, in_cs);
          });
        }
      }
    });
  });
}

template <typename T>
void conv_backward_input(const ConvGeom& g, const ConvPlan& p, const T* dy, const T* w, T* dx,
                         T* dyw, T* wp, bool exact) {
  constexpr int W = Vec<T>::width;
  conv_pack_wide(g, p, dy, dyw, true);
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, KK = p.KK;
  const std::int64_t nib = ceil_div(cig, kOB);
  // wp[grp][plane][block][oc][tap of plane][kOB]
  auto block_base = [&](std::int64_t grp, std::int64_t pl, std::int64_t b) {
    const std::int64_t ntp = p.plane_begin[pl + 1] - p.plane_begin[pl];
    return wp + grp * nib * cog * KK * kOB + p.plane_begin[pl] * nib * cog * kOB + b * cog * ntp * kOB;
  };
  parallel_for(g.G * p.planes * nib, double(g.C_in) * cog * KK, [&](std::int64_t it) {
    const std::int64_t b = it % nib, pl = (it / nib) % p.planes, grp = it / (nib * p.planes);
    const std::int64_t t0 = p.plane_begin[pl], ntp = p.plane_begin[pl + 1] - t0;
    T* dst = block_base(grp, pl, b);
    for (std::int64_t oc = 0; oc < cog; ++oc)
      for (std::int64_t ti = 0; ti < ntp; ++ti)
        for (int o = 0; o < kOB; ++o) {
          const std::int64_t ic = b * kOB + o;
          dst[(oc * ntp + ti) * kOB + o] =
              ic < cig ? w[((grp * cog + oc) * cig + ic) * KK + p.plane_taps[t0 + ti]] : T(0);
        }
  });
  // rows of each plane that hold image pixels; the rest is padding and is not computed
  std::int64_t max_rows = 0;
  for (std::int64_t ph = 0; ph < g.SH; ++ph) {
    std::int64_t lo, hi;
    valid_range(g.SH, ph, g.PH0, g.H, p.Hq, &lo, &hi);
    max_rows = std::max(max_rows, hi - lo);
  }
  const std::int64_t in_cs = g.H * g.W;
  // exact mode (non-finite weights): 1 where dy's wide layout holds data, 0 at its zeros
  std::vector<T> valid;
  if (exact) {
    valid.assign(static_cast<std::size_t>(p.LD), T(0));
    for (std::int64_t q = 0; q < p.Q; ++q)
      if (q % p.Wq < g.OW) valid[p.F + q] = T(1);
  }
  if (!exact && max_rows * p.Wq <= kSmallPlaneVectors * W && g.N > 1) {
    conv_backward_input_images(g, p, dyw, dx, [&](std::int64_t grp, std::int64_t pl, std::int64_t b) {
      return block_base(grp, pl, b);
    });
    return;
  }
  const std::int64_t chunk = 2 * kTileUnit * W;  // positions per work item
  const std::int64_t nchunks = std::max<std::int64_t>(1, ceil_div(max_rows * p.Wq + W, chunk));
  const double fmas = double(g.N) * g.C_in * p.PL * p.planes * cog * KK / p.planes;
  parallel_for(g.N * g.G * p.planes * nchunks * nib, fmas, [&](std::int64_t it) {
    // consecutive items: the planes of one chunk, which all read the same rows of dy
    const std::int64_t b = it % nib;
    std::int64_t r = it / nib;
    const std::int64_t pl = r % p.planes;
    r /= p.planes;
    const std::int64_t ck = r % nchunks;
    r /= nchunks;
    const std::int64_t grp = r % g.G, n = r / g.G;
    const std::int64_t ph = pl / g.SW, pw = pl % g.SW;
    std::int64_t ilo, ihi, jlo, jhi;
    valid_range(g.SH, ph, g.PH0, g.H, p.Hq, &ilo, &ihi);
    valid_range(g.SW, pw, g.PW0, g.W, p.Wq, &jlo, &jhi);
    // chunks start on a vector boundary of the plane (as the forward's tiles do), so the loads
    // of consecutive taps keep the same alignment pattern -- unless that costs an extra tile
    const std::int64_t first = ilo * p.Wq, aligned = first / W * W, small = 3 * W;
    const std::int64_t base =
        ceil_div(ihi * p.Wq - aligned, small) == ceil_div(ihi * p.Wq - first, small) ? aligned : first;
    const std::int64_t pbeg = base + ck * chunk;
    const std::int64_t pend = std::min(ihi * p.Wq, pbeg + chunk);
    if (pbeg >= pend || jlo >= jhi) return;
    const std::int64_t t0 = p.plane_begin[pl], ntp = p.plane_begin[pl + 1] - t0;
    const int ob = static_cast<int>(std::min<std::int64_t>(kOB, cig - b * kOB));
    const T* in = dyw + (n * g.C_out + grp * cog) * p.LD;
    const T* wb = block_base(grp, pl, b);
    T* out = dx + (n * g.C_in + grp * cig + b * kOB) * in_cs;
    alignas(64) T tbuf[kAcc * W];
    with_count<kOB>(ob, [&](auto OBc) {
      constexpr int OB = decltype(OBc)::value, RB = rb_for<OB>(), TILE = RB * W;
      auto scatter = [&](std::int64_t p0, std::int64_t tile) {
        scatter_plane_tile(g, p.Wq, ph, pw, jlo, jhi, tbuf, tile, ob, p0, tile, ilo * p.Wq, pend,
                           out, in_cs);
      };
      const std::int64_t* roff = p.plane_roff.data() + t0;
      std::int64_t p0 = pbeg;
      for (; p0 + TILE - W < pend; p0 += TILE) {  // tiles that need all RB vectors
        if (exact) {
          corr_tile<T, OB, RB, true>(in + p0, p.LD, cog, roff, ntp, nullptr, 0, wb, tbuf,
                                     valid.data() + p0);
        } else {
          corr_tile<T, OB, RB>(in + p0, p.LD, cog, roff, ntp, nullptr, 0, wb, tbuf);
        }
        scatter(p0, TILE);
      }
      if (p0 < pend) {  // the last tile: only the vectors it needs
        with_count<RB - 1>(static_cast<int>(ceil_div(pend - p0, W)), [&](auto Rc) {
          constexpr int R = decltype(Rc)::value;
          if (exact) {
            corr_tile<T, OB, R, true>(in + p0, p.LD, cog, roff, ntp, nullptr, 0, wb, tbuf,
                                      valid.data() + p0);
          } else {
            corr_tile<T, OB, R>(in + p0, p.LD, cog, roff, ntp, nullptr, 0, wb, tbuf);
          }
          scatter(p0, R * W);
        });
      }
    });
  });
}

// One pass of the weight-gradient block over positions [q0, q1) of one sample: WO output channels
// x WT taps of vector partial sums, loaded from and stored back to `acc` (so a position chunk can
// stay in L1 while several input channels and tap blocks sweep over it). Not inlined: inlined into
// the driver, GCC spilled a dy vector and re-read it per FMA in some instances (-10 to -15 %).
// With MASK (the exact mode of conv_backward_weight), validq[q] is 1 at the output positions that
// exist (0 at the discarded wide-row columns) and validx marks the image pixels of the input's
// phase layout (0 at padding): a product is added only when both hold. Otherwise the zero dy at a
// discarded column times an Inf input pixel, or an Inf dy times the input's zero padding, gives
// NaN where the true sum has none.
template <typename T, int WO, int WT, bool MASK>
__attribute__((noinline)) void weight_pass(const T* dyp, std::int64_t ld, const T* xp,
                                           const std::int64_t* offs, std::int64_t q0,
                                           std::int64_t q1, Vec<T>* acc_mem, std::int64_t samples,
                                           std::int64_t dy_ns, std::int64_t x_ns,
                                           const T* validq, const T* validx) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V acc[WO][WT];
#pragma GCC unroll 8
  for (int o = 0; o < WO; ++o)
#pragma GCC unroll 8
    for (int t = 0; t < WT; ++t) acc[o][t] = acc_mem[o * WT + t];
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
        if constexpr (MASK) {
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
#pragma GCC unroll 8
  for (int o = 0; o < WO; ++o)
#pragma GCC unroll 8
    for (int t = 0; t < WT; ++t) acc_mem[o * WT + t] = acc[o][t];
}

constexpr int kWIC = 16;           // weight gradient: input channels per work item
constexpr int kWOG = 4;            // weight gradient: at most this many output blocks per work item
constexpr std::int64_t kWQ = 1024;  // weight gradient: positions per L1-resident chunk

template <typename T>
void conv_backward_weight(const ConvGeom& g, const ConvPlan& p, const T* x, const T* dy, T* dw,
                          T* xq, T* dyw, bool exact) {
  using V = Vec<T>;
  constexpr int W = V::width;
  conv_pack_input(g, p, x, xq);
  conv_pack_wide(g, p, dy, dyw, false);
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, KK = p.KK;
  // Block shape: kWO output channels x kWT taps; a layer with at most kWOMax output channels
  // (LeNet's 6) has them all in one block, with as many taps as the accumulators allow, instead
  // of a full block and a narrow one (4 + 2 channels: the narrow one costs nearly as much).
  constexpr int kWAcc = kWO * kWT;  // vector accumulators of a block
  const int bo = static_cast<int>(cog <= kWOMax ? cog : kWO);
  const int bt = std::min(kWT, kWAcc / bo);  // so every block has bo * bt <= kWAcc (see with_block)
  const std::int64_t nob = ceil_div(cog, bo), ntb = ceil_div(KK, bt), nicb = ceil_div(cig, kWIC);
  const std::int64_t qn = ceil_div(p.Q, W) * W;  // dy rows are zero past Q
  const std::int64_t qstep = ceil_div(ceil_div(qn, ceil_div(qn, kWQ)), W) * W;  // balanced chunks
  const std::int64_t chunk_samples = std::max<std::int64_t>(1, kWQ / qn);  // samples, if small
  // Taps in phase-plane order (ConvPlan::plane_taps), so a tap block reads few planes: at stride 2
  // the kernel-row order spread each block of 3x3's taps over 3-4 of the 4 planes.
  std::vector<std::int64_t> plane_off(static_cast<std::size_t>(KK));
  for (std::int64_t i = 0; i < KK; ++i) plane_off[i] = p.off[p.plane_taps[i]];
  std::vector<T> valid_store;  // exact mode: 1 at the output positions, 0 at discarded columns
  if (exact) {
    valid_store.resize(static_cast<std::size_t>(qn));
    for (std::int64_t q = 0; q < qn; ++q) valid_store[q] = q < p.Q && q % p.Wq < g.OW ? T(1) : T(0);
  }
  const T* validq = valid_store.data();
  const std::vector<T> validx_store = exact ? phase_layout_validity<T>(g, p) : std::vector<T>();
  const T* validx = validx_store.data();
  // A work item sweeps the output gradient of its output channels and the input of its input
  // channels once, for all its (output block, tap block) pairs: the fewer items, the fewer sweeps.
  // So output blocks are grouped (gsz per item) and tap blocks too (ntb / ntg per item), choosing
  // the split whose busiest thread has the least work (items go to threads in equal contiguous
  // runs), and the fewest items among those.
  // An item's vector sums (gs x ntb / tg blocks) are kept under 1 MiB: a 1-D kernel of hundreds
  // of taps gets several tap groups even on one thread.
  const std::int64_t threads = num_threads();
  const std::int64_t block_bytes = std::min<std::int64_t>(kWIC, cig) * kWAcc * sizeof(V);
  std::int64_t gsz = 1, ntg = ntb, best_span = -1, best_items = 0;
  for (std::int64_t gs = 1; gs <= std::min<std::int64_t>(kWOG, nob); ++gs) {
    for (std::int64_t tg = 1; tg <= ntb; ++tg) {
      if (gs * ceil_div(ntb, tg) * block_bytes > (1 << 20) && !(gs == 1 && tg == ntb)) continue;
      const std::int64_t items = g.G * ceil_div(nob, gs) * nicb * tg;
      const std::int64_t span = ceil_div(items, threads) * gs * ceil_div(ntb, tg);
      if (best_span < 0 || span < best_span || (span == best_span && items < best_items)) {
        best_span = span;
        best_items = items;
        gsz = gs;
        ntg = tg;
      }
    }
  }
  const std::int64_t nobg = ceil_div(nob, gsz);
  const std::int64_t dy_ns = g.C_out * p.LD, x_ns = g.C_in * p.CS;
  // Work item = (group, output-block group, input-channel block, tap group). Each dw element is
  // summed by one item, lane by lane over (n, q) in order, then across lanes, whatever the
  // thread count or grouping: the result is thread-independent.
  const double fmas = double(g.N) * g.C_out * qn * cig * KK;
  parallel_for(g.G * nobg * nicb * ntg, fmas, [&](std::int64_t it) {
    const std::int64_t tg = it % ntg;
    std::int64_t r = it / ntg;
    const std::int64_t icb = r % nicb;
    r /= nicb;
    const std::int64_t obg = r % nobg, grp = r / nobg;
    const std::int64_t b0 = obg * gsz, b1 = std::min(nob, b0 + gsz);
    const std::int64_t tb0 = tg * ntb / ntg, tb1 = (tg + 1) * ntb / ntg;
    const std::int64_t ic0 = icb * kWIC, nic = std::min<std::int64_t>(kWIC, cig - ic0);
    const T* x0 = xq + (grp * cig + ic0) * p.CS;
    // the item's vector sums, [output block][tap block][input channel][WO][WT]; kept per thread
    thread_local std::vector<V> acc_store;
    const std::int64_t block_acc = nic * kWAcc;  // vector sums of one (output, tap) block
    const std::size_t nacc = static_cast<std::size_t>((b1 - b0) * (tb1 - tb0) * block_acc);
    if (acc_store.size() < nacc) acc_store.resize(nacc);
    std::fill(acc_store.begin(), acc_store.begin() + nacc, V::zero());
    // runs fn(IntC<WO>, IntC<WT>, dy rows of block b, its sums for tap block tb, its taps' input
    // offsets, first output channel, first tap) for output block b and tap block tb
    auto with_block = [&](std::int64_t b, std::int64_t tb, auto&& fn) {
      const std::int64_t oc0 = grp * cog + b * bo;
      const int wo = static_cast<int>(std::min<std::int64_t>(bo, cog - b * bo));
      // tap blocks of balanced sizes (7 taps: 4 + 3, not 6 + 1)
      const std::int64_t t0 = tb * KK / ntb;
      const int wt = static_cast<int>((tb + 1) * KK / ntb - t0);
      V* acc = acc_store.data() + ((b - b0) * (tb1 - tb0) + (tb - tb0)) * block_acc;
      with_count<kWOMax>(wo, [&](auto WOc) {
        with_count<kWT>(wt, [&](auto WTc) {
          // only shapes within the accumulator budget are instantiated; no other occurs, as
          // wo <= bo and wt <= bt = min(kWT, kWAcc / bo)
          if constexpr (std::decay_t<decltype(WOc)>::value * decltype(WTc)::value <= kWAcc)
            fn(WOc, WTc, dyw + oc0 * p.LD + p.F, acc, plane_off.data() + t0, oc0, t0);
        });
      });
    };
    // An L1-sized chunk of (sample, position) pairs is swept by every (output block, tap block,
    // input channel) in turn; one output block's dy rows stay in L1 while the input rows stream.
    // A chunk is part of one sample's positions, or several whole small samples (LeNet's 10x10
    // outputs: 7 samples, not one per pass, whose overhead was as large as its work).
    for (std::int64_t n0 = 0; n0 < g.N; n0 += chunk_samples) {
      const std::int64_t ns = std::min(chunk_samples, g.N - n0);
      const T* xn = x0 + n0 * x_ns;
      for (std::int64_t q0 = 0; q0 < qn; q0 += qstep) {
        const std::int64_t q1 = std::min(qn, q0 + qstep);
        for (std::int64_t b = b0; b < b1; ++b)
          for (std::int64_t tb = tb0; tb < tb1; ++tb)
            with_block(b, tb, [&](auto WOc, auto WTc, const T* dy0, V* acc,
                                  const std::int64_t* offs, std::int64_t, std::int64_t) {
              constexpr int WO = decltype(WOc)::value, WT = decltype(WTc)::value;
              for (std::int64_t ic = 0; ic < nic; ++ic) {
                if (exact) {
                  weight_pass<T, WO, WT, true>(dy0 + n0 * dy_ns, p.LD, xn + ic * p.CS, offs, q0,
                                               q1, acc + ic * WO * WT, ns, dy_ns, x_ns, validq,
                                               validx);
                } else {
                  weight_pass<T, WO, WT, false>(dy0 + n0 * dy_ns, p.LD, xn + ic * p.CS, offs, q0,
                                                q1, acc + ic * WO * WT, ns, dy_ns, x_ns, nullptr,
                                                nullptr);
                }
              }
            });
      }
    }
    for (std::int64_t b = b0; b < b1; ++b)
      for (std::int64_t tb = tb0; tb < tb1; ++tb)
        with_block(b, tb, [&](auto WOc, auto WTc, const T*, V* acc, const std::int64_t*,
                              std::int64_t oc0, std::int64_t t0) {
          constexpr int WO = decltype(WOc)::value, WT = decltype(WTc)::value;
          for (std::int64_t ic = 0; ic < nic; ++ic)
            for (int o = 0; o < WO; ++o)
              for (int t = 0; t < WT; ++t)
                dw[((oc0 + o) * cig + ic0 + ic) * KK + p.plane_taps[t0 + t]] =
                    acc[(ic * WO + o) * WT + t].sum();
        });
  });
}
