// How the convolution drivers choose a path and split their work: the decisions that depend on the
// layer's shape but not on the data. Included by conv_kernels.h inside the ISA namespace, before
// the drivers.

// Forward: whether the wide rows would discard enough of their work (over 1/8 of each row) and
// the layer has enough output channels (at least half a vector per group) for the
// channel-vectorised kernel (conv_forward_channels).
template <typename T>
inline bool use_channel_forward(const ConvGeom& g, const ConvPlan& p) {
  return 8 * (p.plane_w - g.OW) > p.plane_w && 2 * (g.C_out / g.G) >= Vec<T>::width;
}

// Backward-input: the most rows of any phase plane that hold image pixels (the rest is padding and
// is not computed).
inline std::int64_t max_image_rows_per_plane(const ConvGeom& g, const ConvPlan& p) {
  std::int64_t max_rows = 0;
  for (std::int64_t ph = 0; ph < g.SH; ++ph) {
    std::int64_t lo, hi;
    valid_range(g.SH, ph, g.PH0, g.H, p.plane_h, &lo, &hi);
    max_rows = std::max(max_rows, hi - lo);
  }
  return max_rows;
}

// Backward-input: whether the planes are small enough (at most kSmallPlaneVectors vectors) for the
// across-images kernel (conv_backward_input_images), with more than one image to go across.
template <typename T>
inline bool use_images_backward_input(const ConvGeom& g, const ConvPlan& p,
                                      std::int64_t max_rows) {
  return max_rows * p.plane_w <= kSmallPlaneVectors * Vec<T>::width && g.N > 1;
}

// The weight gradient's blocks and work items (conv_backward_weight).
//
// Block: block_channels output channels x at most block_taps taps of vector partial sums
// (weight_pass). A layer with at most kWgradMaxBlockChannels output channels (LeNet's 6) has them
// all in one block, with as many taps as the accumulators allow, instead of a full block and a
// narrow one (4 + 2 channels: the narrow one costs nearly as much as the full one).
//
// Work item: (group, group of out_blocks_per_item output blocks, block of kWgradInputChannels input
// channels, one of tap_groups groups of tap blocks). An item sweeps the output gradient of its
// output channels and the input of its input channels once, for all its (output block, tap block)
// pairs: the fewer items, the fewer sweeps. So the split chosen is the one whose busiest thread
// has the least work (items go to threads in equal contiguous runs), and the fewest items among
// those; an item's vector sums are kept under 1 MiB, so a 1-D kernel of hundreds of taps gets
// several tap groups even on one thread.
//
// Positions: each sample's wide output positions, rounded up to whole vectors (dy's rows are zero
// past the last), swept in balanced L1-sized chunks of chunk_positions; samples smaller than
// kWgradChunkPositions go chunk_samples at a time (LeNet's 10x10 outputs: 7 samples per pass, not
// one, whose overhead was as large as its work).
struct WeightGradSchedule {
  int block_channels = 0;               // output channels per block
  int block_taps = 0;                   // taps per block, at most
  std::int64_t out_blocks = 0;          // output-channel blocks per group
  std::int64_t tap_blocks = 0;          // tap blocks
  std::int64_t in_channel_blocks = 0;   // input-channel blocks per group
  std::int64_t out_blocks_per_item = 1;
  std::int64_t tap_groups = 1;          // tap blocks are split into this many groups of items
  std::int64_t positions = 0;           // wide output positions per sample, whole vectors
  std::int64_t chunk_positions = 0;     // positions per chunk
  std::int64_t chunk_samples = 1;       // samples per chunk
};

template <typename T>
WeightGradSchedule plan_weight_gradient(const ConvGeom& g, const ConvPlan& p,
                                        std::int64_t threads) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G;
  WeightGradSchedule s;
  s.block_channels = static_cast<int>(cog <= kWgradMaxBlockChannels ? cog : kWgradBlockChannels);
  // so every block has block_channels * block_taps <= kWgradAccumulators
  s.block_taps = std::min(kWgradBlockTaps, kWgradAccumulators / s.block_channels);
  s.out_blocks = ceil_div(cog, s.block_channels);
  s.tap_blocks = ceil_div(p.taps, s.block_taps);
  s.in_channel_blocks = ceil_div(cig, kWgradInputChannels);
  const std::int64_t qn = ceil_div(p.wide_outputs, W) * W;
  s.positions = qn;
  s.chunk_positions = ceil_div(ceil_div(qn, ceil_div(qn, kWgradChunkPositions)), W) * W;
  s.chunk_samples = std::max<std::int64_t>(1, kWgradChunkPositions / qn);
  const std::int64_t nob = s.out_blocks, ntb = s.tap_blocks;
  const std::int64_t block_bytes =
      std::min<std::int64_t>(kWgradInputChannels, cig) * kWgradAccumulators * sizeof(Vec<T>);
  s.tap_groups = ntb;
  std::int64_t best_span = -1, best_items = 0;
  for (std::int64_t gs = 1; gs <= std::min<std::int64_t>(kWgradBlocksPerItem, nob); ++gs) {
    for (std::int64_t tg = 1; tg <= ntb; ++tg) {
      if (gs * ceil_div(ntb, tg) * block_bytes > (1 << 20) && !(gs == 1 && tg == ntb)) continue;
      const std::int64_t items = g.G * ceil_div(nob, gs) * s.in_channel_blocks * tg;
      const std::int64_t span = ceil_div(items, threads) * gs * ceil_div(ntb, tg);
      if (best_span < 0 || span < best_span || (span == best_span && items < best_items)) {
        best_span = span;
        best_items = items;
        s.out_blocks_per_item = gs;
        s.tap_groups = tg;
      }
    }
  }
  return s;
}
