// Opens the namespace of one instruction-set translation unit. A family's per-ISA file is:
//
//   #define ACNN_ISA avx2          // avx512, avx2 or baseline; setup.py picks the flags by file name
//   #include "common/isa_unit.h"
//   #include "conv/conv_kernels.h"  // the family's one template source
//   ACNN_ISA_UNIT_END
//
// Everything the kernels define lands in acnn::<ACNN_ISA>, so the three copies never collide.
#pragma once

#if !defined(ACNN_ISA)
#error "define ACNN_ISA before including isa_unit.h"
#endif

#define ACNN_ISA_avx512 64
#define ACNN_ISA_avx2 32
#define ACNN_ISA_baseline 16
#define ACNN_CAT_(a, b) a##b
#define ACNN_CAT(a, b) ACNN_CAT_(a, b)
#define ACNN_VECTOR_BYTES ACNN_CAT(ACNN_ISA_, ACNN_ISA)

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "common/parallel.h"
#include "common/runtime.h"

namespace acnn {
namespace ACNN_ISA {
#include "common/simd.h"

#define ACNN_ISA_UNIT_END \
  }                       \
  }
