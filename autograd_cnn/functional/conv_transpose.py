"""Transposed convolution: ``conv_transpose1d`` and ``conv_transpose2d`` with PyTorch's semantics
(weights (C_in, C_out / groups, *kernel), stride, padding, output_padding, groups, dilation).

A transposed convolution is the input gradient of a convolution, seen as a function of that
convolution's output gradient: ``conv_transpose(x, w)`` is ``conv^T(x, w)``, where the forward
convolution maps a C_out-channel signal to a C_in-channel one with the same weight tensor
(PyTorch stores a transposed convolution's weight in exactly the forward convolution's
(C_out_conv, C_in_conv / groups, *kernel) layout). So no new kernel is needed: the call is
``functional.conv._ConvTranspose``, the Function that already computes a convolution's input
gradient, and its backward is the forward convolution (for x) and the weight-gradient kernel (for
w) -- derivatives of every order follow from the three conv Functions.

Per spatial axis, with input size n, kernel k, stride s, padding p, output_padding o, dilation d,
the output size is ``(n - 1) * s - 2 p + d (k - 1) + 1 + o``
(:func:`autograd_cnn._geometry.transposed_output_size`). The untrimmed result of a transposed
convolution has ``F = (n - 1) s + d (k - 1) + 1`` positions; ``padding`` trims p from the start
and p - o from the end (the end is extended with zeros when o > p). The kernels trim at most a
window's span ``d (k - 1)`` themselves (their padding); any further trim is a slice of the
result, and the extension a zero padding (:class:`~autograd_cnn.ops.shape.Pad`), both
differentiable.
"""

import numpy as np

from .._geometry import MAX_WINDOW_ARG, ntuple, transposed_output_size
from ..autograd import Op, Tensor, as_array
from ..ops.shape import Pad
from ._conv_kernels import ConvSpec
from .conv import _BiasGrad, _ConvTranspose, _check_bias, _check_operands, _plain, _spec_key

__all__ = ["conv_transpose1d", "conv_transpose2d"]


class _AddBias(Op):
    """y + b broadcast along the channel axis; db is the channel sum of the gradient (the
    compiled one, as for convolution)."""

    @staticmethod
    def forward(ctx, y, b, axis):
        ctx.axis = axis
        y = as_array(y)
        view = [1] * y.ndim
        view[axis] = -1
        return y + as_array(b).reshape(view)

    @staticmethod
    def backward(ctx, g):
        need = ctx.needs_input_grad
        return (g if need[0] else None,
                _BiasGrad.apply(g, ctx.axis) if need[1] else None, None)


class _TransposedPlan:
    """The validated geometry of one transposed-convolution call: the ConvSpec of the kernels'
    call, the slice that trims its result, and the zero padding that extends it."""

    __slots__ = ("spec", "crop", "extend", "channel_axis")

    def __init__(self, spec, crop, extend, channel_axis):
        self.spec, self.crop, self.extend, self.channel_axis = spec, crop, extend, channel_axis

    def __call__(self, input, weight, bias):
        y = _ConvTranspose.apply(input, weight, self.spec)
        if self.crop is not None:
            y = y[self.crop]
        if self.extend is not None:
            y = Pad.apply(y, self.extend, 0.0)
        if bias is not None:
            y = _AddBias.apply(y, bias, self.channel_axis)
        return y


def _prepare(fname, nd, input, weight, bias, stride, padding, output_padding, groups, dilation):
    """Check every argument of conv_transpose{nd}d and return the call's _TransposedPlan."""
    wkind = "(C_in, C_out / groups, K)" if nd == 1 else "(C_in, C_out / groups, kH, kW)"
    x, w, b, groups, batched, xb = _check_operands(fname, nd, input, weight, bias, groups, wkind)
    c_in, c_out = xb[1], w.shape[1] * groups
    if w.shape[0] != c_in:
        raise ValueError(f"{fname}: weight {w.shape} expects {w.shape[0]} input channels "
                         f"(weight.shape[0]), but input {x.shape} has {c_in}")
    _check_bias(fname, b, x, c_out, "weight.shape[1] * groups")
    kernel = tuple(w.shape[2:])
    stride = ntuple(stride, nd, f"{fname}: stride", minimum=1)
    dilation = ntuple(dilation, nd, f"{fname}: dilation", minimum=1)
    if isinstance(padding, str):
        raise ValueError(f"{fname}: padding must be an int or a tuple of {nd} ints (PyTorch's "
                         f"transposed convolutions take no 'same' or 'valid'), got {padding!r}")
    pads = ntuple(padding, nd, f"{fname}: padding", minimum=0)
    out_pads = ntuple(output_padding, nd, f"{fname}: output_padding", minimum=0)
    for o, s, d in zip(out_pads, stride, dilation):
        if o >= max(s, d):
            raise ValueError(f"{fname}: output_padding must be smaller than either stride or "
                             f"dilation on every axis, got output_padding={out_pads}, "
                             f"stride={stride}, dilation={dilation}")
    out_size = tuple(transposed_output_size(n, k, s, p, o, d) for n, k, s, p, o, d in
                     zip(xb[2:], kernel, stride, pads, out_pads, dilation))
    if any(o < 1 for o in out_size) or any(o > MAX_WINDOW_ARG for o in out_size):
        raise ValueError(f"{fname}: input of spatial size {xb[2:]} with kernel_size={kernel}, "
                         f"stride={stride}, padding={pads}, output_padding={out_pads} and "
                         f"dilation={dilation} gives output size {out_size}; every axis must be "
                         f"in [1, {MAX_WINDOW_ARG}]")
    # per axis: untrimmed size F; the kernels trim (lo, hi) <= the window's span; the rest of the
    # trim is a slice, and an end trim below zero (o > p) is a zero extension
    conv_pads, conv_size, crop, extend = [], [], [], []
    for n, k, s, p, o, d in zip(xb[2:], kernel, stride, pads, out_pads, dilation):
        span = d * (k - 1)
        full = (n - 1) * s + span + 1
        lo, hi = min(p, span), min(max(p - o, 0), span)
        conv_pads.append((lo, hi))
        conv_size.append(full - lo - hi)
        crop.append(slice(p - lo, full - lo - hi - (max(p - o, 0) - hi)))
        extend.append((0, max(o - p, 0)))
    lead = (xb[0], c_out) if batched else (c_out,)
    conv_x = lead + tuple(conv_size)
    # a stride longer than the untrimmed size changes nothing (one input position per axis) and
    # the kernels' phase layout wants it at most that size, as conv2d clamps it
    kstride = tuple(min(s, size + lo + hi) for s, size, (lo, hi) in
                    zip(stride, conv_size, conv_pads))
    spec = ConvSpec(conv_x, w.shape, x.shape, kstride, tuple(conv_pads), dilation, groups)
    lead_slices = (slice(None),) * len(lead)
    trims = any(c != slice(0, size) for c, size in zip(crop, conv_size))
    extends = any(e != (0, 0) for e in extend)
    return _TransposedPlan(spec, lead_slices + tuple(crop) if trims else None,
                           ((0, 0),) * len(lead) + tuple(extend) if extends else None,
                           1 if batched else 0)


# plans of recent calls (a training loop repeats its shapes), as functional/conv.py caches specs
_PLAN_CACHE = {}
_PLAN_CACHE_SIZE = 256


def _conv_transpose(fname, nd, input, weight, bias, stride, padding, output_padding, groups,
                    dilation):
    key = _spec_key(fname, input, weight, bias, stride, padding, dilation, groups)
    if key is not None and _plain(output_padding):
        key = key + (output_padding,)
    else:
        key = None
    plan = _PLAN_CACHE.get(key) if key is not None else None
    if plan is None:
        plan = _prepare(fname, nd, input, weight, bias, stride, padding, output_padding, groups,
                        dilation)
        if key is not None:
            if len(_PLAN_CACHE) >= _PLAN_CACHE_SIZE:
                _PLAN_CACHE.clear()
            _PLAN_CACHE[key] = plan
    if not isinstance(input, Tensor):
        input = Tensor(input)
    return plan(input, weight, bias)


def output_padding_for(fname, input_size, output_size, kernel, stride, padding, dilation):
    """The output_padding that makes a transposed convolution of spatial ``input_size`` produce
    ``output_size`` (PyTorch's ``output_size=`` argument): each axis must lie between the size at
    output_padding 0 and that plus ``max(stride, dilation) - 1``."""
    nd = len(kernel)
    output_size = tuple(output_size)
    if len(output_size) == nd + 2 or len(output_size) == nd + 1:
        output_size = output_size[-nd:]
    sizes = ntuple(output_size, nd, f"{fname}: output_size", minimum=1)
    out = []
    for n, want, k, s, p, d in zip(input_size, sizes, kernel, stride, padding, dilation):
        least = transposed_output_size(n, k, s, p, 0, d)
        most = least + max(s, d) - 1
        if not least <= want <= most:
            raise ValueError(f"{fname}: requested output_size {sizes} is not reachable from "
                             f"input size {tuple(input_size)}: each axis must lie in "
                             f"[{least}, {most}] here, got {want}")
        out.append(want - least)
    return tuple(out)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution of ``input (N, C_in, L)`` (or ``(C_in, L)``) with ``weight
    (C_in, C_out / groups, K)``, plus ``bias (C_out,)`` if given. Output length
    ``(L - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1``. Same as
    torch.nn.functional.conv_transpose1d (argument order included: groups before dilation)."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution ("deconvolution", the adjoint of conv2d) of ``input (N, C_in,
    H, W)`` (or ``(C_in, H, W)``) with ``weight (C_in, C_out / groups, kH, kW)``, plus ``bias
    (C_out,)``. Each output axis is ``(n - 1) * stride - 2 * padding + dilation * (k - 1) +
    output_padding + 1``; ``output_padding`` (< stride or < dilation) picks among the input sizes
    a strided conv2d maps to one size. Same as torch.nn.functional.conv_transpose2d."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding,
                           output_padding, groups, dilation)

