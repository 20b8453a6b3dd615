#include "conv/conv.h"
#define ACNN_ISA baseline
#include "common/isa_unit.h"
#include "conv/conv_kernels.h"
#include "conv/conv_instances.inc"
ACNN_ISA_UNIT_END
