// Block sizes of the convolution kernels, per instruction set, and the helpers that turn a runtime
// count into a compile-time one. Included first by conv_kernels.h, inside the ISA namespace.
//
// The register blocks are sized to the ISA's vector registers (32 with AVX-512, 16 otherwise):
// accumulators plus the vectors a step loads must fit without spilling.

#if ACNN_VECTOR_BYTES == 64
constexpr int kBlockChannels = 8;   // forward / backward_input: channels per register block
constexpr int kAccumulators = 24;   // accumulator vectors of such a block (channels x positions)
constexpr int kWgradBlockChannels = 4;     // weight gradient: output channels per block
constexpr int kWgradBlockTaps = 6;         // weight gradient: taps per block
constexpr int kWgradMaxBlockChannels = 6;  // weight gradient: a layer with at most this many
                                           // output channels has them all in one block
#else
constexpr int kBlockChannels = 4;
constexpr int kAccumulators = 12;
constexpr int kWgradBlockChannels = 3;
constexpr int kWgradBlockTaps = 4;
constexpr int kWgradMaxBlockChannels = 3;
#endif
// weight gradient: vector accumulators of a block (every block shape stays within them)
constexpr int kWgradAccumulators = kWgradBlockChannels * kWgradBlockTaps;

// The channel-vectorised forward (chan_tile): at most 2 output rows x this many output columns.
constexpr int kChannelTileColumns = kAccumulators / 2;

// Backward-input planes of at most this many vectors of positions take the across-images path
// (conv_backward_input_images), with this many images per work item.
constexpr std::int64_t kSmallPlaneVectors = 32;
constexpr std::int64_t kImagesPerItem = 8;

// Weight gradient work items: input channels per item, output blocks per item at most, and the
// (sample, position) pairs of one L1-resident chunk.
constexpr int kWgradInputChannels = 16;
constexpr int kWgradBlocksPerItem = 4;
constexpr std::int64_t kWgradChunkPositions = 1024;
// The channel-vectorised weight gradient: vectors of output channels per block, at most (each
// broadcast input value feeds this many multiply-adds; the block's dy vectors stay in registers
// beside its kAccumulators sums and a broadcast); bytes of one output tile's dy for a chunk of
// samples (streamed from L2 by every column block of a work item in turn, while each block's few
// input rows stay in L1); bytes of a work item's sums.
constexpr int kWgradChannelVectors = ACNN_VECTOR_BYTES == 64 ? 4 : 2;
constexpr std::int64_t kWgradChannelChunkBytes = 64 * 1024;
constexpr std::int64_t kWgradChannelItemBytes = 64 * 1024;
// The channel-vectorised weight gradient on whole kernel rows (weight_chan_rows): output columns
// per unrolled row segment, and the kernel rows of KW taps a block of ov channel vectors holds:
// its ov*rows*KW sums, a ring of KW dy vectors per channel vector plus the next one loaded, a
// broadcast and a spare must fit in the vector registers (32 with AVX-512, 16 otherwise).
constexpr int kWgradRowColumns = 8;
// The row blocks only with 32 vector registers: with 16 (AVX2, the baseline) a block holds 3 rows
// of one channel vector, 9 sums, and GCC spills around the ring of dy vectors; measured slower than
// weight_chan_pass there (AVX2, 3x3 64->64 8x8: 3.38 ms against 2.64, Zen 5, 2026-12-05).
constexpr bool kWgradRowBlocks = ACNN_VECTOR_BYTES == 64;
constexpr int wgrad_row_block_rows(int ov, int kw) {
  return ((ACNN_VECTOR_BYTES == 64 ? 32 : 16) - 2 - ov * (kw + 1)) / (ov * kw);
}

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

// Position vectors per register block for OB output channels: as many as the accumulator budget
// allows, 3 to 8 (so few-channel blocks, e.g. 3 input channels in backward_input, still have
// enough independent sums). Always one of 3, 4, 6, 8, whose tiles all divide kTileUnit vectors.
template <int OB>
constexpr int rb_for() {
  constexpr int r = kAccumulators / OB;
  return r >= 8 ? 8 : r >= 6 ? 6 : r >= 4 ? 4 : 3;
}
constexpr int kTileUnit = 24;  // vectors; a multiple of every RB, so tiles never straddle chunks

inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }
