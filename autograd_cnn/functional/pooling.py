"""Pooling: max, average and adaptive pooling over 1-d (N, C, L) and 2-d (N, C, H, W) inputs,
with PyTorch's names, defaults and semantics, run by the compiled kernels of csrc/pool/.

How it fits together:

* ``_window_call`` / ``_adaptive_call`` check every argument once, in Python, and resolve the call
  into a ``_PoolCall``: the input viewed as a stack of planes (N * C, H, W) (a 1-d pool is a 2-d
  pool of height 1), the output shape and the geometry tuple the kernels take. Output sizes come
  from autograd_cnn/_geometry.py, as for convolution.
* ``_max_forward``, ``_scatter``, ``_gather``, ``_avg_forward`` and ``_avg_backward`` run one
  kernel each on NumPy arrays.
  Their outputs come from ``_C.cached_empty``: arrays of 1 MiB and more live in blocks that go
  back to a small idle list when the last array over them dies, so a training loop reuses the
  same, already mapped memory every step instead of faulting in fresh pages
  (``_C.buffer_cache(limit)`` bounds the idle bytes; 0 turns it off).
* The differentiable part is five ``Function`` subclasses whose backward passes are built from
  one another, so gradients of any order exist (``create_graph=True``):

  - max pooling saves the flat arg-max of every window (int32 when a plane has fewer than 2**31
    elements, else int64); its backward is ``_MaxPoolScatter`` (add each output gradient at its
    arg-max), whose backward is ``_MaxPoolGather`` (read at the arg-max), whose backward is the
    scatter again;
  - average pooling is linear: its backward ``_AvgPoolBackward`` is the adjoint map, whose own
    backward is average pooling again.

Semantics (PyTorch's, value for value): max pooling scans each window row by row, the first
maximum wins ties and NaN wins (the last NaN of the window); padding is -inf and never chosen.
``return_indices`` gives flat positions within each input plane (int64). Average pooling divides
by ``divisor_override`` if given, else by the number of taps inside the padded input
(``count_include_pad=True``; a ``ceil_mode`` window that hangs past the padded input is clipped
there) or inside the input (``count_include_pad=False``).

Differences from PyTorch, by design: average pooling also takes ``dilation`` (the window's taps are
``dilation`` apart, exactly as for max pooling; with ``count_include_pad`` the divisor counts the
taps inside the padded input, which is PyTorch's rule when dilation is 1), and a window with no
tap inside the input (possible only with dilation > 1 and padding) is an error, where PyTorch
would return -inf and an index outside the plane.
"""
import numbers

import numpy as np

from .. import _C
from .._geometry import MAX_WINDOW_ARG, WindowGeometry, ntuple, pool_stride
from ..autograd import Op, Tensor, as_array, is_grad_enabled
from ..backend import KERNEL_DTYPES

__all__ = [
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
]

_INT32_PLANE_LIMIT = 2 ** 31


# ----------------------------------------------------------------------------------------------
# Argument checking: the one place
# ----------------------------------------------------------------------------------------------

class _PoolCall:
    """One validated pooling call: shapes as the kernels see them and the geometry tuple
    (kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, adaptive,
    count_include_pad, divisor_override) of csrc/pool/pool.h."""

    __slots__ = ("in_shape", "out_shape", "in_planes", "out_planes", "geom", "index_dtype")

    def __init__(self, in_shape, out_size, geom):
        spatial = len(out_size)
        self.in_shape = tuple(in_shape)
        self.out_shape = self.in_shape[:-spatial] + tuple(out_size)
        planes = int(np.prod(self.in_shape[:-spatial], dtype=np.int64))
        in_hw = ((1,) * (2 - spatial)) + self.in_shape[-spatial:]
        out_hw = ((1,) * (2 - spatial)) + tuple(out_size)
        self.in_planes = (planes,) + in_hw
        self.out_planes = (planes,) + out_hw
        self.geom = geom
        self.index_dtype = np.int32 if in_hw[0] * in_hw[1] < _INT32_PLANE_LIMIT else np.int64


def _check_input(fn, x, n):
    """The input's shape after checking dtype, rank and sizes; n is the number of spatial axes."""
    data = x._data if isinstance(x, Tensor) else x
    if not isinstance(data, np.ndarray):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(x).__name__}")
    if data.dtype not in KERNEL_DTYPES:
        raise TypeError(f"{fn}: input must be float32 or float64, got dtype {data.dtype}")
    if data.ndim not in (n + 1, n + 2):
        names = {1: "(C, L) or (N, C, L)", 2: "(C, H, W) or (N, C, H, W)"}[n]
        raise ValueError(f"{fn}: input must be {n + 1}-d or {n + 2}-d {names}, "
                         f"got shape {data.shape}")
    if any(s < 1 for s in data.shape[-n:]):
        raise ValueError(f"{fn}: input spatial sizes must be >= 1, got shape {data.shape}")
    return data.shape


def _check_flag(fn, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be a bool, got {value!r}")
    return bool(value)


# Resolved calls by (function, input shape, repr of the arguments): a training loop repeats the
# same few calls, and resolving one costs more than pooling a small batch. repr keeps apart
# arguments that compare equal but are invalid (True == 1).
_CALLS = {}
_CALLS_MAX = 256


def _cached(resolve, fn, x, n, *args):
    shape = _check_input(fn, x, n)
    key = (fn, shape, repr(args))
    call = _CALLS.get(key)
    if call is None:
        call = resolve(fn, shape, n, *args)
        if len(_CALLS) >= _CALLS_MAX:
            _CALLS.clear()
        _CALLS[key] = call
    return call


def _window_call(fn, x, n, kernel_size, stride, padding, dilation, ceil_mode,
                 count_include_pad=True, divisor_override=None):
    """Validates a max/avg pooling call with n spatial axes and resolves it into a _PoolCall."""
    return _cached(_resolve_window, fn, x, n, kernel_size, stride, padding, dilation, ceil_mode,
                   count_include_pad, divisor_override)


def _resolve_window(fn, shape, n, kernel_size, stride, padding, dilation, ceil_mode,
                    count_include_pad, divisor_override):
    kernel = ntuple(kernel_size, n, f"{fn}: kernel_size", minimum=1)
    stride = pool_stride(stride, kernel, n, f"{fn}: stride")
    pad = ntuple(padding, n, f"{fn}: padding", minimum=0)
    dilation = ntuple(dilation, n, f"{fn}: dilation", minimum=1)
    ceil_mode = _check_flag(fn, "ceil_mode", ceil_mode)
    count_include_pad = _check_flag(fn, "count_include_pad", count_include_pad)
    if any(p > k // 2 for p, k in zip(pad, kernel)):
        raise ValueError(f"{fn}: padding must be at most half of kernel_size on every axis "
                         f"(padding <= kernel_size // 2), got padding={pad} for "
                         f"kernel_size={kernel}")
    if divisor_override is not None:
        if (isinstance(divisor_override, bool)
                or not isinstance(divisor_override, numbers.Integral)):
            raise TypeError(f"{fn}: divisor_override must be None or an int, "
                            f"got {divisor_override!r}")
        if divisor_override < 1:
            raise ValueError(f"{fn}: divisor_override must be >= 1, got {divisor_override}")
        if divisor_override > MAX_WINDOW_ARG:
            raise ValueError(f"{fn}: divisor_override must be <= {MAX_WINDOW_ARG}, "
                             f"got {divisor_override}")
    in_size = shape[-n:]
    g = WindowGeometry(in_size, kernel, stride, tuple((p, p) for p in pad), dilation, ceil_mode,
                       what=f"{fn}: input")
    for axis in range(n):
        _check_windows_overlap_input(fn, axis, in_size[axis], g.out_size[axis], kernel[axis],
                                     stride[axis], pad[axis], dilation[axis])
    k2, s2, d2 = ((1,) * (2 - n) + v for v in (kernel, stride, dilation))  # 1-d: height 1
    p2 = (0,) * (2 - n) + pad
    geom = (k2[0], k2[1], s2[0], s2[1], p2[0], p2[1], d2[0], d2[1], 0, int(count_include_pad),
            int(divisor_override or 0))
    return _PoolCall(shape, g.out_size, geom)


def _check_windows_overlap_input(fn, axis, size, out, kernel, stride, pad, dilation):
    """Every window must have a tap inside the input. A window starting inside the input has its
    first tap there, and without dilation a window starting in the left padding reaches the
    input (padding <= kernel_size // 2); so only dilated windows starting in the padding (the
    first ceil(pad / stride)) are checked."""
    if dilation == 1 or pad == 0:
        return
    for o in range(min(out, -(-pad // stride))):
        start = o * stride - pad
        first = start if start >= 0 else start + (-start + dilation - 1) // dilation * dilation
        if first >= size or first > start + (kernel - 1) * dilation:
            raise ValueError(
                f"{fn}: window {o} on axis {axis} has no tap inside the input of size {size} "
                f"(kernel_size={kernel}, stride={stride}, padding={pad}, dilation={dilation})")


def _adaptive_call(fn, x, n, output_size):
    """Validates an adaptive pooling call; None entries of output_size keep the input size."""
    return _cached(_resolve_adaptive, fn, x, n, output_size)


def _resolve_adaptive(fn, shape, n, output_size):
    in_size = shape[-n:]
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != n:
            raise ValueError(f"{fn}: output_size must be an int or a tuple of {n} ints or None, "
                             f"got {tuple(output_size)!r}")
        output_size = tuple(s if v is None else v for v, s in zip(output_size, in_size))
    elif output_size is None:
        raise TypeError(f"{fn}: output_size must be an int or a tuple of {n} ints or None, "
                        "got None")
    out = ntuple(output_size, n, f"{fn}: output_size", minimum=1, single=False)
    geom = (1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0)
    return _PoolCall(shape, out, geom)


# ----------------------------------------------------------------------------------------------
# Kernels on arrays
# ----------------------------------------------------------------------------------------------

def _planes(a, shape):
    return np.ascontiguousarray(a).reshape(shape)


def _max_forward(x, call, with_indices=True):
    """(y, ind): window maxima in the output's shape and their flat arg-max per plane, as a
    (planes, OH, OW) int32/int64 array (None without with_indices: faster, for inference)."""
    y = _C.cached_empty(call.out_planes, x.dtype)
    if not with_indices:
        _C.pool_max_values(_planes(x, call.in_planes), y, call.geom)
        return y.reshape(call.out_shape), None
    ind = _C.cached_empty(call.out_planes, call.index_dtype)
    _C.pool_max_forward(_planes(x, call.in_planes), y, ind, call.geom)
    return y.reshape(call.out_shape), ind


def _scatter(gy, ind, call):
    """Each output gradient added at its window's arg-max: max pooling's backward."""
    gx = _C.cached_empty(call.in_planes, gy.dtype)
    _C.pool_max_scatter(_planes(gy, call.out_planes), ind, gx, call.geom)
    return gx.reshape(call.in_shape)


def _gather(x, ind, call):
    """x read at every window's arg-max: the scatter's adjoint."""
    y = _C.cached_empty(call.out_planes, x.dtype)
    _C.pool_max_gather(_planes(x, call.in_planes), ind, y)
    return y.reshape(call.out_shape)


def _avg_forward(x, call):
    y = _C.cached_empty(call.out_planes, x.dtype)
    _C.pool_avg_forward(_planes(x, call.in_planes), y, call.geom)
    return y.reshape(call.out_shape)


def _avg_backward(gy, call):
    gx = _C.cached_empty(call.in_planes, gy.dtype)
    _C.pool_avg_backward(_planes(gy, call.out_planes), gx, call.geom)
    return gx.reshape(call.in_shape)


# ----------------------------------------------------------------------------------------------
# Differentiable operations
# ----------------------------------------------------------------------------------------------

def _grad_array(g, dtype):
    """A gradient (Tensor or ndarray) as an ndarray of the forward pass's dtype."""
    g = as_array(g)
    return g if g.dtype == dtype else g.astype(dtype)


class _PoolOp(Op):
    """The pooling Functions: each backward returns one new array from _C.cached_empty (the
    forward of another of them), so a leaf input keeps it as its .grad without a copy."""

    backward_fresh = True


class _MaxPool(_PoolOp):
    """y = max over each window; saves the flat arg-max (not a Tensor: it never changes). The
    arg-max is only computed when a gradient or the indices are wanted (with_indices)."""

    @staticmethod
    def forward(ctx, x, call, return_indices, with_indices):
        y, ind = _max_forward(as_array(x), call, with_indices or return_indices)
        ctx.call, ctx.ind, ctx.dtype = call, ind, y.dtype
        if not return_indices:
            return y
        indices = ind.reshape(call.out_shape).astype(np.int64)
        ctx.mark_non_differentiable(indices)
        return y, indices

    @staticmethod
    def backward(ctx, gy, *unused):
        return _MaxPoolScatter.apply(gy, ctx.ind, ctx.call, ctx.dtype), None, None, None


class _MaxPoolScatter(_PoolOp):
    """gx = 0, then gx.flat[arg-max] += gy, plane by plane: max pooling's backward."""

    @staticmethod
    def forward(ctx, gy, ind, call, dtype):
        ctx.call, ctx.ind, ctx.dtype = call, ind, dtype
        return _scatter(_grad_array(gy, dtype), ind, call)

    @staticmethod
    def backward(ctx, ggx):
        return _MaxPoolGather.apply(ggx, ctx.ind, ctx.call, ctx.dtype), None, None, None


class _MaxPoolGather(_PoolOp):
    """y = x.flat[arg-max], plane by plane: the scatter's backward (and the scatter is its)."""

    @staticmethod
    def forward(ctx, x, ind, call, dtype):
        ctx.call, ctx.ind, ctx.dtype = call, ind, dtype
        return _gather(_grad_array(x, dtype), ind, call)

    @staticmethod
    def backward(ctx, gy):
        return _MaxPoolScatter.apply(gy, ctx.ind, ctx.call, ctx.dtype), None, None, None


class _AvgPool(_PoolOp):
    """y = mean over each window (a linear map A)."""

    @staticmethod
    def forward(ctx, x, call):
        y = _avg_forward(as_array(x), call)
        ctx.call, ctx.dtype = call, y.dtype
        return y

    @staticmethod
    def backward(ctx, gy):
        return _AvgPoolBackward.apply(gy, ctx.call, ctx.dtype), None


class _AvgPoolBackward(_PoolOp):
    """gx = A^T gy: average pooling's backward; its own backward is A, the pooling again."""

    @staticmethod
    def forward(ctx, gy, call, dtype):
        ctx.call, ctx.dtype = call, dtype
        return _avg_backward(_grad_array(gy, dtype), call)

    @staticmethod
    def backward(ctx, ggx):
        return _AvgPool.apply(ggx, ctx.call), None, None


# ----------------------------------------------------------------------------------------------
# Public functions (torch.nn.functional names and argument order)
# ----------------------------------------------------------------------------------------------

def _needs_grad(input):
    return is_grad_enabled() and bool(getattr(input, "requires_grad", False))


def _max_pool(fn, input, n, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    return_indices = _check_flag(fn, "return_indices", return_indices)
    call = _window_call(fn, input, n, kernel_size, stride, padding, dilation, ceil_mode)
    return _MaxPool.apply(input, call, return_indices, _needs_grad(input))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """1-d max pooling of a (N, C, L) or (C, L) Tensor; see max_pool2d."""
    return _max_pool("max_pool1d", input, 1, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """2-d max pooling of a (N, C, H, W) or (C, H, W) Tensor, as torch.nn.functional.max_pool2d.

    kernel_size, stride (default: kernel_size), padding (at most kernel_size // 2; padding is
    -inf, never chosen) and dilation are ints or (h, w) tuples. ceil_mode rounds the output size
    up (a last window must start inside the input or the left padding). With return_indices,
    also returns the int64 flat position of each maximum within its input plane. The first
    maximum of a window (in row-major scan order) wins ties, and NaN wins over numbers.
    """
    return _max_pool("max_pool2d", input, 2, kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def _avg_pool(fn, input, n, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation):
    call = _window_call(fn, input, n, kernel_size, stride, padding, dilation, ceil_mode,
                        count_include_pad, divisor_override)
    return _AvgPool.apply(input, call)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    """1-d average pooling of a (N, C, L) or (C, L) Tensor; see avg_pool2d."""
    return _avg_pool("avg_pool1d", input, 1, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, dilation)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, dilation=1):
    """2-d average pooling of a (N, C, H, W) or (C, H, W) Tensor, as
    torch.nn.functional.avg_pool2d.

    Each output is the sum of its window's taps inside the input divided by divisor_override if
    given, else by the number of taps inside the zero-padded input (count_include_pad=True; a
    ceil_mode window hanging past the padded input is clipped there) or inside the input
    (count_include_pad=False). Extension: ``dilation`` (ints or a tuple, default 1) spaces the
    taps as in max pooling; the divisor then counts the dilated taps by the same rule.
    """
    return _avg_pool("avg_pool2d", input, 2, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, dilation)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows [floor(i*L/out), ceil((i+1)*L/out)) of (N, C, L)."""
    return_indices = _check_flag("adaptive_max_pool1d", "return_indices", return_indices)
    call = _adaptive_call("adaptive_max_pool1d", input, 1, output_size)
    return _MaxPool.apply(input, call, return_indices, _needs_grad(input))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over PyTorch's adaptive windows, per axis [floor(i*In/Out), ceil((i+1)*In/Out)).
    output_size is an int or an (h, w) tuple whose None entries keep the input size; 1 gives
    global max pooling. return_indices as in max_pool2d."""
    return_indices = _check_flag("adaptive_max_pool2d", "return_indices", return_indices)
    call = _adaptive_call("adaptive_max_pool2d", input, 2, output_size)
    return _MaxPool.apply(input, call, return_indices, _needs_grad(input))


def adaptive_avg_pool1d(input, output_size):
    """Mean over PyTorch's adaptive windows of a (N, C, L) or (C, L) Tensor."""
    return _AvgPool.apply(input, _adaptive_call("adaptive_avg_pool1d", input, 1, output_size))


def adaptive_avg_pool2d(input, output_size):
    """Mean over PyTorch's adaptive windows (see adaptive_max_pool2d); output_size=1 is global
    average pooling."""
    return _AvgPool.apply(input, _adaptive_call("adaptive_avg_pool2d", input, 2, output_size))
