// The one portable SIMD vector of the kernel templates, built on GCC/Clang vector extensions.
//
// Kernels are written once against Vec<T>; each instruction-set translation unit includes them
// inside its own namespace with ACNN_VECTOR_BYTES set (64 for AVX-512, 32 for AVX2, 16 for the
// baseline), and the compiler emits the matching instructions. Include this header only from
// inside an ISA namespace (see csrc/common/isa_unit.h).
//
// Vec<T> is the ISA's full width. VecOf<T, Bytes> is the same vector at a chosen width, for
// kernels that finish short rows with narrower vectors (pooling); Bytes is 16, 32 or 64.
#pragma once

// <cstring>, <cstdint> and the other standard headers are included by isa_unit.h, outside the
// namespace.

#ifndef ACNN_VECTOR_BYTES
#error "ACNN_VECTOR_BYTES must be set by the ISA translation unit"
#endif

// The signed integer as wide as a lane of T: what a comparison of two T vectors gives per lane.
template <int Size>
struct LaneInt;
template <>
struct LaneInt<4> {
  typedef std::int32_t type;
};
template <>
struct LaneInt<8> {
  typedef std::int64_t type;
};

template <typename T, int Bytes>
struct VecOf {
  static constexpr int bytes = Bytes;
  static constexpr int width = Bytes / static_cast<int>(sizeof(T));
  typedef T raw __attribute__((vector_size(Bytes)));
  // integer lanes as wide as T (comparison results; pooling keeps arg-max indices in them)
  typedef typename LaneInt<sizeof(T)>::type int_lane;
  typedef int_lane int_raw __attribute__((vector_size(Bytes)));
  raw v;

  static inline VecOf zero() { VecOf r; r.v = raw{} ; return r; }
  // x - 0 (unlike 0 + x) is x for every x, -0.0 included, so it folds to one broadcast
  static inline VecOf broadcast(T x) { VecOf r; r.v = x - raw{}; return r; }
  static inline VecOf load(const T* p) { VecOf r; std::memcpy(&r.v, p, sizeof(raw)); return r; }
  inline void store(T* p) const { std::memcpy(p, &v, sizeof(raw)); }
  // a * b + c; contracted to one FMA where the ISA has it (-ffp-contract=fast).
  static inline VecOf fma(VecOf a, VecOf b, VecOf c) { VecOf r; r.v = a.v * b.v + c.v; return r; }
  inline VecOf operator+(VecOf o) const { VecOf r; r.v = v + o.v; return r; }
  inline VecOf operator*(VecOf o) const { VecOf r; r.v = v * o.v; return r; }
  inline VecOf& operator+=(VecOf o) { v += o.v; return *this; }
  // The sum of the lanes as a tree of halves (lanes [0, W/2) plus [W/2, W), again on the half):
  // log2(W) vector adds, not W - 1 dependent scalar ones (those were 2.3 % of the stride-2 3x3
  // 64->128 56x56 weight gradient, Zen 4, perf). One fixed order per ISA.
  inline T sum() const {
    if constexpr (width == 1) {
      return v[0];
    } else if constexpr (width == 2) {
      return v[0] + v[1];
    } else {
      VecOf<T, Bytes / 2> lo, hi;
      std::memcpy(&lo.v, &v, Bytes / 2);
      std::memcpy(&hi.v, reinterpret_cast<const char*>(&v) + Bytes / 2, Bytes / 2);
      return (lo + hi).sum();
    }
  }
};

template <typename T>
using Vec = VecOf<T, ACNN_VECTOR_BYTES>;

// Lane shuffles of two vectors a, b of W lanes (any raw vector type R), for strided data:
//   even(a, b), odd(a, b)  with a = p[0 .. W), b = p[W .. 2W): p[0], p[2], ... and p[1], p[3], ...:
//                          the de-interleaving of stride-2 data from two loads (pooling's taps,
//                          convolution's stride-phase copy; applied twice it gives stride 4);
//   stride2(a, b)          with a = p[0 .. W), b = p[W - 1 .. 2W - 1) (two overlapping loads):
//                          p[0], p[2], ..., p[2W - 2], reading nothing past the last lane's
//                          element;
//   interleave_lo / _hi    a[0], b[0], a[1], b[1], ...: the first / second half of the
//                          interleaving (the inverse of even / odd).
template <int W>
struct Lanes;
template <>
struct Lanes<2> {
  template <typename R> static R even(R a, R b) { return __builtin_shufflevector(a, b, 0, 2); }
  template <typename R> static R odd(R a, R b) { return __builtin_shufflevector(a, b, 1, 3); }
  template <typename R> static R stride2(R a, R b) { return __builtin_shufflevector(a, b, 0, 3); }
  template <typename R>
  static R interleave_lo(R a, R b) { return __builtin_shufflevector(a, b, 0, 2); }
  template <typename R>
  static R interleave_hi(R a, R b) { return __builtin_shufflevector(a, b, 1, 3); }
};
template <>
struct Lanes<4> {
  template <typename R>
  static R even(R a, R b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6); }
  template <typename R>
  static R odd(R a, R b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7); }
  template <typename R>
  static R stride2(R a, R b) { return __builtin_shufflevector(a, b, 0, 2, 5, 7); }
  template <typename R>
  static R interleave_lo(R a, R b) { return __builtin_shufflevector(a, b, 0, 4, 1, 5); }
  template <typename R>
  static R interleave_hi(R a, R b) { return __builtin_shufflevector(a, b, 2, 6, 3, 7); }
};
template <>
struct Lanes<8> {
  template <typename R>
  static R even(R a, R b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14); }
  template <typename R>
  static R odd(R a, R b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15); }
  template <typename R>
  static R stride2(R a, R b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6, 9, 11, 13, 15); }
  template <typename R>
  static R interleave_lo(R a, R b) {
    return __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
  }
  template <typename R>
  static R interleave_hi(R a, R b) {
    return __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
  }
};
template <>
struct Lanes<16> {
  template <typename R>
  static R even(R a, R b) {
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  }
  template <typename R>
  static R odd(R a, R b) {
    return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  }
  template <typename R>
  static R stride2(R a, R b) {
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31);
  }
  template <typename R>
  static R interleave_lo(R a, R b) {
    return __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  }
  template <typename R>
  static R interleave_hi(R a, R b) {
    return __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15,
                                   31);
  }
};
