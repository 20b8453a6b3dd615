# Pooling (csrc/pool/pool.h). Arrays are C-contiguous stacks of planes: x (planes, H, W) and the
# outputs (planes, OH, OW); autograd_cnn/functional/pooling.py validates everything first and
# allocates the outputs. `geom` is (kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
# dilation_h, dilation_w, adaptive, count_include_pad, divisor_override).
from libc.stdint cimport int32_t, int64_t

cdef extern from "pool/pool.h" namespace "acnn" nogil:
    cdef struct PoolParams:
        int64_t planes, in_h, in_w, out_h, out_w
        int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w
        int adaptive
        int count_include_pad
        int64_t divisor_override
    void max_pool_forward[T, I](const T* x, T* y, I* ind, const PoolParams& q) except +
    void max_pool_scatter[T, I](const T* gy, const I* ind, T* gx, const PoolParams& q) except +
    void max_pool_gather[T, I](const T* x, const I* ind, T* y, const PoolParams& q) except +
    void avg_pool_forward[T](const T* x, T* y, const PoolParams& q) except +
    void avg_pool_backward[T](const T* gy, T* gx, const PoolParams& q) except +

ctypedef fused pool_index:
    int32_t
    int64_t


cdef tuple _NO_GEOM = (1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0)


cdef PoolParams _pool_params(Py_ssize_t* in_shape, Py_ssize_t* out_shape, tuple geom) except *:
    if in_shape[0] != out_shape[0] or len(geom) != 11:
        raise ValueError(f"pool binding: {in_shape[0]} input planes, {out_shape[0]} output planes,"
                         f" geometry {geom}")
    cdef PoolParams q
    q.planes, q.in_h, q.in_w = in_shape[0], in_shape[1], in_shape[2]
    q.out_h, q.out_w = out_shape[1], out_shape[2]
    (q.kernel_h, q.kernel_w, q.stride_h, q.stride_w, q.pad_h, q.pad_w, q.dilation_h, q.dilation_w,
     q.adaptive, q.count_include_pad, q.divisor_override) = geom
    return q


def pool_max_forward(const real[:, :, ::1] x, real[:, :, ::1] y, pool_index[:, :, ::1] ind,
                     tuple geom):
    """y, ind = max over each window of x and its flat arg-max within the plane."""
    cdef PoolParams q = _pool_params(x.shape, y.shape, geom)
    if ind.shape[0] != y.shape[0] or ind.shape[1] != y.shape[1] or ind.shape[2] != y.shape[2]:
        raise ValueError("pool_max_forward: ind and y shapes differ")
    if q.planes == 0 or q.out_h * q.out_w == 0:
        return
    with nogil:
        max_pool_forward(&x[0, 0, 0], &y[0, 0, 0], &ind[0, 0, 0], q)


def pool_max_values(const real[:, :, ::1] x, real[:, :, ::1] y, tuple geom):
    """y = max over each window of x, without the arg-max (when no gradient is needed)."""
    cdef PoolParams q = _pool_params(x.shape, y.shape, geom)
    cdef int32_t* no_indices = NULL
    if q.planes == 0 or q.out_h * q.out_w == 0:
        return
    with nogil:
        max_pool_forward(&x[0, 0, 0], &y[0, 0, 0], no_indices, q)


def pool_max_scatter(const real[:, :, ::1] gy, const pool_index[:, :, ::1] ind,
                     real[:, :, ::1] gx, tuple geom):
    """gx = 0, then gx[p].flat[ind[p, j]] += gy[p, j] (max pooling's backward). geom is the
    forward call's: with disjoint windows the kernel writes gx input by input."""
    cdef PoolParams q = _pool_params(gx.shape, gy.shape, geom)
    if ind.shape[0] != gy.shape[0] or ind.shape[1] != gy.shape[1] or ind.shape[2] != gy.shape[2]:
        raise ValueError("pool_max_scatter: ind and gy shapes differ")
    if q.planes == 0 or q.in_h * q.in_w == 0:
        return
    with nogil:
        max_pool_scatter(&gy[0, 0, 0], &ind[0, 0, 0], &gx[0, 0, 0], q)


def pool_max_gather(const real[:, :, ::1] x, const pool_index[:, :, ::1] ind, real[:, :, ::1] y):
    """y[p, j] = x[p].flat[ind[p, j]] (the scatter's adjoint)."""
    cdef PoolParams q = _pool_params(x.shape, y.shape, _NO_GEOM)
    if ind.shape[0] != y.shape[0] or ind.shape[1] != y.shape[1] or ind.shape[2] != y.shape[2]:
        raise ValueError("pool_max_gather: ind and y shapes differ")
    if q.planes == 0 or q.out_h * q.out_w == 0:
        return
    with nogil:
        max_pool_gather(&x[0, 0, 0], &ind[0, 0, 0], &y[0, 0, 0], q)


def pool_avg_forward(const real[:, :, ::1] x, real[:, :, ::1] y, tuple geom):
    """y = average over each window of x."""
    cdef PoolParams q = _pool_params(x.shape, y.shape, geom)
    if q.planes == 0 or q.out_h * q.out_w == 0:
        return
    with nogil:
        avg_pool_forward(&x[0, 0, 0], &y[0, 0, 0], q)


def pool_avg_backward(const real[:, :, ::1] gy, real[:, :, ::1] gx, tuple geom):
    """gx = the adjoint of the average pooling applied to gy."""
    cdef PoolParams q = _pool_params(gx.shape, gy.shape, geom)
    if q.planes == 0 or q.in_h * q.in_w == 0:
        return
    with nogil:
        avg_pool_backward(&gy[0, 0, 0], &gx[0, 0, 0], q)
