"""Array-level convolution: the calls into the compiled kernels (csrc/conv), on NumPy arrays.

Everything here trusts its arguments: autograd_cnn/functional/conv.py validates the user's input
in one place and builds the :class:`ConvSpec` that these functions share. conv1d runs on the 2-D
kernels as a height-1 image (the kernels vectorise along the output row, so a single row costs
nothing extra), hence every array is viewed as 4-D here and given back in its own shape.
"""
import numpy as np

from .. import _C

__all__ = ["ConvSpec", "conv_forward", "conv_backward_input", "conv_backward_weight"]

_EMPTY = {np.dtype(np.float32): np.empty(0, np.float32), np.dtype(np.float64): np.empty(0, np.float64)}


class ConvSpec:
    """The validated geometry of one convolution, shared by its forward and all its backward
    kernels (and theirs, for higher derivatives).

    ``x_shape``, ``w_shape``, ``y_shape`` are the user-facing shapes (3-D for conv1d, 4-D for
    conv2d); ``x4``, ``w4``, ``y4`` the same as 4-D; ``params`` is (SH, SW, DH, DW, PH0, PH1, PW0,
    PW1) as the kernels take it; ``groups`` the group count.
    """

    __slots__ = ("x_shape", "w_shape", "y_shape", "x4", "w4", "y4", "params", "groups")

    def __init__(self, x_shape, w_shape, y_shape, stride, padding, dilation, groups):
        """Shapes as the user sees them (input and output may be unbatched); stride, dilation per
        spatial axis; padding as (lo, hi) per spatial axis."""
        self.x_shape, self.w_shape, self.y_shape = tuple(x_shape), tuple(w_shape), tuple(y_shape)
        self.groups = int(groups)
        nd = len(self.w_shape) - 2
        xb, yb = self.x_shape, self.y_shape
        if len(xb) == nd + 1:  # unbatched: a batch of one
            xb, yb = (1,) + xb, (1,) + yb
        if nd == 1:  # conv1d: a height-1 image
            xb, yb = xb[:2] + (1,) + xb[2:], yb[:2] + (1,) + yb[2:]
            self.w4 = self.w_shape[:2] + (1,) + self.w_shape[2:]
            stride, dilation, padding = (1,) + tuple(stride), (1,) + tuple(dilation), ((0, 0),) + tuple(padding)
        else:
            self.w4 = self.w_shape
        self.x4, self.y4 = xb, yb
        (sh, sw), (dh, dw), ((ph0, ph1), (pw0, pw1)) = stride, dilation, padding
        self.params = (sh, sw, dh, dw, ph0, ph1, pw0, pw1)

    @property
    def channel_axis(self):
        """The channel axis of input and output: 1, or 0 for unbatched calls."""
        return 1 if len(self.x_shape) == len(self.w_shape) else 0

    @property
    def empty(self):
        """True when there is nothing to compute (a batch of zero samples)."""
        return self.x4[0] == 0

    def __repr__(self):
        return (f"ConvSpec(x={self.x_shape}, w={self.w_shape}, y={self.y_shape}, "
                f"params={self.params}, groups={self.groups})")


def _c4(a, shape4):
    """A C-contiguous 4-D view (or copy, when `a` is not contiguous) of `a`."""
    return np.ascontiguousarray(a).reshape(shape4)


def conv_forward(x, w, b, spec):
    """y = conv(x, w) + b, with b an array of C_out elements or None."""
    dtype = x.dtype
    y = np.empty(spec.y4, dtype)
    if spec.empty:
        return y.reshape(spec.y_shape)
    bias = _EMPTY[dtype] if b is None else np.ascontiguousarray(b)
    _C.conv2d_forward_kernel(_c4(x, spec.x4), _c4(w, spec.w4), bias, y, spec.groups, spec.params)
    return y.reshape(spec.y_shape)


def conv_backward_input(dy, w, spec):
    """The gradient with respect to x of conv(x, w), given dy = the gradient of its output.
    As a function of (dy, w) this is the transposed convolution."""
    dx = np.empty(spec.x4, dy.dtype)
    if spec.empty:
        return dx.reshape(spec.x_shape)
    _C.conv2d_backward_input_kernel(_c4(dy, spec.y4), _c4(w, spec.w4), dx, spec.groups, spec.params)
    return dx.reshape(spec.x_shape)


def conv_backward_weight(x, dy, spec):
    """The gradient with respect to w of conv(x, w), given dy = the gradient of its output."""
    if spec.empty:
        return np.zeros(spec.w_shape, dy.dtype)
    dw = np.empty(spec.w4, dy.dtype)
    _C.conv2d_backward_weight_kernel(_c4(x, spec.x4), _c4(dy, spec.y4), dw, spec.groups, spec.params)
    return dw.reshape(spec.w_shape)
