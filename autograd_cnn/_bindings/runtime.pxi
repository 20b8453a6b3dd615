# Runtime: instruction-set dispatch, threads and build flags (csrc/common/runtime.h).
from libcpp cimport bool as cbool
from libcpp.string cimport string

cdef extern from "common/runtime.h" namespace "acnn":
    cdef enum class Isa(int):
        baseline
        avx2
        avx512
    const char* isa_name(Isa isa)
    cbool isa_from_name(const string& name, Isa* out)
    Isa detect_isa()
    Isa active_isa()
    cbool set_isa(Isa isa)
    cbool isa_available(Isa isa)
    const int kMaxThreads
    int num_threads()
    void set_num_threads(int n)
    cbool openmp_enabled()
    const char* compile_flags()
    const char* isa_compile_flags(Isa isa)

_ISA_NAMES = ("baseline", "avx2", "avx512")


def _isa_by_name(name):
    cdef Isa isa
    if not isinstance(name, str) or not isa_from_name(name.encode(), &isa):
        raise ValueError(f"isa must be one of {_ISA_NAMES}, got {name!r}")
    return isa


def runtime_active_isa():
    return isa_name(active_isa()).decode()


def runtime_detected_isa():
    return isa_name(detect_isa()).decode()


def runtime_available_isas():
    return tuple(n for n in _ISA_NAMES if isa_available(_isa_by_name(n)))


def runtime_set_isa(name):
    """Force the kernels onto one instruction-set path; False when this CPU or build lacks it."""
    return bool(set_isa(_isa_by_name(name)))


def runtime_num_threads():
    return num_threads()


def runtime_set_num_threads(int n):
    set_num_threads(n)


def runtime_max_threads():
    """The most threads the kernels accept (kMaxThreads, csrc/common/runtime.h)."""
    return kMaxThreads


def runtime_openmp_enabled():
    return bool(openmp_enabled())


def runtime_compile_flags():
    return {
        "common": compile_flags().decode(),
        "avx2": isa_compile_flags(_isa_by_name("avx2")).decode(),
        "avx512": isa_compile_flags(_isa_by_name("avx512")).decode(),
    }
