"""Reductions: sum, mean, max/min (whole tensor or along a dim), var/std.

``dim`` may be None (all dimensions), an int or a tuple of ints; ``keepdim`` keeps reduced
dimensions with size 1. A reduction's backward only has to reshape the incoming gradient to the
keepdim shape: the engine broadcasts it back over the reduced dimensions.

``max(dim=...)``/``min(dim=...)`` return ``(values, indices)`` like PyTorch; the values are
differentiable through a gather of the input at the indices (see ``indexing.py``), so the
gradient lands on the selected element only. Without ``dim`` the gradient is shared evenly
between tied maxima, as PyTorch does.
"""
import math
from collections import namedtuple

import numpy as np

from ..autograd import Op, Tensor
from ._util import norm_dims, norm_dim, keep_shape, check_tensor, dim_aliases, ShapeError
from .elementwise import Where, maximum, minimum, sqrt
from .indexing import GatherAlong

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "var", "std", "argmax", "argmin"]

ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
ValuesIndices.__doc__ = "The (values, indices) result of max/min along a dim, like PyTorch."


_add_reduce = np.add.reduce  # what ndarray.sum calls, minus a Python-level wrapper


class Sum(Op):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        x = a._data
        if ctx.needs_input_grad[0]:
            ctx.kshape = keep_shape(x.shape, dims)
        return _add_reduce(x, dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.kshape), None, None  # the engine broadcasts over reduced dims



class Mean(Op):
    @staticmethod
    def forward(ctx, a, dims, keepdim):
        x = a._data
        kshape = keep_shape(x.shape, dims)
        ctx.kshape = kshape
        ctx.n = n = x.size // (math.prod(kshape) or 1)
        out = _add_reduce(x, dims, keepdims=keepdim) / n   # exactly what ndarray.mean does
        return out

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.kshape) / ctx.n, None, None



class Extreme(Op):
    """max or min over all elements (``which`` is np.max or np.min); ties share the gradient."""

    @staticmethod
    def forward(ctx, a, which):
        x = a._data
        if x.size == 0:
            raise ShapeError(f"{which.__name__}(): expected a non-empty tensor")
        out = which(x)
        mask = x == out
        ctx.mask = mask
        ctx.count = int(mask.sum())
        return out

    @staticmethod
    def backward(ctx, g):
        return Where.apply(ctx.mask, g / ctx.count, 0), None



class Var(Op):
    """Variance over ``dims`` divided by (N - correction)."""

    @staticmethod
    def forward(ctx, a, dims, correction, keepdim):
        x = a._data
        ctx.save_for_backward(a)
        ctx.kshape = keep_shape(x.shape, dims)
        n = x.size // (math.prod(ctx.kshape) or 1)
        ctx.denom = n - correction
        ctx.dims = dims
        d = x - x.mean(axis=dims, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (d * d).sum(axis=dims, keepdims=keepdim) / ctx.denom

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        d = a - a.mean(axis=ctx.dims, keepdims=True)
        # N - correction == 0 (one element, unbiased): the forward is NaN, and so is the
        # gradient, as in PyTorch (not a ZeroDivisionError)
        scale = 2.0 / ctx.denom if ctx.denom != 0 else float("nan")
        return g.reshape(ctx.kshape) * scale * d, None, None, None



def _reduce_args(x, dim, keepdim, fname):
    check_tensor(x, fname)
    if not isinstance(keepdim, (bool, np.bool_)):
        raise TypeError(f"{fname}(): argument 'keepdim' must be a bool, got {type(keepdim).__name__}")
    nd = x._data.ndim
    dims = norm_dims(dim, nd)
    return (None if nd == 0 else dims), bool(keepdim)  # a 0-d tensor reduces to itself


@dim_aliases
def sum(x, dim=None, keepdim=False):  # noqa: A001 - mirrors torch.sum
    """Sum over ``dim`` (None: all)."""
    dims, keepdim = _reduce_args(x, dim, keepdim, "sum")
    return Sum.apply(x, dims, keepdim)


@dim_aliases
def mean(x, dim=None, keepdim=False):
    """Arithmetic mean over ``dim`` (None: all)."""
    dims, keepdim = _reduce_args(x, dim, keepdim, "mean")
    if x._data.dtype.kind not in "fc":
        raise TypeError(f"mean(): input dtype must be floating point, got {x._data.dtype}")
    return Mean.apply(x, dims, keepdim)


def _correction(unbiased, correction, fname):
    if correction is not None:
        if unbiased is not None:
            raise ValueError(f"{fname}(): give either 'unbiased' or 'correction', not both")
        return float(correction)
    return 1.0 if unbiased is None or unbiased else 0.0


@dim_aliases
def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance over ``dim``; divides by N - correction (default correction=1, i.e.
    unbiased=True, as in PyTorch)."""
    if isinstance(dim, bool):  # torch.var(x, False): the old positional 'unbiased'
        dim, unbiased = None, dim
    dims, keepdim = _reduce_args(x, dim, keepdim, "var")
    return Var.apply(x, dims, _correction(unbiased, correction, "var"), keepdim)


@dim_aliases
def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Standard deviation: sqrt of :func:`var` with the same arguments."""
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction))


def _extreme(x, dim, keepdim, which, argfn, fname):
    check_tensor(x, fname)
    if dim is None:
        return Extreme.apply(x, which)
    data = x._data
    d = norm_dim(dim, data.ndim)
    if data.ndim == 0:
        return ValuesIndices(Extreme.apply(x, which), _index_tensor(np.zeros((), np.int64)))
    if data.shape[d] == 0:
        raise IndexError(f"{fname}(): cannot reduce over an empty dimension {d}")
    idx = np.expand_dims(argfn(data, axis=d), d)
    values = GatherAlong.apply(x, idx, d)
    if not keepdim:
        values = values.squeeze(d)
        idx = idx.squeeze(d)
    return ValuesIndices(values, _index_tensor(idx.astype(np.int64, copy=False)))


def _index_tensor(a):
    return Tensor._wrap(a)


@dim_aliases
def max(x, dim=None, keepdim=False):  # noqa: A001
    """The largest value (``dim=None``), or ``(values, indices)`` along ``dim``; with a Tensor
    as second argument, the elementwise maximum (like ``torch.max(a, b)``)."""
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    return _extreme(x, dim, keepdim, np.max, np.argmax, "max")


@dim_aliases
def min(x, dim=None, keepdim=False):  # noqa: A001
    """The smallest value (``dim=None``), or ``(values, indices)`` along ``dim``; with a Tensor
    as second argument, the elementwise minimum."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    return _extreme(x, dim, keepdim, np.min, np.argmin, "min")


def _amax(x, dim, keepdim, which, fname):
    dims, keepdim = _reduce_args(x, dim, keepdim, fname)
    if dims is None:
        out = Extreme.apply(x, which)
        return out.reshape((1,) * x.ndim) if keepdim else out
    return AmaxAlong.apply(x, dims, keepdim, which)


class AmaxAlong(Op):
    """max/min values over several dims; ties share the gradient evenly (like torch.amax)."""

    @staticmethod
    def forward(ctx, a, dims, keepdim, which):
        x = a._data
        m = which(x, axis=dims, keepdims=True)
        mask = x == m
        ctx.mask = mask
        ctx.count = mask.sum(axis=dims, keepdims=True)
        ctx.kshape = m.shape
        return m if keepdim else m.reshape([s for i, s in enumerate(x.shape) if i not in dims])

    @staticmethod
    def backward(ctx, g):
        share = g.reshape(ctx.kshape) / ctx.count
        return Where.apply(ctx.mask, share, 0), None, None, None



@dim_aliases
def amax(x, dim=None, keepdim=False):
    """Maximum values over ``dim`` (int, tuple or None); no indices."""
    return _amax(x, dim, keepdim, np.max, "amax")


@dim_aliases
def amin(x, dim=None, keepdim=False):
    """Minimum values over ``dim`` (int, tuple or None); no indices."""
    return _amax(x, dim, keepdim, np.min, "amin")


@dim_aliases
def argmax(x, dim=None, keepdim=False):
    """Index of the largest value (flattened when ``dim`` is None). Not differentiable."""
    return _arg(x, dim, keepdim, np.argmax, "argmax")


@dim_aliases
def argmin(x, dim=None, keepdim=False):
    """Index of the smallest value (flattened when ``dim`` is None). Not differentiable."""
    return _arg(x, dim, keepdim, np.argmin, "argmin")


def _arg(x, dim, keepdim, fn, fname):
    check_tensor(x, fname)
    data = x._data
    if dim is None:
        r = np.asarray(fn(data))
        if keepdim:
            r = r.reshape((1,) * data.ndim)
    else:
        d = norm_dim(dim, data.ndim)
        r = fn(data, axis=d, keepdims=bool(keepdim)) if data.ndim else np.asarray(0)
    return _index_tensor(np.asarray(r, dtype=np.int64))
