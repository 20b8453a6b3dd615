"""Activation functions: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax.

The backward passes reuse the forward's output (``sigmoid' = s (1 - s)``, ``tanh' = 1 - t^2``,
...), saved with ``ctx.save_output``: in a graph of the gradient it comes back as this op's own
output, so the formula stays differentiable (second derivatives flow through the op again).
relu's backward is ``_ReluGrad`` (keep the gradient where the input was positive), a linear map
that is its own adjoint.

softmax and log_softmax subtract the maximum along ``dim`` before exponentiating, so logits of
+-1000 give exact, finite results (exp never overflows; the largest term is exp(0) = 1).
"""
import numpy as np

from .. import _C
from ..autograd import Op, as_array
from ..backend import KERNEL_DTYPES as _KERNEL_DTYPES
from ._util import norm_dim, check_tensor, dim_aliases
from .elementwise import Exp, Where


def _relu_np(x, with_mask=True):
    """(relu(x), x > 0), the mask None unless ``with_mask`` (an inference forward needs none).
    Floating arrays go through the compiled kernel (csrc/activation), which keeps NaN and -0.0
    as PyTorch does; NumPy needed about 0.1 ms for np.maximum and 1 ms for the backward's
    np.where on a LeNet activation."""
    if x.dtype not in _KERNEL_DTYPES:
        return np.maximum(x, 0), (x > 0 if with_mask else None)
    shape = x.shape  # (np.ascontiguousarray makes a 0-d array 1-d)
    y = _C.cached_empty(shape, x.dtype)
    pos = np.empty(shape, np.bool_) if with_mask else None
    _C.relu_forward_kernel(np.ascontiguousarray(x).reshape(-1), y.reshape(-1),
                           None if pos is None else pos.reshape(-1).view(np.uint8))
    return y, pos


def _relu_grad_np(pos, g):
    """g where pos, else 0 (also where g is NaN or Inf, as PyTorch's threshold backward)."""
    if g.dtype not in _KERNEL_DTYPES or g.shape != pos.shape:
        return np.where(pos, g, 0)
    dx = _C.cached_empty(g.shape, g.dtype)
    _C.relu_backward_kernel(np.ascontiguousarray(g).reshape(-1), pos.reshape(-1).view(np.uint8),
                            dx.reshape(-1))
    return dx


class Relu(Op):
    @staticmethod
    def forward(ctx, a):
        y, ctx.pos = _relu_np(a._data, ctx.needs_input_grad[0])
        return y

    @staticmethod
    def backward(ctx, g):
        return _ReluGrad.apply(g, ctx.pos)


class _ReluGrad(Op):
    """g where the input of relu was positive, else 0 (relu's backward, and its own adjoint)."""

    @staticmethod
    def forward(ctx, g, pos):
        ctx.pos = pos
        return _relu_grad_np(pos, as_array(g))

    @staticmethod
    def backward(ctx, gg):
        return _ReluGrad.apply(gg, ctx.pos), None


class LeakyRelu(Op):
    @staticmethod
    def forward(ctx, a, slope):
        x = a._data
        ctx.pos = x > 0
        ctx.slope = slope
        return np.where(ctx.pos, x, x * slope)

    @staticmethod
    def backward(ctx, g):
        return Where.apply(ctx.pos, g, g * ctx.slope), None



def _sigmoid_np(x):
    # exp of a non-positive number never overflows; both branches are accurate
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(Op):
    @staticmethod
    def forward(ctx, a):
        out = _sigmoid_np(as_array(a))
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (s,) = ctx.saved
        return g * s * (1 - s)


class Tanh(Op):
    @staticmethod
    def forward(ctx, a):
        out = np.tanh(a._data)
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved
        return g * (1 - t * t)


class Softmax(Op):
    @staticmethod
    def forward(ctx, a, dim):
        x = a._data
        e = np.exp(x - x.max(axis=dim, keepdims=True))
        out = e / e.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved
        return y * (g - (g * y).sum(axis=ctx.dim, keepdims=True)), None


class LogSoftmax(Op):
    @staticmethod
    def forward(ctx, a, dim):
        x = a._data
        shifted = x - x.max(axis=dim, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_output(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved
        return g - Exp.apply(out) * g.sum(axis=ctx.dim, keepdims=True), None


# ---------------------------------------------------------------- public functions ----------
def relu(x, inplace=False):
    """max(x, 0); gradient 1 where x > 0, else 0. (``inplace`` is accepted for PyTorch
    compatibility; the result is always a new tensor.)"""
    return Relu.apply(check_tensor(x, "relu"))


def leaky_relu(x, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x."""
    check_tensor(x, "leaky_relu")
    if not isinstance(negative_slope, (int, float, np.floating)) or isinstance(negative_slope, bool):
        raise TypeError("leaky_relu(): argument 'negative_slope' must be a number, got "
                        f"{type(negative_slope).__name__}")
    return LeakyRelu.apply(x, float(negative_slope))


def sigmoid(x):
    """1 / (1 + exp(-x)), computed without overflow."""
    return Sigmoid.apply(check_tensor(x, "sigmoid"))


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh.apply(check_tensor(x, "tanh"))


def _dim_arg(x, dim, fname):
    check_tensor(x, fname)
    nd = x._data.ndim
    if dim is None:  # PyTorch's legacy implicit choice
        dim = 0 if nd in (0, 1, 3) else 1
    return norm_dim(dim, nd)


@dim_aliases
def softmax(x, dim=None, dtype=None):
    """exp(x) / exp(x).sum(dim), numerically stable. ``dtype`` casts the input first."""
    d = _dim_arg(x, dim, "softmax")
    return Softmax.apply(x if dtype is None else x.to(dtype), d)


@dim_aliases
def log_softmax(x, dim=None, dtype=None):
    """log(softmax(x, dim)) computed as x - max - log(sum(exp(x - max)))."""
    d = _dim_arg(x, dim, "log_softmax")
    return LogSoftmax.apply(x if dtype is None else x.to(dtype), d)
