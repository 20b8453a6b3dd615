"""Convolution layers ``Conv1d`` and ``Conv2d``: a learnable weight of shape
(C_out, C_in / groups, *kernel) and bias (C_out,), applied with
:func:`autograd_cnn.functional.conv1d` / ``conv2d`` (cross-correlation, as in PyTorch).

Arguments are PyTorch's: ``kernel_size``, ``stride``, ``padding`` (int, tuple, 'valid' or 'same'),
``dilation``, ``groups``, ``bias``, ``padding_mode`` (only 'zeros'), ``dtype``. Default
initialisation as PyTorch: kaiming_uniform_(a=sqrt(5)) for the weight, U(-1/sqrt(fan_in),
1/sqrt(fan_in)) for the bias, fan_in = C_in / groups * prod(kernel).
"""
from .. import _geometry
from .._device import check_device
from ..functional import conv as F  # imported directly: independent of functional/__init__
import numpy as np

from .module import Module
from .parameter import Parameter
from ._utils import check_positive_int, reset_weight_and_bias, resolve_dtype

__all__ = ["Conv1d", "Conv2d"]


class _ConvNd(Module):
    _n = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None, *, transposed=False,
                 output_padding=0):
        """``transposed`` (ConvTranspose layers, nn/conv_transpose.py): the weight is laid out
        (C_in, C_out / groups, *kernel), ``output_padding`` is kept, and string paddings are
        refused, as in PyTorch."""
        super().__init__()
        name, n = type(self).__name__, self._n
        check_device(device, name)
        self.in_channels = check_positive_int(in_channels, "in_channels", name)
        self.out_channels = check_positive_int(out_channels, "out_channels", name)
        self.groups = check_positive_int(groups, "groups", name)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.kernel_size = _geometry.ntuple(kernel_size, n, "kernel_size", minimum=1)
        self.stride = _geometry.ntuple(stride, n, "stride", minimum=1)
        self.dilation = _geometry.ntuple(dilation, n, "dilation", minimum=1)
        if transposed and isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of {n} ints, got "
                             f"{padding!r}")
        # validates the padding (and 'same' with stride > 1) now rather than at the first call
        _geometry.normalize_padding(padding, self.kernel_size, self.dilation, self.stride, n)
        self.padding = padding if isinstance(padding, str) else _geometry.ntuple(padding, n,
                                                                                 "padding")
        self.output_padding = _geometry.ntuple(output_padding, n, "output_padding", minimum=0)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride,
                                                  self.dilation)):
            raise ValueError(f"{name}: output_padding must be smaller than either stride or "
                             f"dilation, got output_padding={self.output_padding}, "
                             f"stride={self.stride}, dilation={self.dilation}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r}")
        self.padding_mode = padding_mode
        dt = resolve_dtype(dtype, name)
        if transposed:
            shape = (in_channels, out_channels // groups) + self.kernel_size
        else:
            shape = (out_channels, in_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dt))
        self.register_parameter("bias", Parameter(np.empty(out_channels, dtype=dt))
                                if bias else None)
        reset_weight_and_bias(self.weight, self.bias)

    def _geometry(self, in_spatial):
        """The :class:`~autograd_cnn._geometry.WindowGeometry` of this layer on an input of
        spatial size ``in_spatial`` (used by the model summary)."""
        pads = _geometry.normalize_padding(self.padding, self.kernel_size, self.dilation,
                                           self.stride, self._n)
        return _geometry.WindowGeometry(in_spatial, self.kernel_size, self.stride, pads,
                                        self.dilation, what=f"{type(self).__name__} input")

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0,) * self._n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) -> (N, C_out, L_out)."""
    _n = 1

    def forward(self, x):
        return F.conv1d(x, self._registered("weight"), self._registered("bias"),
                        stride=self.stride, padding=self.padding,
                        dilation=self.dilation, groups=self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
    _n = 2

    def forward(self, x):
        return F.conv2d(x, self._registered("weight"), self._registered("bias"),
                        stride=self.stride, padding=self.padding,
                        dilation=self.dilation, groups=self.groups)
