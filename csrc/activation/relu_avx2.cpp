#define ACNN_ISA avx2
#include "common/isa_unit.h"
#include "activation/relu_kernels.h"

template void relu_forward<float>(const float*, float*, std::uint8_t*, std::int64_t);
template void relu_forward<double>(const double*, double*, std::uint8_t*, std::int64_t);
template void relu_backward<float>(const float*, const std::uint8_t*, float*, std::int64_t);
template void relu_backward<double>(const double*, const std::uint8_t*, double*, std::int64_t);
ACNN_ISA_UNIT_END
