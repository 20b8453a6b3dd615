"""Transposed convolution layers ``ConvTranspose1d`` and ``ConvTranspose2d``: a learnable weight
of shape (C_in, C_out / groups, *kernel) and bias (C_out,), applied with
:func:`autograd_cnn.functional.conv_transpose1d` / ``conv_transpose2d``.

Arguments are PyTorch's, in its order: ``in_channels, out_channels, kernel_size, stride=1,
padding=0, output_padding=0, groups=1, bias=True, dilation=1, padding_mode='zeros', device=None,
dtype=None`` (device: the CPU only). Initialisation as PyTorch: kaiming_uniform_(a=sqrt(5)) on the weight, whose fan_in is
computed from its layout, (C_out / groups) * prod(kernel); the bias ~ U(-1/sqrt(fan_in),
1/sqrt(fan_in)) with that fan_in. ``forward(input, output_size=None)``: ``output_size`` picks the
output_padding that gives that size, as in PyTorch.
"""
from ..functional import conv_transpose as F
from .conv import _ConvNd

__all__ = ["ConvTranspose1d", "ConvTranspose2d"]


class _ConvTransposeNd(_ConvNd):
    _n = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype, transposed=True,
                         output_padding=output_padding)

    def _geometry(self, in_spatial):
        raise NotImplementedError("a transposed convolution has no forward window geometry")

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        return F.output_padding_for(type(self).__name__, tuple(input.shape[-self._n:]),
                                    output_size, self.kernel_size, self.stride, self.padding,
                                    self.dilation)


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
