"""Layer normalization (Ba et al., 2016) and group normalization (Wu & He, 2018), built from
ordinary Tensor operations (as batch norm is), so autograd derives their gradients and gradients
of gradients.

Both normalise each sample on its own -- no running statistics, the same in train() and eval():

* ``layer_norm``: over the trailing ``normalized_shape`` axes; ``weight`` and ``bias`` have that
  shape (one per normalised element).
* ``group_norm``: the C channels of an (N, C, *) input split into ``num_groups`` groups of
  consecutive channels; statistics per sample and group over the group's channels and every
  position; ``weight`` and ``bias`` have shape (C,) (one per channel).

In both, with m the number of values a statistic covers::

    mean = sum(x) / m,   var = sum((x - mean)^2) / m     (biased, as PyTorch)
    y    = (x - mean) / sqrt(var + eps) * weight + bias
"""
import math
import numbers

import numpy as np

from ..autograd import Op, Tensor, as_array

__all__ = ["layer_norm", "group_norm"]


def _check_input(fn, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if not np.issubdtype(input.dtype, np.floating):
        raise TypeError(f"{fn}: input must be floating point, got dtype {input.dtype}")


def _check_eps(fn, eps):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps >= 0:
        raise ValueError(f"{fn}: eps must be a number >= 0, got {eps!r}")


def _check_affine(fn, name, value, shape, dtype):
    if value is None:
        return
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor or None, got {type(value).__name__}")
    if tuple(value.shape) != tuple(shape):
        raise ValueError(f"{fn}: {name} must have shape {tuple(shape)}, got "
                         f"{tuple(value.shape)}")
    if value.dtype != dtype:
        raise TypeError(f"{fn}: {name} ({value.dtype}) must have the input's dtype ({dtype})")


def _standardize(x, axes, eps):
    """(xhat, rstd): xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps), the statistics over
    ``axes`` kept as size-1 axes. On arrays or Tensors (then differentiable) alike."""
    m = math.prod(x.shape[a] for a in axes)
    centred = x - x.sum(axis=axes, keepdims=True) / m
    rstd = ((centred * centred).sum(axis=axes, keepdims=True) / m + eps) ** -0.5
    return centred * rstd, rstd


class _Normalize(Op):
    """xhat = (x - mean) / sqrt(var + eps) over ``axes``, with the closed-form gradient
    ``dx = rstd * (g - mean(g) - xhat * mean(g * xhat))`` (means over ``axes``): a handful of
    passes instead of the backward of each op of the composition. A backward on Tensors
    (create_graph) recomputes xhat and rstd from x with recorded ops, so it is differentiable
    again; a backward on arrays reuses the forward's."""

    @staticmethod
    def forward(ctx, a, axes, eps):
        x = as_array(a)
        xhat, rstd = _standardize(x, axes, x.dtype.type(eps))
        ctx.axes, ctx.eps, ctx.m = axes, eps, math.prod(x.shape[i] for i in axes)
        ctx.save_for_backward(a)
        ctx.arrays = (xhat, rstd)
        return xhat

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        axes, m = ctx.axes, ctx.m
        xhat, rstd = (_standardize(x, axes, ctx.eps) if isinstance(x, Tensor)
                      else ctx.arrays)
        mean_g = g.sum(axis=axes, keepdims=True) / m
        mean_gx = (g * xhat).sum(axis=axes, keepdims=True) / m
        return (g - mean_g - xhat * mean_gx) * rstd, None, None


def _normalize(x, axes, eps):
    return _Normalize.apply(x, axes, eps)


def normalized_shape_tuple(normalized_shape, fn):
    """``normalized_shape`` (an int or a sequence of positive ints) as a tuple."""
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else \
        normalized_shape
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{fn}: normalized_shape must be an int or a sequence of ints, got "
                        f"{normalized_shape!r}") from None
    if not shape or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1
                        for s in shape):
        raise ValueError(f"{fn}: normalized_shape must be a non-empty sequence of positive "
                         f"ints, got {normalized_shape!r}")
    return tuple(int(s) for s in shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last ``len(normalized_shape)`` axes, whose sizes must equal
    ``normalized_shape``; then ``* weight + bias`` (each of shape ``normalized_shape``) when
    given. Same as torch.nn.functional.layer_norm."""
    fn = "layer_norm"
    _check_input(fn, input)
    shape = normalized_shape_tuple(normalized_shape, fn)
    _check_eps(fn, eps)
    k = len(shape)
    if input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise ValueError(f"{fn}: input of shape {tuple(input.shape)} must end with "
                         f"normalized_shape {shape}")
    _check_affine(fn, "weight", weight, shape, input.dtype)
    _check_affine(fn, "bias", bias, shape, input.dtype)
    out = _normalize(input, tuple(range(input.ndim - k, input.ndim)), float(eps))
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise an (N, C, *) input per sample over groups of C / ``num_groups`` consecutive
    channels (and every position); then ``* weight + bias`` per channel (shape (C,)) when
    given. Same as torch.nn.functional.group_norm."""
    fn = "group_norm"
    _check_input(fn, input)
    _check_eps(fn, eps)
    if input.ndim < 2:
        raise ValueError(f"{fn}: input must be (N, C, *) with at least 2 axes, got shape "
                         f"{tuple(input.shape)}")
    if isinstance(num_groups, bool) or not isinstance(num_groups, numbers.Integral) \
            or num_groups < 1:
        raise ValueError(f"{fn}: num_groups must be a positive int, got {num_groups!r}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise ValueError(f"{fn}: the input's {c} channels (axis 1) must be divisible by "
                         f"num_groups ({num_groups})")
    _check_affine(fn, "weight", weight, (c,), input.dtype)
    _check_affine(fn, "bias", bias, (c,), input.dtype)
    grouped = input.reshape(n, int(num_groups), -1) if input.size else input.reshape(
        (n, int(num_groups), 0))
    out = _normalize(grouped, (2,), float(eps)).reshape(tuple(input.shape))
    view = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(view)
    if bias is not None:
        out = out + bias.reshape(view)
    return out
