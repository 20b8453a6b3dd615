// 1x1 convolutions without padding as matrix products, one per (image, group): the three
// directions with their own register-blocked micro-kernels (the general kernels would copy the
// input into the phase layout and sweep taps and chunks built for larger windows). Included last
// by conv_kernels.h inside the ISA namespace. With P = OH * OW output pixels and X_s the input
// subsampled by the stride (the pixels the windows read, P of them per channel):
//
//   forward          Y[n]  (C_out x P) = W (C_out x C_in) . X_s[n] (C_in x P)   (+ bias)
//   backward_input   dX_s[n] (C_in x P) = W^T . dY[n], scattered back into the strided pixels of
//                    dx (zeros elsewhere)
//   backward_weight  dW (C_out x C_in) = sum_n dY[n] . X_s[n]^T: inner dimension N * P
//
// (per group, on its rows and columns). The forward and input gradient read their right operand in
// place where its rows are whole vectors (stride 1, P a multiple of the vector width); otherwise
// they copy it into rows of whole vectors with zeros past P (pack_rows_1x1). The weight gradient
// transposes X_s pixel-major (transpose_input_1x1), its input channels in whole vectors with
// zeros past the last. So no tile reads past an array, and every product a kept result holds is
// one of the true sum's: the path needs no exact mode for non-finite values.
//
// Micro-kernels (OB rows x R vectors of accumulators, kAccumulators in all):
//   mm_tile_1x1  forward / input gradient: OB output rows x R vectors of pixels; per step R vector
//                loads of the right operand's row k and OB broadcast weights (packed [k][OB] by
//                pack_matrix_1x1), over the whole inner dimension (C_in or C_out of a group),
//                then stored once (with the bias).
//   wg_lane_tile_1x1  weight gradient, few input channels: MB rows of dY x NB rows of X_s of
//                vector partial sums along the pixels (MB + NB loads for MB * NB multiply-adds),
//                kept in memory between chunks of samples and reduced lane by lane at the end.
//   wg_tile_1x1  weight gradient, many input channels: OB output channels x R vectors of input
//                channels (R at most 3 with 16 vector registers); per step (pixel) R vector loads
//                of the transposed input and OB broadcasts of dY, over the pixels of a chunk of
//                samples, adding into sums kept in memory between chunks.
//
// Determinism: every output element is computed by one work item, in one order whatever the split
// into items: in the weight gradient each element is one chain of multiply-adds over (sample,
// pixel) in order (transposed), or each lane of its vector sum is, the lanes then reduced in order
// (pixel vectors); so no thread count changes a bit.

// The cache budget the blocking follows (no machine's exact size: the L2 per core of current x86
// server cores is 512 KiB-2 MiB): a forward / input-gradient work item's panel of the right operand
// (its inner dimension x its pixel chunk) stays within kL2PanelBytes, so the item's row blocks find
// it in L2; so do the rows of a chunk of the pixel-vector weight gradient.
constexpr std::int64_t kL2PanelBytes = 256 * 1024;

// Whether a convolution takes the 1x1 path: a 1x1 kernel without padding (dilation then changes
// nothing). direction: 0 forward, 1 input gradient, 2 weight gradient.
template <typename T>
inline bool use_conv1x1(const ConvGeom& g, int direction) {
  (void)direction;
  return g.KH == 1 && g.KW == 1 && g.PH0 == 0 && g.PH1 == 0 && g.PW0 == 0 && g.PW1 == 0;
}

template <typename T>
void conv1x1_choice(const ConvGeom& g, int direction, bool* use) {
  *use = use_conv1x1<T>(g, direction);
}

// Whether an operand of `pixels` pixels per row is read in place (rows of whole vectors, no
// stride), and the row length of its copy otherwise.
template <typename T>
inline bool rows_in_place_1x1(const ConvGeom& g, std::int64_t pixels) {
  return g.SH == 1 && g.SW == 1 && pixels % Vec<T>::width == 0;
}

template <typename T>
inline std::int64_t row_length_1x1(const ConvGeom& g, std::int64_t pixels) {
  return rows_in_place_1x1<T>(g, pixels) ? pixels : ceil_div(pixels, Vec<T>::width) *
                                                        Vec<T>::width;
}

// dst[r][0 .. ld) for each of `rows` rows of src (images of h x w, read at stride sh, sw for an
// oh x ow output): the pixels the windows read, then zeros to ld.
template <typename T>
void pack_rows_1x1(const T* src, std::int64_t rows, std::int64_t h, std::int64_t w,
                   std::int64_t sh, std::int64_t sw, std::int64_t oh, std::int64_t ow,
                   std::int64_t ld, T* dst) {
  const std::int64_t pixels = oh * ow;
  parallel_for(rows, double(rows) * ld, [&](std::int64_t r) {
    const T* s = src + r * h * w;
    T* d = dst + r * ld;
    if (sh == 1 && sw == 1) {
      std::memcpy(d, s, sizeof(T) * pixels);
    } else {
      for (std::int64_t i = 0; i < oh; ++i) {
        const T* si = s + i * sh * w;
        T* di = d + i * ow;
        for (std::int64_t j = 0; j < ow; ++j) di[j] = si[j * sw];
      }
    }
    std::fill(d + pixels, d + ld, T(0));
  });
}

// The register block of the matrix products: R vectors of pixels (1-4) and the OB rows that fill
// the accumulators beside them (at most kAccumulators; one vector of pixels takes as many rows as
// two, so each broadcast still feeds enough independent sums).
template <int R>
constexpr int rows_for_1x1() {
  return kAccumulators / (R < 2 ? 2 : R);
}

// The pixel vectors per tile for rows of pv vectors: all of them up to 4; else 4 or 3, whichever
// leaves the wider last tile (none left is widest).
inline int pixel_vectors_1x1(std::int64_t pv) {
  if (pv <= 4) return static_cast<int>(pv);
  const std::int64_t r4 = pv % 4 == 0 ? 4 : pv % 4, r3 = pv % 3 == 0 ? 3 : pv % 3;
  return r4 >= r3 ? 4 : 3;
}

// ap[block][k][OB] = a[(block * OB + o) * row_stride + k * col_stride] for the m x kk matrix a (a
// group's weights, or their transpose), zeros past the last row: the broadcast order of
// mm_tile_1x1.
template <typename T>
void pack_matrix_1x1(const T* a, std::int64_t m, std::int64_t kk, std::int64_t row_stride,
                     std::int64_t col_stride, int ob, T* ap) {
  const std::int64_t blocks = ceil_div(m, ob);
  for (std::int64_t b = 0; b < blocks; ++b)
    for (std::int64_t k = 0; k < kk; ++k)
      for (int o = 0; o < ob; ++o) {
        const std::int64_t row = b * ob + o;
        ap[(b * kk + k) * ob + o] = row < m ? a[row * row_stride + k * col_stride] : T(0);
      }
}

// acc[o][r] = sum_k a[k * OBP + o] * b[k * ldb + r * W ..]: OB rows (of a block packed OBP wide)
// x R vectors of pixels, over kk steps. Each loaded vector is pinned (in_register) as a local
// before it goes into the array x: pinning the array's element itself made GCC keep x on the
// stack, one store per vector per step (four 64-byte stores beside 24 multiply-adds), which cost
// a fifth of the speed (8x8 128->256 forward, Zen 4: 3.0 -> 2.4 ms). So does wg_tile_1x1.
template <typename T, int OB, int OBP, int R>
__attribute__((always_inline)) inline void mm_tile_1x1(const T* a, const T* b, std::int64_t ldb,
                                                       std::int64_t kk, Vec<T> (&acc)[OB][R]) {
  using V = Vec<T>;
  constexpr int W = V::width;
  zero_block(acc);
  for (std::int64_t k = 0; k < kk; ++k) {
    V x[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      V v = V::load(b + k * ldb + r * W);
      in_register(v);
      x[r] = v;
    }
    const T* ak = a + k * OBP;
#pragma GCC unroll 16
    for (int o = 0; o < OB; ++o) {
      const V w = splat(ak + o);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) acc[o][r] = V::fma(w, x[r], acc[o][r]);
    }
  }
}

// Stores rows o < OB of the tile at pixel p0 of c (rows ldc apart, `pixels` valid), plus bias[o]
// when bias is not null; the vector past the last pixel goes through a buffer.
template <typename T, int OB, int R>
__attribute__((always_inline)) inline void store_tile_1x1(const Vec<T> (&acc)[OB][R], T* c,
                                                          std::int64_t ldc, std::int64_t p0,
                                                          std::int64_t pixels, const T* bias) {
  using V = Vec<T>;
  constexpr int W = V::width;
#pragma GCC unroll 16
  for (int o = 0; o < OB; ++o) {
    const V add = bias ? V::broadcast(bias[o]) : V::zero();
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const std::int64_t p = p0 + r * W;
      const V v = acc[o][r] + add;
      if (p + W <= pixels) {
        v.store(c + o * ldc + p);
      } else if (p < pixels) {
        alignas(64) T buf[W];
        v.store(buf);
        const int tail = static_cast<int>(std::min<std::int64_t>(W, pixels - p));
        for (int i = 0; i < tail; ++i) c[o * ldc + p + i] = buf[i];
      }
    }
  }
}

// The matrix products of the forward and input gradient: for every image n and group grp,
//   c[n][grp] (m x pixels, rows ldc apart) = a[grp] (m x kk, packed by pack_matrix_1x1) .
//                                            b[n][grp] (kk x pixels, rows ldb apart) (+ bias)
// Work item: (image, group, chunk of pixel vectors, group of row blocks); a chunk's panel of b
// (kk rows) stays within kL2PanelBytes (at least one tile wide), and the row blocks are split
// only when there are too few items otherwise for the threads.
template <typename T, int R>
void matrix_product_1x1_r(std::int64_t n, std::int64_t groups, std::int64_t m, std::int64_t kk,
                          std::int64_t pixels, const T* ap, const T* b, std::int64_t ldb,
                          std::int64_t b_group, std::int64_t b_image, T* c, std::int64_t ldc,
                          std::int64_t c_group, std::int64_t c_image, const T* bias) {
  constexpr int W = Vec<T>::width;
  constexpr int OB = rows_for_1x1<R>();
  constexpr int TILE = R * W;
  const std::int64_t mb = ceil_div(m, OB);
  const std::int64_t pv = ceil_div(pixels, W);
  // the chunk: whole tiles, its panel within the budget
  const std::int64_t tiles = ceil_div(pv, R);
  const std::int64_t panel_tile = kk * TILE * std::int64_t(sizeof(T));
  const std::int64_t chunk_tiles =
      std::max<std::int64_t>(1, std::min(tiles, kL2PanelBytes / panel_tile));
  const std::int64_t chunks = ceil_div(tiles, chunk_tiles);
  std::int64_t row_groups = 1;
  const std::int64_t base_items = n * groups * chunks;
  const std::int64_t want = 2 * std::int64_t(num_threads());
  if (base_items < want) row_groups = std::min(mb, ceil_div(want, base_items));
  const std::int64_t items = base_items * row_groups;
  const double fmas = double(n) * groups * m * kk * pixels;
  parallel_for(items, fmas, [&](std::int64_t it) {
    const std::int64_t rg = it % row_groups;
    std::int64_t rest = it / row_groups;
    const std::int64_t ch = rest % chunks;
    rest /= chunks;
    const std::int64_t grp = rest % groups, img = rest / groups;
    const std::int64_t b0 = mb * rg / row_groups, b1 = mb * (rg + 1) / row_groups;
    const std::int64_t t0 = ch * chunk_tiles, t1 = std::min(tiles, t0 + chunk_tiles);
    const T* bb = b + img * b_image + grp * b_group;
    T* cc = c + img * c_image + grp * c_group;
    const T* a = ap + grp * mb * kk * OB;
    for (std::int64_t blk = b0; blk < b1; ++blk) {
      const int ob = static_cast<int>(std::min<std::int64_t>(OB, m - blk * OB));
      const T* ab = a + blk * kk * OB;
      T* cb = cc + blk * OB * ldc;
      const T* bias_b = bias ? bias + grp * m + blk * OB : nullptr;
      with_count<OB>(ob, [&](auto OBc) {
        constexpr int OBT = decltype(OBc)::value;
        for (std::int64_t t = t0; t < t1; ++t) {
          const std::int64_t p0 = t * TILE;
          const std::int64_t left = ceil_div(pixels - p0, W);
          Vec<T> acc[OBT][R];
          if (left >= R) {
            mm_tile_1x1<T, OBT, OB, R>(ab, bb + p0, ldb, kk, acc);
            store_tile_1x1<T, OBT, R>(acc, cb, ldc, p0, pixels, bias_b);
          } else {
            with_count<R>(static_cast<int>(left), [&](auto Lc) {
              constexpr int L = decltype(Lc)::value;
              Vec<T> part[OBT][L];
              mm_tile_1x1<T, OBT, OB, L>(ab, bb + p0, ldb, kk, part);
              store_tile_1x1<T, OBT, L>(part, cb, ldc, p0, pixels, bias_b);
            });
          }
        }
      });
    }
  });
}

// The packed width of a's row blocks for rows of `pixels` (the OB of the tile chosen).
template <typename T>
inline int packed_rows_1x1(std::int64_t pixels) {
  switch (pixel_vectors_1x1(ceil_div(pixels, Vec<T>::width))) {
    case 1: return rows_for_1x1<1>();
    case 2: return rows_for_1x1<2>();
    case 3: return rows_for_1x1<3>();
    default: return rows_for_1x1<4>();
  }
}

template <typename T>
void matrix_product_1x1(std::int64_t n, std::int64_t groups, std::int64_t m, std::int64_t kk,
                        std::int64_t pixels, const T* ap, const T* b, std::int64_t ldb,
                        std::int64_t b_group, std::int64_t b_image, T* c, std::int64_t ldc,
                        std::int64_t c_group, std::int64_t c_image, const T* bias) {
  switch (pixel_vectors_1x1(ceil_div(pixels, Vec<T>::width))) {
    case 1:
      matrix_product_1x1_r<T, 1>(n, groups, m, kk, pixels, ap, b, ldb, b_group, b_image, c, ldc,
                                 c_group, c_image, bias);
      break;
    case 2:
      matrix_product_1x1_r<T, 2>(n, groups, m, kk, pixels, ap, b, ldb, b_group, b_image, c, ldc,
                                 c_group, c_image, bias);
      break;
    case 3:
      matrix_product_1x1_r<T, 3>(n, groups, m, kk, pixels, ap, b, ldb, b_group, b_image, c, ldc,
                                 c_group, c_image, bias);
      break;
    default:
      matrix_product_1x1_r<T, 4>(n, groups, m, kk, pixels, ap, b, ldb, b_group, b_image, c, ldc,
                                 c_group, c_image, bias);
      break;
  }
}

// y = conv(x, w) + bias for a 1x1 kernel without padding. xs: scratch for X_s (N * C_in rows of
// row_length_1x1), used unless x is read in place; wp: for the packed weights.
template <typename T>
void conv1x1_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y, T* xs,
                     T* wp) {
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, pixels = g.OH * g.OW;
  const std::int64_t ld = row_length_1x1<T>(g, pixels);
  const T* b = x;
  if (!rows_in_place_1x1<T>(g, pixels)) {
    pack_rows_1x1(x, g.N * g.C_in, g.H, g.W, g.SH, g.SW, g.OH, g.OW, ld, xs);
    b = xs;
  }
  const int ob = packed_rows_1x1<T>(pixels);
  const std::int64_t blocks = ceil_div(cog, ob);
  for (std::int64_t grp = 0; grp < g.G; ++grp)
    pack_matrix_1x1(w + grp * cog * cig, cog, cig, cig, 1, ob, wp + grp * blocks * cig * ob);
  matrix_product_1x1(g.N, g.G, cog, cig, pixels, wp, b, ld, cig * ld, g.C_in * ld, y, pixels,
                     cog * pixels, g.C_out * pixels, bias);
}

// dx = conv_transpose(dy, w) for a 1x1 kernel without padding. dys: scratch for dy in rows of
// whole vectors (unless read in place); wp: for the packed transposed weights; dxs: for dX_s
// (N * C_in rows of the output's pixels) when the stride leaves pixels of dx unread.
template <typename T>
void conv1x1_backward_input(const ConvGeom& g, const T* dy, const T* w, T* dx, T* dys, T* wp,
                            T* dxs) {
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, pixels = g.OH * g.OW;
  const bool dense = g.SH == 1 && g.SW == 1;
  const bool in_place = pixels % Vec<T>::width == 0;
  const std::int64_t ld = in_place ? pixels : ceil_div(pixels, Vec<T>::width) * Vec<T>::width;
  const T* b = dy;
  if (!in_place) {
    pack_rows_1x1(dy, g.N * g.C_out, g.OH, g.OW, 1, 1, g.OH, g.OW, ld, dys);
    b = dys;
  }
  const int ob = packed_rows_1x1<T>(pixels);
  const std::int64_t blocks = ceil_div(cig, ob);
  for (std::int64_t grp = 0; grp < g.G; ++grp)
    pack_matrix_1x1(w + grp * cog * cig, cig, cog, 1, cig, ob, wp + grp * blocks * cog * ob);
  T* c = dense ? dx : dxs;
  matrix_product_1x1(g.N, g.G, cig, cog, pixels, wp, b, ld, cog * ld, g.C_out * ld, c, pixels,
                     cig * pixels, g.C_in * pixels, static_cast<const T*>(nullptr));
  if (dense) return;
  // the strided pixels from dX_s, zeros between them
  const std::int64_t hw = g.H * g.W;
  parallel_for(g.N * g.C_in, double(g.N) * g.C_in * hw, [&](std::int64_t r) {
    T* d = dx + r * hw;
    const T* s = dxs + r * pixels;
    std::fill(d, d + hw, T(0));
    for (std::int64_t i = 0; i < g.OH; ++i)
      for (std::int64_t j = 0; j < g.OW; ++j) d[i * g.SH * g.W + j * g.SW] = s[i * g.OW + j];
  });
}

// acc[i][j] += sum over samples s < ns and pixels [q0, q1) (whole vectors) of
// a[s * a_image + i * lda + q] * b[s * b_image + j * ldb + q]: MB rows of dY x NB rows of X_s.
template <typename T, int MB, int NB>
__attribute__((always_inline)) inline void wg_lane_tile_1x1(const T* a, std::int64_t lda,
                                                       std::int64_t a_image, const T* b,
                                                       std::int64_t ldb, std::int64_t b_image,
                                                       std::int64_t ns, std::int64_t q0,
                                                       std::int64_t q1, Vec<T> (&acc)[MB][NB]) {
  using V = Vec<T>;
  constexpr int W = V::width;
  for (std::int64_t s = 0; s < ns; ++s) {
    const T* as = a + s * a_image;
    const T* bs = b + s * b_image;
    for (std::int64_t q = q0; q < q1; q += W) {
      V d[MB];
#pragma GCC unroll 8
      for (int i = 0; i < MB; ++i) {
        d[i] = V::load(as + i * lda + q);
        in_register(d[i]);
      }
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) {
        const V xv = V::load(bs + j * ldb + q);
#pragma GCC unroll 8
        for (int i = 0; i < MB; ++i) acc[i][j] = V::fma(d[i], xv, acc[i][j]);
      }
    }
  }
}

// dw = sum_n dY[n] . X_s[n]^T with the pixels in vectors (few input channels: see
// conv1x1_backward_weight). xs, dys: scratch for the operands in rows of whole vectors (each used
// unless read in place; zeros past P in both, so the lanes past the last pixel add 0 * 0).
//
// Blocks: kWgradBlockChannels rows of dY (output channels) x kWgradBlockTaps rows of X_s (input
// channels). Work item: (group, group of row blocks, group of column blocks), split by
// split_weight_items (conv_schedule.h) so the busiest thread has the fewest blocks; its vector
// sums (at most kWgradChannelItemBytes) live in memory between chunks of (sample, pixel)
// positions, whose rows the item keeps within kL2PanelBytes (its few input rows stay in L1).
// Each lane of a sum runs over the samples and pixels in order whatever the chunking, and is
// reduced lane by lane at the end.
template <typename T>
void conv1x1_backward_weight_lanes(const ConvGeom& g, const T* x, const T* dy, T* dw, T* xs,
                                   T* dys) {
  using V = Vec<T>;
  constexpr int W = V::width;
  constexpr int MB = kWgradBlockChannels, NB = kWgradBlockTaps;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, pixels = g.OH * g.OW;
  const std::int64_t ld = row_length_1x1<T>(g, pixels);
  const T* b = x;
  if (!rows_in_place_1x1<T>(g, pixels)) {
    pack_rows_1x1(x, g.N * g.C_in, g.H, g.W, g.SH, g.SW, g.OH, g.OW, ld, xs);
    b = xs;
  }
  const std::int64_t lda = ceil_div(pixels, W) * W;
  const T* a = dy;
  if (lda != pixels) {
    pack_rows_1x1(dy, g.N * g.C_out, g.OH, g.OW, 1, 1, g.OH, g.OW, lda, dys);
    a = dys;
  }
  const std::int64_t rows = ceil_div(cog, MB), cols = ceil_div(cig, NB);
  const std::int64_t block_bytes = MB * NB * std::int64_t(sizeof(V));
  const WeightItemSplit split = split_weight_items(rows, rows, cols, g.G, num_threads(),
                                                   block_bytes, kWgradChannelItemBytes);
  const std::int64_t rpi = split.rows_per_item, cgs = split.column_groups;
  const std::int64_t row_items = ceil_div(rows, rpi);
  const std::int64_t cols_per = ceil_div(cols, cgs);
  // chunks: whole samples while the item's rows of a sample fit the budget, else pixel runs
  const std::int64_t item_rows = std::min(cog, rpi * MB) + std::min(cig, cols_per * NB);
  const std::int64_t sample_bytes = item_rows * lda * std::int64_t(sizeof(T));
  const std::int64_t chunk_samples = std::max<std::int64_t>(1, kL2PanelBytes / sample_bytes);
  const std::int64_t pixel_runs =
      chunk_samples > 1 ? 1 : std::min(lda / W, ceil_div(sample_bytes, kL2PanelBytes));
  const std::int64_t items = g.G * row_items * cgs;
  const double fmas = double(g.N) * g.G * cog * cig * lda;
  parallel_for(items, fmas, [&](std::int64_t it) {
    const std::int64_t cg = it % cgs;
    std::int64_t rest = it / cgs;
    const std::int64_t ri = rest % row_items, grp = rest / row_items;
    const std::int64_t r0 = ri * rpi, r1 = std::min(rows, r0 + rpi);
    const std::int64_t c0 = cg * cols_per, c1 = std::min(cols, c0 + cols_per);
    if (c0 >= c1) return;
    const std::int64_t nblocks = (r1 - r0) * (c1 - c0);
    std::vector<V> sums(static_cast<std::size_t>(nblocks) * MB * NB, V::zero());
    const T* ag = a + grp * cog * lda;
    const T* bg = b + grp * cig * ld;
    for (std::int64_t n0 = 0; n0 < g.N; n0 += chunk_samples) {
      const std::int64_t ns = std::min(chunk_samples, g.N - n0);
      for (std::int64_t pr = 0; pr < pixel_runs; ++pr) {
        const std::int64_t q0 = lda / W * pr / pixel_runs * W;
        const std::int64_t q1 = lda / W * (pr + 1) / pixel_runs * W;
        for (std::int64_t rb = r0; rb < r1; ++rb) {
          const int mb = static_cast<int>(std::min<std::int64_t>(MB, cog - rb * MB));
          const T* ab = ag + n0 * g.C_out * lda + rb * MB * lda;
          for (std::int64_t cb = c0; cb < c1; ++cb) {
            const int nb = static_cast<int>(std::min<std::int64_t>(NB, cig - cb * NB));
            const T* bb = bg + n0 * g.C_in * ld + cb * NB * ld;
            V* sb = sums.data() + ((rb - r0) * (c1 - c0) + (cb - c0)) * MB * NB;
            with_count<MB>(mb, [&](auto MBc) {
              constexpr int MT = decltype(MBc)::value;
              with_count<NB>(nb, [&](auto NBc) {
                constexpr int NT = decltype(NBc)::value;
                V acc[MT][NT];
#pragma GCC unroll 8
                for (int i = 0; i < MT; ++i)
#pragma GCC unroll 8
                  for (int j = 0; j < NT; ++j) acc[i][j] = sb[i * NB + j];
                wg_lane_tile_1x1<T, MT, NT>(ab, lda, g.C_out * lda, bb, ld, g.C_in * ld, ns, q0, q1,
                                       acc);
#pragma GCC unroll 8
                for (int i = 0; i < MT; ++i)
#pragma GCC unroll 8
                  for (int j = 0; j < NT; ++j) sb[i * NB + j] = acc[i][j];
              });
            });
          }
        }
      }
    }
    for (std::int64_t rb = r0; rb < r1; ++rb)
      for (std::int64_t cb = c0; cb < c1; ++cb) {
        const V* sb = sums.data() + ((rb - r0) * (c1 - c0) + (cb - c0)) * MB * NB;
        for (std::int64_t i = 0; i < MB && rb * MB + i < cog; ++i)
          for (std::int64_t j = 0; j < NB && cb * NB + j < cig; ++j)
            dw[(grp * cog + rb * MB + i) * cig + cb * NB + j] = sb[i * NB + j].sum();
      }
  });
}

// X_s[n] of one group transposed, pixel-major: xt[p][c] for the group's cig channels, rows ld
// apart (ld: cig in whole vectors), zeros past cig (src: the sample's first channel of the group,
// images of h x w read at stride sh, sw for an oh x ow output). Stride 1 transposes squares of W
// channels x W pixels in registers (transpose_to_pixels, conv_packing.h; the channels past cig as
// zero vectors), the pixels past the last whole vector one by one: on the 8x8 128-channel
// projection (N = 64, Zen 4, AVX-512) 0.09 ms on one thread in place of 0.21 for
// element-by-element copies, which took a sixth of the weight gradient on 2 threads. Strided input
// goes element by element, in blocks of 16 pixels, so each channel's reads stay in a few cache
// lines while the writes go down the rows.
template <typename T>
inline void transpose_input_1x1(const T* src, std::int64_t cig, std::int64_t h, std::int64_t w,
                                std::int64_t sh, std::int64_t sw, std::int64_t oh,
                                std::int64_t ow, std::int64_t ld, T* xt) {
  constexpr int W = Vec<T>::width;
  const std::int64_t pixels = oh * ow;
  const bool dense = sh == 1 && sw == 1;  // (then oh x ow is the whole h x w image)
  const std::int64_t full = dense ? pixels / W * W : 0;
  for (std::int64_t c0 = 0; c0 < ld; c0 += W) {
    const std::int64_t nc = std::min<std::int64_t>(W, cig - c0);
    for (std::int64_t p0 = 0; p0 < full; p0 += W)
      transpose_to_pixels(src + c0 * h * w + p0, h * w, nc, xt + p0 * ld + c0, ld);
  }
  for (std::int64_t p0 = full; p0 < pixels; p0 += 16) {
    const std::int64_t p1 = std::min(pixels, p0 + 16);
    for (std::int64_t c = 0; c < cig; ++c) {
      const T* s = src + c * h * w;
      std::int64_t i = p0 / ow, j = p0 % ow;
      for (std::int64_t p = p0; p < p1; ++p) {
        xt[p * ld + c] = s[i * sh * w + j * sw];
        if (++j == ow) j = 0, ++i;
      }
    }
    for (std::int64_t p = p0; p < p1; ++p) std::fill(xt + p * ld + cig, xt + (p + 1) * ld, T(0));
  }
}

// acc[o][r] (loaded from and stored back to c[o * ldc + r * W ..]) += sum over samples s < ns and
// steps k < kk of a[s * a_sample + o * lda + k] * b[s * b_sample + k * ldb + r * W ..]: OB rows
// of dY (broadcast, read along their pixels) x R vectors of input channels of the transposed
// input, over a chunk of samples in order.
template <typename T, int OB, int R>
__attribute__((always_inline)) inline void wg_tile_1x1(const T* a, std::int64_t lda,
                                                       std::int64_t a_sample, const T* b,
                                                       std::int64_t ldb, std::int64_t b_sample,
                                                       std::int64_t ns, std::int64_t kk, T* c,
                                                       std::int64_t ldc) {
  using V = Vec<T>;
  constexpr int W = V::width;
  V acc[OB][R];
#pragma GCC unroll 16
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[o][r] = V::load(c + o * ldc + r * W);
  for (std::int64_t s = 0; s < ns; ++s) {
    const T* as = a + s * a_sample;
    const T* bs = b + s * b_sample;
    for (std::int64_t k = 0; k < kk; ++k) {
      V x[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        V v = V::load(bs + k * ldb + r * W);
        in_register(v);
        x[r] = v;
      }
#pragma GCC unroll 16
      for (int o = 0; o < OB; ++o) {
        const V d = splat(as + o * lda + k);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[o][r] = V::fma(d, x[r], acc[o][r]);
      }
    }
  }
#pragma GCC unroll 16
  for (int o = 0; o < OB; ++o)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[o][r].store(c + o * ldc + r * W);
}

// dw = sum_n dY[n] . X_s[n]^T for a 1x1 kernel without padding, as a matrix product with the
// input channels in vectors: X_s is first transposed pixel-major (xt: N * G blocks of P rows of
// ld = cig in whole vectors), then each work item (group, run of blocks of OB output channels)
// sweeps the samples in order, in chunks: for each tile of input channels, each of its blocks
// adds the chunk's dY (OB rows broadcast, pixels along k) . xt (P x TILE per sample) into its
// rows of the sums (dws: C_out rows of ld, in memory between chunks). A chunk's slice of xt (its
// samples' P rows of one tile) stays within kL2PanelBytes, so every block of the run finds it in
// L2, and each tile loads and stores its sums once per chunk, not once per sample (the 8x8
// 128->256 projection, Zen 4, AVX-512, one thread: 2.35 ms with 16 samples a chunk, 2.65-2.95
// with one; 3.1 ms before, one sample at a time with the blocks outermost). Every dw element is one
// chain of multiply-adds over (sample, pixel) in order, whatever the chunks and the split: bitwise
// the same on any number of threads, and no lanes to reduce.
template <typename T, int R>
void conv1x1_backward_weight_r(const ConvGeom& g, const T* dy, T* dw, const T* xt, T* dws,
                               std::int64_t ld) {
  constexpr int W = Vec<T>::width;
  constexpr int OB = rows_for_1x1<R>();
  constexpr int TILE = R * W;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, pixels = g.OH * g.OW;
  const std::int64_t mb = ceil_div(cog, OB), tiles = ceil_div(ld, TILE);
  const std::int64_t threads = num_threads();
  // the fewest row-block runs per group that keep every thread busy (at least one per thread
  // over all groups), balanced
  const std::int64_t runs = std::min(mb, std::max<std::int64_t>(1, ceil_div(threads, g.G)));
  const double fmas = double(g.N) * g.C_out * ld * pixels;
  const std::int64_t slice_bytes = pixels * TILE * std::int64_t(sizeof(T));
  const std::int64_t chunk = std::max<std::int64_t>(1, kL2PanelBytes / slice_bytes);
  parallel_for(g.G * runs, fmas, [&](std::int64_t it) {
    const std::int64_t grp = it / runs, run = it % runs;
    const std::int64_t b0 = mb * run / runs, b1 = mb * (run + 1) / runs;
    const std::int64_t o0 = b0 * OB, o1 = std::min(cog, b1 * OB);
    T* sums = dws + (grp * cog + o0) * ld;
    std::fill(sums, sums + (o1 - o0) * ld, T(0));
    for (std::int64_t n0 = 0; n0 < g.N; n0 += chunk) {
      const std::int64_t ns = std::min(chunk, g.N - n0);
      const T* xn = xt + (n0 * g.G + grp) * pixels * ld;
      const T* dn = dy + (n0 * g.C_out + grp * cog) * pixels;
      for (std::int64_t t = 0; t < tiles; ++t) {
        const std::int64_t c0 = t * TILE;
        const std::int64_t left = (ld - c0) / W;
        for (std::int64_t blk = b0; blk < b1; ++blk) {
          const int ob = static_cast<int>(std::min<std::int64_t>(OB, cog - blk * OB));
          T* c = dws + (grp * cog + blk * OB) * ld + c0;
          const T* a = dn + blk * OB * pixels;
          with_count<OB>(ob, [&](auto OBc) {
            constexpr int OBT = decltype(OBc)::value;
            if (left >= R) {
              wg_tile_1x1<T, OBT, R>(a, pixels, g.C_out * pixels, xn + c0, ld, g.G * pixels * ld,
                                     ns, pixels, c, ld);
            } else {
              with_count<R>(static_cast<int>(left), [&](auto Lc) {
                wg_tile_1x1<T, OBT, decltype(Lc)::value>(a, pixels, g.C_out * pixels, xn + c0, ld,
                                                         g.G * pixels * ld, ns, pixels, c, ld);
              });
            }
          });
        }
      }
    }
    for (std::int64_t o = o0; o < o1; ++o)
      std::memcpy(dw + (grp * cog + o) * cig, dws + (grp * cog + o) * ld, sizeof(T) * cig);
  });
}

// The length of the transposed input's rows: a group's input channels in whole vectors.
template <typename T>
inline std::int64_t transposed_row_1x1(const ConvGeom& g) {
  return ceil_div(g.C_in / g.G, Vec<T>::width) * Vec<T>::width;
}

// Whether the weight gradient takes the transposed input (input channels in vectors): when a
// group's input channels fill at least 3 vectors, so its tiles (3-4 vectors x 6-8 rows, or 4 x 3
// with 16 registers) load no more per multiply-add than the pixel-vector tiles. With fewer, the
// broadcasts of dY would bound a tile of 1-2 vectors, while the pixel-vector formulation keeps its
// few input rows in L1 over a chunk (many input channels stream them from L2 for every block of
// output channels: half the speed, benchmarks/PERFORMANCE.md).
template <typename T>
inline bool use_transposed_weight_gradient_1x1(const ConvGeom& g) {
  return g.C_in / g.G >= 3 * Vec<T>::width;
}

// dw = sum_n dY[n] . X_s[n]^T for a 1x1 kernel without padding, in one of the two formulations
// (use_transposed_weight_gradient_1x1). Scratch: s0 holds the transposed input (N * G * P rows of
// transposed_row_1x1) or X_s in rows of whole vectors; s1 the sums (C_out rows of
// transposed_row_1x1) or dY in rows of whole vectors.
template <typename T>
void conv1x1_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw, T* s0, T* s1) {
  if (!use_transposed_weight_gradient_1x1<T>(g)) {
    conv1x1_backward_weight_lanes(g, x, dy, dw, s0, s1);
    return;
  }
  T* xt = s0;
  T* dws = s1;
  const std::int64_t cig = g.C_in / g.G, pixels = g.OH * g.OW;
  const std::int64_t ld = transposed_row_1x1<T>(g);
  // (its work in multiply-adds' worth: an element moved to a row ld apart costs about ten of the
  // product's, 0.09 ms for 0.5M elements against 2.35 ms for 134M multiply-adds on one Zen 4
  // core; counted as 8, so the 8x8 projection's transposition runs on 2 threads, 0.09 -> 0.04 ms)
  const double moved = double(g.N) * g.G * pixels * ld;
  parallel_for(g.N * g.G, 8 * moved, [&](std::int64_t ng) {
    transpose_input_1x1(x + ng * cig * g.H * g.W, cig, g.H, g.W, g.SH, g.SW, g.OH, g.OW, ld,
                        xt + ng * pixels * ld);
  });
  // (at most 3 vectors wide with 16 vector registers: 3 x 4 rows of sums, 3 loaded vectors and a
  // broadcast fill them; 4 x 3 left one sum in memory, a store and reload per step: AVX2, 8x8
  // 128->256 on Zen 4, 5.8 ms against 4.0)
  const std::int64_t vectors = ld / Vec<T>::width;
  const int r = kAccumulators < 24 ? static_cast<int>(std::min<std::int64_t>(vectors, 3))
                                   : pixel_vectors_1x1(vectors);
  switch (r) {
    case 1: conv1x1_backward_weight_r<T, 1>(g, dy, dw, xt, dws, ld); break;
    case 2: conv1x1_backward_weight_r<T, 2>(g, dy, dw, xt, dws, ld); break;
    case 3: conv1x1_backward_weight_r<T, 3>(g, dy, dw, xt, dws, ld); break;
    default: conv1x1_backward_weight_r<T, 4>(g, dy, dw, xt, dws, ld); break;
  }
}
