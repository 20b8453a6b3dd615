# Reductions (csrc/reduce/sum.h).
from libc.stdint cimport int64_t

cdef extern from "reduce/sum.h" namespace "acnn" nogil:
    T sum[T](const T* x, int64_t n)

ctypedef fused real:
    float
    double


def reduce_sum(const real[::1] x):
    """Sum of a contiguous 1-D float32/float64 array; the same bits on any thread count."""
    cdef real out
    cdef int64_t n = x.shape[0]
    if n == 0:
        return 0.0
    with nogil:
        out = sum(&x[0], n)
    return out
