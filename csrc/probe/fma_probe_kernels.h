// The FMA peak probe's kernel: many independent chains of vector fused multiply-adds.
// Included inside an ISA namespace by fma_probe_<isa>.cpp (see common/isa_unit.h).
//
// One FMA has a latency of ~4 cycles and a core issues up to two per cycle, so at least 8
// independent chains are needed to keep both pipes busy. We run kFmaChains of them: 16 when there
// are 32 vector registers (AVX-512), 12 when there are 16 (AVX2, SSE), so that the chains plus the
// two loop constants stay in registers without spills. Each chain is acc = acc * m + c with
// 0 < m < 1, which converges to c / (1 - m): values stay finite and normal (no denormal slowdown).
// The chains are summed into the result so the compiler cannot drop them; without -ffast-math it
// may not reassociate or close-form the loop either.

#if ACNN_VECTOR_BYTES == 64
constexpr int kFmaChains = 16;
#else
constexpr int kFmaChains = 12;
#endif

// Runs `iters` rounds of kFmaChains vector FMAs; returns the sum of all lanes of all chains.
// `seed` is a runtime value (so nothing is known at compile time); m and c are derived from it.
template <typename T>
T fma_probe_chains(std::int64_t iters, T seed) {
  using V = Vec<T>;
  const V m = V::broadcast(T(0.999) + seed * T(1e-6));
  const V c = V::broadcast(T(1e-3) * (T(1) + seed));
  V acc[kFmaChains];
#pragma GCC unroll 16
  for (int k = 0; k < kFmaChains; ++k) acc[k] = V::broadcast(seed + T(k));
  for (std::int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < kFmaChains; ++k) acc[k] = V::fma(acc[k], m, c);
  }
  V total = V::zero();
#pragma GCC unroll 16
  for (int k = 0; k < kFmaChains; ++k) total += acc[k];
  return total.sum();
}

// Entry used through ACNN_DISPATCH: runs the chains, stores their sum in *out and the FLOPs of one
// iteration (2 per lane per FMA) in *flops_per_iter.
template <typename T>
void fma_probe_run(std::int64_t iters, T seed, T* out, std::int64_t* flops_per_iter) {
  *out = fma_probe_chains<T>(iters, seed);
  *flops_per_iter = 2 * static_cast<std::int64_t>(kFmaChains) * Vec<T>::width;
}
