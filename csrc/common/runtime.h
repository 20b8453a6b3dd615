// Runtime state of the compiled core: which instruction set the kernels run with, and how many
// OpenMP threads they use. Every kernel family dispatches through ACNN_DISPATCH below.
#pragma once

#include <string>

namespace acnn {

enum class Isa : int { baseline = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
bool isa_from_name(const std::string& name, Isa* out);

// The best instruction set that both this build and this CPU support.
Isa detect_isa();
// The instruction set the kernels use now: detect_isa(), or what AUTOGRAD_CNN_ISA / set_isa chose.
Isa active_isa();
// Force a path (tests run every path this way). Returns false, changing nothing, when the CPU or
// the build lacks it.
bool set_isa(Isa isa);
bool isa_available(Isa isa);

// Threads used by every parallel region of the kernels (process-wide, not per calling thread).
// The most threads set_num_threads keeps: far above any x86 server's hardware threads, far below
// the tens of thousands at which the OpenMP runtime fails to create them and exits.
constexpr int kMaxThreads = 1024;

int num_threads();
void set_num_threads(int n);  // clamped to [1, kMaxThreads]; 1 when the build has no OpenMP
bool openmp_enabled();

// The flags the extension was compiled with (given by setup.py).
const char* compile_flags();
const char* isa_compile_flags(Isa isa);

}  // namespace acnn

// Calls NS::fn(args...) for the active instruction set's namespace NS (acnn::avx512, acnn::avx2,
// acnn::baseline). Each family compiles its kernels once per ISA from one template source.
#if defined(ACNN_HAVE_X86_ISAS)
#define ACNN_DISPATCH(fn, ...)                                  \
  do {                                                          \
    switch (::acnn::active_isa()) {                             \
      case ::acnn::Isa::avx512: ::acnn::avx512::fn(__VA_ARGS__); break; \
      case ::acnn::Isa::avx2: ::acnn::avx2::fn(__VA_ARGS__); break;     \
      default: ::acnn::baseline::fn(__VA_ARGS__); break;        \
    }                                                           \
  } while (0)
#else
#define ACNN_DISPATCH(fn, ...) ::acnn::baseline::fn(__VA_ARGS__)
#endif
