"""Indexing: ``x[index]`` and gathering along a dimension, each paired with its adjoint.

``x[index]`` picks elements; its backward puts the gradient back where they came from, into a
tensor of zeros shaped like ``x``. With integer-array indices the same element may be picked
several times (``x[[0, 0, 1]]``), so the backward must *add* the repeated contributions:
``np.add.at`` does an unbuffered scatter-add. Basic indices (ints, slices, None, Ellipsis) and
boolean masks never repeat an element, so a plain assignment is enough there (and faster).

The two directions are adjoint linear maps, so each one's backward is the other one applied:
that is what makes gradients of gradients work, and on ndarrays it is the other one's forward
(so each forward takes ndarrays as well as Tensors).
"""
import numpy as np

from ..autograd import Op, Tensor, as_array


def normalize_index(index):
    """Turn Tensors and lists inside an index into ndarrays; report whether the index may
    select an element more than once (integer arrays)."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    repeats = False
    for part in index:
        if isinstance(part, Tensor):
            part = part._data
        elif isinstance(part, list):
            part = np.asarray(part)
            if part.size == 0:
                part = part.astype(np.int64)
        if isinstance(part, np.ndarray):
            if part.dtype.kind in "iu":
                repeats = True
            elif part.dtype.kind != "b":
                raise IndexError("tensors used as indices must be long, int or bool tensors, "
                                 f"got dtype {part.dtype}")
        elif part is not None and part is not Ellipsis and not isinstance(part, (int, slice, np.integer)):
            raise IndexError(f"unsupported index element {part!r} of type {type(part).__name__}")
        out.append(part)
    return tuple(out), repeats


class GetItem(Op):
    @staticmethod
    def forward(ctx, a, index, repeats):
        a = as_array(a)
        ctx.index = index
        ctx.repeats = repeats
        ctx.shape = a.shape
        return a[index]

    @staticmethod
    def backward(ctx, g):
        return IndexAdd.apply(g, ctx.index, ctx.repeats, ctx.shape), None, None


def _scatter(g, index, repeats, shape):
    z = np.zeros(shape, dtype=g.dtype)
    if repeats:
        np.add.at(z, index, g)
    else:
        z[index] = g
    return z


class IndexAdd(Op):
    """zeros(shape) with ``g`` added at ``index`` (the adjoint of GetItem)."""

    @staticmethod
    def forward(ctx, g, index, repeats, shape):
        ctx.index = index
        ctx.repeats = repeats
        return _scatter(as_array(g), index, repeats, shape)

    @staticmethod
    def backward(ctx, gg):
        return GetItem.apply(gg, ctx.index, ctx.repeats), None, None, None


class GatherAlong(Op):
    """``take_along_axis(x, idx, dim)``: used by max/min along a dim."""

    @staticmethod
    def forward(ctx, a, idx, dim):
        a = as_array(a)
        ctx.idx = idx
        ctx.dim = dim
        ctx.shape = a.shape
        return np.take_along_axis(a, idx, axis=dim)

    @staticmethod
    def backward(ctx, g):
        return ScatterAlong.apply(g, ctx.idx, ctx.dim, ctx.shape), None, None


def _scatter_along(g, idx, dim, shape):
    z = np.zeros(shape, dtype=g.dtype)
    # idx selects one element per line along ``dim`` here, so no index repeats
    np.put_along_axis(z, idx, np.broadcast_to(g, idx.shape), axis=dim)
    return z


class ScatterAlong(Op):
    """The adjoint of GatherAlong."""

    @staticmethod
    def forward(ctx, g, idx, dim, shape):
        ctx.idx = idx
        ctx.dim = dim
        return _scatter_along(as_array(g), idx, dim, shape)

    @staticmethod
    def backward(ctx, gg):
        return GatherAlong.apply(gg, ctx.idx, ctx.dim), None, None, None


def getitem(x, index):
    """``x[index]`` with NumPy semantics (slices, ints, None, ..., int arrays, bool masks)."""
    index, repeats = normalize_index(index)
    return GetItem.apply(x, index, repeats)
