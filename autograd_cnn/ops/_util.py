"""Small helpers shared by the op modules: argument normalisation and checks."""
import functools
import numbers

import numpy as np

from ..autograd import Tensor

_wrap = Tensor._wrap


class ShapeError(ValueError, RuntimeError):
    """Shapes that an op cannot take. A ValueError, as bad input is everywhere in autograd_cnn,
    and a RuntimeError, which is what PyTorch raises for the same mistakes."""


def norm_dim(dim, ndim, name="dim"):
    """One dimension index -> non-negative int, with PyTorch's error for bad values."""
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(dim).__name__}")
    lo, hi = (-ndim, ndim - 1) if ndim > 0 else (-1, 0)
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], "
                         f"but got {dim})")
    return int(dim) % ndim if ndim > 0 else 0


def norm_dims(dim, ndim, name="dim"):
    """None | int | sequence of ints -> None or a sorted tuple of non-negative dims."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        dims = tuple(sorted({norm_dim(d, ndim, name) for d in dim}))
        if len(dims) != len(dim):
            raise ValueError(f"{name}: dimension appears more than once in {tuple(dim)}")
        return dims
    return (norm_dim(dim, ndim, name),)


def keep_shape(shape, dims):
    """The shape a reduction over ``dims`` has with keepdim=True."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def check_tensor(x, fname, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{fname}(): argument '{arg}' must be a Tensor, got {type(x).__name__}")
    return x


def as_tensor_arg(x, like, fname, arg):
    """Tensor arguments may also be given as numbers or ndarrays; they become constants.
    Numbers (Python or NumPy scalars) take the dtype of ``like`` when it is floating point,
    as PyTorch treats scalars as 'weakly typed'; arrays keep their own dtype."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, (numbers.Number, np.generic)):
        if like is not None and like.dtype.kind == "f" and not isinstance(x, complex):
            return _wrap(np.asarray(x, dtype=like.dtype))
        return _wrap(np.asarray(x))
    if isinstance(x, np.ndarray):
        return _wrap(x)
    raise TypeError(f"{fname}(): argument '{arg}' must be a Tensor or a number, got "
                    f"{type(x).__name__}")


def dim_aliases(fn):
    """Let ``fn`` (whose arguments are ``dim`` / ``keepdim``) also take NumPy's names ``axis`` /
    ``keepdims``, as PyTorch's functions that take a dimension do (``x.argmax(axis=1)``)."""
    @functools.wraps(fn)
    def with_aliases(*args, **kwargs):
        for alias, name in (("axis", "dim"), ("keepdims", "keepdim")):
            if alias in kwargs:
                if name in kwargs:
                    raise TypeError(f"{fn.__name__}(): got both {name!r} and its alias {alias!r}")
                kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    return with_aliases
