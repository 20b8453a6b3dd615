"""Small helpers shared by the layer files: dtype resolution and default initialisation."""
import math

import numpy as np

from ..backend import KERNEL_DTYPES
from . import init
from .parameter import Parameter


def resolve_dtype(dtype, layer):
    """float32 by default; float32 and float64 accepted."""
    if dtype is None:
        return np.dtype(np.float32)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{layer}: dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in KERNEL_DTYPES:
        raise TypeError(f"{layer}: dtype must be float32 or float64, got {dt}")
    return dt


def check_positive_int(value, name, layer):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return value


def default_weight_and_bias(shape, bias, dtype):
    """PyTorch's default for Linear and Conv: weight ~ kaiming_uniform_(a=sqrt(5)), i.e.
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    weight = Parameter(np.empty(shape, dtype=dtype))
    b = Parameter(np.empty(shape[0], dtype=dtype)) if bias else None
    reset_weight_and_bias(weight, b)
    return weight, b


def reset_weight_and_bias(weight, bias, weight_shape=None):
    """Initialise existing parameters in place as :func:`default_weight_and_bias` does, with
    fan_in = prod(weight.shape[1:]) whatever the bias's length (a transposed convolution's
    weight is (C_in, C_out / groups, *kernel) and its bias (C_out,)). Either may be None (not
    touched); ``weight_shape`` gives the fan when the weight is None."""
    if weight is not None:
        init.kaiming_uniform_(weight, a=math.sqrt(5))
        weight_shape = weight.shape
    if bias is not None:
        fan_in = int(np.prod(weight_shape[1:]))
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)
