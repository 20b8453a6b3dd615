"""Per-channel arithmetic on (N, C, *spatial) tensors: the ops batch norm and a convolution's bias
are made of, each a ``Function`` whose array-mode forward is one pass of a compiled kernel
(csrc/channel: multi-threaded, the same bits on any thread count).

================================ ================================================================
Function                          computes (c: the channel of an element; sums over N and space)
================================ ================================================================
``ChannelSum(g, axis)``           s[c] = sum g                      (a bias gradient)
``ChannelBroadcast(b, shape, axis)`` y = b[c] at every position     (a bias; ChannelSum's adjoint)
``ChannelMoments(x)``             mean[c], biased var[c] of x
``ChannelSums(g, x, shift)``      sum g, sum g * (x - shift[c])     (batch norm's backward sums)
``ChannelAffine(x, scale, shift, bias, g, gscale)``
                                  y = (x - shift[c]) * scale[c] + bias[c] + g * gscale[c]
================================ ================================================================

Every backward is written with these same Functions (so derivatives of any order exist), and
runs on arrays or Tensors ("Two worlds" in autograd/function.py). The kernels take float32 and
float64; other dtypes run the same formulas in NumPy. ``moments``, ``sums`` and ``affine`` are
the array-level entry points. Shapes are not checked here: callers (batch norm, convolution)
pass tensors whose channel axis matches the (C,) vectors.
"""
import math

import numpy as np

from .. import _C
from ..autograd import Op, as_array
from ..autograd.match_shape import set_channel_sum
from ..backend import KERNEL_DTYPES

__all__ = ["ChannelSum", "ChannelBroadcast", "ChannelMoments", "ChannelSums", "ChannelAffine",
           "moments", "sums", "affine"]

_EMPTY = {dt: np.empty(0, dt) for dt in KERNEL_DTYPES}  # "absent" for the kernels' vectors
_EMPTY3 = {dt: np.empty((0, 0, 0), dt) for dt in KERNEL_DTYPES}


def _ncl(shape, axis):
    """The (N, C, L) view of a tensor of ``shape`` with its channels on ``axis``."""
    if axis == 1 and len(shape) == 3:  # already (N, C, L): the usual case of small networks
        return shape
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def _view(shape, axis):
    """The shape a (C,) vector takes to broadcast against ``shape`` on ``axis``."""
    return (1,) * axis + (shape[axis],) + (1,) * (len(shape) - axis - 1)


def _kernel_ok(dt, *arrays):
    if dt not in KERNEL_DTYPES:
        return False
    for a in arrays:  # a loop: all() over a generator costs more than these few arrays
        if a is not None and a.dtype != dt:
            return False
    return True


def _vec(v, dt):
    return _EMPTY[dt] if v is None else np.ascontiguousarray(v)


def _others(ndim, axis):
    return tuple(i for i in range(ndim) if i != axis)


def moments(x, axis=1):
    """(mean, biased variance) of ndarray ``x`` per channel, two (C,) arrays."""
    if not _kernel_ok(x.dtype):
        mean = x.mean(axis=_others(x.ndim, axis))
        d = x - mean.reshape(_view(x.shape, axis))
        return mean, (d * d).mean(axis=_others(x.ndim, axis))
    C = x.shape[axis]
    mean, var = np.empty(C, x.dtype), np.empty(C, x.dtype)
    _C.channel_moments(np.ascontiguousarray(x).reshape(_ncl(x.shape, axis)), mean, var)
    return mean, var


def sums(g, x=None, shift=None, axis=1):
    """sum of ``g`` per channel, and (when ``x`` is given) of g * (x - shift[c]) (shift None: 0);
    one (C,) array, or a pair."""
    dt = g.dtype
    if not _kernel_ok(dt, x, shift):
        axes = _others(g.ndim, axis)
        sg = g.sum(axis=axes)
        if x is None:
            return sg
        d = x if shift is None else x - np.reshape(shift, _view(x.shape, axis))
        return sg, (g * d).sum(axis=axes)
    shape3 = _ncl(g.shape, axis)
    sg = np.empty(shape3[1], dt)
    if x is None:
        _C.channel_sum(np.ascontiguousarray(g).reshape(shape3), sg)
        return sg
    sgx = np.empty(shape3[1], dt)
    _C.channel_sums(np.ascontiguousarray(g).reshape(shape3),
                    np.ascontiguousarray(x).reshape(shape3), _vec(shift, dt), sg, sgx)
    return sg, sgx


def affine(x, scale, shift=None, bias=None, g=None, gscale=None, axis=1):
    """(x - shift[c]) * scale[c] + bias[c] + g * gscale[c] (shift, bias, g/gscale optional), a new
    array shaped like ``x``."""
    dt = x.dtype
    if not _kernel_ok(dt, scale, shift, bias, g, gscale):
        v = _view(x.shape, axis)
        y = (x if shift is None else x - np.reshape(shift, v)) * np.reshape(scale, v)
        if bias is not None:
            y = y + np.reshape(bias, v)
        return y if g is None else y + g * np.reshape(gscale, v)
    shape3 = _ncl(x.shape, axis)
    y = _C.cached_empty(x.shape, dt)
    _C.channel_affine(np.ascontiguousarray(x).reshape(shape3), _vec(shift, dt),
                      np.ascontiguousarray(scale), _vec(bias, dt),
                      _EMPTY3[dt] if g is None else np.ascontiguousarray(g).reshape(shape3),
                      _vec(gscale, dt), y.reshape(shape3))
    return y


def _arr(v):
    return None if v is None else as_array(v)


class ChannelSum(Op):
    """s = g summed over every axis but ``axis`` (a bias gradient); its gradient broadcasts back
    (ChannelBroadcast)."""

    @staticmethod
    def forward(ctx, g, axis):
        a = as_array(g)
        ctx.shape, ctx.axis = a.shape, axis
        return sums(a, axis=axis)

    @staticmethod
    def backward(ctx, gs):
        return ChannelBroadcast.apply(gs, ctx.shape, ctx.axis), None


class ChannelBroadcast(Op):
    """b of shape (C,) -> every position of an array of ``shape`` (the adjoint of ChannelSum)."""

    @staticmethod
    def forward(ctx, b, shape, axis):
        ctx.axis = axis
        b = as_array(b)
        return np.ascontiguousarray(np.broadcast_to(b.reshape(_view(shape, axis)), shape))

    @staticmethod
    def backward(ctx, g):
        return ChannelSum.apply(g, ctx.axis), None, None


class ChannelMoments(Op):
    """(mean, biased var) per channel of an (N, C, *spatial) tensor. Gradient:
    dx = gmean / m + gvar * 2 (x - mean) / m, one ChannelAffine (m values per channel)."""

    @staticmethod
    def forward(ctx, x):
        a = as_array(x)
        mean, var = moments(a)
        ctx.save_for_backward(x)
        ctx.mean, ctx.m = mean, a.size // a.shape[1]
        return mean, var

    @staticmethod
    def backward(ctx, gmean, gvar):
        (x,) = ctx.saved
        m = ctx.m
        # a graph of the gradient needs the mean as a function of x, so it is recomputed there
        mean = ctx.mean if isinstance(x, np.ndarray) else ChannelSum.apply(x, 1) / m
        return ChannelAffine.apply(x, gvar * (2 / m), mean, gmean / m)


class ChannelSums(Op):
    """(sum g, sum g * (x - shift[c])) per channel (shift None: 0): a batch norm's backward sums
    and ChannelAffine's parameter gradients, in one pass over g and x."""

    @staticmethod
    def forward(ctx, g, x, shift):
        ctx.save_for_backward(g, x, shift)
        return sums(as_array(g), as_array(x), _arr(shift))

    @staticmethod
    def backward(ctx, gs, gd):
        g, x, shift = ctx.saved
        need = ctx.needs_input_grad
        gg = ChannelAffine.apply(x, gd, shift, gs) if need[0] else None
        gx = ChannelAffine.apply(g, gd) if need[1] else None
        gshift = -gd * ChannelSum.apply(g, 1) if need[2] else None
        return gg, gx, gshift


class ChannelAffine(Op):
    """y = (x - shift[c]) * scale[c] + bias[c] + g * gscale[c] over an (N, C, *spatial) tensor:
    batch norm's scale-and-shift (without g) and its input gradient (with g), one pass. shift,
    bias and g/gscale may be None."""

    @staticmethod
    def forward(ctx, x, scale, shift=None, bias=None, g=None, gscale=None):
        need = ctx.needs_input_grad + (False,) * (6 - len(ctx.needs_input_grad))
        ctx.need = need
        ctx.save_for_backward(x if need[1] or need[2] else None, scale if need[0] or need[2]
                              else None, shift, g if need[5] else None, gscale)
        return affine(as_array(x), as_array(scale), _arr(shift), _arr(bias), _arr(g),
                      _arr(gscale))

    @staticmethod
    def backward(ctx, gy):
        x, scale, shift, g, gscale = ctx.saved
        need = ctx.need  # padded to the six arguments
        gx = ChannelAffine.apply(gy, scale) if need[0] else None
        gscale_ = gshift = gbias = None
        if need[1] or need[2]:
            s, gscale_ = ChannelSums.apply(gy, x, shift)
            gshift = -s * scale if need[2] else None
            gbias = s if need[3] else None
        elif need[3]:
            gbias = ChannelSum.apply(gy, 1)
        gg = ChannelAffine.apply(gy, gscale) if need[4] else None
        ggscale = ChannelSums.apply(gy, g, None)[1] if need[5] else None
        grads = gx, (gscale_ if need[1] else None), gshift, gbias, gg, ggscale
        return grads[:len(ctx.needs_input_grad)]  # one per argument given


def _engine_channel_sum(g, axis):
    """The engine's per-channel gradient sum (autograd/match_shape.py): the compiled kernel for
    the kernels' dtypes, None (NumPy's sum) for the rest."""
    return sums(g, axis=axis) if g.dtype in KERNEL_DTYPES else None


set_channel_sum(_engine_channel_sum)
