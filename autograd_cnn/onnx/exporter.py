"""``export``: a Module to an ONNX file, from the graph the autograd engine records.

How it works (no Python source is read):

1. The model runs once, in eval mode and with grad enabled, on fresh leaf copies of ``args``
   that require grad, with the engine's ``keep_inputs`` switch on (autograd/grad_mode.py): every
   op applied on the way becomes a graph node (a ``Context``) that knows its Function class, its
   edges to the nodes that produced its inputs, and -- because of the switch -- every argument
   it was given: constants, and settings such as a convolution's ``ConvSpec``.
2. A few layers are written as one ONNX operator rather than as the ops they are built from:
   ``BatchNorm1d/2d`` (BatchNormalization), ``Linear`` on 2-D inputs (Gemm) and
   ``ConvTranspose1d/2d`` (ConvTranspose). Their ``forward`` is wrapped for the one run, which
   notes the node that produced the layer's output; the walk then emits one operator there and
   continues from the layer's input.
3. The graph is walked from the outputs back to the inputs, and each node is written by the
   emitter of its Function class (``_ops_out.py``). Parameters and buffers become initializers
   under their state-dict names; other constants get names ``const_<n>``. A Function without an
   emitter raises :class:`UnsupportedOperatorError` naming it.

The ``onnx`` package (an optional extra) builds and checks the ModelProto; it is imported only
when ``export`` is called.
"""
import os

import numpy as np

from ..autograd.grad_mode import _state, enable_grad
from ..autograd.tensor import Tensor, as_array
from . import _ops_out
from ._ops_out import UnsupportedOperatorError

__all__ = ["export", "UnsupportedOperatorError"]

MIN_OPSET, MAX_OPSET = 13, 21


def require_onnx(fn):
    try:
        import onnx
    except ImportError:
        raise ImportError(f"{fn}: needs the optional 'onnx' package (pip install "
                          "'autograd_cnn[onnx]')") from None
    return onnx


class _Builder:
    """Collects nodes, initializers and names while the graph is walked."""

    def __init__(self, onnx, opset, names_of):
        self.onnx, self.opset = onnx, opset
        self.nodes, self.initializers = [], []
        self._names_of = names_of   # id(Tensor or ndarray) -> state-dict name
        self._named = {}            # id(object) -> initializer name already written
        self._keep = []             # objects whose id is a key above (kept alive)
        self._count = {}
        self.values = {}            # (id(ctx), index) or id(leaf Tensor) -> value name

    def fresh(self, stem):
        n = self._count.get(stem, 0)
        self._count[stem] = n + 1
        return f"{stem}_{n}"

    def initializer(self, array, name=None, key=None):
        """The name of an initializer holding ``array`` (written once per ``key`` object)."""
        if key is not None and id(key) in self._named:
            return self._named[id(key)]
        name = name or self.fresh("const")
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        if key is not None:
            self._named[id(key)] = name
            self._keep.append(key)
        return name

    def const(self, value, dtype):
        return self.initializer(np.asarray(value, dtype=dtype))

    def ints(self, values):
        return self.initializer(np.asarray(values, dtype=np.int64))

    def constant_of(self, obj):
        """Name of a Tensor/ndarray argument that no graph edge leads to: a parameter or buffer
        (by identity, under its state-dict name) or a constant."""
        name = self._names_of.get(id(obj))
        return self.initializer(as_array(obj), name, key=obj)

    def node(self, op_type, inputs, outputs=1, **attrs):
        """Add a node; returns its output name(s) (a list when ``outputs`` > 1)."""
        outs = [self.fresh(op_type) for _ in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outs,
                                                     name=self.fresh("n_" + op_type), **attrs))
        return outs if outputs > 1 else outs[0]


def _edge_of(t):
    """The graph edge a Tensor argument arrives by: (ctx, index), (leaf, -1) or None."""
    if not isinstance(t, Tensor) or not t.requires_grad:
        return None
    return t._edge if t._edge is not None else (t, -1)


class _Walk:
    """Emits the recorded graph in dependency order."""

    def __init__(self, builder, inputs, fused):
        self.b, self.fused = builder, fused
        self.input_ids = {id(t): name for t, name in inputs}

    def value(self, arg, edge):
        """The ONNX value name of one argument of a node."""
        if edge is None:
            if not isinstance(arg, (Tensor, np.ndarray)):
                return ""  # None, or a setting (the emitter reads it from the arguments)
            return self.b.constant_of(arg)
        node, index = edge
        if index == -1:  # a leaf: an input, a parameter or some other tensor requiring grad
            if id(node) in self.input_ids:
                return self.input_ids[id(node)]
            return self.b.constant_of(node)
        return self.b.values[(id(node), index)]

    def deps(self, ctx):
        if id(ctx) in self.fused:
            return [_edge_of(self.fused[id(ctx)][1])]
        return list(ctx._next)

    def run(self, out_edges):
        done, order = set(), []
        stack = [(e, False) for e in reversed(out_edges) if e is not None and e[1] != -1]
        while stack:  # iterative post-order: deep networks do not hit the recursion limit
            (ctx, _), expanded = stack.pop()
            if id(ctx) in done:
                continue
            if expanded:
                done.add(id(ctx))
                order.append(ctx)
                continue
            stack.append(((ctx, 0), True))
            for e in self.deps(ctx):
                if e is not None and e[1] != -1 and id(e[0]) not in done:
                    stack.append((e, False))
        for ctx in order:
            self.emit(ctx)

    def emit(self, ctx):
        if id(ctx) in self.fused:
            kind, x, module, index = self.fused[id(ctx)]
            out = _ops_out.MODULE_EMITTERS[kind](self.b, self.value(x, _edge_of(x)), module)
            self.b.values[(id(ctx), index)] = out
            return
        fn = ctx._fn
        emitter = _ops_out.emitter_for(fn)
        if emitter is None:
            raise UnsupportedOperatorError(
                f"onnx.export: the op {fn.__name__} ({fn.__module__}) has no ONNX equivalent "
                f"here; exportable ops: {', '.join(_ops_out.exportable())}")
        args = getattr(ctx, "inputs", None)
        if args is None:
            raise UnsupportedOperatorError(
                f"onnx.export: the model uses a tensor computed by {fn.__name__} before the "
                "export ran (a value with a gradient history kept from an earlier call); "
                "detach() it, or compute it inside forward")
        names = [self.value(a, e) for a, e in zip(args, ctx._next)]
        outs = emitter(self.b, ctx, args, names)
        for i, name in enumerate(outs if isinstance(outs, list) else [outs]):
            self.b.values[(id(ctx), i)] = name


def _fused_kind(module):
    """Which one-operator form applies to ``module``, by class name (so layers that another
    branch adds are covered as soon as they exist)."""
    name = type(module).__name__
    if name in ("BatchNorm1d", "BatchNorm2d"):
        return "batch_norm" if getattr(module, "running_mean", None) is not None else None
    if name in ("Linear", "ConvTranspose1d", "ConvTranspose2d"):
        return {"Linear": "linear"}.get(name, "conv_transpose")
    return None


def _wrap_layers(model, fused):
    """Wrap the forward of each layer written as one operator; returns the undo list."""
    wrapped = []
    for module in model.modules():
        kind = _fused_kind(module)
        if kind is None or "forward" in module.__dict__:
            continue
        original = module.forward

        def forward(x, *rest, _m=module, _f=original, _k=kind, **kw):
            y = _f(x, *rest, **kw)
            usable = (not rest and not kw and isinstance(x, Tensor) and isinstance(y, Tensor)
                      and y._edge is not None and y._edge[1] >= 0)
            if usable and _k == "linear" and x.ndim != 2:
                usable = False  # Gemm is 2-D; other ranks stay Transpose + MatMul + Add
            if usable and _k == "conv_transpose" and x.ndim != len(_m.kernel_size) + 2:
                usable = False  # unbatched: the ops it was computed with are exported instead
            if usable:
                fused[id(y._edge[0])] = (_k, x, _m, y._edge[1])
            return y

        object.__setattr__(module, "forward", forward)
        wrapped.append(module)
    return wrapped


def _as_inputs(args):
    if isinstance(args, (Tensor, np.ndarray)):
        args = (args,)
    if not isinstance(args, (tuple, list)) or not args:
        raise TypeError(f"onnx.export: args must be a Tensor or a tuple of Tensors, got "
                        f"{type(args).__name__}")
    inputs = []
    for i, a in enumerate(args):
        if not isinstance(a, (Tensor, np.ndarray)):
            raise TypeError(f"onnx.export: args[{i}] must be a Tensor or ndarray, got "
                            f"{type(a).__name__}")
        arr = np.array(as_array(a))
        if arr.dtype.kind != "f":
            raise TypeError(f"onnx.export: args[{i}] has dtype {arr.dtype}; inputs must be "
                            "floating point")
        inputs.append(Tensor(arr, requires_grad=True))
    return inputs


def _names(given, count, default, what):
    if given is None:
        return [default if count == 1 else f"{default}_{i}" for i in range(count)]
    if not isinstance(given, (list, tuple)) or not all(isinstance(n, str) for n in given):
        raise TypeError(f"onnx.export: {what} must be a list of str, got {given!r}")
    given = list(given)
    if len(given) > count:
        raise ValueError(f"onnx.export: {what} has {len(given)} names for {count} values")
    return given + [f"{default}_{i}" for i in range(len(given), count)]


def _value_info(onnx, name, shape, dtype, dynamic):
    """A graph input/output declaration; ``dynamic``: {axis: symbolic name}."""
    dims = [dynamic.get(i, d) for i, d in enumerate(shape)]
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def _dynamic(dynamic_axes, name, ndim):
    spec = (dynamic_axes or {}).get(name)
    if spec is None:
        return {}
    if isinstance(spec, dict):
        axes = {int(a): str(n) for a, n in spec.items()}
    elif isinstance(spec, (list, tuple)):
        axes = {int(a): f"{name}_dynamic_axes_{k + 1}" for k, a in enumerate(spec)}
    else:
        raise TypeError(f"onnx.export: dynamic_axes[{name!r}] must be a dict or list of axes, "
                        f"got {spec!r}")
    bad = [a for a in axes if not 0 <= a < ndim]
    if bad:
        raise ValueError(f"onnx.export: dynamic_axes[{name!r}] names axes {bad}, but {name!r} "
                         f"has {ndim} dimensions")
    return axes


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=17):
    """Write ``model`` as an ONNX model to ``f`` (a path or a binary file object), PyTorch's
    ``torch.onnx.export`` signature.

    ``args``: a Tensor or a tuple of Tensors, the inputs of one forward run (their values only
    fix the shapes). ``input_names`` / ``output_names``: names of the graph's inputs and outputs
    (default ``input`` / ``output``, numbered when several). ``dynamic_axes``: for an input or
    output name, the axes whose size may vary, as ``{axis: symbolic name}`` or a list of axes,
    e.g. ``{"input": {0: "batch"}, "output": {0: "batch"}}``. ``opset_version``: 13 to 21.

    The model runs once in eval mode (its mode is restored afterwards). Returns the ModelProto,
    which is also checked with ``onnx.checker.check_model``. Raises
    :class:`UnsupportedOperatorError` naming the first op that ONNX cannot express here.
    Reshapes keep the first axis symbolic when they leave it unchanged (so a dynamic batch axis
    survives ``x.reshape(x.shape[0], -1)``); a reshape that mixes the batch into other axes is
    written with the traced sizes.
    """
    onnx = require_onnx("onnx.export")
    if isinstance(opset_version, bool) or not isinstance(opset_version, int) \
            or not MIN_OPSET <= opset_version <= MAX_OPSET:
        raise ValueError(f"onnx.export: opset_version must be an int in [{MIN_OPSET}, "
                         f"{MAX_OPSET}], got {opset_version!r}")
    if dynamic_axes is not None and not isinstance(dynamic_axes, dict):
        raise TypeError(f"onnx.export: dynamic_axes must be a dict, got "
                        f"{type(dynamic_axes).__name__}")
    inputs = _as_inputs(args)
    in_names = _names(input_names, len(inputs), "input", "input_names")

    fused = {}
    was_training = model.training
    wrapped = _wrap_layers(model, fused)
    model.eval()
    previous = _state.keep_inputs
    _state.keep_inputs = True
    try:
        with enable_grad():
            result = model(*inputs)
    finally:
        _state.keep_inputs = previous
        for module in wrapped:
            del module.__dict__["forward"]
        model.train(was_training)

    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    if not outputs or not all(isinstance(o, Tensor) for o in outputs):
        raise TypeError("onnx.export: the model must return a Tensor or a tuple of Tensors")
    out_names = _names(output_names, len(outputs), "output", "output_names")
    unknown = set(dynamic_axes or {}) - set(in_names) - set(out_names)
    if unknown:
        raise ValueError(f"onnx.export: dynamic_axes names {sorted(unknown)}, which are not "
                         f"input or output names ({in_names + out_names})")

    names_of = {}
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        names_of.setdefault(id(t), name)
    builder = _Builder(onnx, opset_version, names_of)
    builder._keep.append(outputs)
    walk = _Walk(builder, list(zip(inputs, in_names)), fused)
    walk.run([_edge_of(o) for o in outputs])

    graph_outputs = []
    for o, name in zip(outputs, out_names):
        value = walk.value(o, _edge_of(o))
        builder.nodes.append(onnx.helper.make_node("Identity", [value], [name],
                                                   name=builder.fresh("n_output")))
        graph_outputs.append(_value_info(onnx, name, o.shape, o.dtype,
                                         _dynamic(dynamic_axes, name, o.ndim)))
    graph_inputs = [_value_info(onnx, name, t.shape, t.dtype, _dynamic(dynamic_axes, name, t.ndim))
                    for t, name in zip(inputs, in_names)]
    graph = onnx.helper.make_graph(builder.nodes, type(model).__name__, graph_inputs,
                                   graph_outputs, builder.initializers)
    opsets = [onnx.helper.make_opsetid("", opset_version)]
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="autograd_cnn",
                                   ir_version=onnx.helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if isinstance(f, (str, bytes, os.PathLike)):
        with open(os.fsdecode(os.fspath(f)), "wb") as fh:
            fh.write(data)
    elif hasattr(f, "write"):
        f.write(data)
    else:
        raise TypeError(f"onnx.export: f must be a path or a binary file object, got "
                        f"{type(f).__name__}")
    return proto
