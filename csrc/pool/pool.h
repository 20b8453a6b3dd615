// Public entry of the pooling family (called from autograd_cnn/_bindings/pool.pxi): builds the
// per-axis window tables from the call's parameters, then runs the active ISA's kernel.
//
// Arrays are contiguous planes: x is (planes, in_h, in_w), y / ind / gy are (planes, out_h, out_w).
// The Python side (autograd_cnn/functional/pooling.py) has validated every argument.
#pragma once

#include <cstdint>

#include "common/runtime.h"
#include "pool/pool_plan.h"

namespace acnn {

#define ACNN_POOL_DECLARE(NS)                                                                   \
  namespace NS {                                                                                \
  template <typename T, typename I>                                                             \
  void max_pool_forward_kernel(const T*, T*, I*, const PoolPlan&);                              \
  template <typename T, typename I>                                                             \
  void max_pool_scatter_kernel(const T*, const I*, T*, const PoolPlan&);                        \
  template <typename T, typename I>                                                             \
  void max_pool_gather_kernel(const T*, const I*, T*, const PoolPlan&);                         \
  template <typename T> void avg_pool_forward_kernel(const T*, T*, const PoolPlan&);            \
  template <typename T> void avg_pool_backward_kernel(const T*, T*, const PoolPlan&);           \
  }
ACNN_POOL_DECLARE(avx512)
ACNN_POOL_DECLARE(avx2)
ACNN_POOL_DECLARE(baseline)
#undef ACNN_POOL_DECLARE

// Everything that defines one pooling call. Regular windows use kernel/stride/pad/dilation;
// adaptive windows (adaptive != 0) only the sizes.
struct PoolParams {
  std::int64_t planes, in_h, in_w, out_h, out_w;
  std::int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int adaptive;
  int count_include_pad;
  std::int64_t divisor_override;  // 0: none
};

// The tables of one call plus the plan that points into them.
class PoolTables {
 public:
  explicit PoolTables(const PoolParams& q)
      : h_(make_axis(q.adaptive, q.in_h, q.out_h, q.kernel_h, q.stride_h, q.pad_h, q.dilation_h,
                     q.count_include_pad)),
        w_(make_axis(q.adaptive, q.in_w, q.out_w, q.kernel_w, q.stride_w, q.pad_w, q.dilation_w,
                     q.count_include_pad)) {
    plan_.planes = q.planes;
    plan_.h = h_.axis();
    plan_.w = w_.axis();
    plan_.divisor_override = q.adaptive ? 0 : q.divisor_override;
  }
  const PoolPlan& plan() const { return plan_; }

 private:
  static PoolAxisTable make_axis(int adaptive, std::int64_t in, std::int64_t out, std::int64_t k,
                                 std::int64_t s, std::int64_t pad, std::int64_t d, int include) {
    return adaptive ? PoolAxisTable::adaptive(in, out)
                    : PoolAxisTable::regular(in, out, k, s, pad, d, include != 0);
  }
  PoolAxisTable h_, w_;
  PoolPlan plan_;
};

template <typename T, typename I>
void max_pool_forward(const T* x, T* y, I* ind, const PoolParams& q) {
  PoolTables t(q);
  ACNN_DISPATCH(max_pool_forward_kernel, x, y, ind, t.plan());
}

// gx = the scatter of gy to the saved arg-max (max pooling's backward).
template <typename T, typename I>
void max_pool_scatter(const T* gy, const I* ind, T* gx, const PoolParams& q) {
  PoolTables t(q);
  ACNN_DISPATCH(max_pool_scatter_kernel, gy, ind, gx, t.plan());
}

// y = x gathered at the saved arg-max (the scatter's backward).
template <typename T, typename I>
void max_pool_gather(const T* x, const I* ind, T* y, const PoolParams& q) {
  PoolTables t(q);
  ACNN_DISPATCH(max_pool_gather_kernel, x, ind, y, t.plan());
}

template <typename T>
void avg_pool_forward(const T* x, T* y, const PoolParams& q) {
  PoolTables t(q);
  ACNN_DISPATCH(avg_pool_forward_kernel, x, y, t.plan());
}

template <typename T>
void avg_pool_backward(const T* gy, T* gx, const PoolParams& q) {
  PoolTables t(q);
  ACNN_DISPATCH(avg_pool_backward_kernel, gy, gx, t.plan());
}

}  // namespace acnn
