#define ACNN_ISA avx512
#include "common/isa_unit.h"
#include "activation/relu_kernels.h"
#include "activation/relu_instances.inc"
ACNN_ISA_UNIT_END
