#define ACNN_ISA avx2
#include "common/isa_unit.h"
#include "reduce/sum_kernels.h"

template void sum_contiguous<float>(const float*, std::int64_t, float*, float*);
template void sum_contiguous<double>(const double*, std::int64_t, double*, double*);
template void channel_sum<float>(const float*, std::int64_t, std::int64_t, std::int64_t, float*);
template void channel_sum<double>(const double*, std::int64_t, std::int64_t, std::int64_t, double*);
ACNN_ISA_UNIT_END
