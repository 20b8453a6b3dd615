// The weight-gradient driver, dw[o][c][t] = sum_n sum_q dy[n][o][q] * x[n][c][q + tap_offset[t]]:
// the adjoint of the forward in w. Included by conv_kernels.h inside the ISA namespace.
//
// Both operands are copied once: x into the phase layout, dy into the wide layout (rows only, no
// margins). Then every dw element is a dot product over (sample, position), computed by weight_pass
// (conv_microkernels.h) in blocks of output channels x columns ((input channel, tap) pairs) of
// vector partial sums, over L1-sized chunks of positions that every (output block, column block)
// of a work item sweeps in turn; how blocks and work items are sized is plan_weight_gradient
// (conv_schedule.h).
//
// Each dw element is reduced by exactly one work item, lane by lane over (n, q) in order, then
// across lanes, whatever the thread count or grouping: the result is the same on any number of
// threads.
//
// Narrow images with more output channels than a vector (CIFAR's 16x16 and 8x8 layers) take
// conv_backward_weight_channels below instead, which vectorises over output channels (chosen by
// use_channel_weight_gradient, conv_schedule.h).

// Stores one block's vector partial sums (WO output channels x WT columns), each summed across its
// lanes, into dw (at output channel 0, input channel 0 of the item's input-channel block); column
// c of the block is (input channel col_ic[c], tap col_tap[c]). Not inlined: the same for both
// modes, and not hot.
template <typename T, int WO, int WT>
__attribute__((noinline)) void store_weight_block(const Vec<T>* acc, std::int64_t cig,
                                                  std::int64_t taps, const std::int64_t* col_ic,
                                                  const std::int64_t* col_tap, T* dw) {
  for (int o = 0; o < WO; ++o)
    for (int t = 0; t < WT; ++t)
      dw[(o * cig + col_ic[t]) * taps + col_tap[t]] = acc[o * WT + t].sum();
}

// The weight gradient, on x in the phase layout (xq) and dy in the wide layout (dyw). Exact:
// leave out the products with the input's padding and dy's discarded columns (run again in this
// mode when the plain sums came out NaN; see conv.cpp).
template <typename T, bool Exact>
void conv_backward_weight_blocks(const ConvGeom& g, const ConvPlan& p, T* dw, const T* xq,
                                 const T* dyw) {
  using V = Vec<T>;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, taps = p.taps;
  // split for the threads the work keeps busy (parallel_threads), not for idle ones
  const WeightGradSchedule s = plan_weight_gradient<T>(
      g, p, parallel_threads(INT64_MAX, double(g.N) * g.C_out * p.wide_outputs * cig * taps,
                             num_threads()));
  const int bo = s.block_channels, bt = s.block_taps;
  const std::int64_t nob = s.out_blocks, nicb = s.in_channel_blocks;
  const std::int64_t gsz = s.out_blocks_per_item, ncg = s.column_groups;
  const std::int64_t qn = s.positions, qstep = s.chunk_positions;
  const std::int64_t chunk_samples = s.chunk_samples;
  // The columns of a full input-channel block: (input channel, tap), taps in phase-plane order
  // (ConvPlan::plane_taps), so a block reads few planes: at stride 2 the kernel-row order spread
  // each block of 3x3's taps over 3-4 of the 4 planes. col_off: where a column reads, from the
  // block's first input channel.
  const std::int64_t max_cols = std::min<std::int64_t>(kWgradInputChannels, cig) * taps;
  std::vector<std::int64_t> col_ic(max_cols), col_tap(max_cols), col_off(max_cols);
  for (std::int64_t c = 0; c < max_cols; ++c) {
    col_ic[c] = c / taps;
    col_tap[c] = p.plane_taps[c % taps];
    col_off[c] = col_ic[c] * p.phase_channel_size + p.tap_offset[col_tap[c]];
  }
  // exact mode: 1 at the output positions (0 at discarded columns), 1 at the input's pixels (one
  // copy per input channel of a block, as the columns address them)
  const std::vector<T> validq_store =
      Exact ? wide_layout_validity<T>(g, p, 0, qn) : std::vector<T>();
  std::vector<T> validx_store;
  if (Exact) {
    const std::vector<T> one = phase_layout_validity<T>(g, p);
    for (std::int64_t ic = 0; ic < std::min<std::int64_t>(kWgradInputChannels, cig); ++ic)
      validx_store.insert(validx_store.end(), one.begin(), one.end());
  }
  const T* validq = Exact ? validq_store.data() : nullptr;
  const T* validx = Exact ? validx_store.data() : nullptr;
  const std::int64_t nobg = ceil_div(nob, gsz);
  const std::int64_t dy_ns = g.C_out * p.wide_channel_size, x_ns = g.C_in * p.phase_channel_size;
  // Work item = (group, output-block group, input-channel block, column group).
  const double fmas = double(g.N) * g.C_out * qn * cig * taps;
  parallel_for(g.G * nobg * nicb * ncg, fmas, [&](std::int64_t it) {
    const std::int64_t cg = it % ncg;
    std::int64_t r = it / ncg;
    const std::int64_t icb = r % nicb;
    r /= nicb;
    const std::int64_t obg = r % nobg, grp = r / nobg;
    const std::int64_t b0 = obg * gsz, b1 = std::min(nob, b0 + gsz);
    const std::int64_t ic0 = icb * kWgradInputChannels;
    const std::int64_t nic = std::min<std::int64_t>(kWgradInputChannels, cig - ic0);
    const std::int64_t ncb = column_block_count(nic, taps, bt);
    const std::int64_t cb0 = cg * ncb / ncg, cb1 = (cg + 1) * ncb / ncg;
    if (cb0 >= cb1) return;
    const T* x0 = xq + (grp * cig + ic0) * p.phase_channel_size;
    // the item's vector sums, [output block][column block][WO][WT]; kept per thread
    thread_local std::vector<V> acc_store;
    const std::size_t nacc =
        static_cast<std::size_t>((b1 - b0) * (cb1 - cb0) * kWgradAccumulators);
    if (acc_store.size() < nacc) acc_store.resize(nacc);
    std::fill(acc_store.begin(), acc_store.begin() + nacc, V::zero());
    // runs fn(IntC<WO>, IntC<WT>, dy rows of block b, its sums for column block cb, its columns'
    // input offsets, first output channel, first column) for output block b and column block cb
    auto with_block = [&](std::int64_t b, std::int64_t cb, auto&& fn) {
      const std::int64_t oc0 = grp * cog + b * bo;
      const int wo = static_cast<int>(std::min<std::int64_t>(bo, cog - b * bo));
      std::int64_t c0, c1;
      column_block(nic, taps, bt, cb, &c0, &c1);
      const int wt = static_cast<int>(c1 - c0);
      V* acc = acc_store.data() + ((b - b0) * (cb1 - cb0) + (cb - cb0)) * kWgradAccumulators;
      with_count<kWgradMaxBlockChannels>(wo, [&](auto WOc) {
        with_count<kWgradBlockTaps>(wt, [&](auto WTc) {
          // only shapes within the accumulator budget are instantiated; no other occurs, as
          // wo <= block_channels and wt <= block_taps (plan_weight_gradient)
          constexpr int WO = std::decay_t<decltype(WOc)>::value, WT = decltype(WTc)::value;
          if constexpr (WO * WT <= kWgradAccumulators)
            fn(WOc, WTc, dyw + oc0 * p.wide_channel_size + p.wide_front, acc, col_off.data() + c0,
               oc0, c0);
        });
      });
    };
    // An L1-sized chunk of (sample, position) pairs is swept by every (output block, column
    // block) in turn; one output block's dy rows stay in L1 while the input rows stream. A chunk
    // is part of one sample's positions, or several whole small samples.
    for (std::int64_t n0 = 0; n0 < g.N; n0 += chunk_samples) {
      const std::int64_t ns = std::min(chunk_samples, g.N - n0);
      const T* xn = x0 + n0 * x_ns;
      for (std::int64_t q0 = 0; q0 < qn; q0 += qstep) {
        const std::int64_t q1 = std::min(qn, q0 + qstep);
        for (std::int64_t b = b0; b < b1; ++b)
          for (std::int64_t cb = cb0; cb < cb1; ++cb)
            with_block(b, cb, [&](auto WOc, auto WTc, const T* dy0, V* acc,
                                  const std::int64_t* offs, std::int64_t, std::int64_t) {
              constexpr int WO = decltype(WOc)::value, WT = decltype(WTc)::value;
              weight_pass<T, WO, WT, Exact>(dy0 + n0 * dy_ns, p.wide_channel_size, xn, offs, q0,
                                            q1, acc, ns, dy_ns, x_ns, validq, validx);
            });
      }
    }
    for (std::int64_t b = b0; b < b1; ++b)
      for (std::int64_t cb = cb0; cb < cb1; ++cb)
        with_block(b, cb, [&](auto WOc, auto WTc, const T*, const V* acc, const std::int64_t*,
                              std::int64_t oc0, std::int64_t c0) {
          constexpr int WO = decltype(WOc)::value, WT = decltype(WTc)::value;
          store_weight_block<T, WO, WT>(acc, cig, taps, col_ic.data() + c0, col_tap.data() + c0,
                                        dw + (oc0 * cig + ic0) * taps);
        });
  });
}

// ---- The weight gradient with vectors of output channels (narrow images) ----
//
// dw[o][c][t] = sum_n sum_pixel dy[n][o][pixel] * x[n][c][q(pixel) + tap_offset[t]], with x in
// the phase layout (xq) and dy pixel-major with the output channels of each output tile innermost
// (copied here into dyc by pack_output_gradient_channels): weight_chan_pass (conv_microkernels.h)
// keeps blocks of OV vectors of output channels x K (input channel, tap) columns of sums, one dw
// element per lane, and adds one dy vector times one broadcast input value per pixel; the blocks
// and work items are plan_weight_gradient_channels' (conv_schedule.h). Each dw element is summed by
// one item, in one lane, over (sample, pixel) in order: the same on any number of threads.
//
// Stores the sums of one block (OV vectors x K columns, acc[v * K + k]) into dw: lane l of vector
// v is output channel oc0 + v*W + l (those below the group's cog), column k is (input channel
// col_ic[k], tap col_tap[k]); dw points at the group's first output and input channel. Not hot.
template <typename T, int OV, int K>
__attribute__((noinline)) void store_weight_channel_block(const Vec<T>* acc, std::int64_t oc0,
                                                          std::int64_t cog, std::int64_t cig,
                                                          std::int64_t taps,
                                                          const std::int64_t* col_ic,
                                                          const std::int64_t* col_tap, T* dw) {
  constexpr int W = Vec<T>::width;
  for (int v = 0; v < OV; ++v)
    for (int k = 0; k < K; ++k)
      for (int l = 0; l < W; ++l) {
        const std::int64_t oc = oc0 + v * W + l;
        if (oc < cog) dw[(oc * cig + col_ic[k]) * taps + col_tap[k]] = acc[v * K + k].v[l];
      }
}

template <typename T>
void conv_backward_weight_channels(const ConvGeom& g, const ConvPlan& p, T* dw, const T* xq,
                                   const T* dy, T* dyc) {
  using V = Vec<T>;
  constexpr int W = V::width;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, taps = p.taps;
  const std::int64_t pixels = g.OH * g.OW, ncols = cig * taps;
  const double fmas = double(g.N) * g.C_out * pixels * ncols;
  // split for the threads the work keeps busy (parallel_threads), not for idle ones
  const WeightChanSchedule s = plan_weight_gradient_channels<T>(
      g, p, parallel_threads(INT64_MAX, fmas, num_threads()));
  const int ov = s.vectors;
  const std::int64_t cogp = s.channels_padded, nt = s.out_tiles, ncb = s.column_blocks;
  const std::int64_t gs = s.tiles_per_item, ncg = s.column_groups, ntg = ceil_div(nt, gs);
  pack_output_gradient_channels(g, cogp, ov * W, dy, dyc);
  // column c = (input channel col_ic[c], tap col_tap[c]) reads x at col_off[c] from the group's
  // first input channel; taps in phase-plane order, so a block reads few planes
  std::vector<std::int64_t> col_ic(ncols), col_tap(ncols), col_off(ncols);
  for (std::int64_t c = 0; c < ncols; ++c) {
    col_ic[c] = c / taps;
    col_tap[c] = p.plane_taps[c % taps];
    col_off[c] = col_ic[c] * p.phase_channel_size + p.tap_offset[col_tap[c]];
  }
  // the row blocks (s.row_taps = KW): kernel row r is columns [r*KW, (r+1)*KW), its first tap
  // reading x at row_off[r]
  const int kw = s.row_taps;
  std::vector<std::int64_t> row_off(kw != 0 ? ncols / kw : 0);
  for (std::size_t r = 0; r < row_off.size(); ++r) row_off[r] = col_off[r * kw];
  // Where the row blocks meet the input's padding, to leave those products out (weight_chan_rows).
  // Rows: the taps of block row r read image rows only at the output rows [row_span[2r],
  // row_span[2r + 1]) (tap (kh, kw) of output row oh reads image row oh*SH + kh*DH - PH0).
  // Columns: with stride and dilation 1 along the width a row's broadcast u reads padded column
  // ow0 + u, the image's being [col0, col1) = [PW0, PW0 + W); otherwise (adjacent taps in
  // adjacent one-element planes, a stride clamped to the padded width) nothing is left out.
  std::vector<std::int64_t> row_span(2 * row_off.size());
  for (std::size_t r = 0; r < row_off.size(); ++r) {
    std::int64_t lo = g.OH, hi = 0;
    for (int k = 0; k < kw; ++k) {
      const std::int64_t kh = p.plane_taps[(r * kw + k) % taps] / g.KW;
      for (std::int64_t oh = 0; oh < g.OH; ++oh) {
        const std::int64_t ih = oh * g.SH + kh * g.DH - g.PH0;
        if (ih >= 0 && ih < g.H) {
          lo = std::min(lo, oh);
          hi = std::max(hi, oh + 1);
        }
      }
    }
    row_span[2 * r] = lo;
    row_span[2 * r + 1] = std::max(lo, hi);
  }
  const bool unit_cols = g.SW == 1 && g.DW == 1;
  const std::int64_t col0 = unit_cols ? g.PW0 : 0;
  const std::int64_t col1 = unit_cols ? g.PW0 + g.W : g.OW + kw;
  const std::int64_t dy_ns = g.G * pixels * cogp, x_ns = g.C_in * p.phase_channel_size;
  parallel_for(g.G * ntg * ncg, fmas, [&](std::int64_t it) {
    const std::int64_t cg = it % ncg;
    const std::int64_t tg = (it / ncg) % ntg, grp = it / (ncg * ntg);
    const std::int64_t t0 = tg * gs, t1 = std::min(nt, t0 + gs);
    const std::int64_t cb0 = cg * ncb / ncg, cb1 = (cg + 1) * ncb / ncg;
    if (cb0 >= cb1) return;
    // the item's sums, [output tile][column block][kAccumulators]; kept per thread
    thread_local std::vector<V> acc_store;
    const std::size_t nacc = static_cast<std::size_t>((t1 - t0) * (cb1 - cb0) * kAccumulators);
    if (acc_store.size() < nacc) acc_store.resize(nacc);
    std::fill(acc_store.begin(), acc_store.begin() + nacc, V::zero());
    // runs fn(IntC<OV>, IntC<K>, acc, first output channel, first column) for tile t, block cb
    auto with_block = [&](std::int64_t t, std::int64_t cb, auto&& fn) {
      const int vt = static_cast<int>(std::min<std::int64_t>(ov, ceil_div(cog, W) - t * ov));
      // (row blocks: balanced runs of whole kernel rows)
      const std::int64_t c0 = kw != 0 ? cb * (ncols / kw) / ncb * kw : cb * ncols / ncb;
      const std::int64_t c1 = kw != 0 ? (cb + 1) * (ncols / kw) / ncb * kw : (cb + 1) * ncols / ncb;
      V* acc = acc_store.data() + ((t - t0) * (cb1 - cb0) + (cb - cb0)) * kAccumulators;
      with_count<kWgradChannelVectors>(vt, [&](auto OVc) {
        with_count<kAccumulators>(static_cast<int>(c1 - c0), [&](auto Kc) {
          // only blocks within the registers are instantiated; no other occurs, as
          // vt <= vectors and c1 - c0 <= columns = kAccumulators / vectors
          constexpr int OV = decltype(OVc)::value, K = decltype(Kc)::value;
          if constexpr (OV * K <= kAccumulators) fn(OVc, Kc, acc, t * ov * W, c0);
        });
      });
    };
    const T* x0 = xq + grp * cig * p.phase_channel_size;
    const T* dy0 = dyc + grp * pixels * cogp;
    // chunks of whole samples, or runs of one sample's pixels, in (sample, pixel) order
    for (std::int64_t n0 = 0; n0 < g.N; n0 += s.chunk_samples) {
      const std::int64_t ns = std::min(s.chunk_samples, g.N - n0);
      for (std::int64_t p0 = 0; p0 < pixels; p0 += s.chunk_pixels) {
        const std::int64_t np = std::min(s.chunk_pixels, pixels - p0);
        for (std::int64_t cb = cb0; cb < cb1; ++cb)
          for (std::int64_t t = t0; t < t1; ++t)
            with_block(t, cb, [&](auto OVc, auto Kc, V* acc, std::int64_t oc0, std::int64_t c0) {
              constexpr int OV = decltype(OVc)::value, K = decltype(Kc)::value;
              const T* dyb = dy0 + n0 * dy_ns + oc0 * pixels;  // the tile's dy
              const T* xb = x0 + n0 * x_ns;
              if (kw == 0) {
                weight_chan_pass<T, OV, K>(dyb, dy_ns, xb, x_ns, col_off.data() + c0, p0,
                                           np, g.OW, p.plane_w, ns, acc);
                return;
              }
              // row blocks: only the shapes within the registers are instantiated
              auto rows = [&](auto KWc) {
                constexpr int KWv = decltype(KWc)::value;
                if constexpr (kWgradRowBlocks && K % KWv == 0 &&
                              K / KWv <= wgrad_row_block_rows(OV, KWv))
                  weight_chan_rows<T, OV, K / KWv, KWv>(
                      dyb, dy_ns, xb, x_ns, row_off.data() + c0 / KWv,
                      row_span.data() + 2 * (c0 / KWv), p0 / g.OW, np / g.OW, g.OW, p.plane_w,
                      col0, col1, ns, acc);
              };
              if (kw == 3) {
                rows(IntC<3>{});
              } else {
                rows(IntC<5>{});
              }
            });
      }
    }
    for (std::int64_t t = t0; t < t1; ++t)
      for (std::int64_t cb = cb0; cb < cb1; ++cb)
        with_block(t, cb, [&](auto OVc, auto Kc, V* acc, std::int64_t oc0, std::int64_t c0) {
          constexpr int OV = decltype(OVc)::value, K = decltype(Kc)::value;
          store_weight_channel_block<T, OV, K>(acc, oc0, cog, cig, taps, col_ic.data() + c0,
                                               col_tap.data() + c0,
                                               dw + grp * cog * cig * taps);
        });
  });
}

// dw from x and dy. xq, dyw: scratch for the two layouts (dyw holds dy pixel-major on the channel
// path). The exact mode always takes the wide rows, which have a mode that leaves out the products
// with structural zeros; otherwise the cost model chooses (use_channel_weight_gradient).
template <typename T>
void conv_backward_weight(const ConvGeom& g, const ConvPlan& p, const T* x, const T* dy, T* dw,
                          T* xq, T* dyw, bool exact) {
  conv_pack_input(g, p, x, xq);
  if (!exact && use_channel_weight_gradient<T>(g, p)) {  // narrow images: vectors of channels
    conv_backward_weight_channels(g, p, dw, xq, dy, dyw);
    return;
  }
  conv_pack_wide(g, p, dy, dyw, false);
  if (exact) {
    conv_backward_weight_blocks<T, true>(g, p, dw, xq, dyw);
  } else {
    conv_backward_weight_blocks<T, false>(g, p, dw, xq, dyw);
  }
}
