// Sum of a contiguous array: the small kernel that proves the build, dispatch and threading path.
// Included inside an ISA namespace by sum_<isa>.cpp (see common/isa_unit.h).
//
// The array is cut into fixed chunks; each chunk is summed with `lanes` vector accumulators, and
// the chunk sums are added in index order, so the result does not depend on the thread count.

constexpr std::int64_t kSumChunk = 16384;

template <typename T>
T sum_chunk(const T* x, std::int64_t n) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V acc0 = V::zero(), acc1 = V::zero(), acc2 = V::zero(), acc3 = V::zero();
  std::int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    acc0 += V::load(x + i);
    acc1 += V::load(x + i + W);
    acc2 += V::load(x + i + 2 * W);
    acc3 += V::load(x + i + 3 * W);
  }
  for (; i + W <= n; i += W) acc0 += V::load(x + i);
  T s = ((acc0 + acc1) + (acc2 + acc3)).sum();
  for (; i < n; ++i) s += x[i];
  return s;
}

template <typename T>
void sum_contiguous(const T* x, std::int64_t n, T* partials, T* out) {
  const std::int64_t chunks = (n + kSumChunk - 1) / kSumChunk;
  parallel_for(chunks, [&](std::int64_t c) {
    const std::int64_t begin = c * kSumChunk;
    partials[c] = sum_chunk(x + begin, std::min(kSumChunk, n - begin));
  });
  T s = T(0);
  for (std::int64_t c = 0; c < chunks; ++c) s += partials[c];
  *out = s;
}

// out[c] = sum over n and i of x[n][c][i], for x of shape (N, C, L): the bias gradient of a
// convolution (dy summed over batch and space). Each channel is summed by one work item, sample by
// sample in order (vector partial sums within a sample), so the result does not depend on the
// thread count. NumPy's sum over axes (0, 2, 3) took 3-4x longer on LeNet's gradients.
template <typename T>
void channel_sum(const T* x, std::int64_t N, std::int64_t C, std::int64_t L, T* out) {
  parallel_for(C, double(N) * C * L, [&](std::int64_t c) {
    T s = T(0);
    for (std::int64_t n = 0; n < N; ++n) s += sum_chunk(x + (n * C + c) * L, L);
    out[c] = s;
  });
}
