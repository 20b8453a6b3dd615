# Reductions (csrc/reduce/sum.h).
from libc.stdint cimport int64_t

cdef extern from "reduce/sum.h" namespace "acnn" nogil:
    T sum[T](const T* x, int64_t n)
    void channel_sum_c "acnn::channel_sum"[T](const T* x, int64_t N, int64_t C, int64_t L, T* out)

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


def channel_sum(const real[:, :, ::1] x, real[::1] out):
    """out[c] = x[:, c, :].sum() for a C-contiguous (N, C, L) array (a convolution's bias
    gradient); the same bits on any thread count."""
    cdef int64_t N = x.shape[0], C = x.shape[1], L = x.shape[2]
    if out.shape[0] != C:
        raise ValueError(f"channel_sum: out must have {C} elements (x has shape ({N}, {C}, {L})), "
                         f"got {out.shape[0]}")
    if C == 0:
        return
    if N == 0 or L == 0:
        out[:] = 0
        return
    with nogil:
        channel_sum_c(&x[0, 0, 0], N, C, L, &out[0])
