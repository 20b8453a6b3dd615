#include "pool/pool_plan.h"  // before the ISA namespace opens (it includes standard headers)

#define ACNN_ISA avx512
#include "common/isa_unit.h"
#include "pool/pool_simd.h"
#include "pool/max_pool_kernels.h"
#include "pool/avg_pool_kernels.h"

#define ACNN_POOL_INSTANTIATE(T, I)                                                        \
  template void max_pool_forward_kernel<T, I>(const T*, T*, I*, const PoolPlan&);          \
  template void max_pool_scatter_kernel<T, I>(const T*, const I*, T*, const PoolPlan&);    \
  template void max_pool_gather_kernel<T, I>(const T*, const I*, T*, const PoolPlan&);
ACNN_POOL_INSTANTIATE(float, std::int32_t)
ACNN_POOL_INSTANTIATE(float, std::int64_t)
ACNN_POOL_INSTANTIATE(double, std::int32_t)
ACNN_POOL_INSTANTIATE(double, std::int64_t)
template void avg_pool_forward_kernel<float>(const float*, float*, const PoolPlan&);
template void avg_pool_forward_kernel<double>(const double*, double*, const PoolPlan&);
template void avg_pool_backward_kernel<float>(const float*, float*, const PoolPlan&);
template void avg_pool_backward_kernel<double>(const double*, double*, const PoolPlan&);
ACNN_ISA_UNIT_END
