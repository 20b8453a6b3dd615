"""The compiled core's settings: instruction set, threads and build flags."""
import ctypes
import os
import re

# Idle OpenMP threads busy-wait by default. On a small machine shared with anything else (another
# process, NumPy's own BLAS threads) the spinning threads steal the cores the kernels need: a
# LeNet-5 training step on 2 busy cores ran 2-30x slower. Passive waiting costs about 0.4 ms per
# step on an idle machine and keeps 2 threads never much slower than 1. It must be set before the
# OpenMP runtime loads with _C; set OMP_WAIT_POLICY yourself to choose otherwise.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np  # noqa: E402

from . import _C  # noqa: E402

__all__ = ["KERNEL_DTYPES", "MAX_THREADS", "backend_info", "set_num_threads", "get_num_threads",
           "set_isa", "get_isa", "get_blas_threads", "set_blas_threads", "set_buffer_cache_limit", "blas_call"]

#: the dtypes the compiled kernels take (conv, pooling, relu, channel sums)
KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: the most threads ``set_num_threads`` accepts (csrc/common/runtime.h: far above any x86 server's
#: hardware threads, far below the tens of thousands at which OpenMP fails to create them)
MAX_THREADS = _C.runtime_max_threads()


def backend_info():
    """What the compiled core runs with: a dict with the chosen instruction set (``isa``), the ones
    this CPU and build offer, the OpenMP thread count and the compiler flags used."""
    return {
        "isa": _C.runtime_active_isa(),
        "detected_isa": _C.runtime_detected_isa(),
        "available_isas": _C.runtime_available_isas(),
        "openmp": _C.runtime_openmp_enabled(),
        "num_threads": _C.runtime_num_threads(),
        "compile_flags": _C.runtime_compile_flags(),
        "buffer_cache": dict(zip(("idle_blocks", "idle_bytes", "limit_bytes"), _C.buffer_cache())),
    }


def set_buffer_cache_limit(nbytes):
    """Most idle memory the kernels keep for reuse (large outputs and workspaces come back to it
    when their arrays die, so a training loop does not fault in fresh pages every step), and the
    largest scratch buffer (a convolution's internal copies) a thread keeps after a call: larger
    ones are freed when their call ends. 0 frees what is idle and turns the cache off. The
    default is 256 MiB."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, int) or nbytes < 0:
        raise ValueError(f"set_buffer_cache_limit: nbytes must be an int >= 0, got {nbytes!r}")
    _C.buffer_cache(nbytes)


def get_num_threads():
    """Threads the kernels use (the OpenMP team size of every parallel region)."""
    return _C.runtime_num_threads()


def set_num_threads(n):
    """Set the kernels' thread count for the whole process. Results do not depend on it."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"set_num_threads: n must be in [1, {MAX_THREADS}], got {n}")
    _C.runtime_set_num_threads(n)


def get_isa():
    """The instruction set the kernels run with now: 'avx512', 'avx2' or 'baseline'."""
    return _C.runtime_active_isa()


def set_isa(name):
    """Force the kernels onto one instruction-set path ('avx512', 'avx2', 'baseline'); the
    environment variable AUTOGRAD_CNN_ISA does the same at import. Raises ValueError when this CPU
    or build does not offer it."""
    if not _C.runtime_set_isa(name):
        raise ValueError(
            f"set_isa: {name!r} is not available here; available: {_C.runtime_available_isas()}")


def _openblas_entry_points():
    """(get, set) thread-count functions of the OpenBLAS that NumPy loaded, or (None, None).
    Found by name in the libraries mapped into this process (Linux only)."""
    names = ("scipy_openblas_%s_num_threads64_", "scipy_openblas_%s_num_threads_64_",
             "scipy_openblas_%s_num_threads", "openblas_%s_num_threads64_",
             "openblas_%s_num_threads")
    try:
        with open("/proc/self/maps") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so[\w.\-]*)", f.read())))
    except OSError:  # not Linux
        return None, None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            get, set_ = getattr(lib, name % "get", None), getattr(lib, name % "set", None)
            if get is not None and set_ is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                set_.restype, set_.argtypes = None, [ctypes.c_int]
                return get, set_
    return None, None


_blas = None


def _blas_functions():
    global _blas
    if _blas is None:
        _blas = _openblas_entry_points()
    return _blas


def get_blas_threads():
    """Threads of NumPy's OpenBLAS (the engine's matmul), or None when it cannot be found."""
    get, _ = _blas_functions()
    return int(get()) if get is not None else None


def set_blas_threads(n):
    """Best effort: set the thread count of NumPy's OpenBLAS (used by the engine's matmul).

    OpenBLAS keeps its own busy-waiting thread pool, which fights with the kernels' OpenMP
    threads on a small machine: with both at 2 threads a LeNet-5 step on 2 cores ran 10-30x
    slower than with OpenBLAS at 1 thread (the matrices of LeNet are far too small to gain from
    BLAS threads). The training command sets 1. Returns True when OpenBLAS took the setting.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_blas_threads: n must be an int >= 1, got {n!r}")
    _, set_ = _blas_functions()
    if set_ is None:
        return False
    set_(n)
    return True


#: multiply-adds a matrix product must give each extra OpenBLAS thread (about 0.1 s of one core)
BLAS_GRAIN_WORK = 1 << 32


def blas_call(fn, *args, work):
    """``fn(*args)``, a NumPy call into OpenBLAS (a matrix product of `work` multiply-adds), on one
    thread unless it gives every thread at least BLAS_GRAIN_WORK multiply-adds; never more than
    OpenBLAS's own setting or the kernels' thread count. The setting is restored afterwards, so
    the user's own NumPy calls are unaffected.

    Why so coarse a grain: after a multi-threaded call OpenBLAS's pool busy-waits for new work for
    about 2^28 cycles (its THREAD_TIMEOUT; about 0.1 s), holding cores the convolution kernels need
    next. VGG-CIFAR's classifier (64 x 2048 x 10, 1.3 million multiply-adds) ran its products on 2
    threads and the step on 2 threads was no faster than on 1; an extra BLAS thread pays only when
    its share takes longer than that spin. Not thread-safe across Python threads that run matrix
    products at the same time (one may see the other's setting; the results are the same).
    """
    get, set_ = _blas_functions()
    if get is None:
        return fn(*args)
    have = get()
    want = max(1, min(have, _C.runtime_num_threads(), int(work // BLAS_GRAIN_WORK)))
    if want == have:
        return fn(*args)
    set_(want)
    try:
        return fn(*args)
    finally:
        set_(have)
