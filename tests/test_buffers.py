"""The buffer cache behind the kernels' large arrays (autograd_cnn/_bindings/buffers.pxi): arrays are
ordinary writable C-contiguous ndarrays, a block is reused only after every array over it died,
and the idle memory stays under the limit."""
import gc
import os

import numpy as np
import pytest

from autograd_cnn import _C

MIB = 1 << 20


@pytest.fixture
def cache():
    before = _C.buffer_cache()[2]
    _C.buffer_cache(0)
    _C.buffer_cache(64 * MIB)
    yield
    _C.buffer_cache(0)
    _C.buffer_cache(before)


def test_small_arrays_are_plain_numpy(cache):
    a = _C.cached_empty((3, 4, 5), np.float32)
    assert a.shape == (3, 4, 5) and a.dtype == np.float32 and a.flags.owndata
    assert _C.cached_empty((0, 4), np.float64).shape == (0, 4)


def test_large_arrays_are_writable_aligned_and_reused(cache):
    a = _C.cached_empty((2, 3, 512, 512), np.float32)
    assert a.shape == (2, 3, 512, 512) and a.dtype == np.float32
    assert a.flags.c_contiguous and a.flags.writeable and a.ctypes.data % 64 == 0
    a[...] = 1.5
    view = a[1].reshape(-1)  # a view keeps the block alive after `a` is gone
    address = a.ctypes.data
    del a
    gc.collect()
    b = _C.cached_empty((2, 3, 512, 512), np.float32)
    assert b.ctypes.data != address
    assert np.all(view == 1.5)
    del view, b
    gc.collect()
    idle, idle_bytes, limit = _C.buffer_cache()
    assert idle == 2 and idle_bytes >= 2 * 6 * MIB and limit == 64 * MIB
    c = _C.cached_empty((6, 512, 512), np.float32)  # the same size: an idle block, no allocation
    assert _C.buffer_cache()[0] == 1
    c[...] = 0
    assert c.sum() == 0


def test_idle_memory_stays_under_the_limit(cache):
    _C.buffer_cache(10 * MIB)
    arrays = [_C.cached_empty((MIB,), np.float32) for _ in range(4)]  # 4 MiB each
    del arrays
    gc.collect()
    idle, idle_bytes, _ = _C.buffer_cache()
    assert idle == 2 and idle_bytes <= 10 * MIB
    _C.buffer_cache(0)
    assert _C.buffer_cache()[:2] == (0, 0)
    with pytest.raises(ValueError, match="limit"):
        _C.buffer_cache(-1)


def _rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return None


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="Linux only")
def test_scratch_above_the_cache_limit_is_released_after_the_call():
    """A convolution's internal copies (here the 68 MiB phase copy of a 16x64x130x130 padded
    input) are not kept past the call when they exceed the buffer-cache limit."""
    import autograd_cnn as ac
    import autograd_cnn.functional as F

    x = np.ones((16, 64, 128, 128), np.float32)
    w = np.ones((8, 64, 3, 3), np.float32)
    before_limit = ac.backend.backend_info()["buffer_cache"]["limit_bytes"]
    try:
        ac.backend.set_buffer_cache_limit(1 << 20)
        F.conv2d(x[:1, :1, :8, :8], w[:1, :1])  # trims what earlier calls of this thread kept
        base = _rss_mib()
        y = F.conv2d(x, w, padding=1)
        del y
        assert _rss_mib() - base < 32
    finally:
        ac.backend.set_buffer_cache_limit(before_limit)
