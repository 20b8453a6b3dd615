// The geometry of one pooling call, resolved per axis into small tables that every kernel of the
// family reads: for output position o along an axis, the first input index its window touches,
// how many taps (spaced `dilation` apart) fall inside the input, and the factor that axis
// contributes to the average-pooling divisor.
//
// Regular windows (max_pool / avg_pool) start at o * stride - pad; adaptive windows (PyTorch's
// start = floor(o * in / out), end = ceil((o + 1) * in / out)) are irregular. Both reduce to the
// same tables, so one kernel serves both. Regular axes also keep kernel/stride/pad, which the
// vectorised interior path needs.
//
// The Python side has already checked the arguments (sizes >= 1, every window overlapping the
// input); these helpers trust them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>  // used by the kernels, which cannot include headers themselves
#include <type_traits>  // idem
#include <utility>
#include <vector>

namespace acnn {

// A read-only view of one axis' tables (what the kernels receive).
struct PoolAxis {
  std::int64_t in = 1, out = 1;
  std::int64_t dilation = 1;
  bool regular = true;  // window o starts at o * stride - pad with `kernel` taps
  std::int64_t kernel = 1, stride = 1, pad = 0;
  const std::int64_t* first = nullptr;    // first input index inside the input, per output
  const std::int64_t* taps = nullptr;     // taps inside the input, per output
  const std::int64_t* divisor = nullptr;  // this axis' factor of the average's divisor
};

// Two axes (a 1-d pool is a 2-d pool of height 1) over `planes` = N * C contiguous planes.
struct PoolPlan {
  std::int64_t planes = 0;
  PoolAxis h, w;
  std::int64_t divisor_override = 0;  // > 0: every average divides by this instead

  std::int64_t in_plane() const { return h.in * w.in; }
  std::int64_t out_plane() const { return h.out * w.out; }
  // elements read and written, for parallel_for's serial threshold
  double work() const { return double(planes) * double(in_plane() + out_plane()); }
};

// Owns the tables of one axis.
class PoolAxisTable {
 public:
  // Regular windows. Divisor factor with count_include_pad: the taps inside the padded input
  // [-pad, in + pad), i.e. PyTorch's (hend - hstart) for dilation 1 (windows of ceil_mode can hang
  // past the padded end and are clipped there); without it: the taps inside the input.
  static PoolAxisTable regular(std::int64_t in, std::int64_t out, std::int64_t kernel,
                               std::int64_t stride, std::int64_t pad, std::int64_t dilation,
                               bool count_include_pad) {
    PoolAxisTable t(in, out);
    t.axis_.dilation = dilation;
    t.axis_.regular = true;
    t.axis_.kernel = kernel;
    t.axis_.stride = stride;
    t.axis_.pad = pad;
    for (std::int64_t o = 0; o < out; ++o) {
      const std::int64_t s0 = o * stride - pad;
      const std::int64_t k_lo = s0 < 0 ? ceil_div(-s0, dilation) : 0;
      const std::int64_t k_hi = std::min(kernel, ceil_div(in - s0, dilation));
      const std::int64_t k_hi_padded = std::min(kernel, ceil_div(in + pad - s0, dilation));
      t.first_[o] = s0 + k_lo * dilation;
      t.taps_[o] = k_hi > k_lo ? k_hi - k_lo : 0;
      t.divisor_[o] = count_include_pad ? k_hi_padded : t.taps_[o];
    }
    return t;
  }

  // PyTorch's adaptive windows: [floor(o * in / out), ceil((o + 1) * in / out)).
  static PoolAxisTable adaptive(std::int64_t in, std::int64_t out) {
    PoolAxisTable t(in, out);
    t.axis_.dilation = 1;
    t.axis_.regular = in % out == 0;  // then it is kernel = stride = in / out
    t.axis_.kernel = t.axis_.stride = in / out;
    t.axis_.pad = 0;
    for (std::int64_t o = 0; o < out; ++o) {
      const std::int64_t start = (o * in) / out;
      const std::int64_t end = ceil_div((o + 1) * in, out);
      t.first_[o] = start;
      t.taps_[o] = end - start;
      t.divisor_[o] = end - start;
    }
    return t;
  }

  const PoolAxis& axis() const { return axis_; }

  PoolAxisTable(const PoolAxisTable& o) = delete;
  PoolAxisTable& operator=(const PoolAxisTable&) = delete;
  PoolAxisTable(PoolAxisTable&& o) noexcept
      : first_(std::move(o.first_)), taps_(std::move(o.taps_)), divisor_(std::move(o.divisor_)),
        axis_(o.axis_) {
    link();
  }

 private:
  PoolAxisTable(std::int64_t in, std::int64_t out)
      : first_(static_cast<std::size_t>(out)), taps_(static_cast<std::size_t>(out)),
        divisor_(static_cast<std::size_t>(out)) {
    axis_.in = in;
    axis_.out = out;
    link();
  }
  void link() {
    axis_.first = first_.data();
    axis_.taps = taps_.data();
    axis_.divisor = divisor_.data();
  }
  static std::int64_t ceil_div(std::int64_t a, std::int64_t b) {  // b > 0, any sign of a
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
  }

  std::vector<std::int64_t> first_, taps_, divisor_;
  PoolAxis axis_;
};

}  // namespace acnn
