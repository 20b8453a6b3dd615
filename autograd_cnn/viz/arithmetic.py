"""Convolution and pooling arithmetic, as data for a diagram: where each output position's window
lies on the (padded) input.

Per axis, output position ``j`` of a window with ``kernel`` taps spaced ``dilation`` apart, slid
with step ``stride`` over an input padded by ``pad_lo`` before, reads input positions::

    j * stride - pad_lo + t * dilation,    t = 0 .. kernel - 1

A position below 0 or at/after the input size is padding (zeros for a convolution, ignored by a
max pool). With ``ceil_mode`` a pooling window may hang past the right padding as well; those
taps are neither input nor padding ("outside") and are skipped by the op.

The output size is never computed here: it is the engine's own, from the layer's
:class:`~autograd_cnn._geometry.WindowGeometry` (``nn.Conv2d(...)._geometry(size)`` and the
pooling layers' equivalent), so a diagram always agrees with what ``F.conv2d`` returns.
"""
import numpy as np

__all__ = ["WindowDiagram", "conv_arithmetic", "pool_arithmetic", "INPUT", "PADDING", "OUTSIDE"]

#: what a tap reads: the input, the padding, or (ceil_mode only) nothing at all
INPUT, PADDING, OUTSIDE = 0, 1, 2


def _spatial(input_size, fn):
    """``input_size`` as a tuple of 1 or 2 ints >= 1."""
    size = (input_size,) if isinstance(input_size, (int, np.integer)) else tuple(input_size)
    if len(size) not in (1, 2) or any(isinstance(s, bool) or not isinstance(s, (int, np.integer))
                                      or s < 1 for s in size):
        raise ValueError(f"{fn}: input_size must be an int >= 1 (1-D) or a tuple of 1 or 2 "
                         f"ints >= 1 (2-D), got {input_size!r}")
    return tuple(int(s) for s in size)


class WindowDiagram:
    """The geometry of one sliding-window layer on one input size, ready to draw.

    Attributes: ``op`` (e.g. 'conv2d', 'max_pool1d'), ``geometry`` (the engine's
    WindowGeometry), ``in_size``, ``out_size``, ``kernel``, ``stride``, ``dilation``,
    ``padding`` ((lo, hi) per axis), ``ceil_mode`` and ``ndim`` (1 or 2)."""

    def __init__(self, op, geometry):
        self.op = op
        self.geometry = geometry
        self.in_size, self.out_size = geometry.in_size, geometry.out_size
        self.kernel, self.stride = geometry.kernel, geometry.stride
        self.dilation, self.padding = geometry.dilation, geometry.padding
        self.ceil_mode = bool(geometry.ceil_mode)
        self.ndim = len(self.in_size)

    # ------------------------------------------------------------------------- per position
    def positions(self):
        """Every output position, in row-major order (the order of an animation)."""
        return [tuple(int(v) for v in p) for p in np.ndindex(*self.out_size)]

    def _check(self, position):
        pos = (position,) if isinstance(position, (int, np.integer)) else tuple(position)
        if len(pos) != self.ndim or any(not 0 <= p < o for p, o in zip(pos, self.out_size)):
            raise ValueError(f"{self.op} diagram: position must be {self.ndim} index(es) inside "
                             f"the output of size {self.out_size}, got {position!r}")
        return tuple(int(p) for p in pos)

    def taps(self, position):
        """Input coordinates of the window at output ``position``: an int array of shape
        (number of taps, ndim), row-major over the kernel (negative or >= the input size:
        padding or outside)."""
        pos = self._check(position)
        axes = [pos[a] * self.stride[a] - self.padding[a][0]
                + np.arange(self.kernel[a]) * self.dilation[a] for a in range(self.ndim)]
        grid = np.meshgrid(*axes, indexing="ij")
        return np.stack([g.ravel() for g in grid], axis=1)

    def tap_kinds(self, position):
        """INPUT, PADDING or OUTSIDE for each row of ``taps(position)``."""
        taps = self.taps(position)
        kinds = np.full(len(taps), INPUT, dtype=np.int64)
        for a in range(self.ndim):
            lo, hi = -self.padding[a][0], self.in_size[a] + self.padding[a][1]
            c = taps[:, a]
            pad = (c < 0) | (c >= self.in_size[a])
            kinds[pad & (kinds == INPUT)] = PADDING
            kinds[(c < lo) | (c >= hi)] = OUTSIDE
        return kinds

    def extent(self):
        """Per axis, the (first, last) coordinate a drawing must show: the padding, and with
        ceil_mode any window hanging past it."""
        out = []
        for a in range(self.ndim):
            last = ((self.out_size[a] - 1) * self.stride[a] - self.padding[a][0]
                    + (self.kernel[a] - 1) * self.dilation[a])
            out.append((-self.padding[a][0],
                        max(self.in_size[a] + self.padding[a][1] - 1, last)))
        return tuple(out)

    # ------------------------------------------------------------------------------- labels
    def description(self):
        """One line: the op, its arguments and the output size (the engine's)."""
        def fmt(t):
            return "x".join(str(v) for v in t)

        def arg(t):  # one number when every axis agrees, as the layers' reprs do
            return str(t[0]) if len(set(t)) == 1 else fmt(t)
        pads = tuple(lo if lo == hi else f"{lo}/{hi}" for lo, hi in self.padding)
        text = (f"{self.op}: input {fmt(self.in_size)}, kernel {fmt(self.kernel)}, stride "
                f"{arg(self.stride)}, padding {arg(pads)}, dilation {arg(self.dilation)}")
        if self.ceil_mode:
            text += ", ceil_mode"
        return text + f" -> output {fmt(self.out_size)}"

    def __repr__(self):
        return f"WindowDiagram({self.description()})"


def conv_arithmetic(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """The :class:`WindowDiagram` of a convolution (``conv1d`` for an int or 1-tuple
    ``input_size``, ``conv2d`` for a pair), with the arguments of ``nn.Conv2d`` (``padding``
    may be 'same' or 'valid'). Bad arguments raise the layer's own errors."""
    from .. import nn
    size = _spatial(input_size, "conv_arithmetic")
    layer = (nn.Conv1d if len(size) == 1 else nn.Conv2d)(1, 1, kernel_size, stride=stride,
                                                          padding=padding, dilation=dilation,
                                                          bias=False)
    return WindowDiagram(f"conv{len(size)}d", layer._geometry(size))


def pool_arithmetic(input_size, kernel_size, stride=None, padding=0, dilation=1,
                    ceil_mode=False):
    """The :class:`WindowDiagram` of a pooling window (``max_pool1d`` / ``max_pool2d``; average
    pooling slides the same windows), with the arguments of ``nn.MaxPool2d``: ``stride``
    defaults to ``kernel_size``; ``ceil_mode`` rounds the output size up."""
    from .. import nn
    size = _spatial(input_size, "pool_arithmetic")
    layer = (nn.MaxPool1d if len(size) == 1 else nn.MaxPool2d)(
        kernel_size, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    return WindowDiagram(f"max_pool{len(size)}d", layer._geometry(size))
