"""``pad``: PyTorch's ``torch.nn.functional.pad`` with its four modes.

``pad`` lists (before, after) pairs starting from the LAST axis: ``(1, 2)`` pads the last axis
with 1 before and 2 after, ``(1, 1, 2, 2)`` also the second-to-last with 2 on each side.

* ``'constant'``: fill with ``value`` (0 by default); any number of axes, and negative widths
  crop, as in PyTorch.
* ``'reflect'``: mirror without repeating the edge (``[1 2 3]`` -> ``3 2 | 1 2 3 | 2 1``); each
  width must be smaller than its axis.
* ``'replicate'``: repeat the edge value (``1 1 | 1 2 3 | 3 3``).
* ``'circular'``: wrap around (``2 3 | 1 2 3 | 1 2``); each width at most its axis.

The three non-constant modes pad the last 1, 2 or 3 axes of an input with one or two more axes
(unbatched or batched), as PyTorch requires. Each padded axis is one gather with an index array
(``_PadAxis``); its gradient (``_FoldAxis``) keeps the middle of the incoming gradient and adds
each border onto the positions it copied -- a few slice additions, no scatter -- and the two are
each other's adjoints, so gradients of every order follow.
"""
import numbers

import numpy as np

from ..autograd import Op, Tensor, as_array
from ..ops.shape import Pad

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _widths(fn, pad, ndim):
    if not isinstance(pad, (tuple, list)) or len(pad) % 2:
        raise ValueError(f"{fn}: pad must be a tuple of even length, got {pad!r}")
    if len(pad) // 2 > ndim:
        raise ValueError(f"{fn}: pad of length {len(pad)} pads {len(pad) // 2} axes, more than "
                         f"the input's {ndim}")
    for v in pad:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{fn}: pad must hold ints, got {pad!r}")
    widths = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        widths[ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return widths


def _source_index(mode, n, lo, hi):
    """For each position of the padded axis, the input position it copies."""
    j = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    if mode == "circular":
        return j % n
    j = np.abs(j)  # reflect: mirror at 0, then at n - 1
    return np.where(j > n - 1, 2 * (n - 1) - j, j)


def _fold(g, axis, mode, n, lo, hi):
    """The adjoint of padding one axis of size ``n``: each padded position's gradient summed
    into the position it was copied from."""
    def at(start, stop):
        return (slice(None),) * axis + (slice(start, stop),)

    out = g[at(lo, lo + n)].copy()
    if lo:
        left = g[at(0, lo)]
        if mode == "replicate":
            out[at(0, 1)] += left.sum(axis=axis, keepdims=True)
        elif mode == "circular":
            out[at(n - lo, n)] += left
        else:  # reflect: position -k copies k
            out[at(1, lo + 1)] += np.flip(left, axis)
    if hi:
        right = g[at(lo + n, lo + n + hi)]
        if mode == "replicate":
            out[at(n - 1, n)] += right.sum(axis=axis, keepdims=True)
        elif mode == "circular":
            out[at(0, hi)] += right
        else:  # reflect: position n - 1 + k copies n - 1 - k
            out[at(n - 1 - hi, n - 1)] += np.flip(right, axis)
    return out


class _PadAxis(Op):
    """Pad one axis by ``mode`` (a gather along it); gradient: :class:`_FoldAxis`."""

    @staticmethod
    def forward(ctx, a, axis, mode, lo, hi):
        x = as_array(a)
        ctx.args = (axis, mode, x.shape[axis], lo, hi)
        return np.take(x, _source_index(mode, x.shape[axis], lo, hi), axis=axis)

    @staticmethod
    def backward(ctx, g):
        return (_FoldAxis.apply(g, *ctx.args),) + (None,) * 4


class _FoldAxis(Op):
    """The adjoint of :class:`_PadAxis`: fold the padded borders back onto their sources."""

    @staticmethod
    def forward(ctx, g, axis, mode, n, lo, hi):
        ctx.args = (axis, mode, lo, hi)
        return _fold(as_array(g), axis, mode, n, lo, hi)

    @staticmethod
    def backward(ctx, gg):
        return (_PadAxis.apply(gg, *ctx.args),) + (None,) * 5


def pad(input, pad, mode="constant", value=None):
    """Pad ``input`` (see the module docstring). Same as torch.nn.functional.pad."""
    fn = "pad"
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if mode not in _MODES:
        raise ValueError(f"{fn}: mode must be one of {_MODES}, got {mode!r}")
    widths = _widths(fn, pad, input.ndim)
    if mode == "constant":
        if value is None:
            value = 0.0
        if any(lo < 0 or hi < 0 for lo, hi in widths):  # negative widths crop
            crop = tuple(slice(max(-lo, 0), n - max(-hi, 0))
                         for (lo, hi), n in zip(widths, input.shape))
            if any(c.start > c.stop for c in crop):
                raise ValueError(f"{fn}: negative pad {tuple(pad)} crops more than the input "
                                 f"of shape {tuple(input.shape)} holds")
            input = input[crop]
            widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
        if not any(lo or hi for lo, hi in widths):
            return input
        return Pad.apply(input, tuple(widths), value)
    if value is not None and value != 0:
        raise ValueError(f"{fn}: value is only used with mode='constant', got value={value!r} "
                         f"with mode={mode!r}")
    k = len(pad) // 2
    if k > 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"{fn}: mode={mode!r} pads the last 1, 2 or 3 axes of an input "
                                  f"with 1 or 2 more axes (unbatched or batched); got pad of "
                                  f"length {len(pad)} for an input of shape "
                                  f"{tuple(input.shape)}")
    out = input
    for axis in range(input.ndim - k, input.ndim):
        lo, hi = widths[axis]
        n = input.shape[axis]
        if lo < 0 or hi < 0:
            raise ValueError(f"{fn}: mode={mode!r} needs non-negative pad widths, got {pad!r}")
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(f"{fn}: reflect padding must be smaller than the axis it pads: "
                             f"got ({lo}, {hi}) for axis {axis} of size {n}")
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(f"{fn}: circular padding must be at most the size of the axis it "
                             f"pads: got ({lo}, {hi}) for axis {axis} of size {n}")
        if mode == "replicate" and n == 0 and (lo or hi):
            raise ValueError(f"{fn}: cannot replicate-pad the empty axis {axis}")
        if lo or hi:
            out = _PadAxis.apply(out, axis, mode, lo, hi)
    return out
