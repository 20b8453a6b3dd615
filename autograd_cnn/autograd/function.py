"""``Function`` and ``Context``: how one differentiable operation is defined and recorded.

An operation is a subclass of :class:`Function` with two static methods::

    class Square(Function):
        @staticmethod
        def forward(ctx, x):              # x is a Tensor; compute on x.numpy() (an ndarray)
            ctx.save_for_backward(x)
            return x.numpy() * x.numpy()         # an ndarray (or Tensor, or a tuple of them)

        @staticmethod
        def backward(ctx, grad):           # grad: a Tensor shaped like the output
            (x,) = ctx.saved_tensors
            return 2 * x * grad            # one gradient per forward argument (or None)

    y = Square.apply(x)

``apply`` runs ``forward`` with grad mode off, wraps the result into Tensors and -- when some
input requires grad -- records the call: the :class:`Context` becomes the *node* of the graph.
It remembers the Function class, the *edges* to the nodes that produced the inputs, what
``forward`` saved, and the shapes of the outputs. ``Tensor.backward`` later walks these nodes
(see ``engine.py``).

Backward formulas written with Tensor operations are themselves recorded when the engine runs
with ``create_graph=True``, which is how gradients of gradients work.

Two worlds, one backward
------------------------
The built-in operations subclass :class:`Op`, a Function whose ``backward`` is written once and
runs in two worlds:

* **Tensors**, when a graph of the gradient is built (``create_graph=True``): every operation in
  the formula is recorded, so the gradient can be differentiated again;
* **plain ndarrays**, otherwise (the usual ``loss.backward()``): gradients and ``ctx.saved`` are
  ndarrays, nothing is recorded and nothing is wrapped, which is what keeps the engine's
  per-op overhead small.

A formula works in both when it uses what the two types share -- Python operators
(``+ - * / ** @``), ``.reshape``, ``.swapaxes``, ``.sum(axis=, keepdims=)``, indexing -- and, for
anything else, *other Functions' apply*: ``GetItem.backward`` returns
``IndexAdd.apply(g, ...)``. Given ndarrays in the array world, ``apply`` runs that Function's
``forward`` on them and returns the ndarray, so the gradient's kernel is the adjoint's forward:
written once. Forwards of Functions used that way take Tensors or ndarrays (``as_array``).

User-defined Functions stay Tensor-only, as in PyTorch: their ``backward`` always receives
Tensors.
"""
import functools

import numpy as np

from .grad_mode import _state
from .tensor import Tensor, _fill

__all__ = ["Function", "Op", "Context", "once_differentiable"]

_FLOAT_KINDS = ("f", "c")
_new = object.__new__


class Context:
    """What ``forward`` hands to ``backward``; also the node of the recorded graph.

    Public API (as in PyTorch): ``save_for_backward(*tensors)``, ``saved_tensors``,
    ``needs_input_grad`` (one bool per forward argument), ``mark_non_differentiable(*outputs)``,
    and any attribute you set yourself (``ctx.stride = 2``).
    """

    # Attributes every graph node has are slots (fast). Rarely set ones are class-level
    # defaults, so creating a Context costs no __init__ at all.
    __slots__ = ("_fn", "_next", "_out_meta", "needs_input_grad", "__dict__", "__weakref__")
    _saved = None      # what save_for_backward stored (None: nothing, or freed)
    _versions = ()     # their version counters at save time
    _non_diff = None   # ids of outputs marked non-differentiable
    _saved_is_output = False  # _saved holds the forward's output (save_output)
    _retained = None   # {output_index: weakref to Tensor} for Tensor.retain_grad()

    # -- saving -------------------------------------------------------------------------
    def save_for_backward(self, *values):
        """Keep Tensors (or ndarrays, or None) for backward. Tensors are version-checked: if
        one is modified in place before backward runs, backward raises instead of silently
        computing a wrong gradient."""
        self._saved = values
        self._versions = tuple([v._version if isinstance(v, Tensor) else None for v in values])

    def _check_saved(self):
        saved = self._saved
        if saved is None:
            if getattr(self, "_next", None) is None and getattr(self, "_fn", None) is not None:
                raise RuntimeError(
                    f"{self.name()}: trying to backward through the graph a second time (or to "
                    "access saved tensors after they were freed). Saved values are freed after "
                    "backward(); pass retain_graph=True to the first backward() to keep them.")
            return ()
        for i, (v, ver) in enumerate(zip(saved, self._versions)):
            if ver is not None and v._version != ver:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: saved tensor {i} of {self.name()} (shape "
                    f"{tuple(v.shape)}) was at version {ver} when it was saved and is now at "
                    f"version {v._version}. Do not change it in place before backward().")
        return saved

    def save_output(self, out):
        """Save the forward's output (the ndarray it returns; single-output Functions) for
        backward, instead of anything else. As PyTorch's saved outputs, it unpacks as this node's
        own output: in a graph of the gradient a Tensor whose gradient flows back through this op,
        so ``exp' = exp`` or ``tanh' = 1 - tanh^2`` can use it and still be differentiable."""
        self._saved = (out,)
        self._versions = (None,)
        self._saved_is_output = True

    @property
    def saved_tensors(self):
        """The saved values as Tensors (ndarrays saved directly come back as constant
        Tensors; a saved output as this node's output). Raises if one was modified in place
        since it was saved."""
        saved = self._check_saved()
        if self._saved_is_output:
            return (_fill(_new(Tensor), saved[0], True, (self, 0)),)
        return tuple([v if v is None or isinstance(v, Tensor) else Tensor._wrap(v)
                      for v in saved])

    @property
    def saved_arrays(self):
        """The saved values as ndarrays, version-checked."""
        return tuple([v._data if isinstance(v, Tensor) else v for v in self._check_saved()])

    @property
    def saved(self):
        """Saved values in the world the running backward works in (see "Two worlds" above):
        ndarrays on arrays, Tensors while a graph of the gradient is being built."""
        return self.saved_arrays if _state.arrays else self.saved_tensors

    def mark_non_differentiable(self, *outputs):
        """Declare outputs (the arrays/Tensors ``forward`` returns) that have no gradient,
        such as the indices of ``max``. They come out with ``requires_grad=False``."""
        self._non_diff = {id(o) for o in outputs}

    # -- graph introspection -----------------------------------------------------------
    def name(self):
        """``'<Op>Backward'``, like PyTorch's ``grad_fn.name()``."""
        return self._fn.__name__ + "Backward"

    @property
    def next_functions(self):
        """The edges to the inputs' nodes: ``(node, output_index)``; leaves appear as
        ``(tensor, -1)``, inputs not requiring grad as ``(None, 0)``."""
        return tuple((None, 0) if e is None else e for e in (getattr(self, "_next", None) or ()))

    def __repr__(self):
        fn = getattr(self, "_fn", None)
        return f"<{self.name() if fn is not None else 'Context'} object at {hex(id(self))}>"


class _Unrecorded(Context):
    """The context of a call that records nothing (grad mode off, or the engine's array world):
    whatever forward saves would be thrown away, so saving costs nothing."""

    __slots__ = ()

    def save_for_backward(self, *values):
        pass

    def save_output(self, out):
        pass


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    #: whether ``backward`` also runs on plain ndarrays (see "Two worlds" above); set by Op
    backward_on_arrays = False
    #: an Op may set this when every array its array-world ``backward`` returns was allocated for
    #: that call and is held by nothing else (not an input, not a view of one, never the same
    #: array for two inputs): the engine then makes it a leaf's ``.grad`` without copying it
    #: (engine.py, "Ownership")
    backward_fresh = False

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("Function subclasses must define a static forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("Function subclasses must define a static backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args):
        """Run ``forward`` on ``args`` and, if any Tensor argument requires grad while grad mode
        is on, record the call in the graph. Returns a Tensor (or a tuple of them)."""
        state = _state
        if not state.enabled:  # fast path: nothing to record
            ctx = _new(_Unrecorded)
            ctx.needs_input_grad = (False,) * len(args)
            out = cls.forward(ctx, *args)
            if state.arrays:  # the engine's array world: arrays in, arrays out
                return out
            if type(out) is not np.ndarray:
                if type(out) is tuple:
                    return _wrap_outputs(cls, ctx, out, False, None)
                out = out._data if isinstance(out, Tensor) else np.asarray(out)
            return _fill(_new(Tensor), out, False, None)

        ctx = _new(Context)
        if state.keep_inputs:  # an exporter is tracing: keep every argument (see grad_mode.py)
            ctx.inputs = args

        any_grad = False
        needs = []
        edges = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                e = a._edge
                edges.append((a, -1) if e is None else e)
                needs.append(True)
                any_grad = True
            else:
                edges.append(None)
                needs.append(False)
        ctx.needs_input_grad = tuple(needs)
        if any_grad:
            state.enabled = False
            try:
                out = cls.forward(ctx, *args)
            finally:
                state.enabled = True
        else:
            out = cls.forward(ctx, *args)

        if type(out) is tuple:
            return _wrap_outputs(cls, ctx, out, any_grad, edges if any_grad else None)
        if type(out) is not np.ndarray:
            out = out._data if isinstance(out, Tensor) else np.asarray(out)
        if any_grad and ctx._non_diff is None and (dt := out.dtype).kind in _FLOAT_KINDS:
            ctx._fn = cls
            ctx._next = tuple(edges)
            ctx._out_meta = ((out.shape, dt),)
            return _fill(_new(Tensor), out, True, (ctx, 0))
        return _fill(_new(Tensor), out, False, None)


class Op(Function):
    """A built-in operation: a Function whose ``backward`` also runs on plain ndarrays (see
    "Two worlds" above), so the engine hands it arrays when no graph of the gradient is built."""

    backward_on_arrays = True


def _wrap_outputs(cls, ctx, outs, any_grad, edges):
    """apply() for functions returning several outputs."""
    non_diff = ctx._non_diff or ()
    result = []
    meta = []
    linked = False
    for i, o in enumerate(outs):
        if o is None or not isinstance(o, (np.ndarray, Tensor, np.generic, float, int)):
            result.append(o)
            meta.append(None)
            continue
        nd = id(o) in non_diff
        if type(o) is not np.ndarray:
            o = o._data if isinstance(o, Tensor) else np.asarray(o)
        if any_grad and not nd and o.dtype.kind in _FLOAT_KINDS:
            result.append(_fill(_new(Tensor), o, True, (ctx, i)))
            linked = True
        else:
            result.append(_fill(_new(Tensor), o, False, None))
        meta.append((o.shape, o.dtype))
    if linked:
        ctx._fn = cls
        ctx._next = tuple(edges)
        ctx._out_meta = tuple(meta)
    return tuple(result)


class _NotTwiceDifferentiable(Function):
    """Identity on a gradient computed by a ``once_differentiable`` backward; differentiating
    through it again raises instead of silently returning zeros."""

    @staticmethod
    def forward(ctx, g, op_name, *inputs):
        ctx.op_name = op_name
        return g._data

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(f"{ctx.op_name} is marked once_differentiable: its backward cannot "
                           "be differentiated again (create_graph=True needs a backward written "
                           "with differentiable operations)")


def once_differentiable(backward):
    """Decorator for a ``backward`` that works on raw data (e.g. calls a compiled kernel) and
    cannot be differentiated again. It runs with grad mode off; when a graph of the gradient is
    requested (create_graph=True), the returned gradients are connected to the inputs of the
    backward through a node that raises if anyone backpropagates through it::

        class MyOp(Function):
            @staticmethod
            @once_differentiable
            def backward(ctx, grad):
                return Tensor(kernel(grad.numpy()))
    """
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        building = _state.enabled
        _state.enabled = False
        try:
            res = backward(ctx, *grads)
        finally:
            _state.enabled = building
        if not building:
            return res
        deps = [g for g in grads if isinstance(g, Tensor) and g.requires_grad]
        if ctx._saved:
            deps += [v for v in ctx._saved if isinstance(v, Tensor) and v.requires_grad]
        if not deps:
            return res
        name = ctx.name()
        single = type(res) is not tuple
        out = tuple(r if r is None else _NotTwiceDifferentiable.apply(
            r if isinstance(r, Tensor) else Tensor._wrap(np.asarray(r)), name, *deps)
            for r in ((res,) if single else res))
        return out[0] if single else out
    return wrapper
