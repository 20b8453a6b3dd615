"""Shape matching, the engine's broadcast machinery: a gradient arriving for a tensor of shape S
is *summed* over the dimensions that broadcasting added and *expanded* over the dimensions a
reduction removed. ``sum_to_shape`` does it on ndarrays; ``MatchShape`` is the same map as a
differentiable operation (for gradients being recorded, and for ``expand`` / ``sum_to_size``). It
is its own adjoint: its backward matches the gradient back to the input's shape.
"""
import numpy as np

from .function import Op
from .tensor import as_array

__all__ = ["sum_to_shape", "MatchShape", "set_channel_sum"]

# The gradient of a per-channel vector broadcast over a large tensor (``x * w.reshape(1, C, 1, 1)``)
# is a sum over every axis but one. NumPy does that on one thread, several times slower than the
# compiled per-channel sum; this package cannot import the compiled core (it stands below the
# ops), so the ops layer hands the sum in: ``_channel_sum(g, axis)`` -> the (C,) sum, or None
# when it cannot take g (a dtype the kernels lack).
_channel_sum = None
_CHANNEL_SUM_MIN = 1 << 14  # below this many elements NumPy's own sum is as fast


def set_channel_sum(fn):
    """Install ``fn(g, axis)`` (see ``_channel_sum`` above) for sum_to_shape; None removes it."""
    global _channel_sum
    _channel_sum = fn


def sum_to_shape(g, shape):
    """Make ndarray ``g`` (broadcast-compatible with ``shape``) exactly ``shape``: sum the
    dimensions broadcasting created, then broadcast dimensions a reduction removed."""
    gshape = g.shape
    if gshape == shape:
        return g
    nd = len(shape)
    gd = len(gshape)
    if _channel_sum is not None and g.size >= _CHANNEL_SUM_MIN and gd >= nd:
        kept = [i for i, s in enumerate(shape) if s != 1]
        if len(kept) == 1 and gshape[gd - nd + kept[0]] == shape[kept[0]]:
            out = _channel_sum(g, gd - nd + kept[0])
            if out is not None:
                return out.reshape(shape)
    if gd > nd:
        g = g.sum(axis=tuple(range(gd - nd)))
        gshape = g.shape
        gd = nd
    off = nd - gd
    axes = tuple([i for i in range(gd) if gshape[i] != 1 and shape[off + i] == 1])
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.shape != shape:
        try:
            g = np.broadcast_to(g, shape)
        except ValueError:
            raise RuntimeError(f"gradient of shape {tuple(gshape)} cannot be matched to a "
                               f"tensor of shape {tuple(shape)}: a backward returned a "
                               "gradient of the wrong shape") from None
    return g


class MatchShape(Op):
    """Sum over dimensions that are 1 (or missing) in ``shape``, broadcast over dimensions that
    are 1 in the input. Used by the engine, by ``expand`` and by ``sum_to_size``."""

    @staticmethod
    def forward(ctx, a, shape):
        a = as_array(a)
        ctx.in_shape = a.shape
        return sum_to_shape(a, shape)

    @staticmethod
    def backward(ctx, g):
        return MatchShape.apply(g, ctx.in_shape), None
