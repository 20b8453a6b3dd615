"""Factories: zeros, ones, full, empty, eye, arange, linspace, randn, rand, randint, normal and
the ``*_like`` variants. Each takes ``device=`` ("cpu"; any other device raises). Sizes are
given as ints or one tuple (``zeros(2, 3)`` or ``zeros((2, 3))``);
the default dtype is float32. Random factories draw from the global generator
(``autograd_cnn.random.default_generator()``, seeded by ``manual_seed``) unless a
``generator`` (an ``np.random.Generator``) is passed.
"""
import numbers

import numpy as np

from ..autograd import Tensor
from ..backend import KERNEL_DTYPES
from .. import random as _random
from .._device import check_device

__all__ = ["zeros", "ones", "full", "empty", "eye", "arange", "linspace", "randn", "rand",
           "randint", "normal", "zeros_like", "ones_like", "full_like", "empty_like", "randn_like",
           "rand_like"]


def _size(size, fname):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral):
            raise TypeError(f"{fname}(): size must be ints, got {s!r} ({type(s).__name__})")
        if s < 0:
            raise ValueError(f"{fname}(): negative dimension {s} in size {tuple(size)}")
    return tuple(int(s) for s in size)


def _dtype(dtype, default=np.float32):
    return np.dtype(default if dtype is None else dtype)


def _make(arr, requires_grad):
    t = Tensor._wrap(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of zeros."""
    check_device(device, "zeros")
    return _make(np.zeros(_size(size, "zeros"), dtype=_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    """A tensor of ones."""
    check_device(device, "ones")
    return _make(np.ones(_size(size, "ones"), dtype=_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    """An uninitialised tensor (values are arbitrary)."""
    check_device(device, "empty")
    return _make(np.empty(_size(size, "empty"), dtype=_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    """A tensor filled with ``fill_value``; the dtype follows the value (bool, int64 or
    float32) unless given."""
    check_device(device, "full")
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, (bool, np.bool_)) else
                 np.int64 if isinstance(fill_value, numbers.Integral) else np.float32)
    size = _size((size,) if isinstance(size, numbers.Integral) else tuple(size), "full")
    return _make(np.full(size, fill_value, dtype=np.dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    """The n x m identity matrix."""
    check_device(device, "eye")
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from ``start`` (default 0) up to ``end`` (excluded) in steps of ``step``; int64
    when all three are ints, else float32."""
    check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange(): step must be nonzero")
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = np.int64 if ints else np.float32
    return _make(np.arange(start, end, step).astype(np.dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    check_device(device, "linspace")
    return _make(np.linspace(start, end, steps).astype(_dtype(dtype)), requires_grad)


def _gen(generator):
    return _random.default_generator() if generator is None else generator


def _float_dtype(dtype, fname):
    d = _dtype(dtype)
    if d not in KERNEL_DTYPES:
        raise TypeError(f"{fname}(): dtype must be float32 or float64, got {d}")
    return d


def randn(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Samples from the standard normal distribution."""
    check_device(device, "randn")
    d = _float_dtype(dtype, "randn")
    return _make(_gen(generator).standard_normal(_size(size, "randn"), dtype=d), requires_grad)


def rand(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Samples from the uniform distribution on [0, 1)."""
    check_device(device, "rand")
    d = _float_dtype(dtype, "rand")
    return _make(_gen(generator).random(_size(size, "rand"), dtype=d), requires_grad)


def randint(low, high=None, size=(), dtype=None, generator=None, device=None):
    """Random integers in [low, high) (``randint(high, size=...)`` starts at 0)."""
    check_device(device, "randint")
    if high is None:
        low, high = 0, low
    size = _size((size,) if isinstance(size, numbers.Integral) else tuple(size), "randint")
    return Tensor._wrap(_gen(generator).integers(low, high, size).astype(_dtype(dtype, np.int64)))


def _like(t, dtype):
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, got {type(t).__name__}")
    return t._data.shape, (t._data.dtype if dtype is None else np.dtype(dtype))


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    check_device(device, "zeros_like")
    shape, d = _like(t, dtype)
    return _make(np.zeros(shape, dtype=d), requires_grad)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    check_device(device, "ones_like")
    shape, d = _like(t, dtype)
    return _make(np.ones(shape, dtype=d), requires_grad)


def empty_like(t, dtype=None, requires_grad=False, device=None):
    check_device(device, "empty_like")
    shape, d = _like(t, dtype)
    return _make(np.empty(shape, dtype=d), requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None):
    check_device(device, "full_like")
    shape, d = _like(t, dtype)
    return _make(np.full(shape, fill_value, dtype=d), requires_grad)


def randn_like(t, dtype=None, requires_grad=False, generator=None, device=None):
    check_device(device, "randn_like")
    shape, d = _like(t, dtype)
    return _make(_gen(generator).standard_normal(shape, dtype=_float_dtype(d, "randn_like")),
                 requires_grad)


def rand_like(t, dtype=None, requires_grad=False, generator=None, device=None):
    check_device(device, "rand_like")
    shape, d = _like(t, dtype)
    return _make(_gen(generator).random(shape, dtype=_float_dtype(d, "rand_like")), requires_grad)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False):
    """Samples from normal distributions, PyTorch's forms: ``normal(mean_tensor, std_tensor)``
    (elementwise, broadcast), ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)``, and
    ``normal(mean, std, size)`` for two numbers. As in PyTorch no gradient flows back to ``mean``
    or ``std`` (the result is a new leaf)."""
    check_device(device, "normal")
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal(): with a number mean and std, give the size "
                            "(normal(0.0, 1.0, size=(2, 3)))")
        shape, d = _size((size,) if isinstance(size, numbers.Integral) else tuple(size),
                         "normal"), _float_dtype(dtype, "normal")
    else:
        if size is not None:
            raise TypeError("normal(): size is only taken with a number mean and std")
        shape = np.broadcast_shapes(*(t._data.shape for t in tensors))
        d = np.result_type(*(t._data.dtype for t in tensors)) if dtype is None else np.dtype(dtype)
        d = _float_dtype(d, "normal")
    s = std._data if isinstance(std, Tensor) else std
    if np.any(np.asarray(s) < 0):
        raise ValueError(f"normal(): std must be non-negative, got {std!r}")
    m = mean._data if isinstance(mean, Tensor) else mean
    out = (m + s * _gen(generator).standard_normal(shape)).astype(d, copy=False)
    return _make(np.ascontiguousarray(out), requires_grad)
