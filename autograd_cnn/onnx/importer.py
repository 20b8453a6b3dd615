"""``load``: an ONNX model as a Module that runs its graph with our ops, ready to evaluate or
fine-tune.

:class:`ONNXModule` is an interpreter: it keeps the graph's nodes (in the file's order, which
ONNX requires to be topological) and runs each with the matching runner of ``_ops_in.py``.
Weights become state:

* the weights of Conv, ConvTranspose, Gemm and MatMul, an initializer added to the output of
  one of them (a bias), and the scale and bias of BatchNormalization become
  :class:`~autograd_cnn.nn.Parameter` s (trainable);
* BatchNormalization's running mean and variance become buffers (updated when training);
* every other initializer (shapes, constants) stays a constant array.

Their names are the initializers' own: ``features.0.weight`` is the parameter ``weight`` of a
submodule ``features.0`` -- so a model written by ``torch.onnx.export`` (which keeps PyTorch's
state-dict names) has PyTorch's state-dict keys here too. Characters other than letters, digits
and ``_`` in a name part become ``_``.
"""
import re

import numpy as np

from ..autograd.tensor import Tensor
from ..nn.module import Module
from ..nn.parameter import Parameter
from ._ops_in import RUNNERS, UnsupportedOnnxError
from .exporter import require_onnx

__all__ = ["ONNXModule", "load"]

# (op_type, input position) of initializers that are trainable weights / running statistics
_PARAMETER_INPUTS = {("Conv", 1), ("Conv", 2), ("ConvTranspose", 1), ("ConvTranspose", 2),
                     ("Gemm", 0), ("Gemm", 1), ("Gemm", 2), ("MatMul", 0), ("MatMul", 1),
                     ("BatchNormalization", 1), ("BatchNormalization", 2)}
_BUFFER_INPUTS = {("BatchNormalization", 3), ("BatchNormalization", 4)}
_BIASED = {"MatMul", "Conv", "ConvTranspose"}  # an initializer added to their output is a bias


class _Scope(Module):
    """A submodule that only holds state (a level of a dotted name)."""

    def forward(self, *args):
        raise RuntimeError("this submodule of an ONNXModule only holds weights")


def _part(name):
    return re.sub(r"[^0-9A-Za-z_]", "_", name) or "_"


class ONNXModule(Module):
    """Runs an ONNX graph (see the module docstring); ``forward`` takes the graph's inputs in
    order (Tensors or arrays) and returns its output, or a tuple of its outputs."""

    def __init__(self, proto):
        super().__init__()
        onnx = require_onnx("onnx.load")
        graph = proto.graph
        opsets = {o.domain: o.version for o in proto.opset_import}
        unknown = sorted({n.op_type for n in graph.node if n.domain not in ("", "ai.onnx")
                          or n.op_type not in RUNNERS})
        if unknown:
            raise UnsupportedOnnxError(f"onnx.load: the model uses operators this importer "
                                       f"cannot run: {', '.join(unknown)}; supported: "
                                       f"{', '.join(sorted(RUNNERS))}")
        if opsets.get("", opsets.get("ai.onnx", 13)) < 13:
            raise UnsupportedOnnxError(f"onnx.load: opset {opsets.get('')} is older than 13, "
                                       "the oldest this importer reads (re-export with a newer "
                                       "opset)")
        roles = {}
        producer = {out: node.op_type for node in graph.node for out in node.output}
        for node in graph.node:
            for i, name in enumerate(node.input):
                if (node.op_type, i) in _PARAMETER_INPUTS:
                    roles.setdefault(name, "parameter")
                elif (node.op_type, i) in _BUFFER_INPUTS:
                    roles[name] = "buffer"
                elif node.op_type == "Add" and any(producer.get(other) in _BIASED
                                                   for other in node.input if other != name):
                    roles.setdefault(name, "parameter")  # a bias: MatMul + Add is a Linear
        object.__setattr__(self, "_constants", {})
        object.__setattr__(self, "_state_paths", {})
        for init in graph.initializer:
            array = np.array(onnx.numpy_helper.to_array(init))
            role = roles.get(init.name) if array.dtype.kind == "f" else None
            if role is None:
                self._constants[init.name] = array
            else:
                self._register(init.name, array, role)
        initialized = {i.name for i in graph.initializer}
        object.__setattr__(self, "input_names",
                           [i.name for i in graph.input if i.name not in initialized])
        object.__setattr__(self, "output_names", [o.name for o in graph.output])
        nodes = []
        for node in graph.node:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            nodes.append((node.op_type, list(node.input), list(node.output), attrs))
        object.__setattr__(self, "_nodes", nodes)
        self.eval()  # an inference graph: evaluate as it was exported; .train() to fine-tune

    def _register(self, name, array, role):
        """Register ``array`` under the dotted ``name``, creating scope submodules."""
        *scopes, leaf = [_part(p) for p in name.split(".")]
        owner = self
        for s in scopes:
            child = owner._modules.get(s)
            if child is None:
                if s in owner.__dict__ or s in owner._parameters or s in owner._buffers:
                    owner, leaf = self, _part(name.replace(".", "_"))  # clash: a flat name
                    break
                child = _Scope()
                owner.add_module(s, child)
            owner = child
        if leaf in owner._modules or leaf in owner._parameters or leaf in owner._buffers \
                or leaf in owner.__dict__ or hasattr(type(owner), leaf):
            owner, leaf = self, _part(name.replace(".", "_")) + f"_{len(self._state_paths)}"
        if role == "parameter":
            owner.register_parameter(leaf, Parameter(array))
        else:
            owner.register_buffer(leaf, Tensor(array))
        self._state_paths[name] = (owner, leaf)

    def _value_of_initializer(self, name):
        owner, leaf = self._state_paths[name]
        return getattr(owner, leaf)

    def forward(self, *inputs):
        if len(inputs) != len(self.input_names):
            raise TypeError(f"ONNXModule: the graph takes {len(self.input_names)} input(s) "
                            f"({', '.join(self.input_names)}), got {len(inputs)}")
        env = dict(self._constants)
        for name in self._state_paths:
            env[name] = self._value_of_initializer(name)
        for name, x in zip(self.input_names, inputs):
            env[name] = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        env[""] = None
        for op, ins, outs, attrs in self._nodes:
            try:
                values = [env[n] for n in ins]
            except KeyError as e:
                raise UnsupportedOnnxError(f"onnx.load: a {op} node reads {e.args[0]!r}, which "
                                           "no earlier node or initializer defines") from None
            result = RUNNERS[op](self, values, attrs)
            if not isinstance(result, tuple):
                result = (result,)
            for name, value in zip(outs, result):
                env[name] = value
        out = [env[n] for n in self.output_names]
        out = [o if isinstance(o, Tensor) else Tensor(np.asarray(o)) for o in out]
        return out[0] if len(out) == 1 else tuple(out)

    def extra_repr(self):
        ops = {}
        for op, *_ in self._nodes:
            ops[op] = ops.get(op, 0) + 1
        return "nodes: " + ", ".join(f"{op} x{n}" for op, n in ops.items())


def load(path):
    """An :class:`ONNXModule` running the ONNX model stored at ``path`` (a path or bytes of a
    serialized ModelProto, or a ModelProto). Raises ``UnsupportedOnnxError`` (a ValueError)
    naming any operator it cannot run, and ``ValueError`` for a file that is not ONNX."""
    onnx = require_onnx("onnx.load")
    if isinstance(path, onnx.ModelProto):
        proto = path
    else:
        try:
            proto = onnx.load_model_from_string(path) if isinstance(path, bytes) \
                else onnx.load(path)
        except FileNotFoundError:
            raise
        except Exception as e:  # DecodeError and friends
            raise ValueError(f"onnx.load: {path!r} is not a readable ONNX model: "
                             f"{type(e).__name__}: {e}") from None
    return ONNXModule(proto)
