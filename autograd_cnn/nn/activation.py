"""Activation layers: modules around :mod:`autograd_cnn.functional`'s activations, with
PyTorch's constructor arguments and reprs. ``inplace=True`` is accepted and ignored wherever
PyTorch has it: this library never overwrites an input (a new tensor is returned)."""
import numbers
import warnings

import numpy as np

from .. import functional as F
from .._device import check_device
from .module import Module
from .parameter import Parameter
from ._utils import check_positive_int, resolve_dtype

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "GELU", "SiLU",
           "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "ELU", "PReLU", "Mish", "Softplus"]


class _ElementwiseInplace(Module):
    """An activation whose only argument is PyTorch's ``inplace`` (accepted, ignored)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_ElementwiseInplace):
    """max(x, 0), elementwise. (``inplace`` is accepted for PyTorch compatibility and ignored:
    this library never overwrites an input.)"""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x for x >= 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x):
        return F.tanh(x)


class Softmax(Module):
    """exp(x) / sum(exp(x)) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self._dim(x))

    def _dim(self, x):
        if self.dim is not None:
            return self.dim
        # PyTorch's legacy rule when dim is omitted
        return 0 if x.ndim in (0, 1, 3) else 1

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along ``dim``, computed stably."""

    def forward(self, x):
        return F.log_softmax(x, self._dim(x))


class GELU(Module):
    """x * Phi(x) (Phi: the standard normal CDF); ``approximate='tanh'`` for the tanh form."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(_ElementwiseInplace):
    """x * sigmoid(x) (swish). (``inplace`` accepted and ignored, as for ReLU.)"""

    def forward(self, x):
        return F.silu(x)


def _inplace_suffix(module):
    return ", inplace=True" if module.inplace else ""


class Hardtanh(Module):
    """``clamp(x, min_val, max_val)`` (gradient 1 strictly between the bounds).
    ``min_value`` / ``max_value`` are PyTorch's deprecated names for the bounds."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False, min_value=None,
                 max_value=None):
        super().__init__()
        if min_value is not None or max_value is not None:
            warnings.warn("keyword argument `min_value` / `max_value` is deprecated; use "
                          "`min_val` / `max_val`", DeprecationWarning, stacklevel=2)
            min_val = min_val if min_value is None else min_value
            max_val = max_val if max_value is None else max_value
        name = type(self).__name__
        for arg, v in (("min_val", min_val), ("max_val", max_val)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{name}: {arg} must be a number, got {v!r}")
        if not max_val > min_val:
            raise ValueError(f"{name}: max_val ({max_val}) must be greater than min_val "
                             f"({min_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, x):
        return F.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + _inplace_suffix(self)


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``: a Hardtanh with bounds 0 and 6, as in PyTorch."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def forward(self, x):
        return F.relu6(x)

    extra_repr = _ElementwiseInplace.extra_repr


class Hardsigmoid(_ElementwiseInplace):
    """``relu6(x + 3) / 6``."""

    def forward(self, x):
        return F.hardsigmoid(x)


class Hardswish(_ElementwiseInplace):
    """``x * relu6(x + 3) / 6`` (MobileNetV3)."""

    def forward(self, x):
        return F.hardswish(x)


class Mish(_ElementwiseInplace):
    """``x * tanh(softplus(x))``."""

    def forward(self, x):
        return F.mish(x)


class ELU(Module):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` else."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise TypeError(f"ELU: alpha must be a number, got {alpha!r}")
        self.alpha, self.inplace = alpha, inplace

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + _inplace_suffix(self)


class Softplus(Module):
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        for arg, v in (("beta", beta), ("threshold", threshold)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"Softplus: {arg} must be a number, got {v!r}")
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class PReLU(Module):
    """``x`` where positive, ``a * x`` else, with a learnable slope ``a``: one for every channel
    (``num_parameters=1``) or one per channel (``num_parameters=C``, channels on axis 1), all
    starting at ``init``. Parameter ``weight`` of shape (num_parameters,)."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        self.num_parameters = check_positive_int(num_parameters, "num_parameters", name)
        if isinstance(init, bool) or not isinstance(init, numbers.Real):
            raise TypeError(f"{name}: init must be a number, got {init!r}")
        self.init = init
        self.weight = Parameter(np.full(num_parameters, init, dtype=resolve_dtype(dtype, name)))

    def reset_parameters(self):
        self.weight.numpy()[...] = self.init

    def forward(self, x):
        return F.prelu(x, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"
