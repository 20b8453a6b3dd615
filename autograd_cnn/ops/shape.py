"""Shape operations: reshape/view, transpose/permute/t, squeeze/unsqueeze/flatten, expand,
repeat, meshgrid, cat/stack, split/chunk and constant padding.

None of them changes values, only where they sit, so every backward just moves the gradient
back: reshape back, apply the inverse permutation, cut the concatenated gradient into pieces,
cut the padding off. ``expand`` and ``sum_to_size`` are the engine's broadcast machinery,
``MatchShape`` (autograd/match_shape.py), applied by hand.
"""
import numbers

import numpy as np

from ..autograd import Op, Tensor, as_array
from ..autograd.match_shape import MatchShape
from ._util import norm_dim, check_tensor, dim_aliases, ShapeError


class Reshape(Op):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a._data.shape
        return a._data.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None



class Permute(Op):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.inverse = tuple(np.argsort(dims).tolist())
        return as_array(a).transpose(dims)

    @staticmethod
    def backward(ctx, g):
        return Permute.apply(g, ctx.inverse), None


class Transpose(Op):
    @staticmethod
    def forward(ctx, a, d0, d1):
        ctx.dims = (d0, d1)
        return a._data.swapaxes(d0, d1)

    @staticmethod
    def backward(ctx, g):
        return g.swapaxes(*ctx.dims), None, None



class Cat(Op):
    """``cat(dim, *tensors)``: the gradient is cut back into the pieces."""

    @staticmethod
    def forward(ctx, dim, *tensors):
        arrays = [t._data if isinstance(t, Tensor) else t for t in tensors]
        ctx.dim = dim
        ctx.bounds = np.cumsum([0] + [a.shape[dim] for a in arrays]).tolist()
        return np.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.dim
        b = ctx.bounds
        needs = ctx.needs_input_grad
        return (None,) + tuple(g[lead + (slice(b[i], b[i + 1]),)] if needs[i + 1] else None
                               for i in range(len(b) - 1))



class Stack(Op):
    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        return np.stack([t._data if isinstance(t, Tensor) else t for t in tensors], axis=dim)

    @staticmethod
    def backward(ctx, g):
        lead = (slice(None),) * ctx.dim
        needs = ctx.needs_input_grad
        return (None,) + tuple(g[lead + (i,)] if needs[i + 1] else None
                               for i in range(len(needs) - 1))



class Pad(Op):
    """Constant padding; ``widths`` is NumPy's ((before, after), ...) per dimension."""

    @staticmethod
    def forward(ctx, a, widths, value):
        x = a._data
        ctx.crop = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.crop], None, None



# ---------------------------------------------------------------- public functions ----------
def _shape_arg(shape, fname):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    out = []
    for s in shape:
        if type(s) is not int:  # (the usual case, plain ints, skips the slower checks)
            if isinstance(s, bool) or not isinstance(s, numbers.Integral):
                raise TypeError(f"{fname}(): shape must be ints, got {s!r} ({type(s).__name__})")
            s = int(s)
        out.append(s)
    return tuple(out)


def reshape(x, *shape):
    """Same data, new shape (one entry may be -1). Accepts ``reshape(x, 2, 3)`` or a tuple."""
    check_tensor(x, "reshape")
    shape = _shape_arg(shape, "reshape")
    try:
        return Reshape.apply(x, shape)
    except ValueError:
        raise ShapeError(f"shape {list(shape)} is invalid for input of size {x._data.size}") from None


view = reshape


def transpose(x, dim0, dim1):
    """Swap two dimensions."""
    check_tensor(x, "transpose")
    nd = x._data.ndim
    return Transpose.apply(x, norm_dim(dim0, nd, "dim0"), norm_dim(dim1, nd, "dim1"))


def permute(x, *dims):
    """Reorder dimensions: ``permute(x, 0, 2, 3, 1)``."""
    check_tensor(x, "permute")
    dims = _shape_arg(dims, "permute")
    nd = x._data.ndim
    if len(dims) != nd:
        raise ShapeError(f"permute(): number of dims don't match: input has {nd} dims, "
                           f"got {len(dims)}")
    dims = tuple(norm_dim(d, nd) for d in dims)
    if len(set(dims)) != nd:
        raise ShapeError(f"permute(): repeated dim in {dims}")
    return Permute.apply(x, dims)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one."""
    check_tensor(x, "flatten")
    shape = x._data.shape
    if len(shape) == 0:
        return reshape(x, (1,))
    s = norm_dim(start_dim, len(shape), "start_dim")
    e = norm_dim(end_dim, len(shape), "end_dim")
    if s > e:
        raise ShapeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = 1
    for d in shape[s:e + 1]:
        n *= d
    return reshape(x, shape[:s] + (n,) + shape[e + 1:])


@dim_aliases
def squeeze(x, dim=None):
    """Remove dimensions of size 1 (all of them, or only ``dim`` if it has size 1)."""
    check_tensor(x, "squeeze")
    shape = x._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        dims = {norm_dim(d, len(shape)) for d in dims}
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return reshape(x, new)


@dim_aliases
def unsqueeze(x, dim):
    """Insert a dimension of size 1 at ``dim`` (negative counts from the new end)."""
    check_tensor(x, "unsqueeze")
    shape = x._data.shape
    d = norm_dim(dim, len(shape) + 1)
    return reshape(x, shape[:d] + (1,) + shape[d:])


def expand(x, *shape):
    """Broadcast to ``shape`` (-1 keeps a size), without copying in the forward."""
    check_tensor(x, "expand")
    shape = _shape_arg(shape, "expand")
    old = x._data.shape
    if len(shape) < len(old):
        raise ShapeError(f"expand: the number of sizes provided ({len(shape)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({len(old)})")
    off = len(shape) - len(old)
    full = tuple(old[i - off] if s == -1 and i >= off else s for i, s in enumerate(shape))
    for i, s in enumerate(old):
        if s != 1 and s != full[i + off]:
            raise ShapeError(f"expand: the expanded size {full[i + off]} must match the "
                               f"existing size {s} at non-singleton dimension {i + off}")
    return MatchShape.apply(x, full)


def broadcast_to(x, shape):
    return expand(x, tuple(shape))


def sum_to_size(x, *shape):
    """Sum ``x`` down to ``shape`` (the shape it was broadcast from)."""
    return MatchShape.apply(check_tensor(x, "sum_to_size"), _shape_arg(shape, "sum_to_size"))


def _tensor_list(tensors, fname):
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{fname}(): argument 'tensors' must be a list or tuple of Tensors, got "
                        f"{type(tensors).__name__}")
    if len(tensors) == 0:
        raise ValueError(f"{fname}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fname}(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return tensors


@dim_aliases
def cat(tensors, dim=0):
    """Concatenate along an existing dimension."""
    tensors = _tensor_list(tensors, "cat")
    nd = tensors[0]._data.ndim
    d = norm_dim(dim, nd)
    for i, t in enumerate(tensors):
        s = t._data.shape
        if len(s) != nd or s[:d] + s[d + 1:] != tensors[0]._data.shape[:d] + tensors[0]._data.shape[d + 1:]:
            raise ShapeError(f"cat(): sizes of tensors must match except in dimension {d}; "
                               f"tensor 0 has shape {tensors[0]._data.shape}, tensor {i} has {s}")
    return Cat.apply(d, *tensors)


concatenate = cat


@dim_aliases
def stack(tensors, dim=0):
    """Stack equally shaped tensors along a new dimension."""
    tensors = _tensor_list(tensors, "stack")
    s0 = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != s0:
            raise ShapeError(f"stack expects each tensor to be equal size, but got {s0} at "
                               f"entry 0 and {t._data.shape} at entry {i}")
    return Stack.apply(norm_dim(dim, len(s0) + 1), *tensors)


def pad(x, pad, mode="constant", value=0.0):
    """Constant padding like ``torch.nn.functional.pad``: ``pad`` lists (left, right) pairs
    starting from the LAST dimension: ``(1, 1)`` pads the last dim, ``(1, 1, 2, 2)`` the last
    two (last: 1 each side, second to last: 2 each side)."""
    check_tensor(x, "pad")
    if mode != "constant":
        raise NotImplementedError(f"pad(): only mode='constant' is supported, got {mode!r}")
    if not isinstance(pad, (tuple, list)) or len(pad) % 2:
        raise ValueError(f"pad(): 'pad' must be a tuple of even length, got {pad!r}")
    nd = x._data.ndim
    if len(pad) // 2 > nd:
        raise ValueError(f"pad(): padding length {len(pad)} is too large for a {nd}-d input")
    widths = [(0, 0)] * nd
    for i in range(len(pad) // 2):
        lo, hi = pad[2 * i], pad[2 * i + 1]
        for v in (lo, hi):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
                raise ValueError(f"pad(): pad sizes must be non-negative ints, got {pad!r}")
        widths[nd - 1 - i] = (int(lo), int(hi))
    return Pad.apply(x, tuple(widths), value)


def t(x):
    """The transpose of a matrix (0-D and 1-D tensors come back as they are), as ``torch.t``."""
    check_tensor(x, "t")
    nd = x._data.ndim
    if nd > 2:
        raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is {nd}D")
    return x if nd < 2 else Transpose.apply(x, 0, 1)


def repeat(x, *sizes):
    """Tile ``x``: ``repeat(x, 2, 3)`` repeats a matrix twice down and three times across (more
    sizes than dimensions add leading ones), as ``Tensor.repeat`` and ``np.tile``. Built as an
    expand then a reshape, so its gradient sums the copies."""
    check_tensor(x, "repeat")
    sizes = _shape_arg(sizes, "repeat")
    shape = x._data.shape
    if len(sizes) < len(shape):
        raise ShapeError(f"repeat(): the number of repeat dims ({len(sizes)}) can not be smaller "
                         f"than the number of dimensions of the tensor ({len(shape)})")
    if any(r < 0 for r in sizes):
        raise ValueError(f"repeat(): sizes must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - len(shape)) + shape
    spread = tuple(v for s in shape for v in (1, s))           # (1, s0, 1, s1, ...)
    tiled = tuple(v for r, s in zip(sizes, shape) for v in (r, s))
    y = expand(reshape(x, spread), tiled)
    return reshape(y, tuple(r * s for r, s in zip(sizes, shape)))


@dim_aliases
def split(x, split_size_or_sections, dim=0):
    """Pieces of ``x`` along ``dim``: of ``split_size_or_sections`` each (the last may be
    shorter), or of the listed sizes (which must add up to the dimension). Each piece is a
    differentiable slice."""
    check_tensor(x, "split")
    nd = x._data.ndim
    d = norm_dim(dim, nd)
    n = x._data.shape[d]
    sizes = split_size_or_sections
    if isinstance(sizes, (list, tuple)):
        sizes = _shape_arg(tuple(sizes), "split")
        if sum(sizes) != n or any(v < 0 for v in sizes):
            raise ShapeError(f"split(): split_with_sizes expects split_sizes to sum exactly to "
                             f"{n} (input tensor's size at dimension {d}), but got "
                             f"split_sizes={list(sizes)}")
    else:
        if isinstance(sizes, bool) or not isinstance(sizes, numbers.Integral) or sizes < 0 \
                or (sizes == 0 and n > 0):
            raise ValueError(f"split(): split_size must be a positive int, got {sizes!r}")
        sizes = [sizes] * (n // sizes) + ([n % sizes] if n % sizes else []) if n else [0]
    lead = (slice(None),) * d
    out, start = [], 0
    for size in sizes:
        out.append(x[lead + (slice(start, start + size),)])
        start += size
    return tuple(out)


@dim_aliases
def chunk(x, chunks, dim=0):
    """``chunks`` pieces (fewer when the dimension is short) along ``dim``, each of
    ceil(size / chunks) but the last, as ``torch.chunk``."""
    check_tensor(x, "chunk")
    if isinstance(chunks, bool) or not isinstance(chunks, numbers.Integral) or chunks < 1:
        raise ValueError(f"chunk(): chunks must be a positive int, got {chunks!r}")
    n = x._data.shape[norm_dim(dim, x._data.ndim)]
    return split(x, max(-(-n // chunks), 1) if n else 1, dim)


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids from 1-D tensors: with ``indexing="ij"`` (PyTorch's default) output ``k``
    varies along dimension ``k``; ``"xy"`` swaps the first two dimensions (NumPy's default).
    Each output is an expanded view of its input, so gradients flow back summed."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    tensors = _tensor_list(list(tensors), "meshgrid")
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid(): indexing must be 'ij' or 'xy', got {indexing!r}")
    for i, v in enumerate(tensors):
        if v._data.ndim > 1:
            raise ShapeError(f"meshgrid(): expects 0-D or 1-D tensors, got {v._data.ndim}-D "
                             f"tensor {i}")
    flat = [reshape(v, (-1,)) for v in tensors]
    order = list(range(len(flat)))
    if indexing == "xy" and len(flat) >= 2:
        order[0], order[1] = 1, 0
    shape = [0] * len(flat)
    for k, v in enumerate(flat):
        shape[order[k]] = v._data.shape[0]
    out = []
    for k, v in enumerate(flat):
        view_shape = [1] * len(flat)
        view_shape[order[k]] = v._data.shape[0]
        out.append(expand(reshape(v, tuple(view_shape)), tuple(shape)))
    return tuple(out)
