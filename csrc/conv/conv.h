// Public entry of the convolution family (called from autograd_cnn/_bindings/conv.pxi).
//
// Every convolution is 2-D here; conv1d is a height-1 image. The three kernels are
//   forward           y  = conv(x, w) + b
//   backward_input    dx = conv_transpose(dy, w)           (the adjoint of forward in x)
//   backward_weight   dw = correlate(x, dy)                (the adjoint of forward in w)
// all computed directly (no im2col). How they work is explained in conv_kernels.h (which lists the
// files of the kernels); the layout arithmetic they share is ConvPlan below.
#pragma once

#include <cstdint>
#include <vector>

#include "common/runtime.h"

namespace acnn {

// The sizes of one convolution, already validated in Python (autograd_cnn/functional/conv.py).
struct ConvGeom {
  std::int64_t N, C_in, H, W;       // input (N, C_in, H, W)
  std::int64_t C_out, G;            // weight (C_out, C_in / G, KH, KW)
  std::int64_t KH, KW;
  std::int64_t SH, SW, DH, DW;      // stride, dilation
  std::int64_t PH0, PH1, PW0, PW1;  // padding before / after, per axis
  std::int64_t OH, OW;              // output spatial size (autograd_cnn/_geometry.py)
};

// Elements of slack after every internal row buffer: vector tiles may run past the last useful
// element (the results there are discarded) and must stay inside the buffer. No ISA's tile is
// longer than this.
constexpr std::int64_t kConvSlack = 128;

// The internal layouts shared by the kernels, computed once per call by make_conv_plan.
//
// Phase layout (the input, in forward and backward_weight): the zero-padded input
// (padded_h x padded_w) of one channel is split into SH*SW stride-phase planes: plane (ph, pw)
// holds the padded pixels (i*SH + ph, j*SW + pw) at row i, column j of a plane_h x plane_w grid.
// Tap (kh, kw) of output pixel (oh, ow) then reads plane ((kh*DH) % SH, (kw*DW) % SW) at
// (oh + kh*DH / SH, ow + kw*DW / SW): for every tap the output pixel q = oh*plane_w + ow reads
// element q + tap_offset[tap] of one contiguous array, whatever the stride and dilation. Kernels
// vectorise over q ("wide" rows of plane_w, the last plane_w - OW columns of which are discarded).
//
// Wide layout (the output gradient, in both backward kernels): per channel, wide_front zeros, then
// the OH rows of dy, each widened to plane_w with zeros, then zeros; so output position q is at
// wide_front + q, and the transposed convolution may read up to wide_front before the first row.
struct ConvPlan {
  std::int64_t padded_h, padded_w;  // padded input size, H + PH0 + PH1 and W + PW0 + PW1
  std::int64_t plane_h, plane_w;    // size of one phase plane, padded size / stride rounded up
  std::int64_t planes;              // phase planes, SH * SW
  std::int64_t plane_size;          // elements per phase plane, plane_h * plane_w
  std::int64_t phase_channel_size;  // elements per channel of the phase layout (planes, slack)
  std::int64_t taps;                // taps of the kernel, KH * KW
  std::int64_t wide_outputs;        // output positions over wide rows, OH * plane_w
  std::int64_t wide_front;          // zeros before the first row of the wide layout
  std::int64_t wide_channel_size;   // elements per channel of the wide layout
  std::vector<std::int64_t> tap_offset;           // per tap: plane * plane_size + in-plane offset
  std::vector<std::int64_t> tap_in_plane_offset;  // per tap: (kh*DH/SH)*plane_w + kw*DW/SW
  std::vector<std::int64_t> plane_begin;  // the taps of plane p: plane_taps[plane_begin[p] ..
                                          // plane_begin[p + 1])
  std::vector<std::int64_t> plane_taps;   // tap indices grouped by plane
  std::vector<std::int64_t> plane_tap_wide_offset;  // per entry of plane_taps: where the
                                                    // transposed convolution reads dy's wide
                                                    // layout, wide_front - tap_in_plane_offset
};

ConvPlan make_conv_plan(const ConvGeom& g);

// The folded geometry of a convolution of one-row images (conv_fold.h): the batch's N padded rows,
// each widened to a multiple of the column stride, side by side as ONE unpadded row.
ConvGeom fold_geometry(const ConvGeom& g);

// The per-ISA kernels (conv_kernels.h). `exact`: leave out the products with structural zeros
// (padding, discarded columns), for non-finite values; see conv.cpp.
#define ACNN_CONV_DECLARE(NS)                                                                  \
  namespace NS {                                                                               \
  template <typename T>                                                                        \
  void conv_forward(const ConvGeom&, const ConvPlan&, const T*, const T*, const T*, T*, T*, T*, \
                    bool exact);                                                               \
  template <typename T>                                                                        \
  void conv_backward_input(const ConvGeom&, const ConvPlan&, const T*, const T*, T*, T*, T*,   \
                           bool exact);                                                        \
  template <typename T>                                                                        \
  void conv_backward_weight(const ConvGeom&, const ConvPlan&, const T*, const T*, T*, T*, T*,  \
                            bool exact);                                                       \
  template <typename T>                                                                        \
  void conv_fold_choice(const ConvGeom&, const ConvPlan&, int direction, bool* fold);          \
  template <typename T>                                                                        \
  void conv_fold_forward(const ConvGeom&, const ConvGeom&, const ConvPlan&, const ConvPlan&,   \
                         const T*, const T*, const T*, T*, T*, T*, T*);                        \
  template <typename T>                                                                        \
  void conv_fold_backward_input(const ConvGeom&, const ConvGeom&, const ConvPlan&,             \
                                const ConvPlan&, const T*, const T*, T*, T*, T*, T*);          \
  template <typename T>                                                                        \
  void conv_fold_backward_weight(const ConvGeom&, const ConvGeom&, const ConvPlan&,            \
                                 const ConvPlan&, const T*, const T*, T*, T*, T*);             \
  template <typename T>                                                                        \
  void conv1x1_choice(const ConvGeom&, int direction, bool* use);                              \
  template <typename T>                                                                        \
  void conv1x1_forward(const ConvGeom&, const T*, const T*, const T*, T*, T*, T*);             \
  template <typename T>                                                                        \
  void conv1x1_backward_input(const ConvGeom&, const T*, const T*, T*, T*, T*, T*);            \
  template <typename T>                                                                        \
  void conv1x1_backward_weight(const ConvGeom&, const T*, const T*, T*, T*, T*);               \
  }
ACNN_CONV_DECLARE(avx512)
ACNN_CONV_DECLARE(avx2)
ACNN_CONV_DECLARE(baseline)
#undef ACNN_CONV_DECLARE

// y (N, C_out, OH, OW) = conv(x, w) + bias; bias may be null.
template <typename T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y);
// dx (N, C_in, H, W) from dy (N, C_out, OH, OW) and w.
template <typename T>
void conv2d_backward_input(const ConvGeom& g, const T* dy, const T* w, T* dx);
// dw (C_out, C_in / G, KH, KW) from x and dy.
template <typename T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw);

}  // namespace acnn
