"""``Linear`` (fully connected), ``Flatten`` and ``Identity``."""
import math

from .._device import check_device
from ..autograd import Tensor
from ..ops.matmul import Linear as _Linear
from .module import Module
from ._utils import check_positive_int, default_weight_and_bias, resolve_dtype

__all__ = ["Linear", "Flatten", "Identity", "linear"]


def linear(input, weight, bias=None):
    """``y = x @ weight.T + bias`` over the last axis of ``x`` (PyTorch's F.linear)."""
    if input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input has {input.shape[-1]} features on its last axis "
                         f"(shape {tuple(input.shape)}) but the weight expects {weight.shape[1]}")
    if _fused(input, weight, bias):
        return _Linear.apply(input, weight, bias)
    out = input @ weight.transpose(0, 1)
    if bias is not None:
        out = out + bias
    return out


def _fused(x, w, b):
    """Whether ``linear`` can be one ``ops.matmul.Linear`` node: Tensors of one dtype, a 2-D
    weight with no empty axis and a (out_features,) bias; anything else (broadcasting biases,
    mixed dtypes, ndarrays) takes the general ops."""
    if not (isinstance(x, Tensor) and isinstance(w, Tensor)):
        return False
    xa, wa = x._data, w._data
    if wa.ndim != 2 or 0 in wa.shape or xa.ndim < 1 or xa.dtype != wa.dtype:
        return False
    return b is None or (isinstance(b, Tensor) and b._data.shape == wa.shape[:1]
                         and b._data.dtype == wa.dtype)


class Linear(Module):
    """Fully connected layer: ``y = x W^T + b`` with W of shape (out_features, in_features).
    Input (*, in_features) -> output (*, out_features). Default initialisation as PyTorch:
    W and b ~ U(-1/sqrt(in_features), 1/sqrt(in_features))."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        check_device(device, "Linear")
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features", "Linear")
        self.out_features = check_positive_int(out_features, "out_features", "Linear")
        dt = resolve_dtype(dtype, "Linear")
        self.weight, b = default_weight_and_bias((out_features, in_features), bias, dt)
        self.register_parameter("bias", b)

    def forward(self, x):
        return linear(x, self._registered("weight"), self._registered("bias"))

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` into one (default: everything but the batch axis)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        nd = x.ndim
        s = self.start_dim + nd if self.start_dim < 0 else self.start_dim
        e = self.end_dim + nd if self.end_dim < 0 else self.end_dim
        if not (0 <= s < max(nd, 1) and 0 <= e < max(nd, 1)) or s > e:
            raise ValueError(f"Flatten: start_dim={self.start_dim}, end_dim={self.end_dim} are "
                             f"invalid for an input with {nd} dimensions")
        shape = tuple(x.shape)
        new = shape[:s] + (math.prod(shape[s:e + 1]),) + shape[e + 1:]
        return x.reshape(new)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    """Returns its input unchanged (a placeholder layer; accepts and ignores any arguments)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
