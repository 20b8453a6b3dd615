# FMA peak probe (csrc/probe/fma_probe.h): the yardstick of autograd_cnn.bench.

cdef extern from "probe/fma_probe.h" namespace "acnn" nogil:
    double c_probe_fma_peak "acnn::probe_fma_peak"(cbool is_double, int threads, double seconds)


def probe_fma_peak(dtype_is_double, int threads, double seconds):
    """Measured peak GFLOP/s of vector FMAs on the active instruction set, for float64
    (``dtype_is_double`` true) or float32, with ``threads`` threads each running independent FMA
    chains, over about ``seconds`` seconds (best of a few repetitions)."""
    cdef cbool is_double = bool(dtype_is_double)
    cdef double out
    if threads < 1:
        raise ValueError(f"probe_fma_peak: threads must be >= 1, got {threads}")
    if not (seconds > 0.0 and seconds <= 60.0):
        raise ValueError(f"probe_fma_peak: seconds must be in (0, 60], got {seconds}")
    with nogil:
        out = c_probe_fma_peak(is_double, threads, seconds)
    return out
