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
// Extra memory: one phase-layout copy of the input (or of the output gradient) and one packed
// copy of the weights, held in per-thread scratch buffers that are reused between calls.

#if ACNN_VECTOR_BYTES == 64
constexpr int kOB = 8;   // output channels per register block (forward / backward_input)
constexpr int kRB = 3;   // vectors of output positions per register block
constexpr int kWO = 4;   // weight gradient: output channels per block
constexpr int kWT = 6;   // weight gradient: taps per block
#else
constexpr int kOB = 4;
constexpr int kRB = 3;
constexpr int kWO = 3;
constexpr int kWT = 4;
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

// A vector of copies of *p. (Written as *p - 0, which is exactly *p, so the compiler emits one
// broadcast load; 0 + *p is not foldable because of signed zeros and costs an add and a shuffle.)
template <typename T>
inline Vec<T> splat(const T* p) {
  Vec<T> r;
  r.v = *p - typename Vec<T>::raw{};
  return r;
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

template <typename T, int OB>
__attribute__((always_inline)) inline void corr_tile(const T* in, std::int64_t cs, std::int64_t nch, const std::int64_t* offs,
                      std::int64_t ntaps, const T* w, T* out) {
  using V = Vec<T>;
  constexpr int W = V::width;
  constexpr int TILE = kRB * W;
  V acc[OB][kRB];
#pragma GCC unroll 16
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 4
    for (int r = 0; r < kRB; ++r) acc[o][r] = V::zero();
  for (std::int64_t c = 0; c < nch; ++c) {
    const T* src = in + c * cs;
    const T* wc = w + c * ntaps * kOB;
    for (std::int64_t t = 0; t < ntaps; ++t) {
      const T* s = src + offs[t];
      __builtin_prefetch(s + 4 * TILE);  // rows ahead: the next output rows' input
      V xv[kRB];
#pragma GCC unroll 4
      for (int r = 0; r < kRB; ++r) xv[r] = V::load(s + r * W);
      const T* wt = wc + t * kOB;
#pragma GCC unroll 16
      for (int o = 0; o < OB; ++o) {
        const V b = splat(wt + o);
#pragma GCC unroll 4
        for (int r = 0; r < kRB; ++r) acc[o][r] = V::fma(b, xv[r], acc[o][r]);
      }
    }
  }
#pragma GCC unroll 16
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 4
    for (int r = 0; r < kRB; ++r) acc[o][r].store(out + o * TILE + r * W);
}

// x (N, C, H, W) -> phase layout (N, C, CS): padded, stride-phase planes, zero slack.
template <typename T>
void conv_pack_input(const ConvGeom& g, const ConvPlan& p, const T* x, T* xq) {
  parallel_for(g.N * g.C_in, [&](std::int64_t nc) {
    const T* src = x + nc * g.H * g.W;
    T* dst = xq + nc * p.CS;
    for (std::int64_t ph = 0; ph < g.SH; ++ph) {
      for (std::int64_t pw = 0; pw < g.SW; ++pw) {
        T* plane = dst + (ph * g.SW + pw) * p.PL;
        std::int64_t jlo, jhi;
        valid_range(g.SW, pw, g.PW0, g.W, p.Wq, &jlo, &jhi);
        for (std::int64_t i = 0; i < p.Hq; ++i) {
          T* row = plane + i * p.Wq;
          const std::int64_t h = i * g.SH + ph - g.PH0;
          if (h < 0 || h >= g.H || jlo >= jhi) {
            std::fill(row, row + p.Wq, T(0));
            continue;
          }
          std::fill(row, row + jlo, T(0));
          const T* s = src + h * g.W + jlo * g.SW + pw - g.PW0;
          if (g.SW == 1) {
            std::memcpy(row + jlo, s, static_cast<std::size_t>(jhi - jlo) * sizeof(T));
          } else {
            for (std::int64_t j = jlo; j < jhi; ++j) row[j] = s[(j - jlo) * g.SW];
          }
          std::fill(row + jhi, row + p.Wq, T(0));
        }
      }
    }
    std::fill(dst + p.planes * p.PL, dst + p.CS, T(0));
  });
}

// dy (N, C_out, OH, OW) -> wide rows (N, C_out, LD): F zeros, OH rows of Wq (zeros past OW), zeros.
template <typename T>
void conv_pack_wide(const ConvGeom& g, const ConvPlan& p, const T* dy, T* dyw) {
  parallel_for(g.N * g.C_out, [&](std::int64_t nc) {
    const T* src = dy + nc * g.OH * g.OW;
    T* dst = dyw + nc * p.LD;
    std::fill(dst, dst + p.F, T(0));
    for (std::int64_t oh = 0; oh < g.OH; ++oh) {
      T* row = dst + p.F + oh * p.Wq;
      std::memcpy(row, src + oh * g.OW, static_cast<std::size_t>(g.OW) * sizeof(T));
      std::fill(row + g.OW, row + p.Wq, T(0));
    }
    std::fill(dst + p.F + p.Q, dst + p.LD, T(0));
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
        const T b = bias[o];
        for (std::int64_t k = 0; k < n; ++k) d[k] = s[k] + b;
      } else {
        for (std::int64_t k = 0; k < n; ++k) d[k] = s[k];
      }
    }
    q += n;
  }
}

template <typename T>
void conv_forward(const ConvGeom& g, const ConvPlan& p, const T* x, const T* w, const T* bias,
                  T* y, T* xq, T* wp) {
  constexpr int TILE = kRB * Vec<T>::width;
  static_assert(TILE <= kConvSlack, "tile longer than the layout slack");
  conv_pack_input(g, p, x, xq);
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, KK = p.KK;
  const std::int64_t nob = ceil_div(cog, kOB);
  // wp[grp][block][ic][tap][kOB]: the weights one register block broadcasts, in loop order
  parallel_for(g.G * nob, [&](std::int64_t gb) {
    const std::int64_t grp = gb / nob, b = gb % nob;
    T* dst = wp + gb * cig * KK * kOB;
    for (std::int64_t ic = 0; ic < cig; ++ic)
      for (std::int64_t t = 0; t < KK; ++t)
        for (int o = 0; o < kOB; ++o) {
          const std::int64_t oc = b * kOB + o;
          dst[(ic * KK + t) * kOB + o] = oc < cog ? w[((grp * cog + oc) * cig + ic) * KK + t] : T(0);
        }
  });
  const std::int64_t ntiles = ceil_div(p.Q, TILE);
  const std::int64_t chunk = std::max<std::int64_t>(1, 512 / TILE);
  const std::int64_t nqc = ceil_div(ntiles, chunk);
  const std::int64_t out_cs = g.OH * g.OW;
  parallel_for(g.N * g.G * nqc * nob, [&](std::int64_t it) {
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
    alignas(64) T tbuf[kOB * TILE];
    const std::int64_t t_end = std::min(ntiles, (qc + 1) * chunk);
    with_count<kOB>(ob, [&](auto OBc) {
      for (std::int64_t tile = qc * chunk; tile < t_end; ++tile) {
        const std::int64_t q0 = tile * TILE;
        corr_tile<T, decltype(OBc)::value>(in + q0, p.CS, cig, p.off.data(), KK, wb, tbuf);
        store_wide_tile(tbuf, TILE, ob, q0, p.Q, p.Wq, g.OW, out, out_cs, bb);
      }
    });
  });
}

template <typename T>
void conv_backward_input(const ConvGeom& g, const ConvPlan& p, const T* dy, const T* w, T* dx,
                         T* dyw, T* wp) {
  constexpr int TILE = kRB * Vec<T>::width;
  conv_pack_wide(g, p, dy, dyw);
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, KK = p.KK;
  const std::int64_t nib = ceil_div(cig, kOB);
  // wp[grp][plane][block][oc][tap of plane][kOB]
  auto block_base = [&](std::int64_t grp, std::int64_t pl, std::int64_t b) {
    const std::int64_t ntp = p.plane_begin[pl + 1] - p.plane_begin[pl];
    return wp + grp * nib * cog * KK * kOB + p.plane_begin[pl] * nib * cog * kOB + b * cog * ntp * kOB;
  };
  parallel_for(g.G * p.planes * nib, [&](std::int64_t it) {
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
  const std::int64_t chunk = std::max<std::int64_t>(1, 512 / TILE) * TILE;
  const std::int64_t nchunks = std::max<std::int64_t>(1, ceil_div(max_rows * p.Wq + TILE, chunk));
  const std::int64_t in_cs = g.H * g.W;
  parallel_for(g.N * g.G * p.planes * nchunks * nib, [&](std::int64_t it) {
    const std::int64_t b = it % nib;
    std::int64_t r = it / nib;
    const std::int64_t ck = r % nchunks;
    r /= nchunks;
    const std::int64_t pl = r % p.planes;
    r /= p.planes;
    const std::int64_t grp = r % g.G, n = r / g.G;
    const std::int64_t ph = pl / g.SW, pw = pl % g.SW;
    std::int64_t ilo, ihi, jlo, jhi;
    valid_range(g.SH, ph, g.PH0, g.H, p.Hq, &ilo, &ihi);
    valid_range(g.SW, pw, g.PW0, g.W, p.Wq, &jlo, &jhi);
    // chunks start on a tile boundary of the plane (like the forward's tiles), so the loads of
    // consecutive taps keep the same alignment pattern
    const std::int64_t pbeg = ilo * p.Wq / TILE * TILE + ck * chunk;
    const std::int64_t pend = std::min(ihi * p.Wq, pbeg + chunk);
    if (pbeg >= pend || jlo >= jhi) return;
    const std::int64_t t0 = p.plane_begin[pl], ntp = p.plane_begin[pl + 1] - t0;
    const int ob = static_cast<int>(std::min<std::int64_t>(kOB, cig - b * kOB));
    const T* in = dyw + (n * g.C_out + grp * cog) * p.LD;
    const T* wb = block_base(grp, pl, b);
    T* out = dx + (n * g.C_in + grp * cig + b * kOB) * in_cs;
    alignas(64) T tbuf[kOB * TILE];
    with_count<kOB>(ob, [&](auto OBc) {
      for (std::int64_t p0 = pbeg; p0 < pend; p0 += TILE) {
        corr_tile<T, decltype(OBc)::value>(in + p0, p.LD, cog, p.plane_roff.data() + t0, ntp, wb,
                                           tbuf);
        // scatter the tile's image pixels: plane position (i, j) is pixel
        // (i*SH + ph - PH0, j*SW + pw - PW0)
        std::int64_t q = std::max(p0, ilo * p.Wq);
        const std::int64_t end = std::min(p0 + TILE, pend);
        while (q < end) {
          const std::int64_t i = q / p.Wq, j = q - i * p.Wq;
          if (j < jlo) {
            q += jlo - j;
            continue;
          }
          if (j >= jhi) {
            q = (i + 1) * p.Wq;
            continue;
          }
          const std::int64_t cnt = std::min(jhi - j, end - q);
          const std::int64_t h = i * g.SH + ph - g.PH0;
          T* d = out + h * g.W + j * g.SW + pw - g.PW0;
          for (int o = 0; o < ob; ++o) {
            const T* s = tbuf + o * TILE + (q - p0);
            T* dd = d + o * in_cs;
            if (g.SW == 1) {
              for (std::int64_t k = 0; k < cnt; ++k) dd[k] = s[k];
            } else {
              for (std::int64_t k = 0; k < cnt; ++k) dd[k * g.SW] = s[k];
            }
          }
          q += cnt;
        }
      }
    });
  });
}

// One pass of the weight-gradient block over positions [q0, q1) of one sample: WO output channels
// x WT taps of vector partial sums, loaded from and stored back to `acc` (so a position chunk can
// stay in L1 while several input channels and tap blocks sweep over it).
template <typename T, int WO, int WT>
__attribute__((always_inline)) inline void weight_pass(const T* dyp, std::int64_t ld, const T* xp,
                                                       const std::int64_t* offs, std::int64_t q0,
                                                       std::int64_t q1, Vec<T>* acc_mem) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V acc[WO][WT];
#pragma GCC unroll 8
  for (int o = 0; o < WO; ++o)
#pragma GCC unroll 8
    for (int t = 0; t < WT; ++t) acc[o][t] = acc_mem[o * WT + t];
  const T* xs[WT];
#pragma GCC unroll 8
  for (int t = 0; t < WT; ++t) xs[t] = xp + offs[t];
  for (std::int64_t q = q0; q < q1; q += W) {
    V d[WO];
#pragma GCC unroll 8
    for (int o = 0; o < WO; ++o) d[o] = V::load(dyp + o * ld + q);
#pragma GCC unroll 8
    for (int t = 0; t < WT; ++t) {
      const V xv = V::load(xs[t] + q);
#pragma GCC unroll 8
      for (int o = 0; o < WO; ++o) acc[o][t] = V::fma(d[o], xv, acc[o][t]);
    }
  }
#pragma GCC unroll 8
  for (int o = 0; o < WO; ++o)
#pragma GCC unroll 8
    for (int t = 0; t < WT; ++t) acc_mem[o * WT + t] = acc[o][t];
}

constexpr int kWIC = 16;           // weight gradient: input channels per work item
constexpr std::int64_t kWQ = 1024;  // weight gradient: positions per L1-resident chunk

template <typename T>
void conv_backward_weight(const ConvGeom& g, const ConvPlan& p, const T* x, const T* dy, T* dw,
                          T* xq, T* dyw) {
  using V = Vec<T>;
  constexpr int W = V::width;
  conv_pack_input(g, p, x, xq);
  conv_pack_wide(g, p, dy, dyw);
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, KK = p.KK;
  const std::int64_t nob = ceil_div(cog, kWO), ntb = ceil_div(KK, kWT), nicb = ceil_div(cig, kWIC);
  const std::int64_t qn = ceil_div(p.Q, W) * W;  // dy rows are zero past Q
  // Work item = (group, output-channel block, input-channel block, tap block). Each dw element is
  // summed by one item, lane by lane over (n, q) in order, then across lanes: thread-independent.
  parallel_for(g.G * nob * nicb * ntb, [&](std::int64_t it) {
    const std::int64_t tb = it % ntb;
    std::int64_t r = it / ntb;
    const std::int64_t icb = r % nicb;
    r /= nicb;
    const std::int64_t b = r % nob, grp = r / nob;
    const std::int64_t oc0 = grp * cog + b * kWO;
    const std::int64_t ic0 = icb * kWIC, nic = std::min<std::int64_t>(kWIC, cig - ic0);
    const int wo = static_cast<int>(std::min<std::int64_t>(kWO, cog - b * kWO));
    const int wt = static_cast<int>(std::min<std::int64_t>(kWT, KK - tb * kWT));
    const std::int64_t* offs = p.off.data() + tb * kWT;
    alignas(64) V acc[kWIC * kWO * kWT];
    for (int i = 0; i < kWIC * kWO * kWT; ++i) acc[i] = V::zero();
    with_count<kWO>(wo, [&](auto WOc) {
      with_count<kWT>(wt, [&](auto WTc) {
        constexpr int WO = decltype(WOc)::value, WT = decltype(WTc)::value;
        for (std::int64_t n = 0; n < g.N; ++n) {
          const T* dyp = dyw + (n * g.C_out + oc0) * p.LD + p.F;
          const T* xn = xq + (n * g.C_in + grp * cig + ic0) * p.CS;
          for (std::int64_t q0 = 0; q0 < qn; q0 += kWQ) {
            const std::int64_t q1 = std::min(qn, q0 + kWQ);
            for (std::int64_t ic = 0; ic < nic; ++ic)
              weight_pass<T, WO, WT>(dyp, p.LD, xn + ic * p.CS, offs, q0, q1, acc + ic * WO * WT);
          }
        }
        for (std::int64_t ic = 0; ic < nic; ++ic)
          for (int o = 0; o < WO; ++o)
            for (int t = 0; t < WT; ++t)
              dw[((oc0 + o) * cig + ic0 + ic) * KK + tb * kWT + t] = acc[(ic * WO + o) * WT + t].sum();
      });
    });
  });
}
