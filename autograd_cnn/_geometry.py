"""Sliding-window geometry, in one place: argument normalisation and output-size arithmetic for
convolution and pooling. Kernels, layers and the model summary all call these functions; nothing
else re-derives an output size.

Per axis, a window of ``kernel`` taps spaced ``dilation`` apart slides with step ``stride`` over
the input padded with ``pad_lo`` before and ``pad_hi`` after. PyTorch's formula::

    out = floor((size + pad_lo + pad_hi - dilation * (kernel - 1) - 1) / stride) + 1

A transposed convolution maps back: its output is the largest input of the forward window whose
output has the transposed call's input size, plus ``output_padding`` extra positions at the end
(:func:`transposed_output_size`)::

    out = (size - 1) * stride - pad_lo - pad_hi + dilation * (kernel - 1) + 1 + output_padding

With ``ceil_mode`` (pooling) the division rounds up, but a last window must start inside the input
or the left padding, as in PyTorch. ``window_reach`` says which windows of an axis meet the
input at all, and what part of the input and padding they read.
"""
import numbers

__all__ = ["MAX_WINDOW_ARG", "ntuple", "pool_stride", "window_output_size", "same_padding",
           "normalize_padding", "WindowGeometry", "AxisReach", "window_reach",
           "transposed_output_size"]


# Largest kernel size, stride, padding, dilation or output size accepted: far beyond any real
# window, and small enough that the kernels' 64-bit size arithmetic (products of two of them,
# sums with an input size) can never overflow.
MAX_WINDOW_ARG = 2**31 - 1


def ntuple(value, n, name, minimum=None, maximum=MAX_WINDOW_ARG, single=True):
    """``value`` as a tuple of ``n`` Python ints: an int is repeated, a sequence must have length n
    or (with ``single``, as PyTorch's convolution and pooling arguments) length 1, repeated.
    Raises TypeError for non-integers (bools included) and ValueError outside
    [``minimum``, ``maximum``]."""
    if isinstance(value, (list, tuple)):
        if single and len(value) == 1 and n != 1:
            value = tuple(value) * n
        if len(value) != n:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {tuple(value)!r}")
        items = tuple(value)
    else:
        items = (value,) * n
    out = []
    for v in items:
        if type(v) is not int and (isinstance(v, bool) or not isinstance(v, numbers.Integral)):
            raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        v = int(v)
        if minimum is not None and v < minimum:
            raise ValueError(f"{name} must be >= {minimum} on every axis, got {value!r}")
        if maximum is not None and v > maximum:
            raise ValueError(f"{name} must be <= {maximum} on every axis, got {value!r}")
        out.append(v)
    return tuple(out)


def pool_stride(stride, kernel, n, name):
    """A pooling window's stride as ``n`` ints: ``None`` or an empty sequence (PyTorch's spellings
    of "omitted") mean the kernel size, anything else goes through :func:`ntuple`."""
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        return tuple(kernel)
    return ntuple(stride, n, name, minimum=1)


def window_output_size(size, kernel, stride=1, pad_lo=0, pad_hi=None, dilation=1, ceil_mode=False):
    """Output length of one axis (may be < 1: callers turn that into an error naming the input)."""
    if pad_hi is None:
        pad_hi = pad_lo
    span = dilation * (kernel - 1) + 1
    room = size + pad_lo + pad_hi - span
    if room < 0 and not (ceil_mode and room > -stride):
        return 0
    # with ceil_mode PyTorch keeps one window that hangs past the padded end (room > -stride)
    if ceil_mode:
        out = -(-room // stride) + 1
        # the last window must start inside the input or the left padding (PyTorch's rule)
        if (out - 1) * stride >= size + pad_lo:
            out -= 1
        return out
    return room // stride + 1


def same_padding(kernel, dilation):
    """(pad_lo, pad_hi) that keeps the size at stride 1; the extra pixel of an even total goes
    after, as in PyTorch's padding='same'."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


def normalize_padding(padding, kernel, dilation, stride, n, name="padding"):
    """Per-axis (pad_lo, pad_hi) pairs from an int, a tuple of n ints, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in range(n))
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{name}='same' needs stride 1 on every axis, got stride={stride}")
            return tuple(same_padding(k, d) for k, d in zip(kernel, dilation))
        raise ValueError(f"{name} must be an int, a tuple of {n} ints, 'valid' or 'same', got {padding!r}")
    pads = ntuple(padding, n, name, minimum=0)
    return tuple((p, p) for p in pads)


class WindowGeometry:
    """A validated sliding window over ``n`` spatial axes: kernel, stride, dilation, padding as
    (lo, hi) pairs, and the input and output spatial sizes. Raises ValueError when the output would
    be empty, naming the axis, the sizes and the window."""

    __slots__ = ("kernel", "stride", "dilation", "padding", "in_size", "out_size", "ceil_mode")

    def __init__(self, in_size, kernel, stride, padding, dilation, ceil_mode=False, what="input"):
        self.in_size = tuple(in_size)
        self.kernel = tuple(kernel)
        self.stride = tuple(stride)
        self.dilation = tuple(dilation)
        self.padding = tuple(padding)
        self.ceil_mode = ceil_mode
        out = []
        for axis, (size, k, s, (lo, hi), d) in enumerate(
                zip(self.in_size, self.kernel, self.stride, self.padding, self.dilation)):
            o = window_output_size(size, k, s, lo, hi, d, ceil_mode)
            if o < 1:
                raise ValueError(
                    f"{what} of spatial size {self.in_size} is too small for a window of "
                    f"kernel_size={self.kernel}, dilation={self.dilation}, padding={self.padding}"
                    f" on axis {axis}: padded size {size + lo + hi} < {d * (k - 1) + 1}")
            out.append(o)
        self.out_size = tuple(out)

    @property
    def symmetric(self):
        return all(lo == hi for lo, hi in self.padding)

    def __repr__(self):
        return (f"WindowGeometry(in={self.in_size}, out={self.out_size}, kernel={self.kernel}, "
                f"stride={self.stride}, padding={self.padding}, dilation={self.dilation})")


class AxisReach:
    """Which part of one axis a sliding window really uses when its padding may exceed its span:
    outputs ``first .. last`` (inclusive; ``first > last`` when no window meets the input) are
    the only ones whose windows touch the input, and they equal a window slid over the input
    cropped by ``crop`` = (lo, hi) with padding ``pad`` = (lo, hi); every other output sees only
    padding."""

    __slots__ = ("first", "last", "crop", "pad")

    def __init__(self, first, last, crop, pad):
        self.first, self.last, self.crop, self.pad = first, last, crop, pad

    def __repr__(self):
        return f"AxisReach(first={self.first}, last={self.last}, crop={self.crop}, pad={self.pad})"


def window_reach(size, kernel, stride, pad_lo, pad_hi, dilation, out):
    """The :class:`AxisReach` of an axis of ``out`` windows (no ceil_mode). Window ``j`` covers
    input positions ``j * stride - pad_lo`` to that plus ``dilation * (kernel - 1)``."""
    span = dilation * (kernel - 1) + 1
    first = max(0, -(-(pad_lo - span + 1) // stride))     # first window ending at or after 0
    last = min(out - 1, (size - 1 + pad_lo) // stride)     # last window starting at or before size-1
    if first > last:
        return AxisReach(first, last, (0, 0), (0, 0))
    start = first * stride - pad_lo                        # where window `first` starts
    end = last * stride - pad_lo + span - 1                # where window `last` ends
    crop = (max(0, start), max(0, size - 1 - end))
    return AxisReach(first, last, crop, (max(0, -start), max(0, end - (size - 1))))


def transposed_output_size(size, kernel, stride=1, padding=0, output_padding=0, dilation=1):
    """Output length of one axis of a transposed convolution (PyTorch's ConvTranspose formula;
    may be < 1: callers turn that into an error naming the input). ``output_padding`` resolves
    the ambiguity of a strided forward window: ``stride`` input sizes map to one output size."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + 1 + output_padding
