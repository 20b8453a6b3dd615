// The forward convolution driver, y = conv(x, w) + bias: the input is copied into the phase layout
// once, then one of two micro-kernel paths runs (conv_microkernels.h):
//   wide rows  (corr_tile): vectors of output positions along wide rows x blocks of output
//              channels;
//   channels   (chan_tile): vectors of output channels, for narrow outputs, where wide rows would
//              discard much of their work (LeNet's 5x5 on 14x14 keeps 10 of 14 columns).
// Included by conv_kernels.h inside the ISA namespace.

// The forward for narrow outputs, through chan_tile / chan_tile_rows (conv_microkernels.h): work
// item = (image, group, block of W output channels, pair of output rows). xq holds the input in
// the phase layout already.
template <typename T>
void conv_forward_channels(const ConvGeom& g, const ConvPlan& p, const T* w, const T* bias, T* y,
                           const T* xq, T* wp) {
  constexpr int W = Vec<T>::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, taps = p.taps;
  const std::int64_t nob = ceil_div(cog, W);
  // wp[grp][block][ic][tap][W]: one weight vector per (input channel, tap)
  pack_weight_blocks(g, taps, W, w, wp);
  const int rc = channel_tile_columns(g.OW);
  const std::int64_t nseg = ceil_div(g.OW, rc), nrp = ceil_div(g.OH, 2);
  // rows of 3 or 5 adjacent taps take chan_tile_rows (adjacent_tap_run, conv_schedule.h)
  const int row_taps = adjacent_tap_run(p.tap_offset.data(), taps);
  const std::int64_t out_cs = g.OH * g.OW;
  const double fmas = double(g.N) * g.C_out * out_cs * cig * taps;
  parallel_for(g.N * g.G * nob * nrp, fmas, [&](std::int64_t it) {
    const std::int64_t rp = it % nrp;
    std::int64_t r = it / nrp;
    const std::int64_t b = r % nob;
    r /= nob;
    const std::int64_t grp = r % g.G, n = r / g.G;
    const std::int64_t oh0 = 2 * rp, oc0 = grp * cog + b * W;
    const int nr = static_cast<int>(std::min<std::int64_t>(2, g.OH - oh0));
    const int ob = static_cast<int>(std::min<std::int64_t>(W, cog - b * W));
    const T* in = xq + (n * g.C_in + grp * cig) * p.phase_channel_size + oh0 * p.plane_w;
    const T* wb = wp + (grp * nob + b) * cig * taps * W;
    T* out = y + (n * g.C_out + oc0) * out_cs + oh0 * g.OW;
    alignas(64) T tbuf[2 * kChannelTileColumns * W];
    with_count<kChannelTileColumns>(rc, [&](auto RCc) {
      constexpr int RC = decltype(RCc)::value;
      for (std::int64_t sg = 0; sg < nseg; ++sg) {
        const std::int64_t ow0 = sg * RC;
        chan_tile_any<T, RC>(row_taps, nr, in + ow0, p.phase_channel_size, cig,
                             p.tap_offset.data(), taps, p.plane_w, wb, tbuf);
        const int nc = static_cast<int>(std::min<std::int64_t>(RC, g.OW - ow0));
        for (int o = 0; o < ob; ++o) {
          const T bo = bias ? bias[oc0 + o] : T(0);
          for (int rr = 0; rr < nr; ++rr) {
            T* d = out + o * out_cs + rr * g.OW + ow0;
            for (int j = 0; j < nc; ++j) d[j] = tbuf[(rr * RC + j) * W + o] + bo;
          }
        }
      }
    });
  });
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

// y = conv(x, w) + bias on the input already in the phase layout (xq); wp: scratch for the packed
// weights. The one choice of path: the exact mode (non-finite weights) always takes the wide-row
// kernel, which has a mode that leaves out the products with structural zeros; otherwise narrow
// outputs take the channel kernel (use_channel_forward, conv_schedule.h).
template <typename T>
void conv_forward_packed(const ConvGeom& g, const ConvPlan& p, const T* w, const T* bias, T* y,
                         const T* xq, T* wp, bool exact) {
  if (exact) {
    conv_forward_wide<T, true>(g, p, w, bias, y, xq, wp);
  } else if (use_channel_forward<T>(g, p)) {
    conv_forward_channels(g, p, w, bias, y, xq, wp);
  } else {
    conv_forward_wide<T, false>(g, p, w, bias, y, xq, wp);
  }
}

// y = conv(x, w) + bias (bias may be null). xq: scratch for the phase layout of x.
template <typename T>
void conv_forward(const ConvGeom& g, const ConvPlan& p, const T* x, const T* w, const T* bias,
                  T* y, T* xq, T* wp, bool exact) {
  static_assert(8 * Vec<T>::width <= kConvSlack, "tile longer than the layout slack");
  conv_pack_input(g, p, x, xq);
  conv_forward_packed(g, p, w, bias, y, xq, wp, exact);
}
