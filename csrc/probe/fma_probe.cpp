// Timing harness of the FMA peak probe (the kernels are in fma_probe_kernels.h, one copy per ISA).
#include "probe/fma_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/runtime.h"

namespace acnn {
namespace avx512 { template <typename T> void fma_probe_run(std::int64_t, T, T*, std::int64_t*); }
namespace avx2 { template <typename T> void fma_probe_run(std::int64_t, T, T*, std::int64_t*); }
namespace baseline { template <typename T> void fma_probe_run(std::int64_t, T, T*, std::int64_t*); }

namespace {

// The time is split into short repetitions (shorter than a scheduler time slice) and the best one
// is kept: on a shared machine some of them run undisturbed even when others are preempted.
constexpr int kMinRepetitions = 5;
constexpr double kRepetitionSeconds = 2e-3;

// Keeps the chains' results observable so no compiler can drop the work.
volatile double g_probe_sink = 0.0;

using Clock = std::chrono::steady_clock;

// One thread's timed run: `iters` iterations of its own chains. Returns seconds elapsed; stores the
// chains' result in *out and the FLOPs done in *flops.
template <typename T>
double timed_chains(std::int64_t iters, T seed, T* out, double* flops) {
  std::int64_t per_iter = 0;
  const auto start = Clock::now();
  ACNN_DISPATCH(fma_probe_run<T>, iters, seed, out, &per_iter);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  *flops = static_cast<double>(per_iter) * static_cast<double>(iters);
  return std::max(elapsed, 1e-9);
}

// Runs `iters` iterations on each of `threads` threads, all started together after a barrier (so
// waking the OpenMP team is not timed). Returns FLOP/s: all FLOPs over the slowest thread's time.
template <typename T>
double parallel_rate(std::int64_t iters, int threads) {
  std::vector<T> outs(static_cast<std::size_t>(threads), T(0));
  std::vector<double> seconds(static_cast<std::size_t>(threads), 0.0);
  std::vector<double> flops(static_cast<std::size_t>(threads), 0.0);
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
#pragma omp barrier
    seconds[t] = timed_chains<T>(iters, static_cast<T>(t + 1) * T(1e-3), &outs[t], &flops[t]);
  }
#else
  seconds[0] = timed_chains<T>(iters, T(1e-3), &outs[0], &flops[0]);
#endif
  double slowest = 0.0, total = 0.0, sink = 0.0;
  for (int t = 0; t < threads; ++t) {
    // a thread the team did not start (fewer threads granted) did no work and is not counted
    slowest = std::max(slowest, seconds[t]);
    total += flops[t];
    sink += static_cast<double>(outs[t]);
  }
  g_probe_sink = g_probe_sink + sink;
  return slowest > 0.0 ? total / slowest : 0.0;
}

template <typename T>
double peak(int threads, double seconds) {
  threads = std::max(1, threads);
#ifndef _OPENMP
  threads = 1;
#endif
  // Calibrate on this thread: grow the iteration count until one run takes >= 1 ms, then size
  // the repetitions so that all of them together take about `seconds`.
  std::int64_t iters = 256;
  T out = T(0);
  double flops = 0.0;
  double t = timed_chains<T>(iters, T(1e-3), &out, &flops);
  while (t < 1e-3 && iters < (std::int64_t(1) << 40)) {
    iters *= 4;
    t = timed_chains<T>(iters, T(1e-3), &out, &flops);
  }
  g_probe_sink = g_probe_sink + static_cast<double>(out);
  const int reps = std::max(kMinRepetitions, static_cast<int>(seconds / kRepetitionSeconds));
  const double per_rep = std::max(seconds / reps, 1e-4);
  iters = std::max<std::int64_t>(1, static_cast<std::int64_t>(static_cast<double>(iters) * (per_rep / t)));
  double best = 0.0;
  for (int r = 0; r < reps; ++r) best = std::max(best, parallel_rate<T>(iters, threads));
  return best * 1e-9;
}

}  // namespace

double probe_fma_peak(bool is_double, int threads, double seconds) {
  return is_double ? peak<double>(threads, seconds) : peak<float>(threads, seconds);
}

}  // namespace acnn
