// The input-gradient driver, dx = conv_transpose(dy, w): the adjoint of the forward in x. Included
// by conv_kernels.h inside the ISA namespace.
//
// The output gradient is copied once into the wide layout (conv_pack_wide, with its zero margins),
// and the gradient of each input phase plane p is gathered from it by corr_tile: in = dy's wide
// rows, c = output channels, t = the taps that fall in plane p, read at offsets
// plane_tap_wide_offset. The stride-phase split makes this a dense gather even for stride > 1.
// Each tile of a plane is written into dx by scatter_plane_tile (its image pixels only).
//
// Small planes (at most kSmallPlaneVectors vectors; LeNet) run across images instead
// (conv_backward_input_images): a tile is one vector of positions in several images, so the taps
// that would read only dy's zero margins are skipped vector by vector.
//
// Narrow images with many channels take the channel-vectorised kernel
// (conv_backward_input_channels) on its own compact copy of dy (channel_wide_layout).

// Backward-input for small planes (LeNet's 14x14 gradient of a 5x5 kernel over 10x10): the
// transposed convolution of a small image reads mostly the zero margins of dy's wide rows (half
// of LeNet conv2's multiply-adds). Here a tile is one vector of plane positions in up to RB
// images, so its taps can be chosen per vector: a tap is skipped when the dy window it reads,
// [p0 + roff, p0 + roff + W), lies outside dy's rows [wide_front, wide_front + wide_outputs),
// where conv_pack_wide wrote only zeros. (Only adds of exact zeros are skipped. Vectors that
// partly overlap dy's data, and the discarded columns, still multiply zeros: the exact mode for
// non-finite weights takes the general path instead.)
template <typename T>
void conv_backward_input_images(const ConvGeom& g, const ConvPlan& p, const T* dyw, const T* wp,
                                T* dx) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G;
  const std::int64_t nib = ceil_div(cig, kBlockChannels), nnb = ceil_div(g.N, kImagesPerItem);
  const std::int64_t in_cs = g.H * g.W, img = g.C_out * p.wide_channel_size;
  const double fmas = double(g.N) * g.C_in * p.plane_size * cog * p.taps;
  parallel_for(nnb * g.G * p.planes * nib, fmas, [&](std::int64_t it) {
    const std::int64_t b = it % nib;
    std::int64_t r = it / nib;
    const std::int64_t pl = r % p.planes;
    r /= p.planes;
    const std::int64_t grp = r % g.G, nb = r / g.G;
    const std::int64_t n0 = nb * kImagesPerItem, n1 = std::min(g.N, n0 + kImagesPerItem);
    const std::int64_t ph = pl / g.SW, pw = pl % g.SW;
    std::int64_t ilo, ihi, jlo, jhi;
    valid_range(g.SH, ph, g.PH0, g.H, p.plane_h, &ilo, &ihi);
    valid_range(g.SW, pw, g.PW0, g.W, p.plane_w, &jlo, &jhi);
    const std::int64_t plo = ilo * p.plane_w, phi = ihi * p.plane_w;
    if (plo >= phi || jlo >= jhi) return;
    const std::int64_t t0 = p.plane_begin[pl], ntp = p.plane_begin[pl + 1] - t0;
    const std::int64_t* roff = p.plane_tap_wide_offset.data() + t0;
    const int ob =
        static_cast<int>(std::min<std::int64_t>(kBlockChannels, cig - b * kBlockChannels));
    const T* wb = transposed_weight_block(g, p, wp, grp, pl, b);
    alignas(64) T tbuf[kAccumulators * W];
    std::int64_t sel[64];
    std::vector<std::int64_t> sel_big;
    std::int64_t* selp = ntp <= 64 ? sel : (sel_big.resize(ntp), sel_big.data());
    with_count<kBlockChannels>(ob, [&](auto OBc) {
      constexpr int OB = decltype(OBc)::value, RB = rb_for<OB>();
      for (std::int64_t p0 = plo / W * W; p0 < phi; p0 += W) {
        std::int64_t nsel = 0;
        for (std::int64_t k = 0; k < ntp; ++k)
          if (p0 + roff[k] + W > p.wide_front && p0 + roff[k] < p.wide_front + p.wide_outputs)
            selp[nsel++] = k;
        for (std::int64_t n = n0; n < n1; n += RB) {
          with_count<RB>(static_cast<int>(std::min<std::int64_t>(RB, n1 - n)), [&](auto Rc) {
            constexpr int R = decltype(Rc)::value;
            if (nsel > 0) {
              corr_tile_images<T, OB, R>(dyw + (n * g.C_out + grp * cog) * p.wide_channel_size + p0,
                                         img, p.wide_channel_size, cog, roff, selp, nsel, ntp, wb,
                                         tbuf);
            } else {
              std::fill(tbuf, tbuf + OB * R * W, T(0));
            }
            for (int rr = 0; rr < R; ++rr)
              scatter_plane_tile(
                  g, p.plane_w, ph, pw, jlo, jhi, tbuf + rr * W, std::int64_t(R) * W, ob, p0, W,
                  plo, phi, dx + ((n + rr) * g.C_in + grp * cig + b * kBlockChannels) * in_cs,
                  in_cs);
          });
        }
      }
    });
  });
}

// Backward-input with vectors of W input channels (narrow images with many channels: CIFAR's 16x16
// and 8x8, where rows of positions waste lanes), through chan_tile_any (conv_microkernels.h): for
// each phase plane, pixel (i, j) of the plane gathers sum_oc sum_t w[oc][ic][t] * dy_wide[oc][i *
// plane_w + j + off[t]] for a vector of input channels ic, which is the forward's chan_tile on dy's
// wide layout with the plane's taps sorted by offset (plane_taps_by_offset). Work item = (image,
// group, plane, block of W input channels, pair of the plane's image rows). wp holds
// the weights from pack_transposed_channel_weights; dyw holds dy in a wide layout of `front` zeros
// and `cs` elements per channel (the compact one of channel_wide_layout, or the wide layout's).
template <typename T>
void conv_backward_input_channels(const ConvGeom& g, const ConvPlan& p, const T* dyw,
                                  std::int64_t front, std::int64_t cs, const T* wp,
                                  const PlaneTapOrder& order, T* dx) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G;
  const std::int64_t nib = ceil_div(cig, W);
  const std::int64_t in_cs = g.H * g.W;
  // (two image rows per tile: three, as the forward's chan_tile_rows3, measured 1-3 % slower
  // here, benchmarks/PERFORMANCE.md)
  const std::int64_t nrp = ceil_div(max_image_rows_per_plane(g, p), 2);
  std::vector<int> row_taps(static_cast<std::size_t>(p.planes));
  for (std::int64_t pl = 0; pl < p.planes; ++pl)
    row_taps[pl] = adjacent_tap_run(order.offs.data() + p.plane_begin[pl],
                                    p.plane_begin[pl + 1] - p.plane_begin[pl]);
  const double fmas = double(g.N) * g.C_in * in_cs * cog * p.taps / p.planes;
  // the zeros (dy's margins) each tile position of chan_tile_rows reads, [row pair][segment]; one
  // plane (stride 1) only, whose image rows and columns all tiles share
  std::int64_t row0, row1, col0, col1;
  valid_range(g.SH, 0, g.PH0, g.H, p.plane_h, &row0, &row1);
  valid_range(g.SW, 0, g.PW0, g.W, p.plane_w, &col0, &col1);
  const bool one_plane = p.planes == 1 && row_taps[0] != 0 && col1 > col0;
  const int rc1 = one_plane ? channel_tile_columns(col1 - col0) : 1;
  const std::int64_t nseg = one_plane ? ceil_div(col1 - col0, rc1) : 0;
  std::vector<TileEdges> edges(static_cast<std::size_t>(std::max<std::int64_t>(1, nrp * nseg)));
  for (std::int64_t rp = 0; rp < nrp && nseg > 0; ++rp) {
    const std::int64_t i0 = row0 + 2 * rp;
    if (i0 >= row1) continue;
    for (std::int64_t sg = 0; sg < nseg; ++sg)
      edges[rp * nseg + sg] = chan_tile_edges(
          i0 * p.plane_w + col0 + sg * rc1 - p.wide_front,
          static_cast<int>(std::min<std::int64_t>(2, row1 - i0)), rc1, row_taps[0],
          p.taps / row_taps[0], order.offs.data(), p.plane_w, 0, g.OH, 0, g.OW);
  }
  parallel_for(g.N * g.G * p.planes * nib * nrp, fmas, [&](std::int64_t it) {
    const std::int64_t rp = it % nrp;
    std::int64_t r = it / nrp;
    const std::int64_t b = r % nib;
    r /= nib;
    const std::int64_t pl = r % p.planes;
    r /= p.planes;
    const std::int64_t grp = r % g.G, n = r / g.G;
    const std::int64_t ph = pl / g.SW, pw = pl % g.SW;
    std::int64_t ilo, ihi, jlo, jhi;
    valid_range(g.SH, ph, g.PH0, g.H, p.plane_h, &ilo, &ihi);
    valid_range(g.SW, pw, g.PW0, g.W, p.plane_w, &jlo, &jhi);
    const std::int64_t i0 = ilo + 2 * rp;
    if (i0 >= ihi || jlo >= jhi) return;
    const int nr = static_cast<int>(std::min<std::int64_t>(2, ihi - i0));
    const int ib = static_cast<int>(std::min<std::int64_t>(W, cig - b * W));
    const std::int64_t t0 = p.plane_begin[pl], ntp = p.plane_begin[pl + 1] - t0;
    const std::int64_t cols = jhi - jlo;
    // (order.offs are offsets in the wide layout, whose front is wide_front)
    const T* in =
        dyw + (n * g.C_out + grp * cog) * cs + front - p.wide_front + i0 * p.plane_w + jlo;
    const T* wb = transposed_weight_block(g, p, wp, grp, pl, b, W);
    T* out = dx + (n * g.C_in + grp * cig + b * W) * in_cs;
    alignas(64) T tbuf[2 * kChannelTileColumns * W];
    with_count<kChannelTileColumns>(channel_tile_columns(cols), [&](auto RCc) {
      constexpr int RC = decltype(RCc)::value;
      for (std::int64_t j0 = 0; j0 < cols; j0 += RC) {
        const TileEdges& e = nseg > 0 ? edges[rp * nseg + j0 / RC] : edges[0];
        chan_tile_any<T, RC>(row_taps[pl], nr, in + j0, cs, cog, order.offs.data() + t0, ntp,
                             p.plane_w, e, wb, tbuf);
        const int nc = static_cast<int>(std::min<std::int64_t>(RC, cols - j0));
        if (g.SH == 1 && g.SW == 1) {  // the plane's rows are dx's rows: the forward's store
          store_channel_tile_rc<T, RC>(tbuf, W, nr, nc, ib,
                                       out + (i0 - g.PH0) * g.W + jlo + j0 - g.PW0, in_cs, g.W,
                                       nullptr);
          continue;
        }
        for (int rr = 0; rr < nr; ++rr) {
          T* d = out + ((i0 + rr) * g.SH + ph - g.PH0) * g.W + (jlo + j0) * g.SW + pw - g.PW0;
          for (int o = 0; o < ib; ++o)
            for (int j = 0; j < nc; ++j) d[o * in_cs + j * g.SW] = tbuf[(rr * RC + j) * W + o];
        }
      }
    });
  });
}

// Backward-input through corr_tile over chunks of each phase plane: work item = (image, group,
// chunk, plane, block of kBlockChannels input channels). dyw holds dy in the wide layout and wp the
// transposed weight blocks already. Exact: leave out the products with dy's zero margins and
// discarded columns (for non-finite weights; see conv.cpp).
template <typename T, bool Exact>
void conv_backward_input_planes(const ConvGeom& g, const ConvPlan& p, const T* dyw, const T* wp,
                                T* dx, std::int64_t max_rows) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, taps = p.taps;
  const std::int64_t nib = ceil_div(cig, kBlockChannels);
  const std::int64_t in_cs = g.H * g.W;
  // exact mode: 1 where dy's wide layout holds data, 0 at its zeros
  const std::vector<T> valid =
      Exact ? wide_layout_validity<T>(g, p, p.wide_front, p.wide_channel_size) : std::vector<T>();
  const std::int64_t chunk = 2 * kTileUnit * W;  // positions per work item
  const std::int64_t nchunks =
      std::max<std::int64_t>(1, ceil_div(max_rows * p.plane_w + W, chunk));
  const double fmas = double(g.N) * g.C_in * p.plane_size * p.planes * cog * taps / p.planes;
  parallel_for(g.N * g.G * p.planes * nchunks * nib, fmas, [&](std::int64_t it) {
    // consecutive items: the planes of one chunk, which all read the same rows of dy
    const std::int64_t b = it % nib;
    std::int64_t r = it / nib;
    const std::int64_t pl = r % p.planes;
    r /= p.planes;
    const std::int64_t ck = r % nchunks;
    r /= nchunks;
    const std::int64_t grp = r % g.G, n = r / g.G;
    const std::int64_t ph = pl / g.SW, pw = pl % g.SW;
    std::int64_t ilo, ihi, jlo, jhi;
    valid_range(g.SH, ph, g.PH0, g.H, p.plane_h, &ilo, &ihi);
    valid_range(g.SW, pw, g.PW0, g.W, p.plane_w, &jlo, &jhi);
    // chunks start on a vector boundary of the plane (as the forward's tiles do), so the loads
    // of consecutive taps keep the same alignment pattern -- unless that costs an extra tile
    const std::int64_t first = ilo * p.plane_w, aligned = first / W * W, small = 3 * W;
    const std::int64_t base = ceil_div(ihi * p.plane_w - aligned, small) ==
                                      ceil_div(ihi * p.plane_w - first, small)
                                  ? aligned
                                  : first;
    const std::int64_t pbeg = base + ck * chunk;
    const std::int64_t pend = std::min(ihi * p.plane_w, pbeg + chunk);
    if (pbeg >= pend || jlo >= jhi) return;
    const std::int64_t t0 = p.plane_begin[pl], ntp = p.plane_begin[pl + 1] - t0;
    const int ob =
        static_cast<int>(std::min<std::int64_t>(kBlockChannels, cig - b * kBlockChannels));
    const T* in = dyw + (n * g.C_out + grp * cog) * p.wide_channel_size;
    const T* wb = transposed_weight_block(g, p, wp, grp, pl, b);
    T* out = dx + (n * g.C_in + grp * cig + b * kBlockChannels) * in_cs;
    alignas(64) T tbuf[kAccumulators * W];
    with_count<kBlockChannels>(ob, [&](auto OBc) {
      constexpr int OB = decltype(OBc)::value, RB = rb_for<OB>(), TILE = RB * W;
      auto scatter = [&](std::int64_t p0, std::int64_t tile) {
        scatter_plane_tile(g, p.plane_w, ph, pw, jlo, jhi, tbuf, tile, ob, p0, tile,
                           ilo * p.plane_w, pend, out, in_cs);
      };
      const std::int64_t* roff = p.plane_tap_wide_offset.data() + t0;
      std::int64_t p0 = pbeg;
      for (; p0 + TILE - W < pend; p0 += TILE) {  // tiles that need all RB vectors
        corr_tile<T, OB, RB, Exact>(in + p0, p.wide_channel_size, cog, roff, ntp, nullptr, 0, wb,
                                    tbuf, Exact ? valid.data() + p0 : nullptr);
        scatter(p0, TILE);
      }
      if (p0 < pend) {  // the last tile: only the vectors it needs
        with_count<RB - 1>(static_cast<int>(ceil_div(pend - p0, W)), [&](auto Rc) {
          constexpr int R = decltype(Rc)::value;
          corr_tile<T, OB, R, Exact>(in + p0, p.wide_channel_size, cog, roff, ntp, nullptr, 0, wb,
                                     tbuf, Exact ? valid.data() + p0 : nullptr);
          scatter(p0, R * W);
        });
      }
    });
  });
}

// The compact wide layout of dy for the channel-vectorised input gradient: the wide layout's rows
// (element (oh, ow) at front + oh * plane_w + ow), but each channel only as long as the tiles read
// (the wide layout adds wide_front and kConvSlack for the wide rows' tiles: 272 elements per
// channel on 8x8, where the tiles read 100), so that an image's dy stays in L1 while the blocks of
// input channels sweep it in turn (64 channels of 8x8: 32 KiB instead of 68). The channel size is
// an odd number of cache lines, so the rows that one tile reads from consecutive channels fall into
// different cache sets. Falls back to the wide layout's front and size (front = wide_front) where
// that is not longer.
struct ChannelWideLayout {
  std::int64_t front = 0, cs = 0;
};

template <typename T>
ChannelWideLayout channel_wide_layout(const ConvGeom& g, const ConvPlan& p) {
  constexpr int W = Vec<T>::width;
  constexpr std::int64_t kLine = 64 / sizeof(T);
  // [lo, hi): the wide-layout elements the tiles read (conv_backward_input_channels: tap offsets
  // from the plane's image pixels, columns up to whole tiles), and all of dy's rows
  std::int64_t lo = p.wide_front, hi = p.wide_front + p.wide_outputs;
  for (std::int64_t pl = 0; pl < p.planes; ++pl) {
    std::int64_t ilo, ihi, jlo, jhi;
    valid_range(g.SH, pl / g.SW, g.PH0, g.H, p.plane_h, &ilo, &ihi);
    valid_range(g.SW, pl % g.SW, g.PW0, g.W, p.plane_w, &jlo, &jhi);
    if (ilo >= ihi || jlo >= jhi) continue;
    const std::int64_t rc = channel_tile_columns(jhi - jlo);
    const std::int64_t span = ceil_div(jhi - jlo, rc) * rc;  // columns the tiles compute
    for (std::int64_t k = p.plane_begin[pl]; k < p.plane_begin[pl + 1]; ++k) {
      const std::int64_t off = p.plane_tap_wide_offset[k];
      lo = std::min(lo, off + ilo * p.plane_w + jlo);
      hi = std::max(hi, off + (ihi - 1) * p.plane_w + jlo + span);
    }
  }
  lo = std::max<std::int64_t>(0, lo / W * W);
  ChannelWideLayout L;
  L.front = p.wide_front - lo;
  L.cs = ceil_div(hi - lo, kLine) * kLine;
  if (L.cs / kLine % 2 == 0) L.cs += kLine;
  if (L.cs >= p.wide_channel_size) L.front = p.wide_front, L.cs = p.wide_channel_size;
  return L;
}

// The channel-vectorised input gradient (conv_backward_input_channels) on dy in a wide layout of
// `front` and `cs` (channel_wide_layout's or the wide layout's); wp: scratch for its weights.
template <typename T>
void conv_backward_input_channel_path(const ConvGeom& g, const ConvPlan& p, const T* w, T* dx,
                                      const T* dyw, std::int64_t front, std::int64_t cs, T* wp) {
  const PlaneTapOrder order = plane_taps_by_offset(p);
  pack_transposed_channel_weights(g, p, order, Vec<T>::width, w, wp);
  conv_backward_input_channels(g, p, dyw, front, cs, wp, order, dx);
}

// dx = conv_transpose(dy, w) on dy already in the wide layout (dyw, with its margins); wp: scratch
// for the transposed weight blocks. The choice of path: the exact mode (non-finite weights) always
// takes the per-plane kernel, which has a mode that leaves out the products with structural zeros;
// otherwise the channel-vectorised kernel where it computes less (use_channel_backward_input),
// else small planes take the across-images kernel (use_images_backward_input, conv_schedule.h).
template <typename T>
void conv_backward_input_packed(const ConvGeom& g, const ConvPlan& p, const T* w, T* dx,
                                const T* dyw, T* wp, bool exact) {
  const std::int64_t max_rows = max_image_rows_per_plane(g, p);
  if (!exact && use_channel_backward_input<T>(g, p)) {
    conv_backward_input_channel_path(g, p, w, dx, dyw, p.wide_front, p.wide_channel_size, wp);
    return;
  }
  pack_transposed_weight_blocks(g, p, w, wp);
  if (exact) {
    conv_backward_input_planes<T, true>(g, p, dyw, wp, dx, max_rows);
  } else if (use_images_backward_input<T>(g, p, max_rows)) {
    conv_backward_input_images(g, p, dyw, wp, dx);
  } else {
    conv_backward_input_planes<T, false>(g, p, dyw, wp, dx, max_rows);
  }
}

// dx = conv_transpose(dy, w). dyw: scratch for the wide layout of dy (the channel-vectorised
// kernel's compact one is no longer).
template <typename T>
void conv_backward_input(const ConvGeom& g, const ConvPlan& p, const T* dy, const T* w, T* dx,
                         T* dyw, T* wp, bool exact) {
  if (!exact && use_channel_backward_input<T>(g, p)) {
    const ChannelWideLayout L = channel_wide_layout<T>(g, p);
    conv_pack_wide(g, p, dy, dyw, true, L.front, L.cs);
    conv_backward_input_channel_path(g, p, w, dx, dyw, L.front, L.cs, wp);
    return;
  }
  conv_pack_wide(g, p, dy, dyw, true);
  conv_backward_input_packed(g, p, w, dx, dyw, wp, exact);
}
