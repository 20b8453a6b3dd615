// Per-channel kernels over an (N, C, L) array (a batch of N samples, C channels, L positions per
// channel): the arithmetic batch norm is made of, and any broadcast of a (C,) vector against an
// activation. One template for float and double, compiled once per instruction set
// (channel_<isa>.cpp includes this inside namespace acnn::<isa>; see common/isa_unit.h).
//
//   channel_moments  mean[c] and biased var[c] of x over N and L
//   channel_sums     sum_g[c] = sum g,  sum_gx[c] = sum g * (x - shift[c])
//   channel_affine   y = (x - shift[c]) * scale[c] + bias[c]  (+ g * gscale[c]; g optional)
// (the plain per-channel sum is reduce/sum_kernels.h's channel_sum)
//
// Determinism: a reduction cuts each channel into segments fixed by the shape (for_segments
// below), reduces each in order and combines them in order, so the result does not depend on the
// thread count. The affine map computes each element on its own.
//
// Threads: a loop uses one thread per kChannelGrain elements it touches, at most num_threads():
// a BatchNorm of a few thousand elements stays on the calling thread, a 64x64x16x16 one uses
// every core. (A local variant of common/parallel.h's parallel_for with a grain size.)

constexpr double kChannelGrain = 1 << 16;
// A channel's values are reduced in blocks of about kBlock elements: runs of whole rows when
// rows are short (a 1-D signal of 40 samples: 51 rows), pieces of one row when they are long.
// Vector partial sums run across a block and are added into double once per block, so short rows
// cost no horizontal sum each, and a block's second pass (the moments) reads from L1.
constexpr std::int64_t kBlock = 2048;

template <typename Fn>
inline void channel_parallel_for(std::int64_t n, double elements, Fn&& fn) {
  const double by_work = elements / kChannelGrain;
  int threads = num_threads();
  if (by_work < threads) threads = by_work < 1 ? 1 : static_cast<int>(by_work);
  if (threads <= 1 || n <= 1) {
    for (std::int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (std::int64_t i = 0; i < n; ++i) fn(i);
}

// How many blocks a channel has (see kBlock).
inline std::int64_t block_count(std::int64_t N, std::int64_t L) {
  if (L >= kBlock) return N * ((L + kBlock - 1) / kBlock);
  const std::int64_t per = kBlock / L;
  return (N + per - 1) / per;
}

// Calls fn(offset, rows, len) for blocks j0 .. j1 - 1 of channel c in order: `rows` rows of `len`
// elements from x + offset, consecutive rows C * L apart.
template <typename Fn>
inline void for_blocks(std::int64_t N, std::int64_t C, std::int64_t L, std::int64_t c,
                       std::int64_t j0, std::int64_t j1, Fn&& fn) {
  if (L >= kBlock) {
    const std::int64_t per_row = (L + kBlock - 1) / kBlock;
    for (std::int64_t j = j0; j < j1; ++j) {
      const std::int64_t n = j / per_row, b = (j % per_row) * kBlock;
      fn((n * C + c) * L + b, 1, std::min(kBlock, L - b));
    }
  } else {
    const std::int64_t per = kBlock / L;
    for (std::int64_t j = j0; j < j1; ++j) fn((j * per * C + c) * L, std::min(per, N - j * per), L);
  }
}

// Segments: each channel's blocks are cut into S runs (S from the shape, channel.h's
// channel_segments, never from the thread count), reduced as separate work items into `scratch`
// and combined in order afterwards, so a layer with fewer channels than threads still uses them
// all and the bits stay the same on any thread count.
template <typename Fn>
inline void for_segments(std::int64_t N, std::int64_t C, std::int64_t L, std::int64_t S,
                         double elements, Fn&& fn) {
  const std::int64_t blocks = block_count(N, L);
  channel_parallel_for(C * S, elements, [&](std::int64_t item) {
    const std::int64_t c = item / S, seg = item % S;
    fn(item, c, blocks * seg / S, blocks * (seg + 1) / S);
  });
}

// sum of a block's values
template <typename T>
inline T block_sum(const T* x, std::int64_t stride, std::int64_t rows, std::int64_t len) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V a0 = V::zero(), a1 = V::zero();
  T t = T(0);
  for (std::int64_t r = 0; r < rows; ++r, x += stride) {
    std::int64_t i = 0;
    for (; i + 2 * W <= len; i += 2 * W) {
      a0 += V::load(x + i);
      a1 += V::load(x + i + W);
    }
    for (; i + W <= len; i += W) a0 += V::load(x + i);
    for (; i < len; ++i) t += x[i];
  }
  return (a0 + a1).sum() + t;
}

// sum of (x - centre) and of (x - centre)^2 over a block
template <typename T>
inline void block_deviations(const T* x, std::int64_t stride, std::int64_t rows, std::int64_t len,
                             T centre, T& dev, T& sq) {
  using V = Vec<T>;
  constexpr int W = V::width;
  const V vc = V::broadcast(centre);
  V d0 = V::zero(), d1 = V::zero(), q0 = V::zero(), q1 = V::zero();
  T td = T(0), tq = T(0);
  for (std::int64_t r = 0; r < rows; ++r, x += stride) {
    std::int64_t i = 0;
    for (; i + 2 * W <= len; i += 2 * W) {
      V e0, e1;
      e0.v = V::load(x + i).v - vc.v;
      e1.v = V::load(x + i + W).v - vc.v;
      d0 += e0;
      d1 += e1;
      q0 = V::fma(e0, e0, q0);
      q1 = V::fma(e1, e1, q1);
    }
    for (; i + W <= len; i += W) {
      V e0;
      e0.v = V::load(x + i).v - vc.v;
      d0 += e0;
      q0 = V::fma(e0, e0, q0);
    }
    for (; i < len; ++i) {
      const T e = x[i] - centre;
      td += e;
      tq += e * e;
    }
  }
  dev = (d0 + d1).sum() + td;
  sq = (q0 + q1).sum() + tq;
}

// sum of g and of g * (x - shift) over a block (g and x laid out alike)
template <typename T>
inline void block_sums(const T* g, const T* x, std::int64_t stride, std::int64_t rows,
                       std::int64_t len, T shift, T& sg, T& sgx) {
  using V = Vec<T>;
  constexpr int W = V::width;
  const V vs = V::broadcast(shift);
  V s0 = V::zero(), s1 = V::zero(), d0 = V::zero(), d1 = V::zero();
  T ts = T(0), td = T(0);
  for (std::int64_t r = 0; r < rows; ++r, g += stride, x += stride) {
    std::int64_t i = 0;
    for (; i + 2 * W <= len; i += 2 * W) {
      const V g0 = V::load(g + i), g1 = V::load(g + i + W);
      s0 += g0;
      s1 += g1;
      V c0, c1;
      c0.v = V::load(x + i).v - vs.v;
      c1.v = V::load(x + i + W).v - vs.v;
      d0 = V::fma(g0, c0, d0);
      d1 = V::fma(g1, c1, d1);
    }
    for (; i + W <= len; i += W) {
      const V g0 = V::load(g + i);
      s0 += g0;
      V c0;
      c0.v = V::load(x + i).v - vs.v;
      d0 = V::fma(g0, c0, d0);
    }
    for (; i < len; ++i) {
      ts += g[i];
      td += g[i] * (x[i] - shift);
    }
  }
  sg = (s0 + s1).sum() + ts;
  sgx = (d0 + d1).sum() + td;
}

// Chan et al.'s pairwise update: the (count, mean, M2) of two parts merged into the first.
inline void merge_moments(double& count, double& mu, double& m2, double nb, double bmu, double bm2) {
  if (nb == 0) return;
  const double total = count + nb;
  const double delta = bmu - mu;
  mu += delta * (nb / total);
  m2 += bm2 + delta * delta * (count * nb / total);
  count = total;
}

// Each block's statistics around its own mean (two passes over a block in L1), merged with
// merge_moments: no cancellation of a large mean against small deviations, which the one-pass
// sum of squares suffers in float32. scratch: 3 doubles per (channel, segment).
template <typename T>
void channel_moments(const T* x, std::int64_t N, std::int64_t C, std::int64_t L, std::int64_t S,
                     double* scratch, T* mean, T* var) {
  for_segments(N, C, L, S, double(N) * C * L, [&](std::int64_t item, std::int64_t c,
                                                   std::int64_t j0, std::int64_t j1) {
    double count = 0, mu = 0, m2 = 0;
    for_blocks(N, C, L, c, j0, j1, [&](std::int64_t off, std::int64_t rows, std::int64_t len) {
      const double nb = double(rows) * double(len);
      const T centre = static_cast<T>(double(block_sum(x + off, C * L, rows, len)) / nb);
      T dev, sq;
      block_deviations(x + off, C * L, rows, len, centre, dev, sq);
      // the block's exact mean and squared deviations, from the rounded centre
      merge_moments(count, mu, m2, nb, double(centre) + double(dev) / nb,
                    double(sq) - double(dev) * double(dev) / nb);
    });
    scratch[3 * item] = count;
    scratch[3 * item + 1] = mu;
    scratch[3 * item + 2] = m2;
  });
  for (std::int64_t c = 0; c < C; ++c) {
    const double* p = scratch + 3 * c * S;
    double count = p[0], mu = p[1], m2 = p[2];
    for (std::int64_t seg = 1; seg < S; ++seg)
      merge_moments(count, mu, m2, p[3 * seg], p[3 * seg + 1], p[3 * seg + 2]);
    mean[c] = static_cast<T>(mu);
    var[c] = static_cast<T>(m2 > 0 ? m2 / count : 0.0);
  }
}

// scratch: 2 doubles per (channel, segment)
template <typename T>
void channel_sums(const T* g, const T* x, const T* shift, std::int64_t N, std::int64_t C,
                  std::int64_t L, std::int64_t S, double* scratch, T* sum_g, T* sum_gx) {
  for_segments(N, C, L, S, 2.0 * N * C * L, [&](std::int64_t item, std::int64_t c,
                                                 std::int64_t j0, std::int64_t j1) {
    const T s = shift ? shift[c] : T(0);
    double a = 0, b = 0;
    for_blocks(N, C, L, c, j0, j1, [&](std::int64_t off, std::int64_t rows, std::int64_t len) {
      T ra, rb;
      block_sums(g + off, x + off, C * L, rows, len, s, ra, rb);
      a += double(ra);
      b += double(rb);
    });
    scratch[2 * item] = a;
    scratch[2 * item + 1] = b;
  });
  for (std::int64_t c = 0; c < C; ++c) {
    double a = 0, b = 0;
    for (std::int64_t seg = 0; seg < S; ++seg) {
      a += scratch[2 * (c * S + seg)];
      b += scratch[2 * (c * S + seg) + 1];
    }
    sum_g[c] = static_cast<T>(a);
    sum_gx[c] = static_cast<T>(b);
  }
}

template <typename T, bool WithG>
inline void affine_row(const T* x, const T* g, T s, T a, T b, T k, std::int64_t n, T* y) {
  using V = Vec<T>;
  constexpr int W = V::width;
  const V vs = V::broadcast(s), va = V::broadcast(a), vb = V::broadcast(b), vk = V::broadcast(k);
  std::int64_t i = 0;
  for (; i + W <= n; i += W) {
    V c;
    c.v = V::load(x + i).v - vs.v;
    V r = V::fma(c, va, vb);
    if (WithG) r = V::fma(V::load(g + i), vk, r);
    r.store(y + i);
  }
  for (; i < n; ++i) {
    T r = (x[i] - s) * a + b;
    if (WithG) r = g[i] * k + r;
    y[i] = r;
  }
}

// Rows are handed out in groups of at least kChannelGrain / 8 elements, so short rows (a 1-D
// signal of 40 samples) do not cost a work item each.
template <typename T>
void channel_affine(const T* x, const T* shift, const T* scale, const T* bias, const T* g,
                    const T* gscale, std::int64_t N, std::int64_t C, std::int64_t L, T* y) {
  const std::int64_t rows = N * C;
  const std::int64_t per = std::max<std::int64_t>(1, static_cast<std::int64_t>(kChannelGrain / 8) / std::max<std::int64_t>(L, 1));
  const std::int64_t items = (rows + per - 1) / per;
  channel_parallel_for(items, double(rows) * L * (g ? 3 : 2), [&](std::int64_t it) {
    const std::int64_t hi = std::min(rows, (it + 1) * per);
    for (std::int64_t r = it * per; r < hi; ++r) {
      const std::int64_t c = r % C, off = r * L;
      const T s = shift ? shift[c] : T(0), b = bias ? bias[c] : T(0);
      if (g)
        affine_row<T, true>(x + off, g + off, s, scale[c], b, gscale[c], L, y + off);
      else
        affine_row<T, false>(x + off, nullptr, s, scale[c], b, T(0), L, y + off);
    }
  });
}
