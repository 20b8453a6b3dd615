#include "pool/pool_plan.h"  // before the ISA namespace opens (it includes standard headers)

#define ACNN_ISA avx512
#include "common/isa_unit.h"
#include "pool/pool_simd.h"
#include "pool/max_pool_kernels.h"
#include "pool/avg_pool_kernels.h"
#include "pool/pool_instances.inc"
ACNN_ISA_UNIT_END
