// ReLU forward and backward, one template for float and double, compiled once per instruction set
// (relu_<isa>.cpp includes this inside namespace acnn::<isa>; see common/isa_unit.h).
//
// The forward is written with vectors (compare, blend, lanes narrowed to mask bytes): GCC did not
// vectorise its plain loop well. The backward is a plain select, which GCC vectorises; a masked
// NaN or Inf gradient gives exactly +0. Chunks of kReluChunk elements are spread over threads
// when the array is large enough to pay for a parallel region.

constexpr std::int64_t kReluChunk = 1 << 15;

template <typename T, bool kMask>
void relu_forward_chunks(const T* x, T* y, std::uint8_t* mask, std::int64_t n) {
  using V = Vec<T>;
  constexpr int W = V::width;
  typedef std::int8_t Bytes __attribute__((vector_size(W)));  // one mask byte per lane
  const V zero = V::zero();
  const std::int64_t chunks = (n + kReluChunk - 1) / kReluChunk;
  parallel_for(chunks, 2.0 * n, [&](std::int64_t c) {
    const std::int64_t lo = c * kReluChunk, hi = std::min(n, lo + kReluChunk);
    std::int64_t i = lo;
    for (; i + W <= hi; i += W) {
      const V v = V::load(x + i);
      V r;
      r.v = v.v < zero.v ? zero.v : v.v;  // NaN compares false: stays NaN
      r.store(y + i);
      if constexpr (kMask) {
        const auto pos = v.v > zero.v;  // lanes of -1 (true) or 0, of T's width
        const Bytes b = __builtin_convertvector(pos, Bytes) & 1;
        std::memcpy(mask + i, &b, sizeof(b));
      }
    }
    for (; i < hi; ++i) {
      y[i] = x[i] < T(0) ? T(0) : x[i];
      if constexpr (kMask) mask[i] = x[i] > T(0);
    }
  });
}

// mask may be null: an inference forward, whose backward never runs, writes no mask.
template <typename T>
void relu_forward(const T* x, T* y, std::uint8_t* mask, std::int64_t n) {
  if (mask)
    relu_forward_chunks<T, true>(x, y, mask, n);
  else
    relu_forward_chunks<T, false>(x, y, nullptr, n);
}

template <typename T>
void relu_backward(const T* g, const std::uint8_t* mask, T* dx, std::int64_t n) {
  const std::int64_t chunks = (n + kReluChunk - 1) / kReluChunk;
  parallel_for(chunks, 2.0 * n, [&](std::int64_t c) {
    const std::int64_t lo = c * kReluChunk, hi = std::min(n, lo + kReluChunk);
    for (std::int64_t i = lo; i < hi; ++i) {
      const T v = g[i];  // loaded unconditionally, so the select vectorises without masked loads
      dx[i] = mask[i] ? v : T(0);
    }
  });
}
