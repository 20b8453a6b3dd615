// Public entry of the FMA peak probe: the measured floating-point peak of this machine, the
// yardstick `python -m autograd_cnn bench` divides every kernel's GFLOP/s by.
#pragma once

namespace acnn {

// Measured GFLOP/s of back-to-back vector FMAs on the active instruction set, for float
// (is_double false) or double, with `threads` threads each running its own chains. Runs for about
// `seconds` in total, split into short repetitions (~2 ms, at least 5), and returns the best one
// (the machine may be shared; the best repetition is the closest to the true peak).
double probe_fma_peak(bool is_double, int threads, double seconds);

}  // namespace acnn
