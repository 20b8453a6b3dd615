# distutils: language = c++
# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled core's only Python module. Each kernel family binds itself in one .pxi file under
_bindings/; every function here takes already-validated, C-contiguous NumPy arrays (the Python
side checks shapes and dtypes) and releases the GIL around the C++ call."""

include "_bindings/runtime.pxi"
include "_bindings/buffers.pxi"
include "_bindings/reduce.pxi"
include "_bindings/channel.pxi"
include "_bindings/activation.pxi"
include "_bindings/probe.pxi"
include "_bindings/conv.pxi"
include "_bindings/pool.pxi"
