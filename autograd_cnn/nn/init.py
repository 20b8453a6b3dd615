"""Weight initialisation, in place, with PyTorch's formulas and names.

Every function fills a Tensor (or ndarray) in place and returns it. Random draws come from the
seedable generator of :mod:`autograd_cnn.random` (``autograd_cnn.manual_seed(s)`` makes them
repeatable) unless a ``numpy.random.Generator`` is passed as ``generator``. Values are drawn in
float64 and rounded to the tensor's dtype.

Fans of a weight of shape (out, in, *kernel): ``fan_in = in * prod(kernel)`` and
``fan_out = out * prod(kernel)`` (for Linear's (out, in): in and out).

* Xavier/Glorot (2010): keep the variance of activations and gradients equal across layers,
  ``std = gain * sqrt(2 / (fan_in + fan_out))``.
* Kaiming/He (2015): keep the variance through ReLU-like units, ``std = gain / sqrt(fan)``.
  PyTorch's default for Linear and Conv is ``kaiming_uniform_(w, a=sqrt(5))``, which works out to
  ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

A uniform draw on [-b, b] has std b/sqrt(3), hence the ``sqrt(3)`` in the uniform variants.
"""
import math
import numbers

import numpy as np

from .. import random as _random
from ..tensor import Tensor, as_array

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "trunc_normal_"]


def _array(tensor, fn):
    """``tensor``'s ndarray, after checking that it is a Tensor or an ndarray."""
    if not isinstance(tensor, (Tensor, np.ndarray)):
        raise TypeError(f"{fn}: tensor must be a Tensor or an ndarray, got {type(tensor).__name__}")
    return as_array(tensor)


def _rng(generator):
    if generator is None:
        return _random.default_generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a numpy.random.Generator or None, got "
                        f"{type(generator).__name__}")
    return generator


def _fill(tensor, values):
    arr = tensor.numpy() if isinstance(tensor, Tensor) else tensor
    arr[...] = values
    return tensor


def calculate_gain(nonlinearity, param=None):
    """The recommended scale for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (slope ``param``, default 0.01),
    3/4 for selu."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(arr, fn):
    if arr.ndim < 2:
        raise ValueError(f"{fn}: fan in and fan out need a tensor with at least 2 dimensions, "
                         f"got shape {arr.shape}")
    receptive = int(np.prod(arr.shape[2:])) if arr.ndim > 2 else 1
    return arr.shape[1] * receptive, arr.shape[0] * receptive


def _fan(arr, mode, fn):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{fn}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(arr, fn)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        raise ValueError(f"{fn}: cannot initialise a tensor with zero elements (shape {arr.shape})")
    return fan


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with draws from U(a, b)."""
    arr = _array(tensor, "uniform_")
    if not a <= b:
        raise ValueError(f"uniform_: need a <= b, got a={a}, b={b}")
    return _fill(tensor, _rng(generator).uniform(a, b, size=arr.shape))


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with draws from N(mean, std^2)."""
    arr = _array(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be >= 0, got {std}")
    return _fill(tensor, _rng(generator).normal(mean, std, size=arr.shape))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Fill with N(mean, std^2) draws restricted to [a, b] (rejection sampling)."""
    arr = _array(tensor, "trunc_normal_")
    rng = _rng(generator)
    out = rng.normal(mean, std, size=arr.size)
    bad = (out < a) | (out > b)
    while bad.any():
        out[bad] = rng.normal(mean, std, size=int(bad.sum()))
        bad = (out < a) | (out > b)
    return _fill(tensor, out.reshape(arr.shape))


def constant_(tensor, val):
    """Fill with the constant ``val``."""
    _array(tensor, "constant_")
    return _fill(tensor, val)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def ones_(tensor):
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    arr = _array(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(arr, "xavier_uniform_")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std
    return _fill(tensor, _rng(generator).uniform(-bound, bound, size=arr.shape))


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    arr = _array(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(arr, "xavier_normal_")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return _fill(tensor, _rng(generator).normal(0.0, std, size=arr.shape))


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He uniform: U(-b, b) with b = sqrt(3) * gain / sqrt(fan), gain from
    ``calculate_gain(nonlinearity, a)``."""
    arr = _array(tensor, "kaiming_uniform_")
    fan = _fan(arr, mode, "kaiming_uniform_")
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, _rng(generator).uniform(-bound, bound, size=arr.shape))


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """He normal: N(0, std^2) with std = gain / sqrt(fan)."""
    arr = _array(tensor, "kaiming_normal_")
    fan = _fan(arr, mode, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(tensor, _rng(generator).normal(0.0, std, size=arr.shape))


def orthogonal_(tensor, gain=1.0, generator=None):
    """Fill with a (semi-)orthogonal matrix (Saxe et al., 2013), scaled by ``gain``: the tensor,
    viewed as (rows, cols) = (shape[0], prod(shape[1:])), gets orthonormal rows (rows <= cols)
    or columns, from the QR decomposition of a standard normal draw, with R's diagonal signs
    folded in so the result is uniform over orthogonal matrices (PyTorch's recipe)."""
    arr = _array(tensor, "orthogonal_")
    if arr.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {arr.shape}")
    rows = arr.shape[0]
    cols = arr.size // rows if rows else 0
    if arr.size == 0:
        return tensor
    flat = _rng(generator).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(arr.shape))


__all__ += ["orthogonal_"]
