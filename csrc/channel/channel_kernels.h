// Per-channel kernels over an (N, C, L) array (a batch of N samples, C channels, L positions per
// channel): the arithmetic batch norm is made of, and any broadcast of a (C,) vector against an
// activation. One template for float and double, compiled once per instruction set
// (channel_<isa>.cpp includes this inside namespace acnn::<isa>; see common/isa_unit.h).
//
//   channel_moments  mean[c] and biased var[c] of x over N and L
//   channel_sums     sum_g[c] = sum g,  sum_gx[c] = sum g * (x - shift[c])
// (the plain per-channel sum is reduce/sum_kernels.h's channel_sum; its sum_chunk is used here)
//   channel_affine   y = (x - shift[c]) * scale[c] + bias[c]  (+ g * gscale[c]; g optional)
//
// Determinism: a reduction gives each channel to one work item, which walks the rows (n, c) in
// order (vector partial sums inside a row, row totals added in double), so the result does not
// depend on the thread count. The affine map computes each element on its own.
//
// Threads: a loop uses one thread per kChannelGrain elements it touches, at most num_threads():
// a BatchNorm of a few thousand elements stays on the calling thread, a 64x64x16x16 one uses
// every core. (A local variant of common/parallel.h's parallel_for with a grain size.)

constexpr double kChannelGrain = 1 << 16;
// Rows longer than this are split into blocks for the moments (a block's second pass then reads
// from L1).
constexpr std::int64_t kMomentBlock = 2048;

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

// sum of g[i] and of g[i] * (x[i] - shift) over one row
template <typename T>
inline void row_sums(const T* g, const T* x, T shift, std::int64_t n, T& sg, T& sgx) {
  using V = Vec<T>;
  constexpr int W = V::width;
  const V vs = V::broadcast(shift);
  V s0 = V::zero(), s1 = V::zero(), d0 = V::zero(), d1 = V::zero();
  std::int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const V g0 = V::load(g + i), g1 = V::load(g + i + W);
    s0 += g0;
    s1 += g1;
    V c0, c1;
    c0.v = V::load(x + i).v - vs.v;
    c1.v = V::load(x + i + W).v - vs.v;
    d0 = V::fma(g0, c0, d0);
    d1 = V::fma(g1, c1, d1);
  }
  for (; i + W <= n; i += W) {
    const V g0 = V::load(g + i);
    s0 += g0;
    V c0;
    c0.v = V::load(x + i).v - vs.v;
    d0 = V::fma(g0, c0, d0);
  }
  T a = (s0 + s1).sum(), b = (d0 + d1).sum();
  for (; i < n; ++i) {
    a += g[i];
    b += g[i] * (x[i] - shift);
  }
  sg = a;
  sgx = b;
}

// Block statistics around the block's own mean (two passes over a block that sits in L1), merged
// with Chan et al.'s pairwise update: no cancellation of a large mean against small deviations,
// which the one-pass sum of squares suffers in float32.
template <typename T>
void channel_moments(const T* x, std::int64_t N, std::int64_t C, std::int64_t L, T* mean, T* var) {
  using V = Vec<T>;
  constexpr int W = V::width;
  channel_parallel_for(C, double(N) * C * L, [&](std::int64_t c) {
    double count = 0, mu = 0, m2 = 0;
    for (std::int64_t n = 0; n < N; ++n) {
      const T* row = x + (n * C + c) * L;
      for (std::int64_t b = 0; b < L; b += kMomentBlock) {
        const std::int64_t len = std::min(kMomentBlock, L - b);
        const T* p = row + b;
        const T centre = sum_chunk(p, len) / T(len);
        const V vc = V::broadcast(centre);
        V d0 = V::zero(), d1 = V::zero(), q0 = V::zero(), q1 = V::zero();
        std::int64_t i = 0;
        for (; i + 2 * W <= len; i += 2 * W) {
          V e0, e1;
          e0.v = V::load(p + i).v - vc.v;
          e1.v = V::load(p + i + W).v - vc.v;
          d0 += e0;
          d1 += e1;
          q0 = V::fma(e0, e0, q0);
          q1 = V::fma(e1, e1, q1);
        }
        T dev = (d0 + d1).sum(), sq = (q0 + q1).sum();
        for (; i < len; ++i) {
          const T e = p[i] - centre;
          dev += e;
          sq += e * e;
        }
        // the block's exact mean and squared deviations, from the rounded centre
        const double nb = double(len);
        const double bmu = double(centre) + double(dev) / nb;
        const double bm2 = double(sq) - double(dev) * double(dev) / nb;
        const double total = count + nb;
        const double delta = bmu - mu;
        mu += delta * (nb / total);
        m2 += bm2 + delta * delta * (count * nb / total);
        count = total;
      }
    }
    mean[c] = static_cast<T>(mu);
    var[c] = static_cast<T>(m2 > 0 ? m2 / count : 0.0);
  });
}

template <typename T>
void channel_sums(const T* g, const T* x, const T* shift, std::int64_t N, std::int64_t C,
                  std::int64_t L, T* sum_g, T* sum_gx) {
  channel_parallel_for(C, 2.0 * N * C * L, [&](std::int64_t c) {
    const T s = shift ? shift[c] : T(0);
    double a = 0, b = 0;
    for (std::int64_t n = 0; n < N; ++n) {
      const std::int64_t off = (n * C + c) * L;
      T ra, rb;
      row_sums(g + off, x + off, s, L, ra, rb);
      a += double(ra);
      b += double(rb);
    }
    sum_g[c] = static_cast<T>(a);
    sum_gx[c] = static_cast<T>(b);
  });
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
