"""Our Functions (and the layers written as one operator) as ONNX nodes: the exporter's table.

Each emitter takes ``(b, ctx, args, names)``: the graph builder (exporter.py ``_Builder``), the
recorded node, the arguments its Function was applied to, and the ONNX value names of those
arguments ("" for None, or for settings that are not tensors); it adds nodes and returns the
name of the output (a list for several). Attributes come from the recorded arguments
(``ConvSpec``, the pooling call's geometry) and output shapes from ``ctx._out_meta``.
"""
import math

import numpy as np

from .._geometry import window_output_size

__all__ = ["UnsupportedOperatorError", "emitter_for", "exportable", "MODULE_EMITTERS"]


class UnsupportedOperatorError(RuntimeError):
    """An op (or a setting of one) that the ONNX exporter cannot express; the message names it.
    (PyTorch's exporter raises an error of the same name.)"""


def _out_shape(ctx, i=0):
    return tuple(ctx._out_meta[i][0])


def _out_dtype(ctx, i=0):
    return ctx._out_meta[i][1]


def _unsupported(op, why):
    raise UnsupportedOperatorError(f"onnx.export: {op}: {why}")


# ------------------------------------------------------------------------------ convolution
def _conv(b, ctx, args, names):
    spec = args[3]
    nd = len(spec.w_shape) - 2
    if len(spec.x_shape) != nd + 2:
        _unsupported("conv", "an unbatched input (ONNX's Conv needs the batch axis)")
    sh, sw, dh, dw, ph0, ph1, pw0, pw1 = spec.params
    strides, dilations = ([sw], [dw]) if nd == 1 else ([sh, sw], [dh, dw])
    pads = [pw0, pw1] if nd == 1 else [ph0, pw0, ph1, pw1]
    ins = names[:2] + ([names[2]] if args[2] is not None else [])
    return b.node("Conv", ins, kernel_shape=list(spec.w_shape[2:]), strides=strides,
                  dilations=dilations, pads=pads, group=spec.groups)


def _conv_transpose_function(b, ctx, args, names):
    """The engine's transposed convolution (``conv^T(x, w)``, also what F.conv_transpose2d runs
    on): ONNX ConvTranspose with the forward convolution's pads, and an output_padding for the
    rows a strided convolution of that size leaves unread."""
    spec = args[2]
    nd = len(spec.w_shape) - 2
    if len(spec.x_shape) != nd + 2:
        _unsupported("conv_transpose", "an unbatched input (ONNX needs the batch axis)")
    sh, sw, dh, dw, ph0, ph1, pw0, pw1 = spec.params
    stride, dil, pads = ((sw,), (dw,), ((pw0, pw1),)) if nd == 1 else \
        ((sh, sw), (dh, dw), ((ph0, ph1), (pw0, pw1)))
    extra = []
    for n_in, n_out, k, s, d, (lo, hi) in zip(spec.y_shape[2:], spec.x_shape[2:],
                                              spec.w_shape[2:], stride, dil, pads):
        extra.append(n_out - (s * (n_in - 1) + d * (k - 1) + 1 - lo - hi))
    return b.node("ConvTranspose", names[:2], kernel_shape=list(spec.w_shape[2:]),
                  strides=list(stride), dilations=list(dil),
                  pads=[p[0] for p in pads] + [p[1] for p in pads],
                  output_padding=extra if any(extra) else None, group=spec.groups)


def _conv_transpose_layer(b, x, m):
    ins = [x, b.constant_of(m.weight)] + ([b.constant_of(m.bias)] if m.bias is not None else [])
    if getattr(m, "padding_mode", "zeros") != "zeros":
        _unsupported(type(m).__name__, f"padding_mode={m.padding_mode!r}")
    pads = list(m.padding)
    return b.node("ConvTranspose", ins, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                  dilations=list(m.dilation), pads=pads + pads,
                  output_padding=list(m.output_padding) if any(m.output_padding) else None,
                  group=m.groups)


def _bias_broadcast(b, ctx, args, names):
    """A bias (C,) spread over a convolution's output (``_FarPadding``, padding wider than the
    window): written as the broadcastable (C, 1, ...) view; its one consumer, an Add,
    broadcasts it."""
    shape, axis = args[1], args[2]
    return b.node("Reshape", [names[0], b.ints([-1] + [1] * (len(shape) - axis - 1))])


def _add_bias(b, ctx, args, names):
    """y + b along the channel axis (the transposed convolutions' bias)."""
    axis = args[2]
    ndim = len(_out_shape(ctx))
    view = b.ints([-1] + [1] * (ndim - axis - 1))
    return b.node("Add", [names[0], b.node("Reshape", [names[1], view])])


# ----------------------------------------------------------------------------------- pooling
def _pool_dims(call, op):
    """(number of spatial axes, kernel, stride, pad, dilation) of a validated pooling call."""
    kh, kw, sh, sw, ph, pw, dh, dw = call.geom[:8]
    rank = len(call.in_shape)
    if rank == 4:
        return 2, (kh, kw), (sh, sw), (ph, pw), (dh, dw)
    if rank == 3 and call.in_planes[0] == call.in_shape[0] * call.in_shape[1] \
            and call.in_planes[1] == 1 and kh == 1 and ph == 0:
        return 1, (kw,), (sw,), (pw,), (dw,)
    _unsupported(op, f"an unbatched input of shape {call.in_shape} (ONNX needs the batch axis)")


def _pool(b, ctx, args, names, op, global_op):
    call = args[1]
    nd, kernel, stride, pad, dil = _pool_dims(call, op)
    in_size, out_size = call.in_shape[-nd:], call.out_shape[-nd:]
    if call.geom[8]:  # adaptive
        if all(o == 1 for o in out_size):
            return b.node(global_op, names[:1])
        if any(n % o for n, o in zip(in_size, out_size)):
            _unsupported(f"adaptive {op}", f"output size {out_size} does not divide the input "
                         f"size {in_size} (ONNX has no adaptive pooling)")
        kernel = stride = tuple(n // o for n, o in zip(in_size, out_size))
        pad, dil = (0,) * nd, (1,) * nd
    floor = tuple(window_output_size(n, k, s, p, p, d) for n, k, s, p, d in
                  zip(in_size, kernel, stride, pad, dil))
    attrs = dict(kernel_shape=list(kernel), strides=list(stride), pads=list(pad) * 2,
                 ceil_mode=int(floor != tuple(out_size)))
    if op == "MaxPool":
        attrs["dilations"] = list(dil)
    else:
        if call.geom[10]:
            _unsupported("avg_pool", f"divisor_override={call.geom[10]} (ONNX's AveragePool "
                         "always divides by the window's size)")
        if any(d != 1 for d in dil):
            _unsupported("avg_pool", f"dilation={dil} (a dilated average pool is an "
                         "autograd_cnn extension)")
        attrs["count_include_pad"] = int(call.geom[9])
    return b.node(op, names[:1], **attrs)


def _max_pool(b, ctx, args, names):
    if args[2]:
        _unsupported("max_pool", "return_indices=True")
    return _pool(b, ctx, args, names, "MaxPool", "GlobalMaxPool")


def _avg_pool(b, ctx, args, names):
    return _pool(b, ctx, args, names, "AveragePool", "GlobalAveragePool")


# ------------------------------------------------------------------------ layers as one node
def _batch_norm(b, x, m):
    c = m.num_features
    dtype = m.running_mean.dtype
    scale = b.constant_of(m.weight) if m.weight is not None else b.const(np.ones(c), dtype)
    bias = b.constant_of(m.bias) if m.bias is not None else b.const(np.zeros(c), dtype)
    momentum = 0.9 if m.momentum is None else 1.0 - m.momentum  # ONNX weighs the old value
    return b.node("BatchNormalization", [x, scale, bias, b.constant_of(m.running_mean),
                                         b.constant_of(m.running_var)],
                  epsilon=m.eps, momentum=momentum)


def _linear(b, x, m):
    ins = [x, b.constant_of(m.weight)] + ([b.constant_of(m.bias)] if m.bias is not None else [])
    return b.node("Gemm", ins, transB=1)


def _linear_function(b, ctx, args, names):
    """ops.matmul.Linear outside a fused Linear layer (other ranks, F.linear): x @ w^T (+ b)."""
    y = b.node("MatMul", [names[0], b.node("Transpose", names[1:2], perm=[1, 0])])
    return b.node("Add", [y, names[2]]) if names[2] else y


MODULE_EMITTERS = {"batch_norm": _batch_norm, "linear": _linear,
                   "conv_transpose": _conv_transpose_layer}


# --------------------------------------------------------------------- elementwise and shape
def _simple(op, **attrs):
    def emit(b, ctx, args, names):
        return b.node(op, [n for n in names if n], **attrs)
    return emit


def _with_const(op, reverse=False):
    """x (op) c, or c (op) x, for a Python number c."""
    def emit(b, ctx, args, names):
        c = b.const(args[1], _out_dtype(ctx))
        return b.node(op, [c, names[0]] if reverse else [names[0], c])
    return emit


def _leaky_relu(b, ctx, args, names):
    return b.node("LeakyRelu", names[:1], alpha=float(args[1]))


def _softmax(op):
    def emit(b, ctx, args, names):
        return b.node(op, names[:1], axis=int(args[1]))
    return emit


def _clamp(b, ctx, args, names):
    dt = _out_dtype(ctx)
    lo = "" if args[1] is None else b.const(args[1], dt)
    hi = "" if args[2] is None else b.const(args[2], dt)
    return b.node("Clip", [names[0], lo, hi])


def _reshape(b, ctx, args, names):
    """Flatten when it is one (N, ...) -> (N, prod ...); else Reshape with the leading axes
    that do not change written as 0 ("copy from the input"), so a dynamic batch survives."""
    x = args[0]
    src, dst = tuple(x.shape), _out_shape(ctx)
    if len(dst) == 2 and len(src) >= 2 and src[0] == dst[0] and dst[1] == math.prod(src[1:]):
        return b.node("Flatten", names[:1], axis=1)
    target = list(dst)
    for i, (s, d) in enumerate(zip(src, dst)):
        if s != d:
            break
        target[i] = 0
    return b.node("Reshape", [names[0], b.ints(target)])


def _transpose(b, ctx, args, names):
    ndim = len(_out_shape(ctx))
    perm = list(range(ndim))
    d0, d1 = args[1] % ndim, args[2] % ndim
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return b.node("Transpose", names[:1], perm=perm)


def _permute(b, ctx, args, names):
    return b.node("Transpose", names[:1], perm=[int(d) for d in args[1]])


def _reduce(op):
    def emit(b, ctx, args, names):
        ndim = args[0].ndim
        dims = args[1]
        axes = list(range(ndim)) if dims is None else \
            [int(d) % ndim for d in (dims if isinstance(dims, (tuple, list)) else (dims,))]
        keep = int(bool(args[2]))
        if op == "ReduceSum" or b.opset >= 18:
            return b.node(op, [names[0], b.ints(axes)], keepdims=keep)
        return b.node(op, names[:1], axes=axes, keepdims=keep)
    return emit


def _cat(b, ctx, args, names):
    return b.node("Concat", names[1:], axis=int(args[0]))


def _cast(b, ctx, args, names):
    from onnx import helper
    return b.node("Cast", names[:1], to=helper.np_dtype_to_tensor_dtype(np.dtype(args[1])))


def _pad(b, ctx, args, names):
    widths = args[1]
    pads = [int(lo) for lo, _ in widths] + [int(hi) for _, hi in widths]
    return b.node("Pad", [names[0], b.ints(pads), b.const(args[2], _out_dtype(ctx))],
                  mode="constant")


def _get_item(b, ctx, args, names):
    """Basic slicing with positive steps (x[:, 1:5], x[..., ::2]) as Slice."""
    index, ndim = args[1], args[0].ndim
    index = index if isinstance(index, tuple) else (index,)
    if not all(isinstance(i, slice) for i in index) or len(index) > ndim:
        _unsupported("indexing", f"index {index!r} (only slices are exported)")
    starts, ends, axes, steps = [], [], [], []
    for axis, (sl, n) in enumerate(zip(index, args[0].shape)):
        start, stop, step = sl.indices(n)
        if step <= 0:
            _unsupported("indexing", f"slice {sl} (a negative step)")
        if (start, stop, step) != (0, n, 1):
            starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
    if not axes:
        return b.node("Identity", names[:1])
    return b.node("Slice", [names[0], b.ints(starts), b.ints(ends), b.ints(axes), b.ints(steps)])


# Functions by "module.qualname", so ops another branch adds map as soon as they exist
_EMITTERS = {
    "autograd_cnn.functional.conv._Conv": _conv,
    "autograd_cnn.functional.conv._ConvTranspose": _conv_transpose_function,
    "autograd_cnn.ops.channel.ChannelBroadcast": _bias_broadcast,
    "autograd_cnn.functional.conv_transpose._AddBias": _add_bias,
    "autograd_cnn.functional.pooling._MaxPool": _max_pool,
    "autograd_cnn.functional.pooling._AvgPool": _avg_pool,
    "autograd_cnn.ops.activation.Relu": _simple("Relu"),
    "autograd_cnn.ops.activation.LeakyRelu": _leaky_relu,
    "autograd_cnn.ops.activation.Sigmoid": _simple("Sigmoid"),
    "autograd_cnn.ops.activation.Tanh": _simple("Tanh"),
    "autograd_cnn.ops.activation.Softmax": _softmax("Softmax"),
    "autograd_cnn.ops.activation.LogSoftmax": _softmax("LogSoftmax"),
    "autograd_cnn.ops.elementwise.Add": _simple("Add"),
    "autograd_cnn.ops.elementwise.Sub": _simple("Sub"),
    "autograd_cnn.ops.elementwise.Mul": _simple("Mul"),
    "autograd_cnn.ops.elementwise.Div": _simple("Div"),
    "autograd_cnn.ops.elementwise.Pow": _simple("Pow"),
    "autograd_cnn.ops.elementwise.Maximum": _simple("Max"),
    "autograd_cnn.ops.elementwise.Minimum": _simple("Min"),
    "autograd_cnn.ops.elementwise.AddConst": _with_const("Add"),
    "autograd_cnn.ops.elementwise.RSubConst": _with_const("Sub", reverse=True),
    "autograd_cnn.ops.elementwise.MulConst": _with_const("Mul"),
    "autograd_cnn.ops.elementwise.DivConst": _with_const("Div"),
    "autograd_cnn.ops.elementwise.RDivConst": _with_const("Div", reverse=True),
    "autograd_cnn.ops.elementwise.PowConst": _with_const("Pow"),
    "autograd_cnn.ops.elementwise.RPowConst": _with_const("Pow", reverse=True),
    "autograd_cnn.ops.elementwise.Neg": _simple("Neg"),
    "autograd_cnn.ops.elementwise.Exp": _simple("Exp"),
    "autograd_cnn.ops.elementwise.Log": _simple("Log"),
    "autograd_cnn.ops.elementwise.Sqrt": _simple("Sqrt"),
    "autograd_cnn.ops.elementwise.Abs": _simple("Abs"),
    "autograd_cnn.ops.elementwise.Clamp": _clamp,
    "autograd_cnn.ops.elementwise.Cast": _cast,
    "autograd_cnn.ops.elementwise.Clone": _simple("Identity"),
    "autograd_cnn.ops.matmul.MatMul": _simple("MatMul"),
    "autograd_cnn.ops.matmul.Linear": _linear_function,
    "autograd_cnn.ops.shape.Reshape": _reshape,
    "autograd_cnn.ops.shape.Transpose": _transpose,
    "autograd_cnn.ops.shape.Permute": _permute,
    "autograd_cnn.ops.shape.Cat": _cat,
    "autograd_cnn.ops.shape.Pad": _pad,
    "autograd_cnn.ops.indexing.GetItem": _get_item,
    "autograd_cnn.ops.reduction.Sum": _reduce("ReduceSum"),
    "autograd_cnn.ops.reduction.Mean": _reduce("ReduceMean"),
}


def emitter_for(fn):
    return _EMITTERS.get(f"{fn.__module__}.{fn.__qualname__}")


def exportable():
    """The exportable Functions' names (for error messages)."""
    return sorted({k.rsplit(".", 1)[1].lstrip("_") for k in _EMITTERS})
