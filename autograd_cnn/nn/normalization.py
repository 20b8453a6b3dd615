"""``LayerNorm`` and ``GroupNorm``: per-sample normalisation layers around
:func:`autograd_cnn.functional.layer_norm` / ``group_norm`` (see there for the formulas).

Parameters as PyTorch: LayerNorm's ``weight`` (ones) and ``bias`` (zeros) have shape
``normalized_shape`` (``elementwise_affine=False`` drops both, ``bias=False`` the bias);
GroupNorm's have shape (num_channels,) (``affine=False`` drops both, ``bias=False`` the bias).
No buffers. ``device`` may only be the CPU.
"""
import numbers

import numpy as np

from ..functional import normalization as F
from .._device import check_device
from .module import Module
from .parameter import Parameter
from ._utils import check_positive_int, resolve_dtype

__all__ = ["LayerNorm", "GroupNorm"]


def _eps(eps, name):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps >= 0:
        raise ValueError(f"{name}: eps must be a number >= 0, got {eps!r}")
    return float(eps)


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` axes of each sample."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        self.normalized_shape = F.normalized_shape_tuple(normalized_shape, name)
        self.eps = _eps(eps, name)
        self.elementwise_affine = bool(elementwise_affine)
        dt = resolve_dtype(dtype, name)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight.numpy()[...] = 1
        if self.bias is not None:
            self.bias.numpy()[...] = 0

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Normalise each sample over groups of ``num_channels / num_groups`` channels."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        self.num_groups = check_positive_int(num_groups, "num_groups", name)
        self.num_channels = check_positive_int(num_channels, "num_channels", name)
        if num_channels % num_groups:
            raise ValueError(f"{name}: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.eps = _eps(eps, name)
        self.affine = bool(affine)
        dt = resolve_dtype(dtype, name)
        if self.affine:
            self.weight = Parameter(np.ones(num_channels, dtype=dt))
            self.register_parameter("bias", Parameter(np.zeros(num_channels, dtype=dt))
                                    if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        if self.weight is not None:
            self.weight.numpy()[...] = 1
        if self.bias is not None:
            self.bias.numpy()[...] = 0

    def forward(self, input):
        if input.ndim >= 2 and input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected {self.num_channels} channels on axis 1, got "
                             f"input of shape {tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
