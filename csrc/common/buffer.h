// Memory for the kernels' large arrays (outputs, arg-max, input gradients), handed to NumPy by the
// buffer cache of autograd_cnn/_bindings/buffers.pxi. Blocks of 4 MiB and more are aligned to 2 MiB
// and marked for transparent huge pages (as NumPy does for its own large arrays): one page fault
// maps 2 MiB instead of 4 KiB, and the TLB covers a whole plane stack.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace acnn {

constexpr std::size_t kHugePage = std::size_t(2) << 20;

// bytes rounded up to what buffer_alloc really reserves (so equal requests reuse blocks).
inline std::size_t buffer_capacity(std::size_t bytes) {
  const std::size_t unit = bytes >= 2 * kHugePage ? kHugePage : 4096;
  return (bytes + unit - 1) / unit * unit;
}

// nullptr when out of memory; `bytes` is a buffer_capacity.
inline void* buffer_alloc(std::size_t bytes) {
  const std::size_t align = bytes >= 2 * kHugePage ? kHugePage : 64;
  void* p = nullptr;
  if (posix_memalign(&p, align, bytes) != 0) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (align == kHugePage) madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

inline void buffer_free(void* p) { std::free(p); }

// The most scratch memory (a kernel's internal copies and packed operands, kept per calling
// thread between calls so that their pages stay mapped) one buffer may keep once its call has
// ended; larger ones are freed then. Set together with the buffer cache's limit
// (autograd_cnn.backend.set_buffer_cache_limit), 256 MiB by default.
inline std::atomic<std::size_t>& scratch_limit() {
  static std::atomic<std::size_t> limit{std::size_t(256) << 20};
  return limit;
}
inline void set_scratch_limit(std::size_t bytes) { scratch_limit().store(bytes); }

}  // namespace acnn
