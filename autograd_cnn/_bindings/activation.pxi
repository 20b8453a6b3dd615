# ReLU (csrc/activation/relu.h).
from libc.stdint cimport int64_t, uint8_t

cdef extern from "activation/relu.h" namespace "acnn" nogil:
    void relu_forward_c "acnn::relu_forward"[T](const T* x, T* y, uint8_t* mask, int64_t n)
    void relu_backward_c "acnn::relu_backward"[T](const T* g, const uint8_t* mask, T* dx, int64_t n)


def relu_forward_kernel(const real[::1] x, real[::1] y, uint8_t[::1] mask=None):
    """y = relu(x) (NaN and -0.0 kept, as PyTorch) and mask = x > 0 (none written when mask is
    None: an inference forward), on contiguous 1-D arrays of one length."""
    cdef int64_t n = x.shape[0]
    cdef uint8_t* m = NULL
    if y.shape[0] != n or (mask is not None and mask.shape[0] != n):
        raise ValueError(f"relu_forward_kernel: x, y and mask must have one length, got "
                         f"{n}, {y.shape[0]}, {None if mask is None else mask.shape[0]}")
    if n == 0:
        return
    if mask is not None:
        m = &mask[0]
    with nogil:
        relu_forward_c(&x[0], &y[0], m, n)


def relu_backward_kernel(const real[::1] g, const uint8_t[::1] mask, real[::1] dx):
    """dx = g where mask else 0, on contiguous 1-D arrays of one length."""
    cdef int64_t n = g.shape[0]
    if mask.shape[0] != n or dx.shape[0] != n:
        raise ValueError(f"relu_backward_kernel: g, mask and dx must have one length, got "
                         f"{n}, {mask.shape[0]}, {dx.shape[0]}")
    if n == 0:
        return
    with nogil:
        relu_backward_c(&g[0], &mask[0], &dx[0], n)


# The error function (csrc/activation/erf.h), for GELU.
cdef extern from "activation/erf.h" namespace "acnn" nogil:
    void erf_map_c "acnn::erf_map"[T](const T* x, T* y, int64_t n)


def erf_kernel(const real[::1] x, real[::1] y):
    """y = erf(x), on contiguous 1-D arrays of one length."""
    cdef int64_t n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"erf_kernel: x and y must have one length, got {n} and {y.shape[0]}")
    if n == 0:
        return
    with nogil:
        erf_map_c(&x[0], &y[0], n)
