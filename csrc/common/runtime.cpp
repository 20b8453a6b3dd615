#include "runtime.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>

#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef ACNN_CXXFLAGS
#define ACNN_CXXFLAGS "unknown"
#endif
#ifndef ACNN_FLAGS_AVX2
#define ACNN_FLAGS_AVX2 ""
#endif
#ifndef ACNN_FLAGS_AVX512
#define ACNN_FLAGS_AVX512 ""
#endif

namespace acnn {
namespace {

bool cpu_supports(Isa isa) {
#if defined(ACNN_HAVE_X86_ISAS) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  switch (isa) {
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("fma");
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default:
      return true;
  }
#else
  return isa == Isa::baseline;
#endif
}

int default_threads() {
#ifdef _OPENMP
  return std::max(1, omp_get_max_threads());
#else
  return 1;
#endif
}

Isa initial_isa() {
  Isa best = detect_isa();
  const char* env = std::getenv("AUTOGRAD_CNN_ISA");
  Isa wanted;
  if (env && *env && isa_from_name(env, &wanted) && isa_available(wanted)) return wanted;
  return best;
}

std::atomic<int>& active_isa_slot() {
  static std::atomic<int> slot{static_cast<int>(initial_isa())};
  return slot;
}

std::atomic<int>& threads_slot() {
  static std::atomic<int> slot{default_threads()};
  return slot;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "baseline";
  }
}

bool isa_from_name(const std::string& name, Isa* out) {
  if (name == "avx512") { *out = Isa::avx512; return true; }
  if (name == "avx2") { *out = Isa::avx2; return true; }
  if (name == "baseline") { *out = Isa::baseline; return true; }
  return false;
}

bool isa_available(Isa isa) { return cpu_supports(isa); }

Isa detect_isa() {
  if (cpu_supports(Isa::avx512)) return Isa::avx512;
  if (cpu_supports(Isa::avx2)) return Isa::avx2;
  return Isa::baseline;
}

Isa active_isa() { return static_cast<Isa>(active_isa_slot().load(std::memory_order_relaxed)); }

bool set_isa(Isa isa) {
  if (!isa_available(isa)) return false;
  active_isa_slot().store(static_cast<int>(isa), std::memory_order_relaxed);
  return true;
}

int num_threads() { return threads_slot().load(std::memory_order_relaxed); }

void set_num_threads(int n) {
  if (!openmp_enabled()) n = 1;
  threads_slot().store(std::clamp(n, 1, kMaxThreads), std::memory_order_relaxed);
}

bool openmp_enabled() {
#ifdef _OPENMP
  return true;
#else
  return false;
#endif
}

const char* compile_flags() { return ACNN_CXXFLAGS; }

const char* isa_compile_flags(Isa isa) {
  switch (isa) {
    case Isa::avx512: return ACNN_FLAGS_AVX512;
    case Isa::avx2: return ACNN_FLAGS_AVX2;
    default: return "";
  }
}

}  // namespace acnn
