"""Elementwise operations: arithmetic, exp/log/sqrt/abs, clamp, maximum/minimum, where.

Every op is a ``Function``. Binary ops broadcast like NumPy and return gradients shaped like
the *output*; the engine sums them back to each input's shape. Ops with a Python number as one
operand (``x * 2``, ``1 - x``) have their own small classes: the number is a constant, so there
is nothing to save for it and no gradient to compute for it.

Each backward is written once with operators that mean the same on ndarrays and Tensors, and
reused as ``backward_np`` (see ``ops/_util.py``); formulas that need a function (``exp``,
``where``) call the dispatching helpers at the bottom of this file.
"""
import math

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import const, as_tensor_arg, check_tensor

_wrap = Tensor._wrap


# ---------------------------------------------------------------- Tensor (op) Tensor --------
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a._data + b._data

    @staticmethod
    def backward(ctx, g):
        return g, g

    backward_np = backward


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return a._data - b._data

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)

    backward_np = backward


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na else None)
        return a._data * b._data

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return (g * b if b is not None else None), (g * a if a is not None else None)

    backward_np = backward


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return a._data / b._data

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if a is not None else None
        return ga, gb

    backward_np = backward


class Pow(Function):
    """a ** b with both Tensors. d/da = b a^(b-1); d/db = a^b log(a), taken as 0 where a == 0
    and b >= 0 (the limit PyTorch uses)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a._data ** b._data

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = g * b * a ** (b - 1)
        if ctx.needs_input_grad[1]:
            ad = a if type(a) is np.ndarray else a._data
            bd = b if type(b) is np.ndarray else b._data
            safe = ~((ad == 0) & (bd >= 0))
            la = log(where(const(safe, a), a, 1))
            gb = where(const(safe, a), g * a ** b * la, 0)
        return ga, gb

    backward_np = backward


# ---------------------------------------------------------------- Tensor (op) number --------
class AddConst(Function):
    @staticmethod
    def forward(ctx, a, c):
        return a._data + c

    @staticmethod
    def backward(ctx, g):
        return g, None

    backward_np = backward


class RSubConst(Function):
    """c - a."""

    @staticmethod
    def forward(ctx, a, c):
        return c - a._data

    @staticmethod
    def backward(ctx, g):
        return -g, None

    backward_np = backward


class MulConst(Function):
    @staticmethod
    def forward(ctx, a, c):
        ctx.c = c
        return a._data * c

    @staticmethod
    def backward(ctx, g):
        return g * ctx.c, None

    backward_np = backward


class DivConst(Function):
    @staticmethod
    def forward(ctx, a, c):
        ctx.c = c
        return a._data / c

    @staticmethod
    def backward(ctx, g):
        return g / ctx.c, None

    backward_np = backward


class RDivConst(Function):
    """c / a."""

    @staticmethod
    def forward(ctx, a, c):
        ctx.c = c
        ctx.save_for_backward(a)
        return c / a._data

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return -g * ctx.c / (a * a), None

    backward_np = backward


class PowConst(Function):
    """a ** c for a number c."""

    @staticmethod
    def forward(ctx, a, c):
        ctx.c = c
        ctx.save_for_backward(a)
        return a._data ** c

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        c = ctx.c
        if c == 0:
            return g * 0, None
        return g * c * a ** (c - 1), None

    backward_np = backward


class RPowConst(Function):
    """c ** a for a number c: d/da = c^a log(c)."""

    @staticmethod
    def forward(ctx, a, c):
        ctx.c = c
        ctx.save_for_backward(a)
        return c ** a._data

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        c = ctx.c
        if c == 0:
            return g * (a * 0), None
        return g * (c ** a) * math.log(c), None

    backward_np = backward


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return -a._data

    @staticmethod
    def backward(ctx, g):
        return -g

    backward_np = backward


# ---------------------------------------------------------------- unary math ----------------
class Exp(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(a._data)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, _ = ctx.saved_tensors
        return g * exp(a)  # recomputed so that it stays differentiable

    @staticmethod
    def backward_np(ctx, g):
        return g * ctx.saved_arrays[1]


class Log(Function):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(a._data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return g / a

    backward_np = backward


class Sqrt(Function):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a._data)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, _ = ctx.saved_tensors
        return g / (2 * sqrt(a))

    @staticmethod
    def backward_np(ctx, g):
        return g / (2 * ctx.saved_arrays[1])


class Abs(Function):
    """|a|; the gradient is sign(a), 0 at 0 (as in PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a._data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_arrays
        return g * const(np.sign(a), g)

    backward_np = backward


class Clamp(Function):
    """Clamp to [lo, hi] (either may be None). Gradient passes where lo <= a <= hi."""

    @staticmethod
    def forward(ctx, a, lo, hi):
        x = a._data
        mask = None
        if lo is not None:
            mask = x >= lo
        if hi is not None:
            mask = (x <= hi) if mask is None else mask & (x <= hi)
        ctx.mask = mask
        if lo is not None and hi is not None and lo > hi:
            return np.full_like(x, hi)  # PyTorch: everything becomes max when min > max
        return np.clip(x, lo, hi)

    @staticmethod
    def backward(ctx, g):
        m = ctx.mask
        return (g if m is None else where(const(m, g), g, 0)), None, None

    backward_np = backward


class Maximum(Function):
    """Elementwise max; at ties each side gets half the gradient (as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        x, y = a._data, b._data
        ctx.gt = x > y
        ctx.eq = x == y
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, g):
        return _split_ties(g, ctx.gt, ctx.eq, ctx.needs_input_grad)

    backward_np = backward


class Minimum(Function):
    """Elementwise min; at ties each side gets half the gradient (as in PyTorch)."""

    @staticmethod
    def forward(ctx, a, b):
        x, y = a._data, b._data
        ctx.gt = x < y
        ctx.eq = x == y
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx, g):
        return _split_ties(g, ctx.gt, ctx.eq, ctx.needs_input_grad)

    backward_np = backward


def _split_ties(g, first, tie, needs):
    half = g / 2
    ga = gb = None
    if needs[0]:
        ga = where(const(first, g), g, where(const(tie, g), half, 0))
    if needs[1]:
        gb = where(const(first | tie, g), where(const(tie, g), half, 0), g)
    return ga, gb


class Where(Function):
    """where(cond, x, y): x where cond is True, else y. cond gets no gradient."""

    @staticmethod
    def forward(ctx, cond, x, y):
        c = cond._data if isinstance(cond, Tensor) else cond
        ctx.cond = c
        xd = x._data if isinstance(x, Tensor) else x
        yd = y._data if isinstance(y, Tensor) else y
        return np.where(c, xd, yd)

    @staticmethod
    def backward(ctx, g):
        c = ctx.cond
        n = ctx.needs_input_grad
        gx = where(const(c, g), g, 0) if n[1] else None
        gy = where(const(c, g), 0, g) if n[2] else None
        return None, gx, gy

    backward_np = backward


class Cast(Function):
    """Change dtype; the gradient is cast back to the input's dtype."""

    @staticmethod
    def forward(ctx, a, dtype):
        ctx.in_dtype = a._data.dtype
        return a._data.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return Cast.apply(g, ctx.in_dtype), None

    @staticmethod
    def backward_np(ctx, g):
        return g.astype(ctx.in_dtype), None


class Clone(Function):
    """A differentiable copy."""

    @staticmethod
    def forward(ctx, a):
        return a._data.copy()

    @staticmethod
    def backward(ctx, g):
        return g

    backward_np = backward


# ---------------------------------------------------------------- public functions ----------
def exp(x):
    """e ** x, elementwise."""
    return np.exp(x) if type(x) is np.ndarray else Exp.apply(check_tensor(x, "exp"))


def log(x):
    """Natural logarithm, elementwise."""
    return np.log(x) if type(x) is np.ndarray else Log.apply(check_tensor(x, "log"))


def sqrt(x):
    """Square root, elementwise."""
    return np.sqrt(x) if type(x) is np.ndarray else Sqrt.apply(check_tensor(x, "sqrt"))


def abs(x):  # noqa: A001 - mirrors torch.abs
    """Absolute value, elementwise (gradient sign(x), 0 at 0)."""
    return Abs.apply(check_tensor(x, "abs"))


def clamp(x, min=None, max=None):  # noqa: A002
    """Limit values to [min, max]; either bound may be None (not both)."""
    check_tensor(x, "clamp")
    if min is None and max is None:
        raise ValueError("clamp(): at least one of 'min' or 'max' must not be None")
    for name, v in (("min", min), ("max", max)):
        if v is not None and not isinstance(v, (int, float, np.generic)):
            raise TypeError(f"clamp(): argument '{name}' must be a number, got {type(v).__name__}")
    return Clamp.apply(x, None if min is None else float(min), None if max is None else float(max))


clip = clamp


def maximum(a, b):
    """Elementwise maximum of two tensors (broadcasting)."""
    a = check_tensor(a, "maximum")
    return Maximum.apply(a, as_tensor_arg(b, a, "maximum", "other"))


def minimum(a, b):
    """Elementwise minimum of two tensors (broadcasting)."""
    a = check_tensor(a, "minimum")
    return Minimum.apply(a, as_tensor_arg(b, a, "minimum", "other"))


def where(cond, x, y):
    """``x`` where ``cond`` is true, else ``y`` (broadcasting; x/y may be numbers).

    Works on ndarrays too (then it is ``np.where``), which backward formulas rely on."""
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        if not isinstance(cond, Tensor):
            return np.where(cond, x, y)
        like = None
    else:
        like = x if isinstance(x, Tensor) else y
    x = as_tensor_arg(x, like, "where", "input")
    y = as_tensor_arg(y, like, "where", "other")
    if isinstance(cond, Tensor):
        cond = cond._data
    cond = np.asarray(cond)
    if cond.dtype != np.bool_:
        raise TypeError(f"where(): argument 'condition' must be a bool tensor, got {cond.dtype}")
    return Where.apply(cond, x, y)
