"""Pooling layers: thin modules around :mod:`autograd_cnn.functional`'s pooling functions, with
PyTorch's arguments and defaults (``stride`` defaults to ``kernel_size``)."""
from .. import _geometry
from ..functional import pooling as F  # imported directly: independent of functional/__init__
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"]


class _PoolNd(Module):
    _n = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        n = self._n
        self.kernel_size = _geometry.ntuple(kernel_size, n, "kernel_size", minimum=1)
        self.stride = _geometry.pool_stride(stride, self.kernel_size, n, "stride")
        self.padding = _geometry.ntuple(padding, n, "padding", minimum=0)
        self.dilation = _geometry.ntuple(dilation, n, "dilation", minimum=1)
        for k, p in zip(self.kernel_size, self.padding):
            if p > k // 2:
                raise ValueError(f"{type(self).__name__}: padding {self.padding} must be at most "
                                 f"half of kernel_size {self.kernel_size}")
        self.ceil_mode = bool(ceil_mode)

    def _geometry(self, in_spatial):
        """The WindowGeometry of this layer on an input of spatial size ``in_spatial``."""
        return _geometry.WindowGeometry(in_spatial, self.kernel_size, self.stride,
                                        tuple((p, p) for p in self.padding), self.dilation,
                                        self.ceil_mode, what=f"{type(self).__name__} input")

    @staticmethod
    def _show(t):
        return t[0] if len(set(t)) == 1 else t


class _MaxPoolNd(_PoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        if return_indices:
            raise ValueError(f"{type(self).__name__}: return_indices=True is not supported")
        self.return_indices = False

    def extra_repr(self):
        s = self._show
        return (f"kernel_size={s(self.kernel_size)}, stride={s(self.stride)}, "
                f"padding={s(self.padding)}, dilation={s(self.dilation)}, "
                f"ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over windows of (N, C, L)."""
    _n = 1

    def forward(self, x):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode)


class MaxPool2d(_MaxPoolNd):
    """Max over windows of (N, C, H, W)."""
    _n = 2

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode)


class _AvgPoolNd(_PoolNd):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def extra_repr(self):
        s = self._show
        return (f"kernel_size={s(self.kernel_size)}, stride={s(self.stride)}, "
                f"padding={s(self.padding)}")


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of (N, C, L)."""
    _n = 1

    def forward(self, x):
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding,
                            ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """Mean over windows of (N, C, H, W)."""
    _n = 2

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding,
                            ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad)


class _AdaptivePoolNd(Module):
    _n = None

    def __init__(self, output_size):
        super().__init__()
        if output_size is None:
            raise TypeError(f"output_size must be an int or a tuple of {self._n} ints or None, "
                            "got None")
        # None on an axis keeps the input's size there (resolved per call by the function)
        sizes = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * self._n
        if len(sizes) != self._n:
            raise ValueError(f"output_size must be an int or a tuple of {self._n} ints or None, "
                             f"got {output_size!r}")
        checked = _geometry.ntuple(tuple(1 if s is None else s for s in sizes), self._n,
                                   "output_size", minimum=1)
        self.output_size = tuple(None if s is None else c for s, c in zip(sizes, checked))

    def extra_repr(self):
        return f"output_size={self.output_size[0] if self._n == 1 else self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Mean over ``output_size`` nearly equal bins of (N, C, L)."""
    _n = 1

    def forward(self, x):
        return F.adaptive_avg_pool1d(x, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Mean over ``output_size`` nearly equal bins per axis of (N, C, H, W)."""
    _n = 2

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.output_size)


class AdaptiveMaxPool2d(_AdaptivePoolNd):
    """Max over ``output_size`` nearly equal bins per axis of (N, C, H, W)."""
    _n = 2

    def __init__(self, output_size, return_indices=False):
        super().__init__(output_size)
        if return_indices:
            raise ValueError("AdaptiveMaxPool2d: return_indices=True is not supported")

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.output_size)
