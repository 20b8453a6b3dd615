# Large-array buffer cache shared by the kernel families (csrc/common/buffer.h).
# Buffer cache. A training step allocates the same large arrays every time (the output, the
# arg-max, the input gradient) and drops them a moment later; from fresh memory every call, the
# kernel faults in (and zeroes) every page again, which costs about as much as the pooling itself.
# cached_empty hands out ndarrays over blocks owned by _CachedBlock objects: when the last array
# viewing a block dies, the block goes to a short list of idle blocks (newest last, oldest freed
# first beyond the byte limit) and the next request of about the same size reuses it, already
# mapped. Kernel families use it for their large outputs; small ones (< 1 MiB) use np.empty.
# ----------------------------------------------------------------------------------------------
from cpython.buffer cimport PyBUF_FORMAT, PyBUF_ND, PyBUF_STRIDES

cdef extern from "common/buffer.h" namespace "acnn" nogil:
    size_t buffer_capacity(size_t nbytes)
    void* buffer_alloc(size_t nbytes)
    void buffer_free(void* p)
    void set_scratch_limit(size_t nbytes)

import numpy as _np

cdef enum:
    _IDLE_SLOTS = 16
cdef size_t _buffer_min_bytes = 1 << 20
cdef size_t _buffer_limit = 256 << 20  # idle bytes kept at most
cdef void* _idle_ptr[_IDLE_SLOTS]
cdef size_t _idle_cap[_IDLE_SLOTS]
cdef int _idle_n = 0
cdef char* _BYTE_FORMAT = b"B"
cdef size_t _idle_bytes = 0


cdef void _idle_drop(int i) noexcept:
    """Frees idle block i and closes the gap (keeping the oldest-first order)."""
    global _idle_n, _idle_bytes
    buffer_free(_idle_ptr[i])
    _idle_bytes -= _idle_cap[i]
    cdef int j
    for j in range(i, _idle_n - 1):
        _idle_ptr[j] = _idle_ptr[j + 1]
        _idle_cap[j] = _idle_cap[j + 1]
    _idle_n -= 1


cdef void _idle_put(void* p, size_t cap) noexcept:
    global _idle_n, _idle_bytes
    if cap > _buffer_limit:
        buffer_free(p)
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


cdef class _CachedBlock:
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


def cached_empty(shape, dtype):
    """An uninitialised C-contiguous array (like np.empty), from the buffer cache when large."""
    dtype = _np.dtype(dtype)
    cdef size_t count = 1
    for s in shape:
        count *= <size_t>s
    cdef size_t nbytes = count * <size_t>dtype.itemsize
    if nbytes < _buffer_min_bytes:
        return _np.empty(shape, dtype)
    cdef size_t cap = buffer_capacity(nbytes)
    cdef void* p = _idle_take(cap)
    if p == NULL:
        p = buffer_alloc(cap)
        if p == NULL:
            raise MemoryError(f"cannot allocate {nbytes} bytes")
    cdef _CachedBlock b = _CachedBlock.__new__(_CachedBlock)
    b.ptr = p
    b.nbytes = cap
    b.one = 1
    return _np.frombuffer(b, dtype, count).reshape(shape)


def buffer_cache(limit=None):
    """(idle blocks, idle bytes, limit) of the buffer cache; with limit (bytes >= 0), first sets the
    most idle memory kept (0 frees every idle block and turns the cache off)."""
    global _buffer_limit
    if limit is not None:
        if limit < 0:
            raise ValueError(f"buffer_cache: limit must be >= 0 bytes, got {limit}")
        _buffer_limit = limit
        set_scratch_limit(limit)  # the kernels' per-thread scratch follows the same limit
        while _idle_n > 0 and _idle_bytes > _buffer_limit:
            _idle_drop(0)
    return _idle_n, _idle_bytes, _buffer_limit
