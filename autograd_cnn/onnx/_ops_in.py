"""ONNX operators run with our ops: the importer's table (see importer.py).

Each runner takes ``(module, inputs, attrs)``: the interpreter Module (its ``training`` flag
matters for BatchNormalization and Dropout), the node's input values -- Tensors for anything
that carries a gradient, NumPy arrays for constants and the integer shape arithmetic that
exporters emit (``Shape -> Gather -> Concat -> Reshape``), None for an omitted optional input --
and the node's attributes as a dict. It returns the output value or a tuple of them. Shape
arithmetic on arrays is plain NumPy, so it folds to constants on every run.
"""
import math

import numpy as np

from .. import functional as F
from ..autograd.tensor import Tensor, as_array
from ..nn.batchnorm import batch_norm
from ..nn.dropout import dropout
from ..ops import elementwise, shape as shape_ops
from ..ops.shape import Pad

__all__ = ["RUNNERS", "UnsupportedOnnxError"]


class UnsupportedOnnxError(ValueError):
    """An ONNX operator (or attribute value) the importer cannot run; the message names it."""


def _bad(op, why):
    raise UnsupportedOnnxError(f"onnx.load: {op}: {why}")


def _t(v):
    return v if isinstance(v, Tensor) else Tensor(np.asarray(v))


def _ints(v):
    return [int(i) for i in np.asarray(as_array(v)).reshape(-1)]


def _split_pads(op, pads, nd):
    pads = list(pads) if pads is not None else [0] * (2 * nd)
    return pads[:nd], pads[nd:]


def _pre_pad(x, begin, end, value):
    """Explicit padding for asymmetric pads; our conv/pool take one pad per axis."""
    widths = ((0, 0),) * (x.ndim - len(begin)) + tuple(zip(begin, end))
    return Pad.apply(_t(x), widths, value)


def _check_auto_pad(op, a):
    mode = a.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode not in ("NOTSET", "VALID"):
        _bad(op, f"auto_pad={mode} (export with explicit pads)")


def conv(m, ins, a):
    x, w, b = (list(ins) + [None])[:3]
    _check_auto_pad("Conv", a)
    nd = as_array(w).ndim - 2
    if nd not in (1, 2):
        _bad("Conv", f"{nd}-d convolution (1-d and 2-d are supported)")
    begin, end = _split_pads("Conv", a.get("pads"), nd)
    if begin != end:
        x, begin = _pre_pad(x, begin, end, 0.0), [0] * nd
    fn = F.conv1d if nd == 1 else F.conv2d
    return fn(_t(x), _t(w), None if b is None else _t(b), stride=tuple(a.get("strides", [1] * nd)),
              padding=tuple(begin), dilation=tuple(a.get("dilations", [1] * nd)),
              groups=a.get("group", 1))


def conv_transpose(m, ins, a):
    x, w, b = (list(ins) + [None])[:3]
    _check_auto_pad("ConvTranspose", a)
    nd = as_array(w).ndim - 2
    fn = getattr(F, f"conv_transpose{nd}d", None)
    if fn is None:
        _bad("ConvTranspose", f"this autograd_cnn has no functional.conv_transpose{nd}d")
    if "output_shape" in a:
        _bad("ConvTranspose", "output_shape (export with pads and output_padding)")
    begin, end = _split_pads("ConvTranspose", a.get("pads"), nd)
    padding = begin if begin == end else [0] * nd  # asymmetric: pad nothing, then crop
    y = fn(_t(x), _t(w), None if b is None else _t(b), stride=tuple(a.get("strides", [1] * nd)),
           padding=tuple(padding), output_padding=tuple(a.get("output_padding", [0] * nd)),
           groups=a.get("group", 1), dilation=tuple(a.get("dilations", [1] * nd)))
    if begin != end:
        y = y[(slice(None),) * 2 + tuple(slice(lo, n - hi) for lo, hi, n in
                                         zip(begin, end, y.shape[2:]))]
    return y


def _pool(op, m, ins, a):
    x = _t(ins[0])
    _check_auto_pad(op, a)
    kernel = tuple(a["kernel_shape"])
    nd = len(kernel)
    if nd not in (1, 2):
        _bad(op, f"{nd}-d pooling (1-d and 2-d are supported)")
    begin, end = _split_pads(op, a.get("pads"), nd)
    if begin != end:
        x = _pre_pad(x, begin, end, -np.inf if op == "MaxPool" else 0.0)
        begin = [0] * nd
    stride = tuple(a.get("strides", [1] * nd))
    ceil = bool(a.get("ceil_mode", 0))
    if op == "MaxPool":
        fn = F.max_pool1d if nd == 1 else F.max_pool2d
        return fn(x, kernel, stride, tuple(begin), tuple(a.get("dilations", [1] * nd)), ceil)
    if any(d != 1 for d in a.get("dilations", [1] * nd)):
        _bad(op, "dilations (opset 19's dilated average pooling)")
    fn = F.avg_pool1d if nd == 1 else F.avg_pool2d
    return fn(x, kernel, stride, tuple(begin), ceil, bool(a.get("count_include_pad", 0)))


def _global(op, m, ins, a):
    x = _t(ins[0])
    nd = x.ndim - 2
    name = f"adaptive_{'max' if op == 'GlobalMaxPool' else 'avg'}_pool{nd}d"
    if nd not in (1, 2):
        _bad(op, f"{nd}-d input")
    return getattr(F, name)(x, 1)


def batch_normalization(m, ins, a):
    x, scale, bias, mean, var = ins[:5]
    momentum = 1.0 - a.get("momentum", 0.9)
    return batch_norm(_t(x), mean, var, _t(scale), _t(bias), training=m.training,
                      momentum=momentum, eps=a.get("epsilon", 1e-5))


def gemm(m, ins, a):
    A, B, C = (list(ins) + [None])[:3]
    A, B = _t(A), _t(B)
    if a.get("transA", 0):
        A = A.transpose(0, 1)
    if a.get("transB", 0):
        B = B.transpose(0, 1)
    y = A @ B
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    if alpha != 1.0:
        y = y * alpha
    if C is not None:
        y = y + (_t(C) if beta == 1.0 else _t(C) * beta)
    return y


def _binary(np_fn, tensor_fn):
    def run(m, ins, a):
        x, y = ins
        if not isinstance(x, Tensor) and not isinstance(y, Tensor):
            return np_fn(np.asarray(x), np.asarray(y))
        if isinstance(x, Tensor) and isinstance(y, Tensor):
            return tensor_fn(x, y)
        x, y = _t(x), _t(y)  # mixed: a constant array meets a Tensor
        return tensor_fn(x, y)
    return run


def _div_np(x, y):
    return x // y if x.dtype.kind in "iu" and y.dtype.kind in "iu" else x / y


def _unary(fn):
    def run(m, ins, a):
        return fn(_t(ins[0]))
    return run


def _axis_op(fn, default):
    def run(m, ins, a):
        return fn(_t(ins[0]), a.get("axis", default))
    return run


def leaky_relu(m, ins, a):
    return F.leaky_relu(_t(ins[0]), a.get("alpha", 0.01))


def _shape_of(v):
    return tuple(as_array(v).shape)


def _reshape_to(x, new):
    return x.reshape(new) if isinstance(x, Tensor) else np.asarray(x).reshape(new)


def flatten(m, ins, a):
    x = ins[0]
    s = _shape_of(x)
    axis = a.get("axis", 1) % (len(s) + 1) if s else 0
    return _reshape_to(x, (math.prod(s[:axis]), math.prod(s[axis:])))


def reshape(m, ins, a):
    x, target = ins
    s = _shape_of(x)
    new = _ints(target)
    if not a.get("allowzero", 0):
        new = [s[i] if d == 0 else d for i, d in enumerate(new)]
    return _reshape_to(x, tuple(new))


def transpose(m, ins, a):
    x = ins[0]
    perm = a.get("perm") or list(range(len(_shape_of(x))))[::-1]
    if isinstance(x, Tensor):
        return shape_ops.permute(x, *perm)
    return np.transpose(x, perm)


def dropout_node(m, ins, a):
    x = ins[0]
    ratio = float(as_array(ins[1])) if len(ins) > 1 and ins[1] is not None else a.get("ratio", 0.5)
    return dropout(_t(x), ratio, m.training) if m.training else x


def constant(m, ins, a):
    from onnx import numpy_helper
    if "value" in a:
        return numpy_helper.to_array(a["value"])
    for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in a:
            return np.asarray(a[key], dtype=dtype)
    _bad("Constant", f"attributes {sorted(a)}")


def shape(m, ins, a):
    s = np.asarray(_shape_of(ins[0]), dtype=np.int64)
    return s[a.get("start", 0):a.get("end", len(s))]


def _const_only(op, v):
    if isinstance(v, Tensor):
        _bad(op, "on a tensor of the network (only on constant shape values)")
    return np.asarray(v)


def gather(m, ins, a):
    return np.take(_const_only("Gather", ins[0]), _const_only("Gather", ins[1]),
                   axis=a.get("axis", 0))


def _axes(ins, a):
    if len(ins) > 1 and ins[1] is not None:
        return _ints(ins[1])
    return a.get("axes")


def unsqueeze(m, ins, a):
    x = ins[0]
    out = list(_shape_of(x))
    for ax in sorted(d % (len(out) + len(_axes(ins, a))) for d in _axes(ins, a)):
        out.insert(ax, 1)
    return _reshape_to(x, tuple(out))


def squeeze(m, ins, a):
    x = ins[0]
    s = _shape_of(x)
    axes = _axes(ins, a)
    axes = {d % len(s) for d in axes} if axes else {i for i, n in enumerate(s) if n == 1}
    return _reshape_to(x, tuple(n for i, n in enumerate(s) if i not in axes))


def concat(m, ins, a):
    axis = a["axis"]
    vals = [v for v in ins if v is not None]
    if any(isinstance(v, Tensor) for v in vals):
        return shape_ops.cat([_t(v) for v in vals], dim=axis)
    return np.concatenate([np.asarray(v) for v in vals], axis=axis)


def slice_node(m, ins, a):
    x = ins[0]
    starts, ends = _ints(ins[1]), _ints(ins[2])
    nd = len(_shape_of(x))
    axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
    steps = _ints(ins[4]) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    index = [slice(None)] * nd
    for s, e, ax, st in zip(starts, ends, axes, steps):
        index[ax % nd] = slice(s, None if e >= 2**62 else e, st)
    return x[tuple(index)]


def cast(m, ins, a):
    from onnx import helper
    dtype = helper.tensor_dtype_to_np_dtype(a["to"])
    x = ins[0]
    return x.to(dtype) if isinstance(x, Tensor) else np.asarray(x).astype(dtype)


def _reduce(kind):
    def run(m, ins, a):
        x = _t(ins[0])
        axes = _axes(ins, a)
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.ndim))
        keep = bool(a.get("keepdims", 1))
        dims = tuple(d % x.ndim for d in axes)
        return x.mean(dim=dims, keepdim=keep) if kind == "mean" else x.sum(dim=dims, keepdim=keep)
    return run


def clip(m, ins, a):
    x = _t(ins[0])
    lo = ins[1] if len(ins) > 1 and ins[1] is not None else a.get("min")
    hi = ins[2] if len(ins) > 2 and ins[2] is not None else a.get("max")
    return elementwise.clamp(x, None if lo is None else float(as_array(lo)),
                             None if hi is None else float(as_array(hi)))


def pad(m, ins, a):
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode != "constant":
        _bad("Pad", f"mode={mode!r} (constant padding only)")
    x = ins[0]
    nd = len(_shape_of(x))
    pads = _ints(ins[1])
    value = float(as_array(ins[2])) if len(ins) > 2 and ins[2] is not None else 0.0
    axes = _ints(ins[3]) if len(ins) > 3 and ins[3] is not None else list(range(nd))
    if any(p < 0 for p in pads):
        _bad("Pad", f"negative pads {pads}")
    widths = [(0, 0)] * nd
    for i, ax in enumerate(axes):
        widths[ax % nd] = (pads[i], pads[i + len(axes)])
    return Pad.apply(_t(x), tuple(widths), value)


def identity(m, ins, a):
    return ins[0]


RUNNERS = {
    "Conv": conv, "ConvTranspose": conv_transpose,
    "MaxPool": lambda m, i, a: _pool("MaxPool", m, i, a),
    "AveragePool": lambda m, i, a: _pool("AveragePool", m, i, a),
    "GlobalAveragePool": lambda m, i, a: _global("GlobalAveragePool", m, i, a),
    "GlobalMaxPool": lambda m, i, a: _global("GlobalMaxPool", m, i, a),
    "BatchNormalization": batch_normalization, "Gemm": gemm,
    "MatMul": _binary(np.matmul, lambda x, y: x @ y),
    "Add": _binary(np.add, lambda x, y: x + y), "Sub": _binary(np.subtract, lambda x, y: x - y),
    "Mul": _binary(np.multiply, lambda x, y: x * y), "Div": _binary(_div_np, lambda x, y: x / y),
    "Pow": _binary(np.power, lambda x, y: x ** y),
    "Max": _binary(np.maximum, elementwise.maximum), "Min": _binary(np.minimum, elementwise.minimum),
    "Relu": _unary(F.relu), "Sigmoid": _unary(F.sigmoid), "Tanh": _unary(F.tanh),
    "LeakyRelu": leaky_relu, "Softmax": _axis_op(F.softmax, -1),
    "LogSoftmax": _axis_op(F.log_softmax, -1),
    "Exp": _unary(elementwise.exp), "Log": _unary(elementwise.log),
    "Sqrt": _unary(elementwise.sqrt), "Abs": _unary(elementwise.abs), "Neg": _unary(lambda x: -x),
    "Clip": clip, "Flatten": flatten, "Reshape": reshape, "Transpose": transpose,
    "Dropout": dropout_node, "Identity": identity, "Constant": constant, "Shape": shape,
    "Gather": gather, "Unsqueeze": unsqueeze, "Squeeze": squeeze, "Concat": concat,
    "Slice": slice_node, "Cast": cast, "Pad": pad, "ReduceMean": _reduce("mean"), "ReduceSum": _reduce("sum"),
}
