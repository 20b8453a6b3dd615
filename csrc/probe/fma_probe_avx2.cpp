#define ACNN_ISA avx2
#include "common/isa_unit.h"
#include "probe/fma_probe_kernels.h"

template void fma_probe_run<float>(std::int64_t, float, float*, std::int64_t*);
template void fma_probe_run<double>(std::int64_t, double, double*, std::int64_t*);
ACNN_ISA_UNIT_END
