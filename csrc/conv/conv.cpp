// Convolution entry points: the layout plan, cached workspaces and the per-ISA dispatch.
#include "conv/conv.h"

#include "common/buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace acnn {

ConvPlan make_conv_plan(const ConvGeom& g) {
  ConvPlan p;
  p.padded_h = g.H + g.PH0 + g.PH1;
  p.padded_w = g.W + g.PW0 + g.PW1;
  p.plane_h = (p.padded_h + g.SH - 1) / g.SH;
  p.plane_w = (p.padded_w + g.SW - 1) / g.SW;
  p.planes = g.SH * g.SW;
  p.plane_size = p.plane_h * p.plane_w;
  p.taps = g.KH * g.KW;
  p.wide_outputs = g.OH * p.plane_w;
  // wide tiles read at most plane_w + a tile past the last plane (see ConvPlan); round to 16
  // elements
  p.phase_channel_size = (p.planes * p.plane_size + p.plane_w + kConvSlack + 15) / 16 * 16;
  p.tap_offset.resize(p.taps);
  p.tap_in_plane_offset.resize(p.taps);
  std::int64_t max_local = 0;
  for (std::int64_t kh = 0; kh < g.KH; ++kh) {
    for (std::int64_t kw = 0; kw < g.KW; ++kw) {
      const std::int64_t t = kh * g.KW + kw;
      const std::int64_t rh = kh * g.DH, rw = kw * g.DW;
      const std::int64_t plane = (rh % g.SH) * g.SW + (rw % g.SW);
      p.tap_in_plane_offset[t] = (rh / g.SH) * p.plane_w + rw / g.SW;
      p.tap_offset[t] = plane * p.plane_size + p.tap_in_plane_offset[t];
      max_local = std::max(max_local, p.tap_in_plane_offset[t]);
    }
  }
  p.wide_front = (max_local + 15) / 16 * 16;
  p.wide_channel_size = (p.wide_front + p.plane_size + p.plane_w + kConvSlack + 15) / 16 * 16;
  p.plane_begin.assign(p.planes + 1, 0);
  for (std::int64_t t = 0; t < p.taps; ++t) p.plane_begin[(p.tap_offset[t] / p.plane_size) + 1]++;
  for (std::int64_t q = 0; q < p.planes; ++q) p.plane_begin[q + 1] += p.plane_begin[q];
  p.plane_taps.resize(p.taps);
  p.plane_tap_wide_offset.resize(p.taps);
  std::vector<std::int64_t> fill(p.plane_begin.begin(), p.plane_begin.end() - 1);
  for (std::int64_t t = 0; t < p.taps; ++t) {
    const std::int64_t plane = p.tap_offset[t] / p.plane_size;
    const std::int64_t at = fill[plane]++;
    p.plane_taps[at] = t;
    p.plane_tap_wide_offset[at] = p.wide_front - p.tap_in_plane_offset[t];
  }
  return p;
}

ConvGeom fold_geometry(const ConvGeom& g) {
  const std::int64_t seg = (g.W + g.PW0 + g.PW1 + g.SW - 1) / g.SW * g.SW;  // plane_w * SW
  ConvGeom f = g;
  f.N = 1;
  f.H = f.OH = 1;
  f.SH = f.DH = 1;
  f.W = g.N * seg;
  f.PW0 = f.PW1 = 0;
  f.OW = (f.W - g.DW * (g.KW - 1) - 1) / g.SW + 1;
  return f;
}

namespace {

// A 64-byte aligned scratch buffer that grows as calls need. Each calling thread keeps its own
// (thread_local), so repeated calls reuse warm pages instead of touching fresh memory every time;
// one larger than scratch_limit() (common/buffer.h) is freed when its call ends (ScratchTrim).
class Scratch {
 public:
  ~Scratch() { std::free(ptr_); }
  void trim(std::size_t limit) {
    if (cap_ > limit) {
      std::free(ptr_);
      ptr_ = nullptr;
      cap_ = 0;
    }
  }
  void* get(std::size_t bytes) {
    if (bytes > cap_) {
      std::free(ptr_);
      cap_ = (bytes + 4095) / 4096 * 4096;
      ptr_ = std::aligned_alloc(64, cap_);
      if (!ptr_) {
        cap_ = 0;
        throw std::bad_alloc();
      }
    }
    return ptr_;
  }

 private:
  void* ptr_ = nullptr;
  std::size_t cap_ = 0;
};

Scratch& scratch(int slot) {
  thread_local Scratch buffers[3];
  return buffers[slot];
}

template <typename T>
T* scratch_of(int slot, std::int64_t elements) {
  return static_cast<T*>(scratch(slot).get(static_cast<std::size_t>(elements) * sizeof(T) + 64));
}

// Frees this thread's scratch buffers above the limit when the kernel call ends (or throws).
struct ScratchTrim {
  ~ScratchTrim() {
    const std::size_t limit = scratch_limit().load(std::memory_order_relaxed);
    for (int slot = 0; slot < 3; ++slot) scratch(slot).trim(limit);
  }
};

// Packed-weight sizes: generous bounds that hold for every ISA's block size (<= 16 channels; the
// channel forward's pairs of vectors, <= 32).
std::int64_t packed_forward_weights(const ConvGeom& g, const ConvPlan& p) {
  const std::int64_t cog = g.C_out / g.G;
  return g.G * ((cog + 31) / 32 * 32) * (g.C_in / g.G) * p.taps;
}

std::int64_t packed_transpose_weights(const ConvGeom& g, const ConvPlan& p) {
  const std::int64_t cig = g.C_in / g.G;
  return g.G * ((cig + 15) / 16 * 16) * (g.C_out / g.G) * p.taps;
}

// The output gradient pixel-major with each group's channels in whole vectors (the channel-
// vectorised weight gradient): a bound that holds for every ISA's width (<= 16 lanes), capped at
// twice the wide layout (wide_elements), beyond which the kernels keep the wide rows
// (use_channel_weight_gradient), so a depthwise layer never allocates 16 copies of its dy.
std::int64_t channel_major_output_gradient(const ConvGeom& g, std::int64_t wide_elements) {
  const std::int64_t cog = g.C_out / g.G;
  return std::min(g.N * g.G * ((cog + 15) / 16 * 16) * g.OH * g.OW, 2 * wide_elements);
}

// The kernels multiply structural zeros (the input's padding in the forward; the padding margins
// and discarded columns of the backward kernels' wide layouts) by weights or input pixels, and
// v * 0 is 0 only for finite v. So a non-finite weight (forward, backward_input: checked first,
// the weights are small) or a NaN in the result (backward_weight: an Inf input pixel or gradient
// value may have met such a zero) switches to the kernels' exact mode, which leaves those
// products out: the result is then the true sum of the real terms, at some extra cost, only in
// that rare case.
// (PyTorch's oneDNN float32 path gives the same; its float64 path multiplies its padding and
// gives NaN there.)
template <typename T>
bool has_nan(const T* a, std::int64_t n) {
  bool nan = false;
  for (std::int64_t i = 0; i < n; ++i) nan |= a[i] != a[i];
  return nan;
}

template <typename T>
bool all_finite(const T* a, std::int64_t n) {
  // a[i] * 0 is NaN iff a[i] is Inf or NaN; 16 independent sums so the loop is not latency-bound
  T s[16] = {};
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) s[k] += a[i + k] * T(0);
  for (; i < n; ++i) s[0] += a[i] * T(0);
  T t = T(0);
  for (int k = 0; k < 16; ++k) t += s[k];
  return t == t;
}

}  // namespace

// Whether the call runs in the folded layout of one-row images (conv_fold.h); the choice is the
// ISA's (use_fold_layout, conv_schedule.h: it depends on the vector width).
template <typename T>
bool fold_chosen(const ConvGeom& g, const ConvPlan& p, int direction) {
  bool fold = false;
  ACNN_DISPATCH(conv_fold_choice<T>, g, p, direction, &fold);
  return fold;
}

// Whether the call takes the 1x1 path (conv_1x1.h: a 1x1 kernel without padding, as matrix
// products); the choice is the ISA's (use_conv1x1). That path multiplies only real values, so it
// needs no exact mode. Direction: 0 forward, 1 input gradient, 2 weight gradient.
template <typename T>
bool conv1x1_chosen(const ConvGeom& g, int direction) {
  bool use = false;
  ACNN_DISPATCH(conv1x1_choice<T>, g, direction, &use);
  return use;
}

// Row lengths of the 1x1 path's operand copies: whole vectors of every ISA (<= 16 lanes).
std::int64_t conv1x1_rows(const ConvGeom& g, std::int64_t rows) {
  return rows * ((g.OH * g.OW + 15) / 16 * 16);
}

template <typename T>
void conv2d_forward(const ConvGeom& g, const T* x, const T* w, const T* bias, T* y) {
  const ScratchTrim trim_after;
  if (conv1x1_chosen<T>(g, 0)) {
    T* xs = scratch_of<T>(0, conv1x1_rows(g, g.N * g.C_in));
    T* wp = scratch_of<T>(1, g.G * (g.C_out / g.G + 31) * (g.C_in / g.G));
    ACNN_DISPATCH(conv1x1_forward<T>, g, x, w, bias, y, xs, wp);
    return;
  }
  const ConvPlan p = make_conv_plan(g);
  const bool exact = !all_finite(w, g.C_out * (g.C_in / g.G) * p.taps);
  if (!exact && fold_chosen<T>(g, p, 0)) {
    const ConvGeom f = fold_geometry(g);
    const ConvPlan fp = make_conv_plan(f);
    T* xf = scratch_of<T>(0, g.C_in * fp.phase_channel_size);
    T* wp = scratch_of<T>(1, packed_forward_weights(g, p));
    T* yf = scratch_of<T>(2, g.C_out * f.OW);
    ACNN_DISPATCH(conv_fold_forward<T>, g, f, p, fp, x, w, bias, y, xf, wp, yf);
    return;
  }
  T* xq = scratch_of<T>(0, g.N * g.C_in * p.phase_channel_size);
  T* wp = scratch_of<T>(1, packed_forward_weights(g, p));
  ACNN_DISPATCH(conv_forward<T>, g, p, x, w, bias, y, xq, wp, exact);
}

template <typename T>
void conv2d_backward_input(const ConvGeom& g, const T* dy, const T* w, T* dx) {
  const ScratchTrim trim_after;
  if (conv1x1_chosen<T>(g, 1)) {
    T* dys = scratch_of<T>(0, conv1x1_rows(g, g.N * g.C_out));
    T* wp = scratch_of<T>(1, g.G * (g.C_in / g.G + 31) * (g.C_out / g.G));
    T* dxs = scratch_of<T>(2, g.N * g.C_in * g.OH * g.OW);
    ACNN_DISPATCH(conv1x1_backward_input<T>, g, dy, w, dx, dys, wp, dxs);
    return;
  }
  const ConvPlan p = make_conv_plan(g);
  const bool exact = !all_finite(w, g.C_out * (g.C_in / g.G) * p.taps);
  if (!exact && fold_chosen<T>(g, p, 1)) {
    const ConvGeom f = fold_geometry(g);
    const ConvPlan fp = make_conv_plan(f);
    T* dyf = scratch_of<T>(0, g.C_out * fp.wide_channel_size);
    T* wp = scratch_of<T>(1, packed_transpose_weights(g, p));
    T* dxf = scratch_of<T>(2, g.C_in * f.W);
    ACNN_DISPATCH(conv_fold_backward_input<T>, g, f, p, fp, dy, w, dx, dyf, wp, dxf);
    return;
  }
  T* dyw = scratch_of<T>(0, g.N * g.C_out * p.wide_channel_size);
  T* wp = scratch_of<T>(1, packed_transpose_weights(g, p));
  ACNN_DISPATCH(conv_backward_input<T>, g, p, dy, w, dx, dyw, wp, exact);
}

template <typename T>
void conv2d_backward_weight(const ConvGeom& g, const T* x, const T* dy, T* dw) {
  const ScratchTrim trim_after;
  const ConvPlan p = make_conv_plan(g);
  const std::int64_t dw_size = g.C_out * (g.C_in / g.G) * p.taps;
  if (conv1x1_chosen<T>(g, 2)) {
    // (bounds for both of its formulations, in whole vectors of every ISA)
    const std::int64_t row = (g.C_in / g.G + 15) / 16 * 16;
    T* s0 = scratch_of<T>(0, std::max(g.N * g.G * g.OH * g.OW * row,
                                      conv1x1_rows(g, g.N * g.C_in)));
    T* s1 = scratch_of<T>(1, std::max(g.C_out * row, conv1x1_rows(g, g.N * g.C_out)));
    ACNN_DISPATCH(conv1x1_backward_weight<T>, g, x, dy, dw, s0, s1);
    return;
  }
  bool nan = false;
  if (fold_chosen<T>(g, p, 2)) {
    const ConvGeom f = fold_geometry(g);
    const ConvPlan fp = make_conv_plan(f);
    T* xf = scratch_of<T>(0, g.C_in * fp.phase_channel_size);
    T* dyf = scratch_of<T>(1, g.C_out * fp.wide_channel_size);
    ACNN_DISPATCH(conv_fold_backward_weight<T>, g, f, p, fp, x, dy, dw, xf, dyf);
    nan = has_nan(dw, dw_size);
    if (!nan) return;
  }
  // (the folded layout has no exact mode: its padding is data to the kernels; so a NaN there
  // reruns unfolded, in the exact mode)
  T* xq = scratch_of<T>(0, g.N * g.C_in * p.phase_channel_size);
  const std::int64_t wide = g.N * g.C_out * p.wide_channel_size;
  T* dyw = scratch_of<T>(1, std::max(wide, channel_major_output_gradient(g, wide)));
  if (!nan) {
    ACNN_DISPATCH(conv_backward_weight<T>, g, p, x, dy, dw, xq, dyw, false);
    nan = has_nan(dw, dw_size);  // (Inf * 0 is NaN, and NaN stays)
  }
  if (nan) ACNN_DISPATCH(conv_backward_weight<T>, g, p, x, dy, dw, xq, dyw, true);
}

#define ACNN_CONV_INSTANTIATE(T)                                                           \
  template void conv2d_forward<T>(const ConvGeom&, const T*, const T*, const T*, T*);      \
  template void conv2d_backward_input<T>(const ConvGeom&, const T*, const T*, T*);         \
  template void conv2d_backward_weight<T>(const ConvGeom&, const T*, const T*, T*);
ACNN_CONV_INSTANTIATE(float)
ACNN_CONV_INSTANTIATE(double)
#undef ACNN_CONV_INSTANTIATE

}  // namespace acnn
