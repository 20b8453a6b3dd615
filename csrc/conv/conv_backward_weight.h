// The weight-gradient driver, dw[o][c][t] = sum_n sum_q dy[n][o][q] * x[n][c][q + tap_offset[t]]:
// the adjoint of the forward in w. Included by conv_kernels.h inside the ISA namespace.
//
// Both operands are copied once: x into the phase layout, dy into the wide layout (rows only, no
// margins). Then every dw element is a dot product over (sample, position), computed by weight_pass
// (conv_microkernels.h) in blocks of output channels x taps of vector partial sums, over L1-sized
// chunks of positions that every (output block, tap block, input channel) of a work item sweeps in
// turn; how blocks and work items are sized is plan_weight_gradient (conv_schedule.h).
//
// Each dw element is reduced by exactly one work item, lane by lane over (n, q) in order, then
// across lanes, whatever the thread count or grouping: the result is the same on any number of
// threads.

// Stores one block's vector partial sums (nic input channels x WO output channels x WT taps),
// each summed across its lanes, into dw (at output channel 0, input channel 0 of the block; taps
// are the block's tap indices). Not inlined: the same for both modes, and not hot.
template <typename T, int WO, int WT>
__attribute__((noinline)) void store_weight_block(const Vec<T>* acc, std::int64_t nic,
                                                  std::int64_t cig, std::int64_t taps,
                                                  const std::int64_t* tap_index, T* dw) {
  for (std::int64_t ic = 0; ic < nic; ++ic)
    for (int o = 0; o < WO; ++o)
      for (int t = 0; t < WT; ++t)
        dw[(o * cig + ic) * taps + tap_index[t]] = acc[(ic * WO + o) * WT + t].sum();
}

// The weight gradient, on x in the phase layout (xq) and dy in the wide layout (dyw). Exact:
// leave out the products with the input's padding and dy's discarded columns (run again in this
// mode when the plain sums came out NaN; see conv.cpp).
template <typename T, bool Exact>
void conv_backward_weight_blocks(const ConvGeom& g, const ConvPlan& p, T* dw, const T* xq,
                                 const T* dyw) {
  using V = Vec<T>;
  const std::int64_t cig = g.C_in / g.G, cog = g.C_out / g.G, taps = p.taps;
  const WeightGradSchedule s = plan_weight_gradient<T>(g, p, num_threads());
  const int bo = s.block_channels;
  const std::int64_t nob = s.out_blocks, ntb = s.tap_blocks, nicb = s.in_channel_blocks;
  const std::int64_t gsz = s.out_blocks_per_item, ntg = s.tap_groups;
  const std::int64_t qn = s.positions, qstep = s.chunk_positions;
  const std::int64_t chunk_samples = s.chunk_samples;
  // Taps in phase-plane order (ConvPlan::plane_taps), so a tap block reads few planes: at stride 2
  // the kernel-row order spread each block of 3x3's taps over 3-4 of the 4 planes.
  std::vector<std::int64_t> plane_off(static_cast<std::size_t>(taps));
  for (std::int64_t i = 0; i < taps; ++i) plane_off[i] = p.tap_offset[p.plane_taps[i]];
  // exact mode: 1 at the output positions (0 at discarded columns), 1 at the input's pixels
  const std::vector<T> validq_store =
      Exact ? wide_layout_validity<T>(g, p, 0, qn) : std::vector<T>();
  const std::vector<T> validx_store = Exact ? phase_layout_validity<T>(g, p) : std::vector<T>();
  const T* validq = Exact ? validq_store.data() : nullptr;
  const T* validx = Exact ? validx_store.data() : nullptr;
  const std::int64_t nobg = ceil_div(nob, gsz);
  const std::int64_t dy_ns = g.C_out * p.wide_channel_size, x_ns = g.C_in * p.phase_channel_size;
  // Work item = (group, output-block group, input-channel block, tap group).
  const double fmas = double(g.N) * g.C_out * qn * cig * taps;
  parallel_for(g.G * nobg * nicb * ntg, fmas, [&](std::int64_t it) {
    const std::int64_t tg = it % ntg;
    std::int64_t r = it / ntg;
    const std::int64_t icb = r % nicb;
    r /= nicb;
    const std::int64_t obg = r % nobg, grp = r / nobg;
    const std::int64_t b0 = obg * gsz, b1 = std::min(nob, b0 + gsz);
    const std::int64_t tb0 = tg * ntb / ntg, tb1 = (tg + 1) * ntb / ntg;
    const std::int64_t ic0 = icb * kWgradInputChannels;
    const std::int64_t nic = std::min<std::int64_t>(kWgradInputChannels, cig - ic0);
    const T* x0 = xq + (grp * cig + ic0) * p.phase_channel_size;
    // the item's vector sums, [output block][tap block][input channel][WO][WT]; kept per thread
    thread_local std::vector<V> acc_store;
    const std::int64_t block_acc = nic * kWgradAccumulators;  // sums of one (output, tap) block
    const std::size_t nacc = static_cast<std::size_t>((b1 - b0) * (tb1 - tb0) * block_acc);
    if (acc_store.size() < nacc) acc_store.resize(nacc);
    std::fill(acc_store.begin(), acc_store.begin() + nacc, V::zero());
    // runs fn(IntC<WO>, IntC<WT>, dy rows of block b, its sums for tap block tb, its taps' input
    // offsets, first output channel, first tap) for output block b and tap block tb
    auto with_block = [&](std::int64_t b, std::int64_t tb, auto&& fn) {
      const std::int64_t oc0 = grp * cog + b * bo;
      const int wo = static_cast<int>(std::min<std::int64_t>(bo, cog - b * bo));
      // tap blocks of balanced sizes (7 taps: 4 + 3, not 6 + 1)
      const std::int64_t t0 = tb * taps / ntb;
      const int wt = static_cast<int>((tb + 1) * taps / ntb - t0);
      V* acc = acc_store.data() + ((b - b0) * (tb1 - tb0) + (tb - tb0)) * block_acc;
      with_count<kWgradMaxBlockChannels>(wo, [&](auto WOc) {
        with_count<kWgradBlockTaps>(wt, [&](auto WTc) {
          // only shapes within the accumulator budget are instantiated; no other occurs, as
          // wo <= block_channels and wt <= block_taps (plan_weight_gradient)
          constexpr int WO = std::decay_t<decltype(WOc)>::value, WT = decltype(WTc)::value;
          if constexpr (WO * WT <= kWgradAccumulators)
            fn(WOc, WTc, dyw + oc0 * p.wide_channel_size + p.wide_front, acc, plane_off.data() + t0,
               oc0, t0);
        });
      });
    };
    // An L1-sized chunk of (sample, position) pairs is swept by every (output block, tap block,
    // input channel) in turn; one output block's dy rows stay in L1 while the input rows stream.
    // A chunk is part of one sample's positions, or several whole small samples.
    for (std::int64_t n0 = 0; n0 < g.N; n0 += chunk_samples) {
      const std::int64_t ns = std::min(chunk_samples, g.N - n0);
      const T* xn = x0 + n0 * x_ns;
      for (std::int64_t q0 = 0; q0 < qn; q0 += qstep) {
        const std::int64_t q1 = std::min(qn, q0 + qstep);
        for (std::int64_t b = b0; b < b1; ++b)
          for (std::int64_t tb = tb0; tb < tb1; ++tb)
            with_block(b, tb, [&](auto WOc, auto WTc, const T* dy0, V* acc,
                                  const std::int64_t* offs, std::int64_t, std::int64_t) {
              constexpr int WO = decltype(WOc)::value, WT = decltype(WTc)::value;
              for (std::int64_t ic = 0; ic < nic; ++ic)
                weight_pass<T, WO, WT, Exact>(dy0 + n0 * dy_ns, p.wide_channel_size,
                                              xn + ic * p.phase_channel_size, offs, q0, q1,
                                              acc + ic * WO * WT, ns, dy_ns, x_ns, validq, validx);
            });
      }
    }
    for (std::int64_t b = b0; b < b1; ++b)
      for (std::int64_t tb = tb0; tb < tb1; ++tb)
        with_block(b, tb, [&](auto WOc, auto WTc, const T*, const V* acc, const std::int64_t*,
                              std::int64_t oc0, std::int64_t t0) {
          constexpr int WO = decltype(WOc)::value, WT = decltype(WTc)::value;
          store_weight_block<T, WO, WT>(acc, nic, cig, taps, p.plane_taps.data() + t0,
                                        dw + (oc0 * cig + ic0) * taps);
        });
  });
}

// dw from x and dy. xq, dyw: scratch for the two layouts. The one choice of path is the mode.
template <typename T>
void conv_backward_weight(const ConvGeom& g, const ConvPlan& p, const T* x, const T* dy, T* dw,
                          T* xq, T* dyw, bool exact) {
  conv_pack_input(g, p, x, xq);
  conv_pack_wide(g, p, dy, dyw, false);
  if (exact) {
    conv_backward_weight_blocks<T, true>(g, p, dw, xq, dyw);
  } else {
    conv_backward_weight_blocks<T, false>(g, p, dw, xq, dyw);
  }
}
