// The forward convolution driver, y = conv(x, w) + bias: one of two micro-kernel paths
// (conv_microkernels.h), each on its own copy of the input (the pair tiles read x itself):
//   wide rows  (corr_tile): vectors of output positions along wide rows x blocks of output
//              channels, on the phase layout (conv_pack_input);
//   channels   (chan_tile, chan_tile_rows, chan_tile_pair): vectors of output channels, for narrow
//              outputs, where wide rows would discard much of their work (LeNet's 5x5 on 14x14
//              keeps 10 of 14 columns; 3x3 on 8x8 keeps 8 of 10), on the bare phase planes
//              (pack_channel_planes), or on x itself (chan_tile_pair: pair_reads_image;
//              chan_tile_rows: TileEdges::inside).
// Included by conv_kernels.h inside the ISA namespace.

// The forward for narrow outputs, through chan_tile / chan_tile_rows (chan_tile_any) or
// chan_tile_pair (conv_microkernels.h): work item = (image, group, block of `lanes` output
// channels, pair of output rows). chan_tile and chan_tile_rows read x copied into its own plane
// layout in xq (pack_channel_planes, conv_packing.h; copying image by image inside the items,
// while the copy is still in cache, measured no faster), or x itself where every pixel they read
// and do not leave out (TileEdges) is in the image; chan_tile_pair reads x itself where the
// column stride allows (pair_reads_image), leaving out the taps' pixels in the padding (TapSpan,
// per tile position), else the planes too.
template <typename T>
void conv_forward_channels(const ConvGeom& g, const ConvPlan& p, const T* x, const T* w,
                           const T* bias, T* y, T* xq, T* wp) {
  constexpr int W = Vec<T>::width;
  constexpr int kChannelTileElements = kAccumulators * W;
  const std::int64_t cs = channel_forward_stride<T>(p);
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, taps = p.taps;
  // rows of 3 or 5 adjacent taps take chan_tile_rows (adjacent_tap_run, conv_schedule.h); the
  // other taps two vectors of channels where they fit (channel_forward_vectors)
  const int row_taps = adjacent_tap_run(p.tap_offset.data(), taps);
  const int vectors = channel_forward_vectors<T>(g, row_taps);
  const int lanes = vectors * W;
  const bool direct = vectors == 2 && pair_reads_image(g);
  const std::int64_t nob = ceil_div(cog, lanes);
  // wp[grp][block][ic][tap][lanes]: the weight vectors of one (input channel, tap)
  pack_weight_blocks(g, taps, lanes, w, wp);
  const int rc = vectors == 1 ? channel_tile_columns(g.OW) : pair_tile_columns(g.OW);
  const int tile_rows = channel_forward_tile_rows(row_taps, rc);
  const std::int64_t nseg = ceil_div(g.OW, rc), nrp = ceil_div(g.OH, tile_rows);
  const std::int64_t out_cs = g.OH * g.OW;
  const double fmas = double(g.N) * g.C_out * out_cs * cig * taps;
  std::vector<std::int64_t> jrange(2 * g.SW);  // per column phase: first, end of image columns
  for (std::int64_t pw = 0; pw < g.SW; ++pw)
    valid_range(g.SW, pw, g.PW0, g.W, p.plane_w, &jrange[2 * pw], &jrange[2 * pw + 1]);
  // the zeros each tile position of chan_tile_rows reads (one plane: stride 1), [row pair][seg]
  std::vector<TileEdges> edges(static_cast<std::size_t>(nrp * nseg));
  if (vectors == 1 && row_taps != 0 && p.planes == 1)
    for (std::int64_t rp = 0; rp < nrp; ++rp)
      for (std::int64_t sg = 0; sg < nseg; ++sg)
        edges[rp * nseg + sg] = chan_tile_edges(
            tile_rows * rp * p.plane_w + sg * rc,
            static_cast<int>(std::min<std::int64_t>(tile_rows, g.OH - tile_rows * rp)), rc,
            row_taps, taps / row_taps, p.tap_offset.data(), p.plane_w, g.PH0,
            std::min(p.plane_h, g.PH0 + g.H), jrange[0], jrange[1]);
  // The row tiles read x itself too where every tile position reads only image pixels besides
  // the zeros it leaves out (TileEdges::inside: padding of at most 1, whole tiles of columns, as
  // the 8x8 and 16x16 layers of CIFAR networks): the plane copy was 5 % of the 3x3 64->64 8x8
  // forward (Zen 4, perf).
  bool rows_direct = vectors == 1 && row_taps != 0 && p.planes == 1;
  for (const TileEdges& e : edges) rows_direct = rows_direct && e.inside;
  // Tiles on x itself: each tap's offset in x from its output pixel's corner (image row
  // oh*SH - PH0, column ow*SW - PW0); for the pair tiles, per tile position [row pair][seg] the
  // taps' spans, or none (clipped 0) where every tap reads the image only
  std::vector<std::int64_t> xoff;
  std::vector<TapSpan> spans;
  std::vector<char> clipped;
  if (direct || rows_direct) {
    xoff.resize(taps);
    for (std::int64_t kh = 0; kh < g.KH; ++kh)
      for (std::int64_t kw = 0; kw < g.KW; ++kw)
        xoff[kh * g.KW + kw] = kh * g.DH * g.W + kw * g.DW;
  }
  if (direct) {
    spans.resize(static_cast<std::size_t>(nrp * nseg * taps));
    clipped.resize(static_cast<std::size_t>(nrp * nseg));
    for (std::int64_t rp = 0; rp < nrp; ++rp)
      for (std::int64_t sg = 0; sg < nseg; ++sg)
        clipped[rp * nseg + sg] = pair_tile_spans(
            g, 2 * rp, static_cast<int>(std::min<std::int64_t>(2, g.OH - 2 * rp)), sg * rc,
            static_cast<int>(std::min<std::int64_t>(rc, g.OW - sg * rc)),
            &spans[(rp * nseg + sg) * taps]);
  }
  const bool prefetch = pair_tile_prefetch(g);
  auto item = [&](std::int64_t it) {
    const std::int64_t rp = it % nrp;
    std::int64_t r = it / nrp;
    const std::int64_t b = r % nob;
    r /= nob;
    const std::int64_t grp = r % g.G, n = r / g.G;
    const std::int64_t oh0 = tile_rows * rp, oc0 = grp * cog + b * lanes;
    const int nr = static_cast<int>(std::min<std::int64_t>(tile_rows, g.OH - oh0));
    const int ob = static_cast<int>(std::min<std::int64_t>(lanes, cog - b * lanes));
    // the tile rows' corner pixel in x, which may lie in the padding before x (address_offset)
    const T* image = address_offset(x + (n * g.C_in + grp * cig) * g.H * g.W,
                                    (oh0 * g.SH - g.PH0) * g.W - g.PW0);
    const T* in = xq + (n * g.C_in + grp * cig) * cs + oh0 * p.plane_w;
    const T* wb = wp + (grp * nob + b) * cig * taps * lanes;
    T* out = y + (n * g.C_out + oc0) * out_cs + oh0 * g.OW;
    const T* bb = bias ? bias + oc0 : nullptr;
    alignas(64) T tbuf[kChannelTileElements];  // (every tile: at most kAccumulators vectors)
    if (vectors == 1) {
      with_count<kChannelTileColumns>(rc, [&](auto RCc) {
        constexpr int RC = decltype(RCc)::value;
        // x itself or its planes: channel stride, offsets of the taps, row pitch
        const std::int64_t ics = rows_direct ? g.H * g.W : cs;
        const std::int64_t* offs = rows_direct ? xoff.data() : p.tap_offset.data();
        const std::int64_t pitch = rows_direct ? g.W : p.plane_w;
        for (std::int64_t sg = 0; sg < nseg; ++sg) {
          const std::int64_t ow0 = sg * RC;
          const TileEdges& e = edges[rp * nseg + sg];
          const T* at = rows_direct ? address_offset(image, ow0) : in + ow0;
          if constexpr (3 * RC <= kAccumulators) {
            if (nr == 3) {
              chan_tile_rows3<T, RC>(row_taps, at, ics, cig, offs, taps, pitch, e, wb, tbuf);
            } else {
              chan_tile_any<T, RC>(row_taps, nr, at, ics, cig, offs, taps, pitch, e, wb, tbuf);
            }
          } else {
            chan_tile_any<T, RC>(row_taps, nr, at, ics, cig, offs, taps, pitch, e, wb, tbuf);
          }
          store_channel_tile_rc<T, RC>(tbuf, lanes, nr, std::min<std::int64_t>(RC, g.OW - ow0), ob,
                                       out + ow0, out_cs, g.OW, bb);
        }
      });
    } else {
      // segments of rc columns, then the rest in a narrower tile: no column computed and dropped
      const std::int64_t full = g.OW / rc;
      auto pair_segment = [&](auto RCc, std::int64_t sg) {
        constexpr int RC = decltype(RCc)::value;
        const std::int64_t ow0 = sg * rc;
        // one tile of NR rows, SC the step between its columns' pixels; spans null (a constant
        // after inlining) where no tap reads padding
        auto tile = [&](auto NRc, auto SCc, const T* at, std::int64_t cstride,
                        const std::int64_t* offs, std::int64_t pitch, const TapSpan* sp)
            __attribute__((always_inline)) {
          if (prefetch) {
            chan_tile_pair<T, decltype(NRc)::value, RC, decltype(SCc)::value, true>(
                at, cstride, cig, offs, taps, pitch, sp, wb, tbuf);
          } else {
            chan_tile_pair<T, decltype(NRc)::value, RC, decltype(SCc)::value, false>(
                at, cstride, cig, offs, taps, pitch, sp, wb, tbuf);
          }
        };
        auto rows = [&](auto SCc, const T* at, std::int64_t cstride, const std::int64_t* offs,
                        std::int64_t pitch, const TapSpan* sp) __attribute__((always_inline)) {
          if (nr == 2) {
            tile(IntC<2>{}, SCc, at, cstride, offs, pitch, sp);
          } else {
            tile(IntC<1>{}, SCc, at, cstride, offs, pitch, sp);
          }
        };
        if (direct) {
          const std::int64_t pos = rp * nseg + sg;
          const T* at = address_offset(image, ow0 * g.SW);
          auto on_x = [&](auto SCc) __attribute__((always_inline)) {
            if (clipped[pos]) {
              rows(SCc, at, g.H * g.W, xoff.data(), g.SH * g.W, &spans[pos * taps]);
            } else {
              rows(SCc, at, g.H * g.W, xoff.data(), g.SH * g.W, nullptr);
            }
          };
          if (g.SW == 2) {
            on_x(IntC<2>{});
          } else {
            on_x(IntC<1>{});
          }
        } else {
          rows(IntC<1>{}, in + ow0, cs, p.tap_offset.data(), p.plane_w, nullptr);
        }
        store_channel_tile_rc<T, RC>(tbuf, lanes, nr, RC, ob, out + ow0, out_cs, g.OW, bb);
      };
      with_count<kChannelTileColumns / 2>(rc, [&](auto RCc) {
        for (std::int64_t sg = 0; sg < full; ++sg) pair_segment(RCc, sg);
      });
      if (full * rc < g.OW)
        with_count<kChannelTileColumns / 2>(static_cast<int>(g.OW - full * rc), [&](auto RCc) {
          pair_segment(RCc, full);
        });
    }
  };
  const std::int64_t x_size = g.N * g.C_in * g.H * g.W;
  auto pack = [&](std::int64_t nc) {
    pack_channel_planes(g, p, jrange.data(), x + nc * g.H * g.W, x_size - nc * g.H * g.W,
                        xq + nc * cs);
  };
  if (!direct && !rows_direct) parallel_for(g.N * g.C_in, double(g.N) * g.C_in * cs, pack);
  parallel_for(g.N * g.G * nob * nrp, fmas, item);
}


// The forward through corr_tile over wide rows: work item = (image, group, chunk of output
// positions, block of kBlockChannels output channels); each tile of RB vectors of positions is
// stored into y by store_wide_tile, which drops the discarded columns and adds the bias. xq holds
// the input in the phase layout already. Exact: leave out the products with the padding and slack
// (for non-finite weights; see conv.cpp).
template <typename T, bool Exact>
void conv_forward_wide(const ConvGeom& g, const ConvPlan& p, const T* w, const T* bias, T* y,
                       const T* xq, T* wp) {
  constexpr int W = Vec<T>::width;
  const std::vector<T> valid = Exact ? phase_layout_validity<T>(g, p) : std::vector<T>();
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, taps = p.taps;
  const std::int64_t nob = ceil_div(cog, kBlockChannels);
  // wp[grp][block][ic][tap][kBlockChannels]: the weights one register block broadcasts, in loop
  // order
  pack_weight_blocks(g, taps, kBlockChannels, w, wp);
  const std::int64_t chunk = 2 * kTileUnit * W;  // positions per work item
  const std::int64_t nqc = ceil_div(p.wide_outputs, chunk);
  const std::int64_t out_cs = g.OH * g.OW;
  const std::vector<std::int64_t> streams =
      prefetch_streams(p.tap_offset.data(), taps, W, cig, sizeof(T));
  const std::int64_t nstreams = static_cast<std::int64_t>(streams.size());
  const double fmas = double(g.N) * g.C_out * p.wide_outputs * cig * taps;
  parallel_for(g.N * g.G * nqc * nob, fmas, [&](std::int64_t it) {
    const std::int64_t b = it % nob;
    std::int64_t r = it / nob;
    const std::int64_t qc = r % nqc;
    r /= nqc;
    const std::int64_t grp = r % g.G, n = r / g.G;
    const std::int64_t oc0 = grp * cog + b * kBlockChannels;
    const int ob =
        static_cast<int>(std::min<std::int64_t>(kBlockChannels, cog - b * kBlockChannels));
    const T* in = xq + (n * g.C_in + grp * cig) * p.phase_channel_size;
    const T* wb = wp + (grp * nob + b) * cig * taps * kBlockChannels;
    T* out = y + (n * g.C_out + oc0) * out_cs;
    const T* bb = bias ? bias + oc0 : nullptr;
    alignas(64) T tbuf[kAccumulators * W];
    const std::int64_t q_end = std::min(p.wide_outputs, (qc + 1) * chunk);
    with_count<kBlockChannels>(ob, [&](auto OBc) {
      constexpr int OB = decltype(OBc)::value, RB = rb_for<OB>(), TILE = RB * W;
      std::int64_t q0 = qc * chunk;
      for (; q0 + TILE - W < q_end; q0 += TILE) {  // tiles that need all RB vectors
        corr_tile<T, OB, RB, Exact>(in + q0, p.phase_channel_size, cig, p.tap_offset.data(), taps,
                                    streams.data(), nstreams, wb, tbuf,
                                    Exact ? valid.data() + q0 : nullptr);
        store_wide_tile(tbuf, TILE, ob, q0, p.wide_outputs, p.plane_w, g.OW, out, out_cs, bb);
      }
      if (q0 < q_end) {  // the last tile of an image: only the vectors it needs
        with_count<RB - 1>(static_cast<int>(ceil_div(q_end - q0, W)), [&](auto Rc) {
          constexpr int R = decltype(Rc)::value;
          corr_tile<T, OB, R, Exact>(in + q0, p.phase_channel_size, cig, p.tap_offset.data(), taps,
                                     streams.data(), nstreams, wb, tbuf,
                                     Exact ? valid.data() + q0 : nullptr);
          store_wide_tile(tbuf, R * W, ob, q0, p.wide_outputs, p.plane_w, g.OW, out, out_cs, bb);
        });
      }
    });
  });
}

// y = conv(x, w) + bias on the input already in the wide rows' phase layout (xq; the batch fold,
// conv_fold.h, packs its own); wp: scratch for the packed weights. The exact mode (non-finite
// weights) leaves out the products with structural zeros.
template <typename T>
void conv_forward_packed(const ConvGeom& g, const ConvPlan& p, const T* w, const T* bias, T* y,
                         const T* xq, T* wp, bool exact) {
  if (exact) {
    conv_forward_wide<T, true>(g, p, w, bias, y, xq, wp);
  } else {
    conv_forward_wide<T, false>(g, p, w, bias, y, xq, wp);
  }
}

// y = conv(x, w) + bias (bias may be null). xq: scratch for the input's copy; wp: for the packed
// weights. The one choice of path: the exact mode always takes the wide rows; otherwise narrow
// outputs take the channel kernel (use_channel_forward, conv_schedule.h), which copies the input
// into its own slack-free planes.
template <typename T>
void conv_forward(const ConvGeom& g, const ConvPlan& p, const T* x, const T* w, const T* bias,
                  T* y, T* xq, T* wp, bool exact) {
  static_assert(8 * Vec<T>::width <= kConvSlack, "tile longer than the layout slack");
  if (!exact && use_channel_forward<T>(g, p)) {
    conv_forward_channels(g, p, x, w, bias, y, xq, wp);
    return;
  }
  conv_pack_input(g, p, x, xq);
  conv_forward_packed(g, p, w, bias, y, xq, wp, exact);
}
