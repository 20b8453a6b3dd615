// How the convolution drivers choose a path and split their work: the decisions that depend on the
// layer's shape but not on the data. Included by conv_kernels.h inside the ISA namespace, before
// the drivers.

// The path cost model: a path costs the lane-multiply-adds it computes per useful one, times its
// cost per vector multiply-add relative to the wide rows. Wide rows (corr_tile) compute every
// position of rows of plane_w, rounded up to whole vectors, for `cols` useful columns; the channel
// tiles (chan_tile) compute whole vectors of `channels` output (or, for the input gradient, input)
// channels for pixels in balanced column segments (channel_tile_columns), so their waste is the
// lanes past the last channel. The choice follows the vector width and the shape, not a table of
// shapes.
inline double wide_overhead(std::int64_t rows, std::int64_t plane_w, std::int64_t cols, int w) {
  if (rows <= 0 || cols <= 0) return 1.0;
  return double(ceil_div(rows * plane_w, w) * w) / double(rows * cols);
}

// Columns of one channel tile: the fewest segments of at most kChannelTileColumns, balanced (16
// columns: 2 x 8, not 12 + 4 of which 8 are computed and dropped).
inline int channel_tile_columns(std::int64_t cols) {
  const std::int64_t segments = ceil_div(cols, kChannelTileColumns);
  return static_cast<int>(ceil_div(cols, segments));
}

// Columns of one chan_tile_pair (two vectors of channels per pixel, so half the columns): the
// fewest segments of at most kChannelTileColumns / 2, balanced; the forward runs the columns past
// the last whole segment in a narrower tile, so it computes no column it drops (16: 6 + 6 + 4).
inline int pair_tile_columns(std::int64_t cols) {
  const std::int64_t segments = ceil_div(cols, kChannelTileColumns / 2);
  return static_cast<int>(ceil_div(cols, segments));
}

// The channel forward's output rows per tile: three for chan_tile_rows (row_taps 3 or 5) when
// three rows of rc columns fit in the accumulators (chan_tile_rows3), else two.
inline int channel_forward_tile_rows(int row_taps, int rc) {
  return row_taps != 0 && 3 * rc <= kAccumulators ? 3 : 2;
}

// The channel forward's vectors of output channels per pixel: two (chan_tile_pair) for the taps
// chan_tile_rows does not take (row_taps 0: stride 2, 1x1, dilation) when a group's output
// channels fill an even number of vectors, so the pairs compute no lane more than single vectors;
// otherwise one.
template <typename T>
inline int channel_forward_vectors(const ConvGeom& g, int row_taps) {
  const std::int64_t vectors = ceil_div(g.C_out / g.G, Vec<T>::width);
  return row_taps == 0 && vectors % 2 == 0 ? 2 : 1;
}


// (A tile holds 2 rows x up to kChannelTileColumns columns of accumulators; an image of one row,
// conv1d's, fills half of them, which counts as computing the empty row.)
inline double channel_overhead(std::int64_t channels, std::int64_t rows, std::int64_t cols,
                               int w) {
  if (channels <= 0 || rows <= 0 || cols <= 0) return 1.0;
  const std::int64_t rc = channel_tile_columns(cols);
  return double(ceil_div(channels, w) * w) / double(channels) *
         double(ceil_div(cols, rc) * rc) / double(cols) * double(ceil_div(rows, 2) * 2) /
         double(rows);
}

// The width of the runs of adjacent taps that chan_tile_rows shares broadcasts over: 5 or 3 when
// the n offsets (in the order the weights are packed) come in groups of that many consecutive
// elements and its weight vectors fit in registers beside the 2 x kChannelTileColumns accumulators
// and a broadcast (32 vector registers with AVX-512, 16 otherwise: there only 3); 0: chan_tile.
inline int adjacent_tap_run(const std::int64_t* offs, std::int64_t n) {
  constexpr int kVectorRegs = ACNN_VECTOR_BYTES == 64 ? 32 : 16;
  for (const int run : {5, 3}) {
    if (n == 0 || n % run != 0 || 2 * kChannelTileColumns + run + 1 > kVectorRegs) continue;
    bool adjacent = true;
    for (std::int64_t i = 0; i < n; ++i)
      if (i % run != 0 && offs[i] != offs[i - 1] + 1) adjacent = false;
    if (adjacent) return run;
  }
  return 0;
}

// The TileEdges (conv_microkernels.h) of a chan_tile_rows tile of nr rows x rc columns with
// kernel rows of kw adjacent taps: window column u of tile row r and kernel row kh reads position
// base + r * pitch + offs[kh * kw] + u of a layout whose data are rows [row_lo, row_hi) x columns
// [col_lo, col_hi) of `pitch` elements from position 0 (anything else there is zero).
inline TileEdges chan_tile_edges(std::int64_t base, int nr, int rc, int kw, std::int64_t kh_count,
                                 const std::int64_t* offs, std::int64_t pitch, std::int64_t row_lo,
                                 std::int64_t row_hi, std::int64_t col_lo, std::int64_t col_hi) {
  TileEdges e;
  if (kh_count > TileEdges::kMaxKernelRows) return e;
  const int span = rc + kw - 1;
  // whether position q of the layout holds data (rows and columns floor-divided by pitch)
  auto data = [&](std::int64_t q) {
    const std::int64_t row = q >= 0 ? q / pitch : -((-q + pitch - 1) / pitch);
    const std::int64_t col = q - row * pitch;
    return row >= row_lo && row < row_hi && col >= col_lo && col < col_hi;
  };
  int left = span, right = span;
  bool clipped = false;
  for (std::int64_t kh = 0; kh < kh_count; ++kh) {
    int lo = nr, hi = 0;
    for (int r = 0; r < nr; ++r) {
      const std::int64_t s = base + r * pitch + offs[kh * kw];
      int first = -1, last = -1;
      for (int u = 0; u < span; ++u) {
        if (!data(s + u)) continue;
        if (first < 0) first = u;
        last = u;
      }
      if (first < 0) continue;  // this row of the kernel row reads zeros only
      lo = std::min(lo, r);
      hi = r + 1;
      left = std::min(left, first);
      right = std::min(right, span - 1 - last);
    }
    if (lo >= hi) lo = hi = 0;
    e.row_lo[kh] = static_cast<std::int8_t>(lo);
    e.row_hi[kh] = static_cast<std::int8_t>(hi);
    clipped = clipped || lo != 0 || hi != nr;
  }
  e.left = std::min(left, kw - 1);
  e.right = std::min(right, kw - 1);
  e.all = !clipped && e.left == 0 && e.right == 0;
  // inside: every pixel the tile reads and does not leave out is data. chan_tile_rows_edges
  // computes, of kernel row kh, all tile rows, or all but the first and/or the last one (the
  // first where row_lo[kh] > 0, the last where row_hi[kh] < nr), window columns [left, span -
  // right).
  e.inside = true;
  for (std::int64_t kh = 0; kh < kh_count && e.inside; ++kh) {
    const int lo = e.row_lo[kh], hi = e.row_hi[kh];
    if (lo >= hi) continue;
    const int r0 = lo > 0 ? 1 : 0, r1 = hi < nr ? nr - 1 : nr;
    for (int r = r0; r < r1; ++r)
      for (int u = e.left; u < span - e.right; ++u)
        if (!data(base + r * pitch + offs[kh * kw] + u)) e.inside = false;
  }
  return e;
}

// Whether the channel forward's pair tiles (chan_tile_pair) read x itself, with no copy into phase
// planes: for column strides 1 and 2, which the tile's broadcasts step over at constant
// displacements (SC); wider strides read the planes. The copy it saves took 16 % of the stride-2
// 3x3 16->32 forward on 32x32 (benchmarks/PERFORMANCE.md), more than the products with padding it
// must then leave out (pair_tile_spans) cost.
inline bool pair_reads_image(const ConvGeom& g) { return g.SW <= 2; }

// Whether the pair tiles (chan_tile_pair) prefetch their input rows: where the rows one tile reads
// over the group's channels (channels x 2 tile rows x KH kernel rows, about two cache lines each)
// are more than 256, more lines than L1 holds (32 KiB), so each tile found the lines the previous
// one had read evicted and waited on L2 or L3 (3x3 dilation 2 and stride 2 on 56x56 with 64 input
// channels; benchmarks/PERFORMANCE.md). Smaller tiles (CIFAR's 16 input channels) stay as they
// were.
inline bool pair_tile_prefetch(const ConvGeom& g) { return g.C_in / g.G * g.KH * 2 > 256; }

// The TapSpans (conv_microkernels.h) of a chan_tile_pair tile reading x itself: tile rows oh0 ..
// oh0 + nr - 1 x columns ow0 .. ow0 + rc - 1 of the output; tap t = kh * KW + kw of output pixel
// (oh, ow) reads image row oh*SH + kh*DH - PH0 and column ow*SW + kw*DW - PW0. Returns whether any
// tap of the tile reads padding (else the tile needs no spans).
inline bool pair_tile_spans(const ConvGeom& g, std::int64_t oh0, int nr, std::int64_t ow0, int rc,
                            TapSpan* spans) {
  const std::int64_t far = std::max(g.OH, g.OW) + 1;  // (no limit on the output index)
  bool clipped = false;
  for (std::int64_t kh = 0; kh < g.KH; ++kh) {
    std::int64_t ilo, ihi;
    valid_range(g.SH, kh * g.DH, g.PH0, g.H, far, &ilo, &ihi);
    const std::int64_t r0 = std::clamp<std::int64_t>(ilo - oh0, 0, nr);
    const std::int64_t r1 = std::clamp<std::int64_t>(ihi - oh0, r0, nr);
    for (std::int64_t kw = 0; kw < g.KW; ++kw) {
      std::int64_t jlo, jhi;
      valid_range(g.SW, kw * g.DW, g.PW0, g.W, far, &jlo, &jhi);
      const std::int64_t j0 = std::clamp<std::int64_t>(jlo - ow0, 0, rc);
      const std::int64_t j1 = std::clamp<std::int64_t>(jhi - ow0, j0, rc);
      TapSpan& s = spans[kh * g.KW + kw];
      s.r0 = static_cast<std::int8_t>(r0);
      s.r1 = static_cast<std::int8_t>(r1);
      s.j0 = static_cast<std::int8_t>(j0);
      s.j1 = static_cast<std::int8_t>(j1);
      clipped = clipped || r0 != 0 || r1 != nr || j0 != 0 || j1 != rc;
    }
  }
  return clipped;
}

// Forward: whether the channel-vectorised kernel (conv_forward_channels) costs less than the wide
// rows (narrow outputs with enough output channels per group: LeNet's 10 of 14 columns, the 8x8
// and 16x16 images of CIFAR networks with 32-256 channels, 1x1 and stride-2 layers on them).
// Costs in lane-multiply-adds per useful one, per image: the lanes each path computes (the channel
// tiles' waste: lanes past the last channel, rows and columns, channel_tile_columns), plus the
// elements each moves outside its micro-kernel, each counted as half a vector instruction (W / 2
// lanes: rows of a few vectors and scalar moves, not streaming copies): the input layout each
// writes (the wide rows' phase_channel_size with its slack, the channel path's read planes, none
// for the pair tiles on x) and, for the channel tiles, their outputs, transposed out of the tile
// by scalar moves. So the channel tiles lose where an output sums few products on wide rows that
// waste little (VGG's 3 -> 32 conv1, 3x3 16 -> 16 on 32x32), the wide rows where they discard
// columns or copy much slack.
template <typename T>
inline bool use_channel_forward(const ConvGeom& g, const ConvPlan& p) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G;
  const double outputs = double(g.C_out) * g.OH * g.OW;
  const double work = outputs * double(cig) * double(p.taps);
  if (!(work > 0)) return false;
  const int row_taps = adjacent_tap_run(p.tap_offset.data(), p.taps);
  const int vectors = channel_forward_vectors<T>(g, row_taps);
  const std::int64_t lanes = vectors * W;
  // (the pair tiles compute no dropped column: pair_tile_columns)
  const std::int64_t rc = vectors == 1 ? channel_tile_columns(g.OW) : g.OW;
  std::int64_t read_planes = 0;  // (none where the pair tiles read x itself)
  if (vectors == 1 || !pair_reads_image(g))
    for (std::int64_t pl = 0; pl < p.planes; ++pl)
      read_planes += p.plane_begin[pl + 1] > p.plane_begin[pl];
  const double chan =
      double(ceil_div(cog, lanes) * lanes) / double(cog) * double(ceil_div(g.OW, rc) * rc) /
          double(g.OW) * double(ceil_div(g.OH, 2) * 2) / double(g.OH) +
      W / 2 * (double(g.C_in) * double(read_planes * p.plane_size) + outputs) / work;
  const double wide = wide_overhead(g.OH, p.plane_w, g.OW, W) +
                      W / 2 * double(g.C_in) * double(p.phase_channel_size) / work;
  return chan < wide;
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

// Backward-input: whether the channel-vectorised kernel (conv_backward_input_channels: vectors of
// input channels) computes less than the wide rows of the phase planes, by the cost model above,
// summed over the planes (their image rows x image columns). Here the channel tiles cost less
// extra per vector multiply-add than in the forward (the wide rows' gather scatters its tiles into
// dx as the channel tiles transpose theirs), about 1/16 (benchmarks/PERFORMANCE.md).
constexpr double kChannelBackwardInputCost = 1.0625;

template <typename T>
inline bool use_channel_backward_input(const ConvGeom& g, const ConvPlan& p) {
  constexpr int W = Vec<T>::width;
  double wide = 0, chan = 0, useful = 0;
  for (std::int64_t ph = 0; ph < g.SH; ++ph)
    for (std::int64_t pw = 0; pw < g.SW; ++pw) {
      std::int64_t ilo, ihi, jlo, jhi;
      valid_range(g.SH, ph, g.PH0, g.H, p.plane_h, &ilo, &ihi);
      valid_range(g.SW, pw, g.PW0, g.W, p.plane_w, &jlo, &jhi);
      const double pixels = double(ihi - ilo) * double(jhi - jlo);
      if (pixels <= 0) continue;
      useful += pixels;
      wide += pixels * wide_overhead(ihi - ilo, p.plane_w, jhi - jlo, W);
      chan += pixels * channel_overhead(g.C_in / g.G, ihi - ilo, jhi - jlo, W);
    }
  return useful > 0 && kChannelBackwardInputCost * chan < wide;
}

// The weight gradient's blocks and work items (conv_backward_weight).
//
// Columns: the (input channel, tap) pairs of one block of kWgradInputChannels input channels, input
// channel major, taps in phase-plane order; column (ic, t) reads the input at ic's channel plus
// tap t's offset. A block is block_channels output channels x at most block_taps consecutive
// columns of vector partial sums (weight_pass; column_block below), which may span input channels
// (a 1x1 convolution fills its accumulators with 6 input channels instead of 1 tap). A layer with
// at most kWgradMaxBlockChannels output channels (LeNet's 6) has them all in one block, with as
// many columns as the accumulators allow, instead of a full block and a narrow one (4 + 2 channels:
// the narrow one costs nearly as much as the full one).
//
// Work item: (group, group of out_blocks_per_item output blocks, block of kWgradInputChannels input
// channels, one of column_groups groups of column blocks). An item sweeps the output gradient of
// its output channels and the input of its input channels once, for all its (output block, column
// block) pairs: the fewer items, the fewer sweeps. So the split chosen is the one whose busiest
// thread has the least work (items go to threads in equal contiguous runs), and the fewest items
// among those; an item's vector sums are kept under 1 MiB, so a 1-D kernel of hundreds of taps gets
// several column groups even on one thread. The split changes only which item computes a dw
// element, never how: each is summed by one item over (sample, position) in order.
//
// Positions: each sample's wide output positions, rounded up to whole vectors (dy's rows are zero
// past the last), swept in balanced L1-sized chunks of chunk_positions; samples smaller than
// kWgradChunkPositions go chunk_samples at a time (LeNet's 10x10 outputs: 7 samples per pass, not
// one, whose overhead was as large as its work).
// Column blocks of an input-channel block of nic channels with `taps` taps: its nic * taps columns
// in ceil(nic * taps / bt) balanced runs of consecutive columns, at most bt each, a run crossing
// from one input channel's taps into the next where they do not fill whole blocks. So a 3x3's 16
// channels are 24 full blocks of 6 columns (10 loads per 24 multiply-adds with 4 output channels),
// not 16 x (4 + 5) (8 per 16 and 9 per 20), and 1x1's whole channels as before. (Blocks of one
// channel's taps kept its rows together in L1, but every column streams its own rows from L2
// anyway; the fuller blocks measured 3-12 % faster with AVX2's 3 x 4 blocks and the same within
// noise with AVX-512, whose pass was near the FMA peak already; Zen 4, benchmarks/PERFORMANCE.md.)
// Block cb is the columns [*c0, *c1).
inline std::int64_t column_block_count(std::int64_t nic, std::int64_t taps, int bt) {
  return ceil_div(nic * taps, bt);
}

inline void column_block(std::int64_t nic, std::int64_t taps, int bt, std::int64_t cb,
                         std::int64_t* c0, std::int64_t* c1) {
  const std::int64_t cols = nic * taps, n = column_block_count(nic, taps, bt);
  *c0 = cb * cols / n;
  *c1 = (cb + 1) * cols / n;
}

// The split of a weight gradient's blocks into work items, shared by both paths: groups of
// rows_per_item of the `rows` blocks of output channels (at most max_rows per item) x
// column_groups groups of the ncb column blocks, times `others` items for each such pair. Chosen
// so that the busiest of `threads` threads (items go to threads in equal contiguous runs) has the
// fewest blocks, then the fewest items; an item's sums (rows_per_item * ceil(ncb / column_groups)
// blocks of block_bytes) stay within `budget` unless no split does (one block per item).
struct WeightItemSplit {
  std::int64_t rows_per_item = 1, column_groups = 1;
};

inline WeightItemSplit split_weight_items(std::int64_t rows, std::int64_t max_rows,
                                          std::int64_t ncb, std::int64_t others,
                                          std::int64_t threads, std::int64_t block_bytes,
                                          std::int64_t budget) {
  WeightItemSplit best;
  best.column_groups = ncb;
  std::int64_t best_span = -1, best_items = 0;
  for (std::int64_t gs = 1; gs <= std::min(max_rows, rows); ++gs) {
    for (std::int64_t cg = 1; cg <= ncb; ++cg) {
      if (gs * ceil_div(ncb, cg) * block_bytes > budget && !(gs == 1 && cg == ncb)) continue;
      const std::int64_t items = others * ceil_div(rows, gs) * cg;
      const std::int64_t span = ceil_div(items, threads) * gs * ceil_div(ncb, cg);
      if (best_span < 0 || span < best_span || (span == best_span && items < best_items)) {
        best_span = span;
        best_items = items;
        best.rows_per_item = gs;
        best.column_groups = cg;
      }
    }
  }
  return best;
}

struct WeightGradSchedule {
  int block_channels = 0;               // output channels per block
  int block_taps = 0;                   // columns per block, at most
  std::int64_t out_blocks = 0;          // output-channel blocks per group
  std::int64_t column_blocks = 0;       // column blocks of a full input-channel block
  std::int64_t in_channel_blocks = 0;   // input-channel blocks per group
  std::int64_t out_blocks_per_item = 1;
  std::int64_t column_groups = 1;       // column blocks are split into this many groups of items
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
  s.column_blocks = column_block_count(std::min<std::int64_t>(kWgradInputChannels, cig), p.taps,
                                       s.block_taps);
  s.in_channel_blocks = ceil_div(cig, kWgradInputChannels);
  const std::int64_t qn = ceil_div(p.wide_outputs, W) * W;
  s.positions = qn;
  s.chunk_positions = ceil_div(ceil_div(qn, ceil_div(qn, kWgradChunkPositions)), W) * W;
  s.chunk_samples = std::max<std::int64_t>(1, kWgradChunkPositions / qn);
  const std::int64_t nob = s.out_blocks, ncb = s.column_blocks;
  const std::int64_t block_bytes = kWgradAccumulators * sizeof(Vec<T>);
  const WeightItemSplit split = split_weight_items(nob, kWgradBlocksPerItem, ncb,
                                                   g.G * s.in_channel_blocks, threads,
                                                   block_bytes, 1 << 20);
  s.out_blocks_per_item = split.rows_per_item;
  s.column_groups = split.column_groups;
  return s;
}

// ---- The channel-vectorised weight gradient (conv_backward_weight_channels) ----

// KW when every input channel's columns (taps in phase-plane order) are kernel rows of KW = 3 or
// 5 taps at adjacent input columns, the ISA has the row blocks (kWgradRowBlocks) and a block of
// one channel vector holds such a row (wgrad_row_block_rows); else 0.
inline int weight_row_taps(const ConvGeom& g, const ConvPlan& p) {
  const int kw = static_cast<int>(g.KW);
  if (!kWgradRowBlocks || (kw != 3 && kw != 5) || p.taps % kw != 0 ||
      wgrad_row_block_rows(1, kw) < 1)
    return 0;
  for (std::int64_t i = 0; i < p.taps; ++i)
    if (i % kw != 0 &&
        p.tap_offset[p.plane_taps[i]] != p.tap_offset[p.plane_taps[i - 1]] + 1)
      return 0;
  return kw;
}

// Path choice, by the cost model above: the wide rows of the weight gradient (weight_pass) compute
// each sample's wide output positions rounded up to whole vectors, ceil(OH*plane_w / W) * W lanes
// for OH*OW useful ones; the channel blocks (weight_chan_pass) compute whole vectors of the
// group's output channels for exactly the output pixels, ceil(cog / W) * W lanes for cog useful
// ones. Their cost per vector multiply-add relative to the wide rows' depends on the block
// (measured on Zen 5 against the wide rows, benchmarks/PERFORMANCE.md): with two or more vectors
// of channels (cog > W) each broadcast input value feeds several multiply-adds, and the blocks
// cost about 0.9 of the wide rows (whose dot products restart every sample, every few vectors on
// narrow images, and end in a reduction across lanes); with one vector every multiply-add needs
// its own broadcast and the block is bound by its loads, about 1.25. The channel path also
// transposes dy (pack_output_gradient_channels) where the wide rows copy it: about 0.125 of a
// vector multiply-add more per dy element (0.375 before the transpose went into registers, which
// cut its time 3-4x), which matters where few (input channel, tap) columns share each dy element
// (3x3 on 3 input channels, 1x1 on 16).
constexpr double kChannelWeightCostPaired = 0.9;
constexpr double kChannelWeightCostSingle = 1.25;
constexpr double kChannelWeightPackCost = 0.125;
// The factors above were measured on 8x8-32x32 images, whose wide rows waste 1/16 or more of their
// lanes. On wide images, whose rows waste less (3x3 on 56x56: 3.6 %, AlexNet's 11x11 stride 4 on
// 224x224: 3.7 %), the channel blocks measured 3-25 % slower than the wide rows, not 10 % faster:
// there the wide rows keep the weight gradient.
constexpr double kChannelWeightMinWaste = 1.0 / 16;
// The row blocks (weight_chan_rows: taps in kernel rows of 3 or 5 adjacent ones), with one channel
// vector or several, measured 0.85-0.95 of the wide rows' cost per vector multiply-add, on narrow
// and wide images alike (3x3 on 56x56 0.89, 16 -> 16 on 32x32 0.9, LeNet conv2's 5x5 0.86, 5x5
// 32 -> 32 on 16x16 0.93; Zen 5, benchmarks/PERFORMANCE.md): they need no minimum waste.
constexpr double kChannelWeightCostRows = 0.9;

template <typename T>
inline bool use_channel_weight_gradient(const ConvGeom& g, const ConvPlan& p) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cog = g.C_out / g.G, pixels = g.OH * g.OW;
  if (cog <= 0 || pixels <= 0) return false;

  // its copy of dy must fit the scratch conv.cpp sizes: at most twice the wide layout (which the
  // cost model below implies anyway, up to rounding)
  if (g.G * ceil_div(cog, W) * W * pixels > 2 * g.C_out * p.wide_channel_size) return false;
  const bool rows = weight_row_taps(g, p) != 0;
  const double cost = (rows        ? kChannelWeightCostRows
                       : cog > W ? kChannelWeightCostPaired
                                 : kChannelWeightCostSingle) +
                      kChannelWeightPackCost * W / double(g.C_in / g.G * p.taps);
  const double chan = double(ceil_div(cog, W) * W) / double(cog);
  const double wide = double(ceil_div(p.wide_outputs, W) * W) / double(pixels);
  return (rows || wide >= 1 + kChannelWeightMinWaste) && cost * chan < wide;
}

// Blocks and work items of the channel-vectorised weight gradient.
//
// Columns: the group's (input channel, tap) pairs, input channel major, taps in phase-plane order
// (as the wide rows' columns). Block: OV vectors of W output channels (`vectors`, at most
// kWgradChannelVectors) x at most K = kAccumulators / OV consecutive columns (`columns`), so the
// sums fill the registers; the column blocks are balanced (cig*taps columns in ceil(cig*taps / K)
// blocks of K or K - 1). An output tile is one block's OV vectors; the group's ceil(cog / W)
// vectors make out_tiles tiles, the last one possibly narrower.
//
// Work item: (group, group of output tiles, group of column blocks). An item sweeps the samples in
// chunks of chunk_samples samples, or of chunk_pixels pixels of one sample for large images (an
// output tile's dy for a chunk is about kWgradChannelChunkBytes):
// per chunk, each of its column blocks runs over each of its tiles in turn, so the block's few
// input rows stay in L1 while dy streams; the sums stay in memory between chunks (at most
// kWgradChannelItemBytes of them per item). The split is split_weight_items', as for the wide
// rows. It changes only which item sums a dw element, never how: over (sample, pixel) in order,
// in one lane.
//
// Row blocks (row_taps = KW, 3 or 5; AVX-512 only, kWgradRowBlocks): where each input channel's
// columns are kernel rows of KW taps at adjacent input columns (stride and dilation 1 along the
// width), a block is instead OV vectors x KR whole kernel rows (KR*KW columns, weight_chan_rows),
// KR = wgrad_row_block_rows(OV, KW) by the registers, the group's cig*taps/KW rows in balanced
// blocks; OV (at most kWgradChannelVectors) is the one with the most multiply-adds per load (OV dy
// vectors and KR*(RC + KW - 1)/RC broadcasts per output pixel, RC = kWgradRowColumns) over the
// lanes it computes (the last tile's vectors past the group's ceil(cog / W)); chunks are whole
// output rows.
struct WeightChanSchedule {
  int row_taps = 0;                    // KW of the row blocks; 0: blocks of single columns
  int vectors = 1;                     // OV: output-channel vectors per block
  int columns = 1;                     // K: columns per block, at most
  std::int64_t channels_padded = 0;    // cogp: the group's output channels in whole vectors
  std::int64_t out_tiles = 0;          // output tiles per group
  std::int64_t column_blocks = 0;      // column blocks per group
  std::int64_t tiles_per_item = 1;
  std::int64_t column_groups = 1;      // column blocks are split into this many groups of items
  std::int64_t chunk_samples = 1;      // samples per chunk
  std::int64_t chunk_pixels = 0;       // pixels per chunk (all of a sample's, or part of one)
};

template <typename T>
WeightChanSchedule plan_weight_gradient_channels(const ConvGeom& g, const ConvPlan& p,
                                                 std::int64_t threads) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, cols = cig * p.taps;
  WeightChanSchedule s;
  const std::int64_t nvec = ceil_div(cog, W);
  s.row_taps = weight_row_taps(g, p);
  if (s.row_taps != 0) {
    const int kw = s.row_taps;
    double best = 0;
    for (int ov = 1; ov <= std::min<std::int64_t>(kWgradChannelVectors, nvec); ++ov) {
      const int kr = wgrad_row_block_rows(ov, kw);
      if (kr < 1) break;
      const double loads = ov + kr * double(kWgradRowColumns + kw - 1) / kWgradRowColumns;
      const double score = ov * kr * kw / loads * double(nvec) / double(ceil_div(nvec, ov) * ov);
      if (score > best) {
        best = score;
        s.vectors = ov;
        s.columns = kr * kw;
      }
    }
  } else {
    s.vectors = static_cast<int>(std::min<std::int64_t>(kWgradChannelVectors, nvec));
    s.columns = kAccumulators / s.vectors;
  }
  s.channels_padded = nvec * W;
  s.out_tiles = ceil_div(nvec, s.vectors);
  s.column_blocks = ceil_div(cols, s.columns);
  const std::int64_t tile_bytes = g.OH * g.OW * s.vectors * W * std::int64_t(sizeof(T));
  s.chunk_samples = std::max<std::int64_t>(1, kWgradChannelChunkBytes / tile_bytes);
  // a sample larger than a chunk (56x56, 224x224) is cut into balanced runs of pixels (of whole
  // rows for the row blocks), so the column blocks do not stream its whole dy tile from memory
  // each
  const std::int64_t pixels = g.OH * g.OW, pieces = ceil_div(tile_bytes, kWgradChannelChunkBytes);
  s.chunk_pixels = s.row_taps != 0 ? ceil_div(g.OH, pieces) * g.OW : ceil_div(pixels, pieces);
  const std::int64_t nt = s.out_tiles, ncb = s.column_blocks;
  const std::int64_t block_bytes = kAccumulators * sizeof(Vec<T>);
  const WeightItemSplit split =
      split_weight_items(nt, nt, ncb, g.G, threads, block_bytes, kWgradChannelItemBytes);
  s.tiles_per_item = split.rows_per_item;
  s.column_groups = split.column_groups;
  return s;
}

// Whether a convolution of one-row images (conv1d; any 2-D one whose image and kernel are one row
// high, unpadded in height) runs folded (conv_fold.h): the batch's N rows side by side as one row,
// so the wide rows' vectors run on across the ends of the samples' rows instead of ending, part
// empty, at each. By the cost model, in vector multiply-adds per useful output: unfolded,
// macs * wide_overhead over one row; folded, macs * wide_overhead over N rows times
// kFoldCost, plus, for the forward and input gradient, a load and a store per vector of results
// (they are computed in the folded order, channel by sample, and copied back). macs: multiply-adds
// per output (forward: input channels x taps; input gradient: output channels x taps per phase
// plane). kFoldCost: the folded copies work row by short row and the fold loses the per-sample
// structure of the work; so a fold must save more than 1/16 of the lanes (not the 1% of rows of
// 1024, measured in benchmarks/PERFORMANCE.md). Direction: 0 forward, 1 input gradient, 2 weight
// gradient.
constexpr double kFoldCost = 1.0625;

template <typename T>
inline bool use_fold_layout(const ConvGeom& g, const ConvPlan& p, int direction) {
  constexpr int W = Vec<T>::width;
  if (g.H != 1 || g.KH != 1 || g.PH0 != 0 || g.PH1 != 0 || g.N < 2) return false;
  const double macs = direction == 0 ? double(g.C_in / g.G) * p.taps
                                     : double(g.C_out / g.G) * p.taps / p.planes;
  const double copy = direction == 2 ? 0.0 : 2.0 / macs;
  return kFoldCost * wide_overhead(g.N, p.plane_w, g.OW, W) + copy <
         wide_overhead(1, p.plane_w, g.OW, W);
}
