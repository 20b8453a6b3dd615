"""Shape matching, the engine's broadcast machinery: a gradient arriving for a tensor of shape S
is *summed* over the dimensions that broadcasting added and *expanded* over the dimensions a
reduction removed. ``sum_to_shape`` does it on ndarrays; ``MatchShape`` is the same map as a
differentiable operation (for gradients being recorded, and for ``expand`` / ``sum_to_size``). It
is its own adjoint: its backward matches the gradient back to the input's shape.
"""
import numpy as np

from .function import Op
from .tensor import as_array

__all__ = ["sum_to_shape", "MatchShape"]


def sum_to_shape(g, shape):
    """Make ndarray ``g`` (broadcast-compatible with ``shape``) exactly ``shape``: sum the
    dimensions broadcasting created, then broadcast dimensions a reduction removed."""
    gshape = g.shape
    if gshape == shape:
        return g
    nd = len(shape)
    gd = len(gshape)
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
