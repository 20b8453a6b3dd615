"""Piecewise-linear activations with PyTorch's definitions and gradients:

    hardtanh(x, lo, hi) = clamp(x, lo, hi)          gradient 1 for lo < x < hi, else 0
    relu6(x)            = hardtanh(x, 0, 6)
    hardsigmoid(x)      = clamp(x + 3, 0, 6) / 6     gradient 1/6 for -3 < x < 3, else 0
    hardswish(x)        = x * clamp(x + 3, 0, 6) / 6 gradient 0 (x <= -3), x/3 + 1/2 (-3 < x < 3),
                                                     1 (x >= 3)
    prelu(x, w)         = x (x > 0), w * x else      w: one slope, or one per channel (axis 1)

The gradients follow PyTorch's kernels at the kinks (hardtanh's is 0 *at* its bounds, where
``clamp``'s passes; hardswish's is 0 at -3 and 1 at 3), so results and gradients
match ``torch.nn.functional`` exactly there too. Each backward is written with ``Where`` and
arithmetic, so it runs on arrays and on Tensors (create_graph) alike: hardswish's second
derivative is 1/3 on (-3, 3). ``inplace=True`` is accepted and ignored, as for ``relu``.
"""
import numbers

import numpy as np

from ..autograd import Op, Tensor, as_array
from ..ops.elementwise import Where
from .smooth_activation import _check as _check_input

__all__ = ["hardtanh", "relu6", "hardsigmoid", "hardswish", "prelu"]


class _Hardtanh(Op):
    """clamp(x, lo, hi) with the gradient passed strictly inside (lo, hi), as PyTorch's."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        x = as_array(a)
        ctx.inside = (x > lo) & (x < hi)
        return np.minimum(np.maximum(x, x.dtype.type(lo)), x.dtype.type(hi))

    @staticmethod
    def backward(ctx, g):
        return Where.apply(ctx.inside, g, 0), None, None


class _Hardsigmoid(Op):
    @staticmethod
    def forward(ctx, a):
        x = as_array(a)
        ctx.inside = (x > -3) & (x < 3)
        return np.clip(x + x.dtype.type(3), 0, 6) / x.dtype.type(6)

    @staticmethod
    def backward(ctx, g):
        return Where.apply(ctx.inside, g * (1.0 / 6.0), 0)


class _Hardswish(Op):
    @staticmethod
    def forward(ctx, a):
        x = as_array(a)
        ctx.save_for_backward(a)
        ctx.low, ctx.high = x <= -3, x >= 3
        return x * np.clip(x + x.dtype.type(3), 0, 6) / x.dtype.type(6)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        middle = g * (x / 3.0 + 0.5)
        return Where.apply(ctx.low, 0, Where.apply(ctx.high, g, middle))


def _bound(value, name, fn):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{fn}: {name} must be a number, got {value!r}")
    return float(value)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """``clamp(input, min_val, max_val)``, gradient 1 strictly between the bounds. Same as
    torch.nn.functional.hardtanh."""
    fn = "hardtanh"
    _check_input(fn, input)
    lo, hi = _bound(min_val, "min_val", fn), _bound(max_val, "max_val", fn)
    if lo > hi:
        raise ValueError(f"{fn}: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")
    return _Hardtanh.apply(input, lo, hi)


def relu6(input, inplace=False):
    """``min(max(input, 0), 6)``. Same as torch.nn.functional.relu6."""
    _check_input("relu6", input)
    return _Hardtanh.apply(input, 0.0, 6.0)


def hardsigmoid(input, inplace=False):
    """``relu6(input + 3) / 6``, a piecewise-linear sigmoid. Same as
    torch.nn.functional.hardsigmoid."""
    _check_input("hardsigmoid", input)
    return _Hardsigmoid.apply(input)


def hardswish(input, inplace=False):
    """``input * relu6(input + 3) / 6`` (MobileNetV3). Same as torch.nn.functional.hardswish."""
    _check_input("hardswish", input)
    return _Hardswish.apply(input)


def prelu(input, weight):
    """``input`` where positive, else ``weight * input``; ``weight`` is a Tensor of one slope or
    of one slope per channel (axis 1 of the input), learnable. Same as
    torch.nn.functional.prelu."""
    fn = "prelu"
    _check_input(fn, input)
    if not isinstance(weight, Tensor):
        raise TypeError(f"{fn}: weight must be a Tensor, got {type(weight).__name__}")
    if weight.ndim > 1:
        raise ValueError(f"{fn}: weight must be a scalar or 1-D Tensor, got shape "
                         f"{tuple(weight.shape)}")
    if weight.dtype != input.dtype:
        raise TypeError(f"{fn}: weight ({weight.dtype}) must have the input's dtype "
                        f"({input.dtype})")
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if n != channels:
            raise ValueError(f"{fn}: weight has {n} slopes but the input has {channels} "
                             f"channels (axis 1 of shape {tuple(input.shape)}); give 1 or "
                             f"{channels}")
        weight = weight.reshape((1, n) + (1,) * (input.ndim - 2))
    elif weight.ndim == 1 and input.ndim == 0:
        weight = weight.reshape(())
    return Where.apply(as_array(input) > 0, input, input * weight)
