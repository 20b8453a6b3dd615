"""Transposed convolution layers ``ConvTranspose1d`` and ``ConvTranspose2d``: a learnable weight
of shape (C_in, C_out / groups, *kernel) and bias (C_out,), applied with
:func:`autograd_cnn.functional.conv_transpose1d` / ``conv_transpose2d``.

Arguments are PyTorch's, in its order: ``in_channels, out_channels, kernel_size, stride=1,
padding=0, output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros'``, plus
``dtype``. Initialisation as PyTorch: kaiming_uniform_(a=sqrt(5)) on the weight, whose fan_in is
computed from its layout, (C_out / groups) * prod(kernel); the bias ~ U(-1/sqrt(fan_in),
1/sqrt(fan_in)) with that fan_in. ``forward(input, output_size=None)``: ``output_size`` picks the
output_padding that gives that size, as in PyTorch.
"""
import numpy as np

from .. import _geometry
from ..functional import conv_transpose as F
from .module import Module
from .parameter import Parameter
from ._utils import check_positive_int, reset_weight_and_bias, resolve_dtype

__all__ = ["ConvTranspose1d", "ConvTranspose2d"]


class _ConvTransposeNd(Module):
    _n = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 dtype=None):
        super().__init__()
        name, n = type(self).__name__, self._n
        self.in_channels = check_positive_int(in_channels, "in_channels", name)
        self.out_channels = check_positive_int(out_channels, "out_channels", name)
        self.groups = check_positive_int(groups, "groups", name)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must both be divisible by groups ({groups})")
        self.kernel_size = _geometry.ntuple(kernel_size, n, f"{name}: kernel_size", minimum=1)
        self.stride = _geometry.ntuple(stride, n, f"{name}: stride", minimum=1)
        self.dilation = _geometry.ntuple(dilation, n, f"{name}: dilation", minimum=1)
        if isinstance(padding, str):
            raise ValueError(f"{name}: padding must be an int or a tuple of {n} ints, got "
                             f"{padding!r}")
        self.padding = _geometry.ntuple(padding, n, f"{name}: padding", minimum=0)
        self.output_padding = _geometry.ntuple(output_padding, n, f"{name}: output_padding",
                                               minimum=0)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride,
                                                  self.dilation)):
            raise ValueError(f"{name}: output_padding must be smaller than either stride or "
                             f"dilation, got output_padding={self.output_padding}, "
                             f"stride={self.stride}, dilation={self.dilation}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode='zeros' is supported (as in PyTorch's "
                             f"transposed convolutions), got {padding_mode!r}")
        self.padding_mode = padding_mode
        dt = resolve_dtype(dtype, name)
        shape = (in_channels, out_channels // groups) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype=dt))
        self.register_parameter("bias", Parameter(np.empty(out_channels, dtype=dt))
                                if bias else None)
        reset_weight_and_bias(self.weight, self.bias)

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        return F.output_padding_for(type(self).__name__, tuple(input.shape[-self._n:]),
                                    output_size, self.kernel_size, self.stride, self.padding,
                                    self.dilation)

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


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over (N, C_in, L) -> (N, C_out, L_out)."""
    _n = 1

    def forward(self, input, output_size=None):
        return F.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over (N, C_in, H, W) -> (N, C_out, H_out, W_out)."""
    _n = 2

    def forward(self, input, output_size=None):
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  self._output_padding(input, output_size), self.groups,
                                  self.dilation)
