#include "conv/conv.h"
#define ACNN_ISA avx512
#include "common/isa_unit.h"
#include "conv/conv_kernels.h"

#define ACNN_CONV_KERNELS(T)                                                                      \
  template void conv_forward<T>(const ConvGeom&, const ConvPlan&, const T*, const T*, const T*,   \
                                T*, T*, T*);                                                      \
  template void conv_backward_input<T>(const ConvGeom&, const ConvPlan&, const T*, const T*, T*,  \
                                       T*, T*);                                                   \
  template void conv_backward_weight<T>(const ConvGeom&, const ConvPlan&, const T*, const T*, T*, \
                                        T*, T*);
ACNN_CONV_KERNELS(float)
ACNN_CONV_KERNELS(double)
#undef ACNN_CONV_KERNELS
ACNN_ISA_UNIT_END
