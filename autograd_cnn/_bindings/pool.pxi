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


# ----------------------------------------------------------------------------------------------
# Buffer cache. A training step allocates the same large arrays every time (the output, the
# arg-max, the input gradient) and drops them a moment later; from fresh memory every call, the
# kernel faults in (and zeroes) every page again, which costs about as much as the pooling itself.
# pool_empty hands out ndarrays over blocks owned by _PoolBuffer objects: when the last array
# viewing a block dies, the block goes to a short list of idle blocks (newest last, oldest freed
# first beyond the byte limit) and the next request of about the same size reuses it, already
# mapped. Only pooling's own arrays go through it; small ones (< 1 MiB) use np.empty.
# ----------------------------------------------------------------------------------------------
from cpython.buffer cimport PyBUF_FORMAT, PyBUF_ND, PyBUF_STRIDES

cdef extern from "pool/pool_buffer.h" namespace "acnn" nogil:
    size_t pool_buffer_capacity(size_t nbytes)
    void* pool_buffer_alloc(size_t nbytes)
    void pool_buffer_free(void* p)

import numpy as _np

cdef enum:
    _IDLE_SLOTS = 16
cdef size_t _buffer_min_bytes = 1 << 20
cdef size_t _buffer_limit = 512 << 20  # idle bytes kept at most
cdef void* _idle_ptr[_IDLE_SLOTS]
cdef size_t _idle_cap[_IDLE_SLOTS]
cdef int _idle_n = 0
cdef char* _BYTE_FORMAT = b"B"
cdef size_t _idle_bytes = 0


cdef void _idle_drop(int i) noexcept:
    """Frees idle block i and closes the gap (keeping the oldest-first order)."""
    global _idle_n, _idle_bytes
    pool_buffer_free(_idle_ptr[i])
    _idle_bytes -= _idle_cap[i]
    cdef int j
    for j in range(i, _idle_n - 1):
        _idle_ptr[j] = _idle_ptr[j + 1]
        _idle_cap[j] = _idle_cap[j + 1]
    _idle_n -= 1


cdef void _idle_put(void* p, size_t cap) noexcept:
    global _idle_n, _idle_bytes
    if cap > _buffer_limit:
        pool_buffer_free(p)
        return
    while _idle_n > 0 and (_idle_n == _IDLE_SLOTS or _idle_bytes + cap > _buffer_limit):
        _idle_drop(0)
    _idle_ptr[_idle_n] = p
    _idle_cap[_idle_n] = cap
    _idle_n += 1
    _idle_bytes += cap


cdef void* _idle_take(size_t cap) noexcept:
    """An idle block of exactly cap bytes (the newest), or NULL."""
    global _idle_n, _idle_bytes
    cdef int i, j
    cdef void* p
    for i in range(_idle_n - 1, -1, -1):
        if _idle_cap[i] == cap:
            p = _idle_ptr[i]
            _idle_bytes -= cap
            for j in range(i, _idle_n - 1):
                _idle_ptr[j] = _idle_ptr[j + 1]
                _idle_cap[j] = _idle_cap[j + 1]
            _idle_n -= 1
            return p
    return NULL


cdef class _PoolBuffer:
    """One block, exported as a writable 1-d byte buffer; arrays over it keep it alive."""
    cdef void* ptr
    cdef Py_ssize_t nbytes
    cdef Py_ssize_t one

    def __getbuffer__(self, Py_buffer* view, int flags):
        view.buf = self.ptr
        view.obj = self
        view.len = self.nbytes
        view.readonly = 0
        view.itemsize = 1
        view.format = _BYTE_FORMAT if flags & PyBUF_FORMAT else NULL
        view.ndim = 1
        view.shape = &self.nbytes if flags & PyBUF_ND else NULL
        view.strides = &self.one if flags & PyBUF_STRIDES else NULL
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer* view):
        pass

    def __dealloc__(self):
        if self.ptr != NULL:
            _idle_put(self.ptr, <size_t>self.nbytes)


def pool_empty(shape, dtype):
    """An uninitialised C-contiguous array (like np.empty), from the buffer cache when large."""
    dtype = _np.dtype(dtype)
    cdef size_t count = 1
    for s in shape:
        count *= <size_t>s
    cdef size_t nbytes = count * <size_t>dtype.itemsize
    if nbytes < _buffer_min_bytes:
        return _np.empty(shape, dtype)
    cdef size_t cap = pool_buffer_capacity(nbytes)
    cdef void* p = _idle_take(cap)
    if p == NULL:
        p = pool_buffer_alloc(cap)
        if p == NULL:
            raise MemoryError(f"pooling: cannot allocate {nbytes} bytes")
    cdef _PoolBuffer b = _PoolBuffer.__new__(_PoolBuffer)
    b.ptr = p
    b.nbytes = cap
    b.one = 1
    return _np.frombuffer(b, dtype, count).reshape(shape)


def pool_buffer_cache(limit=None):
    """(idle blocks, idle bytes, limit) of the buffer cache; with limit (bytes >= 0), first sets the
    most idle memory kept (0 frees every idle block and turns the cache off)."""
    global _buffer_limit
    if limit is not None:
        if limit < 0:
            raise ValueError(f"pool_buffer_cache: limit must be >= 0 bytes, got {limit}")
        _buffer_limit = limit
        while _idle_n > 0 and _idle_bytes > _buffer_limit:
            _idle_drop(0)
    return _idle_n, _idle_bytes, _buffer_limit
