// The folded layout of 1-D convolutions (one-row images): the batch's N rows side by side as ONE
// row. Included by conv_kernels.h inside the ISA namespace, after the drivers.
//
// Why: the wide rows (corr_tile, weight_pass) vectorise along a row of plane_w positions, and a
// 1-D layer's rows are short (conv1dnet: 11 positions for 10 outputs on 19 samples), so each
// sample's row ends in a part-empty vector (16 lanes for 10 outputs), and the channel tiles
// compute an empty second row. Folded (fold_geometry, conv.cpp), each sample's padded row,
// widened to seg = plane_w * SW elements, is placed at n * seg of one unpadded row of N * seg:
// output n * plane_w + j of that row (j < OW) is sample n's output j, reading only sample n's
// segment; outputs j in [OW, plane_w) straddle two segments and are dropped (and the output
// gradient is zero there). The unchanged drivers run on the folded geometry; the new code is the
// layout: x's rows (sample n, channel c) are copied straight into the folded phase layout (the
// copy the drivers make anyway: phase plane pw of the folded row is the samples' planes side by
// side), dy's into the folded wide layout, and the forward's and input gradient's results, in the
// folded order (channel, sample), are copied back to (sample, channel). use_fold_layout
// (conv_schedule.h) decides, by the cost model, per call and direction. The folded layout has no
// exact mode (its padding is data to the kernels): non-finite values take the unfolded path
// (conv.cpp).
//
// Results: every output is computed by one tile whatever the thread count, and the weight
// gradient sums each dw element in one work item over the folded positions in order, so they stay
// independent of the thread count (not bitwise equal to the unfolded path's: another order).

// d[0 .. n) = s[0 .. n) in whole vectors, for the short rows of the folded copies: it writes up to
// n rounded up to whole vectors at d (where the caller writes again afterwards) and reads as many
// at s, falling back to copy_row where either would pass the s_avail / d_avail elements there.
template <typename T>
inline void copy_row_over(T* d, const T* s, std::int64_t n, std::int64_t d_avail,
                          std::int64_t s_avail) {
  constexpr int W = Vec<T>::width;
  if (ceil_div(n, W) * W > std::min(d_avail, s_avail)) {
    copy_row(d, s, n);
    return;
  }
  for (std::int64_t k = 0; k < n; k += W) Vec<T>::load(s + k).store(d + k);
}

// The padded rows of channel c of x (N, C, 1, W), each widened to seg, side by side: row (N * seg
// elements, and whole vectors' room after). Rows in order, each copied in whole vectors and then
// the gap to the next row's data zeroed: what a row's last vector writes past its end, the next
// rows write again.
template <typename T>
inline void fold_padded_row(const ConvGeom& g, std::int64_t seg, const T* x, std::int64_t c,
                            T* row) {
  const std::int64_t x_size = g.N * g.C_in * g.W;
  zero_row(row, g.PW0);
  for (std::int64_t n = 0; n < g.N; ++n) {
    const std::int64_t at = (n * g.C_in + c) * g.W;
    T* d = row + n * seg + g.PW0;
    copy_row_over(d, x + at, g.W, g.N * seg + Vec<T>::width - (d - row), x_size - at);
    zero_row(d + g.W, n + 1 < g.N ? seg - g.W : seg - g.W - g.PW0);
  }
}

// x (N, C_in, 1, W) -> folded phase layout (C_in, fp.phase_channel_size): plane pw of channel c
// holds, at n * plane_w + j, sample n's padded element j * SW + pw (the sample's own phase plane
// row); slack zeroed. The folded row is built whole (straight in the plane for stride 1) and then
// split into its phase planes in long vector runs, not row by short row.
template <typename T>
void fold_pack_input(const ConvGeom& g, const ConvPlan& p, const ConvPlan& fp, const T* x, T* xf) {
  const std::int64_t seg = p.plane_w * g.SW, len = g.N * seg;
  const std::int64_t rows_end = fp.planes * fp.plane_size;
  parallel_for(g.C_in, double(g.C_in) * fp.phase_channel_size, [&](std::int64_t c) {
    T* dst = xf + c * fp.phase_channel_size;
    if (g.SW == 1) {
      fold_padded_row(g, seg, x, c, dst);  // (its vectors' room is in the slack, zeroed after)
    } else {
      thread_local std::vector<T> row_store;
      if (row_store.size() < static_cast<std::size_t>(len + Vec<T>::width))
        row_store.resize(static_cast<std::size_t>(len + Vec<T>::width));
      const T* row = row_store.data();
      fold_padded_row(g, seg, x, c, row_store.data());
      for (std::int64_t pw = 0; pw < g.SW; ++pw) {
        T* plane = dst + pw * fp.plane_size;
        // a plane no tap reads is only zeroed (tiles may still run into it)
        if (p.plane_begin[pw] == p.plane_begin[pw + 1]) {
          zero_row(plane, fp.plane_size);
        } else if (g.SW == 2) {
          copy_row_strided<T, 2>(plane, row + pw, fp.plane_size, len - pw);
        } else if (g.SW == 4) {
          copy_row_strided<T, 4>(plane, row + pw, fp.plane_size, len - pw);
        } else {
          for (std::int64_t j = 0; j < fp.plane_size; ++j) plane[j] = row[j * g.SW + pw];
        }
      }
    }
    zero_row(dst + rows_end, fp.phase_channel_size - rows_end);
  });
}

// dy (N, C_out, 1, OW) -> folded wide layout (C_out, fp.wide_channel_size): wide_front zeros, at
// n * plane_w sample n's OW values then zeros to plane_w (the straddling outputs), zeros after.
template <typename T>
void fold_pack_wide(const ConvGeom& g, const ConvPlan& p, const ConvPlan& fp, const T* dy,
                    T* dyf) {
  const std::int64_t q = p.plane_w, rows_end = fp.wide_front + g.N * q;
  const std::int64_t dy_size = g.N * g.C_out * g.OW;
  parallel_for(g.C_out, double(g.C_out) * fp.wide_channel_size, [&](std::int64_t o) {
    T* dst = dyf + o * fp.wide_channel_size;
    zero_row(dst, fp.wide_front);
    // rows in order, each copied in whole vectors and then its gap zeroed: what a row's last
    // vector writes past its end, the next rows write again
    for (std::int64_t n = 0; n < g.N; ++n) {
      const std::int64_t at = (n * g.C_out + o) * g.OW;
      T* row = dst + fp.wide_front + n * q;
      copy_row_over(row, dy + at, g.OW, fp.wide_channel_size - (row - dst), dy_size - at);
      zero_row(row + g.OW, q - g.OW);
    }
    zero_row(dst + rows_end, fp.wide_channel_size - rows_end);
  });
}

// src (C, at n * stride + offset of channel c's row of channel_size: sample n's L values) -> dst
// (N, C, L): a result in the folded order back into the batch's.
template <typename T>
void unfold_rows(const T* src, std::int64_t channel_size, std::int64_t stride,
                 std::int64_t offset, std::int64_t N, std::int64_t C, std::int64_t L, T* dst) {
  parallel_for(N, double(N) * C * L, [&](std::int64_t n) {
    // a sample's rows in order, in whole vectors while they stay inside the sample
    for (std::int64_t c = 0; c < C; ++c) {
      const std::int64_t at = c * channel_size + n * stride + offset;
      copy_row_over(dst + (n * C + c) * L, src + at, L, (C - c) * L, C * channel_size - at);
    }
  });
}

// Whether this call runs folded (use_fold_layout, conv_schedule.h), for conv.cpp, which sizes the
// folded scratch: direction 0 forward, 1 input gradient, 2 weight gradient.
template <typename T>
void conv_fold_choice(const ConvGeom& g, const ConvPlan& p, int direction, bool* fold) {
  *fold = use_fold_layout<T>(g, p, direction);
}

// The three directions folded: g, p the call's geometry and plan, f = fold_geometry(g) and fp its
// plan. xf / dyf: scratch for the folded layouts; yf / dxf: for the result in the folded order
// (f's (C_out, OW) / (C_in, W)); wp: for the packed weights.
template <typename T>
void conv_fold_forward(const ConvGeom& g, const ConvGeom& f, const ConvPlan& p,
                       const ConvPlan& fp, const T* x, const T* w, const T* bias, T* y, T* xf,
                       T* wp, T* yf) {
  fold_pack_input(g, p, fp, x, xf);
  conv_forward_packed(f, fp, w, bias, yf, xf, wp, false);
  unfold_rows(yf, f.OW, p.plane_w, 0, g.N, g.C_out, g.OW, y);
}

template <typename T>
void conv_fold_backward_input(const ConvGeom& g, const ConvGeom& f, const ConvPlan& p,
                              const ConvPlan& fp, const T* dy, const T* w, T* dx, T* dyf, T* wp,
                              T* dxf) {
  fold_pack_wide(g, p, fp, dy, dyf);
  conv_backward_input_packed(f, fp, w, dxf, dyf, wp, false);
  unfold_rows(dxf, f.W, p.plane_w * g.SW, g.PW0, g.N, g.C_in, g.W, dx);
}

template <typename T>
void conv_fold_backward_weight(const ConvGeom& g, const ConvGeom& f, const ConvPlan& p,
                               const ConvPlan& fp, const T* x, const T* dy, T* dw, T* xf,
                               T* dyf) {
  fold_pack_input(g, p, fp, x, xf);
  fold_pack_wide(g, p, fp, dy, dyf);
  conv_backward_weight_blocks<T, false>(f, fp, dw, xf, dyf);
}
