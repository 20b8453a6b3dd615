// Vector helpers shared by the pooling kernels (included inside an ISA namespace, after simd.h).
//
// The kernels vectorise over output columns: lane j of a vector handles output column ow + j, so
// every lane visits its window's taps in exactly the scalar scan order and the results (values,
// arg-max indices, rounding of sums) are bit-identical to the scalar path. With stride 2 the
// lanes' inputs are every second element: `load_strided<2>` de-interleaves two loads.

// Vectors of B bytes (B = the ISA's width or a narrower one, for short rows) of T, and integer
// lanes of the same width as T (what vector comparisons of T produce).
template <typename T, int B>
struct PoolVec;
template <int B>
struct PoolVec<float, B> {
  static constexpr int width = B / 4;
  typedef float raw __attribute__((vector_size(B)));
  typedef std::int32_t iraw __attribute__((vector_size(B)));
  typedef std::int32_t iscalar;
};
template <int B>
struct PoolVec<double, B> {
  static constexpr int width = B / 8;
  typedef double raw __attribute__((vector_size(B)));
  typedef std::int64_t iraw __attribute__((vector_size(B)));
  typedef std::int64_t iscalar;
};

// The narrowest vector the kernels use (SSE width).
constexpr int kPoolMinBytes = 16;

// Lanes 0, 2, 4, ... of the 2W - 1 elements at p, from two overlapping loads a = p[0 .. W) and
// b = p[W - 1 .. 2W - 1): the even lanes of a, then the odd lanes of b. Nothing past p[2W - 2] is
// read, so a vector of stride-2 windows needs no slack at the end of the row.
template <int W>
struct StrideTwoLanes;
template <>
struct StrideTwoLanes<2> {
  template <typename R> static R of(R a, R b) { return __builtin_shufflevector(a, b, 0, 3); }
};
template <>
struct StrideTwoLanes<4> {
  template <typename R> static R of(R a, R b) { return __builtin_shufflevector(a, b, 0, 2, 5, 7); }
};
template <>
struct StrideTwoLanes<8> {
  template <typename R>
  static R of(R a, R b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6, 9, 11, 13, 15); }
};
template <>
struct StrideTwoLanes<16> {
  template <typename R>
  static R of(R a, R b) {
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31);
  }
};

// Lanes p[0], p[S], ..., p[(W - 1) * S] for S = 1 or 2; reads nothing past the last lane's element.
template <int S, int B, typename T>
inline typename PoolVec<T, B>::raw load_strided(const T* p) {
  constexpr int W = PoolVec<T, B>::width;
  typename PoolVec<T, B>::raw a;
  std::memcpy(&a, p, sizeof(a));
  if constexpr (S == 1) {
    return a;
  } else {
    typename PoolVec<T, B>::raw b;
    std::memcpy(&b, p + W - 1, sizeof(b));
    return StrideTwoLanes<W>::of(a, b);
  }
}

// Calls tap(v, k) for k = 0 .. kw - 1 in order, v = the lanes p[k * d + j * S] (j < W): the taps of
// W windows with stride S. For stride 2 and dilation 1, taps k and k + 1 come together from the W
// pairs p[k + 2j], p[k + 2j + 1] (two loads instead of four, and nothing read past p[2W - 1 + k],
// the last lane's tap k + 1).
template <int S, int B, typename T, typename Tap>
inline void pool_for_taps(const T* p, std::int64_t kw, std::int64_t d, Tap&& tap) {
  typedef typename PoolVec<T, B>::raw V;
  constexpr int W = PoolVec<T, B>::width;
  std::int64_t k = 0;
  if constexpr (S == 2) {
    if (d == 1) {
      for (; k + 1 < kw; k += 2) {
        V a, b;
        std::memcpy(&a, p + k, sizeof(V));
        std::memcpy(&b, p + k + W, sizeof(V));
        tap(EvenOddLanes<W>::even(a, b), k);
        tap(EvenOddLanes<W>::odd(a, b), k + 1);
      }
    }
  }
  for (; k < kw; ++k) tap(load_strided<S, B>(p + k * d), k);
}

// Interleaving of a and b: lo = a[0], b[0], a[1], b[1], ... (first half); hi = the second half.
template <int W>
struct InterleaveLanes;
template <>
struct InterleaveLanes<2> {
  template <typename R> static R lo(R a, R b) { return __builtin_shufflevector(a, b, 0, 2); }
  template <typename R> static R hi(R a, R b) { return __builtin_shufflevector(a, b, 1, 3); }
};
template <>
struct InterleaveLanes<4> {
  template <typename R> static R lo(R a, R b) { return __builtin_shufflevector(a, b, 0, 4, 1, 5); }
  template <typename R> static R hi(R a, R b) { return __builtin_shufflevector(a, b, 2, 6, 3, 7); }
};
template <>
struct InterleaveLanes<8> {
  template <typename R>
  static R lo(R a, R b) { return __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11); }
  template <typename R>
  static R hi(R a, R b) { return __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15); }
};
template <>
struct InterleaveLanes<16> {
  template <typename R>
  static R lo(R a, R b) {
    return __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  }
  template <typename R>
  static R hi(R a, R b) {
    return __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15,
                                   31);
  }
};

template <typename T, int B>
inline typename PoolVec<T, B>::raw pool_broadcast(T x) {
  return typename PoolVec<T, B>::raw{} + x;
}

// {0, step, 2 * step, ...} in integer lanes.
template <typename T, int B>
inline typename PoolVec<T, B>::iraw pool_iota(std::int64_t step) {
  typename PoolVec<T, B>::iraw r;
  for (int i = 0; i < PoolVec<T, B>::width; ++i)
    r[i] = static_cast<typename PoolVec<T, B>::iscalar>(i * step);
  return r;
}

// Stores integer lanes as indices of type I (int32 or int64).
template <typename T, int B, typename I>
inline void pool_store_index(I* p, typename PoolVec<T, B>::iraw v) {
  typedef I out_t __attribute__((vector_size(sizeof(I) * PoolVec<T, B>::width)));
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
inline typename PoolVec<T, B>::iraw pool_load_index(const I* p) {
  typedef I in_t __attribute__((vector_size(sizeof(I) * PoolVec<T, B>::width)));
  in_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_convertvector(v, typename PoolVec<T, B>::iraw);
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
