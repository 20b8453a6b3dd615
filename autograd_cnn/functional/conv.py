"""Convolution: ``conv1d`` and ``conv2d`` with PyTorch's semantics (cross-correlation, NCL / NCHW,
weights (C_out, C_in / groups, *kernel), stride, padding incl. 'valid' / 'same', dilation, groups).

The arithmetic runs in the compiled kernels (csrc/conv, see its conv_kernels.h for how). This
module does the rest:

* **Validation, in one place** (:func:`_prepare`): every argument is checked before any C++ runs;
  a bad one raises ``TypeError`` / ``ValueError`` naming it, what it got and what it needs.
* **Autograd, closed under differentiation.** Convolution is bilinear in (input, weight), and so
  are both of its gradients. Three Functions cover all orders of derivatives:

  ===================== ============================== ============================================
  Function               computes                        backward (of its two tensor inputs)
  ===================== ============================== ============================================
  ``_Conv(x, w, b)``     y = conv(x, w) + b              dx = ``_ConvTranspose(dy, w)``,
                                                         dw = ``_ConvWeight(x, dy)``, db = sum dy
  ``_ConvTranspose``     dx = conv^T(dy, w)              d(dy) = ``_Conv(g, w)``, dw = ``_ConvWeight(g, dy)``
  ``_ConvWeight``        dw = corr(x, dy)                dx = ``_ConvTranspose(dy, g)``, d(dy) = ``_Conv(x, g)``
  ===================== ============================== ============================================

  (g: the incoming gradient). Each backward only computes the gradients asked for
  (``ctx.needs_input_grad``); with ``create_graph=True`` they are recorded like any other op, so
  gradients of gradients (``gradgradcheck``) work. When no graph of the gradient is wanted the
  same backward runs on plain arrays, and each ``.apply`` there is just that Function's forward:
  one kernel call (see "Two worlds" in autograd/function.py).

* **Padding wider than the window** (PyTorch allows any): only the part of the input that the
  windows touch is convolved, with at most a window's span of padding, and the output is
  zero-padded to its full size (``_FarPadding``; the reach comes from _geometry.window_reach).
  Memory then follows what the windows read, not the padding asked for.

conv1d runs on the 2-D kernels as an image of height 1: they vectorise along the output row, so a
dedicated 1-D path would do the same work.
"""
import math
import numbers

import numpy as np

from .._geometry import WindowGeometry, normalize_padding, ntuple, window_reach
from ..autograd import Op, Tensor, as_array
from ..backend import KERNEL_DTYPES
from ..ops.channel import ChannelBroadcast as _BiasBroadcast, ChannelSum as _BiasGrad  # noqa: F401
from ..ops.shape import Pad
from ._conv_kernels import ConvSpec, conv_backward_input, conv_backward_weight, conv_forward

__all__ = ["conv1d", "conv2d"]

_MAX_PADDED_BYTES = 2**48  # 256 TiB: beyond any machine, far below 64-bit overflow


class _ConvOp(Op):
    """The convolution Functions: each backward returns only new arrays (the kernels' outputs, or a
    channel sum), so a leaf input keeps its gradient as its .grad without a copy."""

    backward_fresh = True


class _Conv(_ConvOp):
    """y = conv(x, w) + b."""

    @staticmethod
    def forward(ctx, x, w, b, spec):
        ctx.spec = spec
        ctx.save_for_backward(x, w)
        return conv_forward(as_array(x), as_array(w), None if b is None else as_array(b), spec)

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved
        spec, need = ctx.spec, ctx.needs_input_grad
        gx = _ConvTranspose.apply(gy, w, spec) if need[0] else None
        gw = _ConvWeight.apply(x, gy, spec) if need[1] else None
        gb = _BiasGrad.apply(gy, spec.channel_axis) if need[2] else None
        return gx, gw, gb, None


class _ConvTranspose(_ConvOp):
    """dx = conv^T(dy, w): the gradient of conv(x, w) in x, as a function of (dy, w)."""

    @staticmethod
    def forward(ctx, gy, w, spec):
        ctx.spec = spec
        ctx.save_for_backward(gy, w)
        return conv_backward_input(as_array(gy), as_array(w), spec)

    @staticmethod
    def backward(ctx, g):
        gy, w = ctx.saved
        spec, need = ctx.spec, ctx.needs_input_grad
        ggy = _Conv.apply(g, w, None, spec) if need[0] else None
        gw = _ConvWeight.apply(g, gy, spec) if need[1] else None
        return ggy, gw, None


class _ConvWeight(_ConvOp):
    """dw = corr(x, dy): the gradient of conv(x, w) in w, as a function of (x, dy)."""

    @staticmethod
    def forward(ctx, x, gy, spec):
        ctx.spec = spec
        ctx.save_for_backward(x, gy)
        return conv_backward_weight(as_array(x), as_array(gy), spec)

    @staticmethod
    def backward(ctx, g):
        x, gy = ctx.saved
        spec, need = ctx.spec, ctx.needs_input_grad
        gx = _ConvTranspose.apply(gy, g, spec) if need[0] else None
        ggy = _Conv.apply(x, g, None, spec) if need[1] else None
        return gx, ggy, None


class _FarPadding:
    """A convolution whose padding is wider than its window on some axis, so that windows may see
    only padding (PyTorch allows any padding). Computed as the convolution of just the part of
    the input the windows touch, with at most a window's span of padding (``core``), its output
    zero-padded to the full size, plus the bias: memory follows what the windows read, not the
    padding asked for, and gradients follow from the composition. ``core`` is None when no
    window meets the input at all (the output is the bias alone)."""

    def __init__(self, core, crop, out_pad, y_shape, channel_axis):
        self.core, self.crop, self.out_pad = core, crop, out_pad
        self.y_shape, self.channel_axis = y_shape, channel_axis

    def __call__(self, input, weight, bias):
        x = input if isinstance(input, Tensor) else Tensor(input)
        w = weight if isinstance(weight, Tensor) else Tensor(weight)
        if self.core is not None:
            y = Pad.apply(_Conv.apply(x[self.crop], w, None, self.core), self.out_pad, 0.0)
        else:  # zeros that still reach x and w, so their gradients are zeros (not None)
            y = Tensor(np.zeros(self.y_shape, x.dtype)) + (x.reshape(-1)[:0].sum()
                                                             + w.reshape(-1)[:0].sum())
        if bias is not None:
            y = y + _BiasBroadcast.apply(bias, self.y_shape, self.channel_axis)
        return y


def _far_padding_plan(x_shape, w_shape, y_shape, batched, geom, groups):
    """The _FarPadding of a call (arguments already validated)."""
    nd = len(geom.kernel)
    reach = [window_reach(n, k, s, lo, hi, d, o) for n, k, s, (lo, hi), d, o in zip(
        geom.in_size, geom.kernel, geom.stride, geom.padding, geom.dilation, geom.out_size)]
    lead = len(x_shape) - nd
    axis = 1 if batched else 0
    if any(r.first > r.last for r in reach):
        return _FarPadding(None, None, None, y_shape, axis)
    crop = (slice(None),) * lead + tuple(slice(r.crop[0], n - r.crop[1])
                                         for r, n in zip(reach, geom.in_size))
    core_x = x_shape[:lead] + tuple(n - r.crop[0] - r.crop[1] for r, n in zip(reach, geom.in_size))
    core_y = y_shape[:lead] + tuple(r.last - r.first + 1 for r in reach)
    stride = tuple(min(s, n + r.pad[0] + r.pad[1])
                   for s, n, r in zip(geom.stride, core_x[lead:], reach))
    core = ConvSpec(core_x, w_shape, core_y, stride, tuple(r.pad for r in reach), geom.dilation,
                    groups)
    out_pad = ((0, 0),) * lead + tuple((r.first, o - 1 - r.last)
                                       for r, o in zip(reach, geom.out_size))
    return _FarPadding(core, crop, out_pad, y_shape, axis)


# ---------------------------------------------------------------------------------------------
# validation: every check happens here, before any kernel runs


def _array_arg(fname, name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, Tensor):
        arr = value.numpy()
    elif isinstance(value, np.ndarray):
        arr = value
    else:
        raise TypeError(f"{fname}: {name} must be a Tensor or numpy.ndarray, got {type(value).__name__}")
    if arr.dtype not in KERNEL_DTYPES:
        raise TypeError(f"{fname}: {name} has dtype {arr.dtype}; convolution needs float32 or float64")
    return arr


def _check_operands(fname, nd, input, weight, bias, groups, wkind):
    """The checks every convolution, direct or transposed, makes of its operands: arrays of a
    kernel dtype; input (N, C_in, *spatial) or unbatched; weight with nd + 2 axes (laid out as
    ``wkind`` says) and the input's dtype; groups an int >= 1; no empty axis. Returns
    ``(x, w, b, groups, batched, xb)``, ``xb`` being the input's shape with its batch axis."""
    x = _array_arg(fname, "input", input)
    w = _array_arg(fname, "weight", weight)
    b = _array_arg(fname, "bias", bias, allow_none=True)
    kind = "(N, C_in, L) or (C_in, L)" if nd == 1 else "(N, C_in, H, W) or (C_in, H, W)"
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{fname}: input must be {nd + 2}-D {kind}, got shape {x.shape}")
    if w.ndim != nd + 2:
        raise ValueError(f"{fname}: weight must be {nd + 2}-D {wkind}, got shape {w.shape}")
    if w.dtype != x.dtype:
        raise TypeError(f"{fname}: input ({x.dtype}) and weight ({w.dtype}) must have the same dtype")
    if isinstance(groups, bool) or not isinstance(groups, numbers.Integral):
        raise TypeError(f"{fname}: groups must be an int, got {groups!r}")
    groups = int(groups)
    if groups < 1:
        raise ValueError(f"{fname}: groups must be >= 1, got {groups}")
    batched = x.ndim == nd + 2
    xb = x.shape if batched else (1,) + x.shape
    if any(s == 0 for s in xb[1:]) or any(s == 0 for s in w.shape):
        raise ValueError(f"{fname}: input {x.shape} and weight {w.shape} must not have empty "
                         "channel or spatial axes")
    if xb[1] % groups:
        raise ValueError(f"{fname}: input channels ({xb[1]}) must be divisible by groups ({groups})")
    return x, w, b, groups, batched, xb


def _check_bias(fname, b, x, c_out, meaning):
    """A bias, when given, is one value of the input's dtype per output channel."""
    if b is not None:
        if b.dtype != x.dtype:
            raise TypeError(f"{fname}: bias ({b.dtype}) must have the input's dtype ({x.dtype})")
        if b.shape != (c_out,):
            raise ValueError(f"{fname}: bias must have shape ({c_out},) ({meaning}), got {b.shape}")


def _prepare(fname, nd, input, weight, bias, stride, padding, dilation, groups):
    """Check every argument of conv{nd}d and return the ConvSpec of the call."""
    wkind = "(C_out, C_in / groups, K)" if nd == 1 else "(C_out, C_in / groups, kH, kW)"
    x, w, b, groups, batched, xb = _check_operands(fname, nd, input, weight, bias, groups, wkind)
    c_in, c_out = xb[1], w.shape[0]
    if c_out % groups:
        raise ValueError(f"{fname}: weight's out channels ({c_out}) must be divisible by groups ({groups})")
    if w.shape[1] * groups != c_in:
        raise ValueError(f"{fname}: weight {w.shape} expects {w.shape[1] * groups} input channels "
                         f"(weight.shape[1] * groups), but input {x.shape} has {c_in}")
    _check_bias(fname, b, x, c_out, "one per output channel")
    kernel = tuple(w.shape[2:])
    stride = ntuple(stride, nd, f"{fname}: stride", minimum=1)
    dilation = ntuple(dilation, nd, f"{fname}: dilation", minimum=1)
    pads = normalize_padding(padding, kernel, dilation, stride, nd, name=f"{fname}: padding")
    geom = WindowGeometry(xb[2:], kernel, stride, pads, dilation, what=f"{fname}: input")
    y_shape = (xb[0], c_out) + geom.out_size
    if not batched:
        y_shape = y_shape[1:]
    if math.prod(y_shape) * x.itemsize > _MAX_PADDED_BYTES:
        raise ValueError(f"{fname}: padding={padding!r}, stride={stride!r} and dilation="
                         f"{dilation!r} give an output of shape {y_shape}, too large to hold "
                         f"(more than {_MAX_PADDED_BYTES} bytes)")
    if any(max(lo, hi) > d * (k - 1) for (lo, hi), k, d in zip(pads, kernel, dilation)):
        return _far_padding_plan(x.shape, w.shape, y_shape, batched, geom, groups)
    # The kernels copy the zero-padded input once: refuse a padding whose copy could not exist
    # (and whose size arithmetic would overflow) with an error naming it, not a crash.
    padded = math.prod(n + lo + hi for n, (lo, hi) in zip(xb[2:], pads))
    if xb[0] * c_in * padded * x.itemsize > _MAX_PADDED_BYTES:
        raise ValueError(f"{fname}: padding={padding!r} makes the padded input "
                         f"{tuple(n + lo + hi for n, (lo, hi) in zip(xb[2:], pads))} per channel, "
                         f"too large to hold (more than {_MAX_PADDED_BYTES} bytes)")
    # A stride at least the padded size leaves one window per axis, as the padded size itself
    # does; clamping it keeps the kernels' stride-phase layout (one plane per phase) small.
    stride = tuple(min(s, n + lo + hi) for s, n, (lo, hi) in zip(stride, xb[2:], pads))
    return ConvSpec(x.shape, w.shape, y_shape, stride, pads, dilation, groups)


# ConvSpecs of recent calls, keyed by everything _prepare's checks depend on: a training loop
# calls each layer with the same shapes every step, and checking them again costs several times
# a small kernel. Only plain ints, strs and tuples of ints are keys (True == 1 must not hit).
_SPEC_CACHE = {}
_SPEC_CACHE_SIZE = 256


def _plain(v):
    t = type(v)
    if t is tuple:
        for e in v:  # a loop: all() over a generator costs more than these few entries
            if type(e) is not int:
                return False
        return True
    return t is int or t is str


def _spec_key(fname, input, weight, bias, stride, padding, dilation, groups):
    arrays = []
    for a in (input, weight, bias):
        if a is None:
            arrays.append(None)
            continue
        a = a.numpy() if isinstance(a, Tensor) else a
        if type(a) is not np.ndarray:
            return None
        arrays.append((a.shape, a.dtype))
    if not (_plain(stride) and _plain(padding) and _plain(dilation) and type(groups) is int):
        return None
    return (fname, *arrays, stride, padding, dilation, groups)


def _conv(fname, nd, input, weight, bias, stride, padding, dilation, groups):
    key = _spec_key(fname, input, weight, bias, stride, padding, dilation, groups)
    spec = _SPEC_CACHE.get(key) if key is not None else None
    if spec is None:
        spec = _prepare(fname, nd, input, weight, bias, stride, padding, dilation, groups)
        if key is not None:
            if len(_SPEC_CACHE) >= _SPEC_CACHE_SIZE:
                _SPEC_CACHE.clear()
            _SPEC_CACHE[key] = spec
    if isinstance(spec, _FarPadding):
        return spec(input, weight, bias)
    return _Conv.apply(input, weight, bias, spec)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) of ``input (N, C_in, L)`` (or ``(C_in, L)``) with
    ``weight (C_out, C_in / groups, K)``, plus ``bias (C_out,)`` if given.

    ``stride``, ``dilation``: int >= 1 (or a 1-tuple); ``padding``: int >= 0, 'valid' or 'same'
    ('same' needs stride 1; an even total goes one more after). Output length
    ``(L + 2 * padding - dilation * (K - 1) - 1) // stride + 1``. Same as torch.nn.functional.conv1d.
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of ``input (N, C_in, H, W)`` (or ``(C_in, H, W)``) with
    ``weight (C_out, C_in / groups, kH, kW)``, plus ``bias (C_out,)`` if given.

    ``stride``, ``dilation``: int >= 1 or a (h, w) pair; ``padding``: int >= 0, a pair, 'valid' or
    'same' ('same' needs stride 1; an odd total pads one more after, as PyTorch). ``groups`` splits
    channels into independent convolutions (``groups == C_in`` is depthwise). Same as
    torch.nn.functional.conv2d.
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)
