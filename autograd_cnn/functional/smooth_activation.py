"""Smooth ReLU-like activations: GELU (Hendrycks & Gimpel, 2016), SiLU / swish (Elfwing et
al., 2017; Ramachandran et al., 2017), ELU (Clevert et al., 2016), softplus and Mish (Misra,
2019), with PyTorch's definitions::

    gelu(x)               = x * Phi(x) = x / 2 * (1 + erf(x / sqrt(2)))     (Phi: normal CDF)
    gelu(x, 'tanh')       = x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))
    silu(x)               = x * sigmoid(x)
    elu(x, alpha)         = x (x > 0),  alpha * (exp(x) - 1) else
    softplus(x, b, t)     = log(1 + exp(b x)) / b,  x where b x > t (linear above the threshold)
    mish(x)               = x * tanh(softplus(x))

Softplus is computed as ``logaddexp(0, b x) / b``, which never overflows; its derivative is
``sigmoid(b x)`` (1 above the threshold). ELU exponentiates only the non-positive part.

The exact GELU needs erf, which NumPy lacks: ``Erf`` runs it in the compiled core
(csrc/activation/erf.h: the C library's erf for float64, a vectorised rational approximation
within 6 ulp for float32). Its derivative ``2 / sqrt(pi) * exp(-x^2)`` is written with other
ops, so GELU's backward, ``Phi(x) + x * phi(x)`` (phi: the normal density), is differentiable
again. The tanh form and SiLU are compositions of existing ops, which autograd differentiates.
"""
import math

import numpy as np

from .. import _C
from ..autograd import Op, Tensor, as_array
from ..backend import KERNEL_DTYPES
from ..ops.activation import Sigmoid, Tanh
from ..ops.elementwise import Exp, Where

__all__ = ["gelu", "silu", "elu", "softplus", "mish"]

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf_np(x):
    if x.dtype not in KERNEL_DTYPES:
        raise TypeError(f"erf: input must be float32 or float64, got dtype {x.dtype}")
    y = np.empty(x.shape, x.dtype)
    _C.erf_kernel(np.ascontiguousarray(x).reshape(-1), y.reshape(-1))
    return y


class Erf(Op):
    """erf(x); derivative 2 / sqrt(pi) * exp(-x^2)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return _erf_np(as_array(a))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return g * (2.0 / math.sqrt(math.pi)) * Exp.apply(-(x * x))


class Gelu(Op):
    """x * Phi(x); derivative Phi(x) + x * phi(x)."""

    @staticmethod
    def forward(ctx, a):
        x = as_array(a)
        ctx.save_for_backward(a)
        cdf = _erf_np(x * x.dtype.type(_INV_SQRT2))
        cdf += 1
        cdf *= x.dtype.type(0.5)
        ctx.cdf = cdf  # reused by a backward on arrays: erf is the costly part
        return x * cdf

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        if isinstance(x, Tensor):  # a graph of the gradient: Phi(x) must be differentiable
            cdf = (Erf.apply(x * _INV_SQRT2) + 1.0) * 0.5
        else:
            cdf = ctx.cdf
        pdf = Exp.apply(x * x * -0.5) * _INV_SQRT_2PI
        return g * (cdf + x * pdf)


class _Elu(Op):
    """x (x > 0), alpha * expm1(x) else; derivative 1, alpha * exp(x) (alpha at 0, as
    PyTorch's)."""

    @staticmethod
    def forward(ctx, a, alpha):
        x = as_array(a)
        ctx.pos, ctx.alpha = x > 0, alpha
        ctx.save_for_backward(a)
        return np.where(ctx.pos, x, alpha * np.expm1(np.minimum(x, 0)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        negative_part = Where.apply(ctx.pos, 0, x)  # exp never sees a large positive x
        return Where.apply(ctx.pos, g, g * ctx.alpha * Exp.apply(negative_part)), None


class _Softplus(Op):
    """log(1 + exp(beta x)) / beta, x where beta x > threshold; derivative sigmoid(beta x), 1
    above the threshold."""

    @staticmethod
    def forward(ctx, a, beta, threshold):
        x = as_array(a)
        bx = x * beta
        ctx.linear, ctx.beta = bx > threshold, beta
        ctx.save_for_backward(a)
        return np.where(ctx.linear, x, np.logaddexp(0, bx) / beta).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        return Where.apply(ctx.linear, g, g * Sigmoid.apply(x * ctx.beta)), None, None


def _check(fn, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if input.dtype not in KERNEL_DTYPES:
        raise TypeError(f"{fn}: input must be float32 or float64, got dtype {input.dtype}")


def gelu(input, approximate="none"):
    """Gaussian error linear unit, ``x * Phi(x)``; ``approximate='tanh'`` uses the tanh
    approximation. Same as torch.nn.functional.gelu."""
    _check("gelu", input)
    if approximate == "none":
        return Gelu.apply(input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * (Tanh.apply(inner) + 1.0) * 0.5
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input, inplace=False):
    """Sigmoid linear unit (swish), ``x * sigmoid(x)``. (``inplace`` is accepted for PyTorch
    compatibility; the result is always a new tensor.) Same as torch.nn.functional.silu."""
    _check("silu", input)
    return input * Sigmoid.apply(input)


def _number(value, name, fn):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{fn}: {name} must be a number, got {value!r}")
    return float(value)


def elu(input, alpha=1.0, inplace=False):
    """Exponential linear unit: ``input`` where positive, ``alpha * (exp(input) - 1)`` else.
    (``inplace`` accepted and ignored.) Same as torch.nn.functional.elu."""
    _check("elu", input)
    return _Elu.apply(input, _number(alpha, "alpha", "elu"))


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * input)) / beta``, and ``input`` itself where ``beta * input >
    threshold``. Same as torch.nn.functional.softplus."""
    _check("softplus", input)
    return _Softplus.apply(input, _number(beta, "beta", "softplus"),
                           _number(threshold, "threshold", "softplus"))


def mish(input, inplace=False):
    """``input * tanh(softplus(input))``. (``inplace`` accepted and ignored.) Same as
    torch.nn.functional.mish."""
    _check("mish", input)
    return input * Tanh.apply(_Softplus.apply(input, 1.0, math.inf))
