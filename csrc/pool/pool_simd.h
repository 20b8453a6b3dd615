// Vector helpers shared by the pooling kernels (included inside an ISA namespace, after simd.h,
// whose VecOf and Lanes they use).
//
// The kernels vectorise over output columns: lane j of a vector handles output column ow + j, so
// every lane visits its window's taps in exactly the scalar scan order and the results (values,
// arg-max indices, rounding of sums) are bit-identical to the scalar path. With stride 2 the
// lanes' inputs are every second element: `load_strided<2>` de-interleaves two loads.

// The narrowest vector the kernels use (SSE width). The vectors are common/simd.h's VecOf<T, B>,
// of the ISA's width B or a narrower one for what is left of a row.
constexpr int kPoolMinBytes = 16;

// Lanes p[0], p[S], ..., p[(W - 1) * S] for S = 1 or 2; reads nothing past the last lane's element.
template <int S, int B, typename T>
inline typename VecOf<T, B>::raw load_strided(const T* p) {
  constexpr int W = VecOf<T, B>::width;
  typename VecOf<T, B>::raw a;
  std::memcpy(&a, p, sizeof(a));
  if constexpr (S == 1) {
    return a;
  } else {
    typename VecOf<T, B>::raw b;
    std::memcpy(&b, p + W - 1, sizeof(b));
    return Lanes<W>::stride2(a, b);
  }
}

// Calls tap(v, k) for k = 0 .. kw - 1 in order, v = the lanes p[k * d + j * S] (j < W): the taps of
// W windows with stride S. For stride 2 and dilation 1, taps k and k + 1 come together from the W
// pairs p[k + 2j], p[k + 2j + 1] (two loads instead of four, and nothing read past p[2W - 1 + k],
// the last lane's tap k + 1).
template <int S, int B, typename T, typename Tap>
inline void pool_for_taps(const T* p, std::int64_t kw, std::int64_t d, Tap&& tap) {
  typedef typename VecOf<T, B>::raw V;
  constexpr int W = VecOf<T, B>::width;
  std::int64_t k = 0;
  if constexpr (S == 2) {
    if (d == 1) {
      for (; k + 1 < kw; k += 2) {
        V a, b;
        std::memcpy(&a, p + k, sizeof(V));
        std::memcpy(&b, p + k + W, sizeof(V));
        tap(Lanes<W>::even(a, b), k);
        tap(Lanes<W>::odd(a, b), k + 1);
      }
    }
  }
  for (; k < kw; ++k) tap(load_strided<S, B>(p + k * d), k);
}

// {0, step, 2 * step, ...} in integer lanes.
template <typename T, int B>
inline typename VecOf<T, B>::int_raw pool_iota(std::int64_t step) {
  typename VecOf<T, B>::int_raw r;
  for (int i = 0; i < VecOf<T, B>::width; ++i)
    r[i] = static_cast<typename VecOf<T, B>::int_lane>(i * step);
  return r;
}

// Stores integer lanes as indices of type I (int32 or int64).
template <typename T, int B, typename I>
inline void pool_store_index(I* p, typename VecOf<T, B>::int_raw v) {
  typedef I out_t __attribute__((vector_size(sizeof(I) * VecOf<T, B>::width)));
  out_t o = __builtin_convertvector(v, out_t);
  std::memcpy(p, &o, sizeof(o));
}

// The output columns [begin, end) that the vector path may handle on a regular axis with stride
// 1 or 2: every tap of their windows is inside the input. Empty when the axis is irregular, its
// stride is not 1 or 2, or the range is shorter than `lanes`.
struct PoolInterior {
  int stride = 0;  // 0: no vector path
  std::int64_t begin = 0, end = 0;
};

inline PoolInterior pool_interior(const PoolAxis& w, int lanes) {  // lanes: narrowest vector
  PoolInterior r;
  if (!w.regular || (w.stride != 1 && w.stride != 2)) return r;
  const std::int64_t s = w.stride;
  const std::int64_t last_tap = (w.kernel - 1) * w.dilation;
  const std::int64_t begin = (w.pad + s - 1) / s;
  const std::int64_t room = w.in - 1 + w.pad - last_tap;
  if (room < 0) return r;
  const std::int64_t end = std::min(w.out, room / s + 1);
  if (end - begin < lanes) return r;
  r.stride = static_cast<int>(s);
  r.begin = begin;
  r.end = end;
  return r;
}

// Loads W indices of type I (int32 or int64) into integer lanes as wide as T.
template <typename T, int B, typename I>
inline typename VecOf<T, B>::int_raw pool_load_index(const I* p) {
  typedef I in_t __attribute__((vector_size(sizeof(I) * VecOf<T, B>::width)));
  in_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_convertvector(v, typename VecOf<T, B>::int_raw);
}

// Disjoint windows. When no two windows of an axis share an input index (stride >= the window's
// span, e.g. 2x2 stride 2), each input element gets at most one term in the backward pass, so the
// input gradient can be written input by input, once, without zero-filling the plane first and
// adding into it. owner[i] = the output index whose window holds input index i, or -1.
struct PoolOwners {
  std::vector<std::int64_t> rows, cols;
  bool disjoint = false;
};

inline bool pool_axis_owners(const PoolAxis& a, std::vector<std::int64_t>& owner) {
  owner.assign(static_cast<std::size_t>(a.in), -1);
  for (std::int64_t o = 0; o < a.out; ++o)
    for (std::int64_t t = 0; t < a.taps[o]; ++t) {
      std::int64_t& slot = owner[static_cast<std::size_t>(a.first[o] + t * a.dilation)];
      if (slot >= 0) return false;
      slot = o;
    }
  return true;
}

inline PoolOwners pool_owners(const PoolPlan& p) {
  PoolOwners r;
  r.disjoint = pool_axis_owners(p.h, r.rows) && pool_axis_owners(p.w, r.cols);
  return r;
}

// The output columns whose windows the vector path of the disjoint backward writes: a regular
// column axis with kernel 2, stride 2, dilation 1 (each output column owns the input pair
// 2 * ow - pad, 2 * ow - pad + 1), both inside the input. stride 0: none.
inline PoolInterior pool_pair_interior(const PoolAxis& w, int lanes) {
  if (w.kernel != 2 || w.dilation != 1) return PoolInterior();
  return pool_interior(w, lanes);
}

// The banded zero fill of the backward passes that add into gx (overlapping windows): before the
// adds of output row oh, input rows up to pool_row_reach(h, oh) are zeroed, the rest later. No
// add lands on a row not yet zeroed and no row is zeroed after an add, and the fill meets the
// adds in the nearest cache instead of running a whole plane ahead of them.
inline std::int64_t pool_row_reach(const PoolAxis& h, std::int64_t oh) {  // taps[oh] >= 1
  return h.first[oh] + (h.taps[oh] - 1) * h.dilation + 1;
}

// Zeroes rows [*zeroed, reach) of `plane` (rows of `width` elements); *zeroed moves on to reach.
template <typename T>
inline void pool_zero_rows_to(T* plane, std::int64_t width, std::int64_t reach,
                              std::int64_t* zeroed) {
  if (reach <= *zeroed) return;
  const std::int64_t n = (reach - *zeroed) * width;
  std::memset(plane + *zeroed * width, 0, sizeof(T) * static_cast<std::size_t>(n));
  *zeroed = reach;
}
