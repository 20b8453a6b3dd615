"""The compiled core's settings: instruction set, threads and build flags."""
from . import _C

__all__ = ["backend_info", "set_num_threads", "get_num_threads", "set_isa", "get_isa"]


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
