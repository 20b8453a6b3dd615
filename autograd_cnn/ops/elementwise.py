"""Elementwise operations: arithmetic, exp/log/sqrt/abs/sin/cos, clamp, maximum/minimum, where.

Every op is a ``Function``. Binary ops broadcast like NumPy and return gradients shaped like
the *output*; the engine sums them back to each input's shape. Ops with a Python number as one
operand (``x * 2``, ``1 - x``) have their own small classes: the number is a constant, so there
is nothing to save for it and no gradient to compute for it.

Each backward is written once and runs on ndarrays or on Tensors (see "Two worlds" in
autograd/function.py): operators both types share, and ``Where.apply`` / ``Log.apply`` where a
function is needed. Forwards that backward formulas apply (``Exp``, ``Log``, ``Where``, ``Cast``)
therefore take ndarrays as well as Tensors.
"""
import math

import numpy as np

from ..autograd import Op, Tensor, as_array
from ._util import as_tensor_arg, check_tensor

_wrap = Tensor._wrap


# ---------------------------------------------------------------- Tensor (op) Tensor --------
class Add(Op):
    @staticmethod
    def forward(ctx, a, b):
        return a._data + b._data

    @staticmethod
    def backward(ctx, g):
        return g, g



class Sub(Op):
    @staticmethod
    def forward(ctx, a, b):
        return a._data - b._data

    @staticmethod
    def backward(ctx, g):
        return g, (-g if ctx.needs_input_grad[1] else None)



class Mul(Op):
    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na else None)
        return a._data * b._data

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        return (g * b if b is not None else None), (g * a if a is not None else None)



class Div(Op):
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



class Pow(Op):
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
            la = Log.apply(Where.apply(safe, a, 1))
            gb = Where.apply(safe, g * a ** b * la, 0)
        return ga, gb



# ---------------------------------------------------------------- Tensor (op) number --------
class AddConst(Op):
    @staticmethod
    def forward(ctx, a, c):
        return a._data + c

    @staticmethod
    def backward(ctx, g):
        return g, None



class RSubConst(Op):
    """c - a."""

    @staticmethod
    def forward(ctx, a, c):
        return c - a._data

    @staticmethod
    def backward(ctx, g):
        return -g, None



class MulConst(Op):
    @staticmethod
    def forward(ctx, a, c):
        ctx.c = c
        return a._data * c

    @staticmethod
    def backward(ctx, g):
        return g * ctx.c, None



class DivConst(Op):
    @staticmethod
    def forward(ctx, a, c):
        ctx.c = c
        return a._data / c

    @staticmethod
    def backward(ctx, g):
        return g / ctx.c, None



class RDivConst(Op):
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



class PowConst(Op):
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



class RPowConst(Op):
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



class Neg(Op):
    @staticmethod
    def forward(ctx, a):
        return -a._data

    @staticmethod
    def backward(ctx, g):
        return -g



# ---------------------------------------------------------------- unary math ----------------
class Exp(Op):
    @staticmethod
    def forward(ctx, a):
        out = np.exp(as_array(a))
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g * y


class Log(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.log(as_array(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return g / a



class Sin(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.sin(as_array(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return g * Cos.apply(a)


class Cos(Op):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.cos(as_array(a))

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved
        return -(g * Sin.apply(a))


class Sqrt(Op):
    @staticmethod
    def forward(ctx, a):
        out = np.sqrt(a._data)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return g / (2 * y)


class Abs(Op):
    """|a|; the gradient is sign(a), 0 at 0 (as in PyTorch)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return np.abs(a._data)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_arrays
        return g * np.sign(a)



class Clamp(Op):
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
        return (g if m is None else Where.apply(m, g, 0)), None, None



class Maximum(Op):
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



class Minimum(Op):
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



def _split_ties(g, first, tie, needs):
    half = g / 2
    ga = gb = None
    if needs[0]:
        ga = Where.apply(first, g, Where.apply(tie, half, 0))
    if needs[1]:
        gb = Where.apply(first | tie, Where.apply(tie, half, 0), g)
    return ga, gb


class Where(Op):
    """where(cond, x, y): x where cond is True, else y. cond gets no gradient."""

    @staticmethod
    def forward(ctx, cond, x, y):
        c = as_array(cond)
        ctx.cond = c
        return np.where(c, as_array(x), as_array(y))

    @staticmethod
    def backward(ctx, g):
        c = ctx.cond
        n = ctx.needs_input_grad
        gx = Where.apply(c, g, 0) if n[1] else None
        gy = Where.apply(c, 0, g) if n[2] else None
        return None, gx, gy



class Cast(Op):
    """Change dtype; the gradient is cast back to the input's dtype."""

    @staticmethod
    def forward(ctx, a, dtype):
        a = as_array(a)
        ctx.in_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return Cast.apply(g, ctx.in_dtype), None


class Clone(Op):
    """A differentiable copy."""

    @staticmethod
    def forward(ctx, a):
        return a._data.copy()

    @staticmethod
    def backward(ctx, g):
        return g



# ---------------------------------------------------------------- public functions ----------
def exp(x):
    """e ** x, elementwise."""
    return Exp.apply(check_tensor(x, "exp"))


def log(x):
    """Natural logarithm, elementwise."""
    return Log.apply(check_tensor(x, "log"))


def sin(x):
    """Sine, elementwise (radians)."""
    return Sin.apply(check_tensor(x, "sin"))


def cos(x):
    """Cosine, elementwise (radians)."""
    return Cos.apply(check_tensor(x, "cos"))


def sqrt(x):
    """Square root, elementwise."""
    return Sqrt.apply(check_tensor(x, "sqrt"))


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
    """``x`` where ``cond`` is true, else ``y`` (broadcasting; x/y may be numbers, but not all
    three arguments plain arrays or numbers: that is ``np.where``'s job, as in PyTorch)."""
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        if not isinstance(cond, Tensor):
            raise TypeError("where(): expected a Tensor as 'condition', 'input' or 'other', got "
                            f"{type(cond).__name__}, {type(x).__name__} and {type(y).__name__}")
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
