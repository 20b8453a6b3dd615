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

from . import _C  # noqa: E402

__all__ = ["backend_info", "set_num_threads", "get_num_threads", "set_isa", "get_isa",
           "limit_blas_threads"]


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
    }


def get_num_threads():
    """Threads the kernels use (the OpenMP team size of every parallel region)."""
    return _C.runtime_num_threads()


def set_num_threads(n):
    """Set the kernels' thread count for the whole process. Results do not depend on it."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"set_num_threads: n must be >= 1, got {n}")
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


def limit_blas_threads(n=1):
    """Best effort: set the thread count of NumPy's OpenBLAS (used by the engine's matmul).

    OpenBLAS keeps its own busy-waiting thread pool, which fights with the kernels' OpenMP
    threads on a small machine: with both at 2 threads a LeNet-5 step on 2 cores ran 10-30x
    slower than with OpenBLAS at 1 thread (the matrices of LeNet are far too small to gain from
    BLAS threads).  Returns True when a library took the setting.
    """
    try:
        with open("/proc/self/maps") as f:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so[\w.\-]*)", f.read())))
    except OSError:  # not Linux
        return False
    done = False
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn(ctypes.c_int(n))
                done = True
                break
    return done
