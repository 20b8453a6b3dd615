// A portable SIMD vector for kernel templates, built on GCC/Clang vector extensions.
//
// Kernels are written once against Vec<T>; each instruction-set translation unit includes them
// inside its own namespace with ACNN_VECTOR_BYTES set (64 for AVX-512, 32 for AVX2, 16 for the
// baseline), and the compiler emits the matching instructions. Include this header only from
// inside an ISA namespace (see csrc/common/isa_unit.h).
#pragma once

// <cstring> and the other standard headers are included by isa_unit.h, outside the namespace.

#ifndef ACNN_VECTOR_BYTES
#error "ACNN_VECTOR_BYTES must be set by the ISA translation unit"
#endif

template <typename T>
struct Vec {
  static constexpr int bytes = ACNN_VECTOR_BYTES;
  static constexpr int width = bytes / static_cast<int>(sizeof(T));
  typedef T raw __attribute__((vector_size(ACNN_VECTOR_BYTES)));
  raw v;

  static inline Vec zero() { Vec r; r.v = raw{} ; return r; }
  // x - 0 (unlike 0 + x) is x for every x, -0.0 included, so it folds to one broadcast
  static inline Vec broadcast(T x) { Vec r; r.v = x - raw{}; return r; }
  static inline Vec load(const T* p) { Vec r; std::memcpy(&r.v, p, sizeof(raw)); return r; }
  inline void store(T* p) const { std::memcpy(p, &v, sizeof(raw)); }
  // a * b + c; contracted to one FMA where the ISA has it (-ffp-contract=fast).
  static inline Vec fma(Vec a, Vec b, Vec c) { Vec r; r.v = a.v * b.v + c.v; return r; }
  inline Vec operator+(Vec o) const { Vec r; r.v = v + o.v; return r; }
  inline Vec operator*(Vec o) const { Vec r; r.v = v * o.v; return r; }
  inline Vec& operator+=(Vec o) { v += o.v; return *this; }
  inline T sum() const {
    T s = T(0);
    for (int i = 0; i < width; ++i) s += v[i];
    return s;
  }
};

// Even and odd lanes of the 2W elements a, b (a first), for any vector type R of W lanes: with
// a = p[0 .. W), b = p[W .. 2W), even() is p[0], p[2], ... and odd() is p[1], p[3], ...: the
// de-interleaving of stride-2 data from two loads (used by pooling's taps and by convolution's
// stride-phase copy; applied twice it gives stride 4).
template <int W>
struct EvenOddLanes;
template <>
struct EvenOddLanes<2> {
  template <typename R> static R even(R a, R b) { return __builtin_shufflevector(a, b, 0, 2); }
  template <typename R> static R odd(R a, R b) { return __builtin_shufflevector(a, b, 1, 3); }
};
template <>
struct EvenOddLanes<4> {
  template <typename R>
  static R even(R a, R b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6); }
  template <typename R>
  static R odd(R a, R b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7); }
};
template <>
struct EvenOddLanes<8> {
  template <typename R>
  static R even(R a, R b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14); }
  template <typename R>
  static R odd(R a, R b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15); }
};
template <>
struct EvenOddLanes<16> {
  template <typename R>
  static R even(R a, R b) {
    return __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  }
  template <typename R>
  static R odd(R a, R b) {
    return __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  }
};
