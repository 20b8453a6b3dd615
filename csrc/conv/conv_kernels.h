// Direct convolution kernels, one template for float and double, compiled once per instruction
// set: conv_<isa>.cpp includes this file inside namespace acnn::<isa> (see common/isa_unit.h).
// This file is the map; the code is in the files it includes, in dependency order:
//
//   conv_blocking.h          block sizes per ISA; with_count (runtime count -> template argument)
//   conv_packing.h           the layouts: input and output-gradient copies, packed weights, the
//                            copies of tiles back into y / dx, the exact mode's masks
//   conv_microkernels.h      the register-blocked inner loops (corr_tile, chan_tile, weight_pass)
//   conv_schedule.h          path choices (cost model) and the weight gradient's work split
//   conv_forward.h           y  = conv(x, w) + b
//   conv_backward_input.h    dx = conv_transpose(dy, w)
//   conv_backward_weight.h   dw = correlate(x, dy)
//   conv_fold.h              1-D convolutions with the batch folded into the rows of one image
//   conv_1x1.h               1x1 kernels without padding as matrix products (own micro-kernels)
//
// How they work. All three kernels run on the phase layout of ConvPlan (conv.h): the padded input
// of one channel is split into SH*SW stride-phase planes, so that every tap of every output pixel
// q (numbered q = oh*plane_w + ow over "wide" rows of plane_w) reads element q + tap_offset[tap]
// of one contiguous array. A convolution then becomes a sum of shifted, contiguous vectors,
// whatever the stride, dilation or kernel shape, and one register-blocked micro-kernel does the
// arithmetic:
//
//   corr_tile:  out[o][q0 .. q0+TILE) = sum_c sum_t w[c][t][o] * in[c][q0 + off[t] .. + TILE)
//
// with OB output channels x RB vectors of positions held in registers (OB*RB accumulators; each
// step loads RB input vectors and OB broadcast weights for OB*RB fused multiply-adds).
//
//   forward          in = padded input planes, c = input channels, t = all taps.
//   backward_input   the adjoint: gradient of each input phase plane p, gathered from the
//                    output gradient stored as zero-padded wide rows: in = dy rows, c = output
//                    channels, t = the taps that fall in plane p. The stride-phase split makes
//                    this a dense gather even for stride > 1.
//   backward_weight  dw[o][c][t] = sum_n sum_q dy[n][o][q] * in[n][c][q + off[t]]: a dot product
//                    per (o, c, t), blocked as output channels x (input channel, tap) columns of
//                    vector partial sums.
//
// Special paths: narrow images with many channels (many discarded wide-row columns: LeNet, the
// 16x16 and 8x8 layers of CIFAR networks) run the forward with vectors of output channels and
// backward_input with vectors of input channels instead (chan_tile; in the forward also two
// vectors per pixel, chan_tile_pair, for stride-2, 1x1 and dilated taps, reading x itself where
// the column stride is 1 or 2, else its own slack-free copy of the planes), chosen per call by a
// cost model of the lanes each path computes and the elements it moves (conv_schedule.h), and so
// does backward_weight, with vectors of output channels (weight_chan_pass: dy repacked pixel-major,
// channels innermost); small planes run backward_input across images, skipping the taps that would
// read only zeros.
//
// Extra memory: one phase-layout copy of the input (forward), of the output gradient (backward
// input), or of both (backward weight), and one packed copy of the weights; no im2col matrix.
// They live in per-calling-thread scratch buffers reused between calls (conv.cpp).
//
// Exact mode: every driver is a template on `Exact`, chosen once per call from its `exact`
// argument. Exact kernels leave out the products with structural zeros (padding, discarded
// columns), which matter only when a weight or input is Inf or NaN (conv.cpp decides).
//
// Measured speed, and the experiments behind these choices: benchmarks/PERFORMANCE.md.

#include "conv/conv_blocking.h"
#include "conv/conv_packing.h"
#include "conv/conv_microkernels.h"
#include "conv/conv_schedule.h"
#include "conv/conv_forward.h"
#include "conv/conv_backward_input.h"
#include "conv/conv_backward_weight.h"
#include "conv/conv_fold.h"
#include "conv/conv_1x1.h"
