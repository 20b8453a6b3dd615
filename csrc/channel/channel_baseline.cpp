#define ACNN_ISA baseline
#include "common/isa_unit.h"
#include "channel/channel_kernels.h"
#include "channel/channel_instances.inc"
ACNN_ISA_UNIT_END
