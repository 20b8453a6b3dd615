"""``Tensor``: an ndarray plus what reverse-mode autodiff needs to know about it (its data and
graph core; this module imports no op).

A Tensor holds

* ``_data``         -- the values, a NumPy array (float32 by default); ``t.numpy()`` hands it
  out, and ``t.data`` is (as in PyTorch) another Tensor sharing it, cut off from the graph;
* ``requires_grad`` -- whether gradients should flow to it;
* ``grad``          -- after ``backward()``, a Tensor with d(output)/d(this), for leaves;
* ``_edge``         -- for a tensor computed by an op: ``(node, output_index)``, the graph node
  (the op's ``Context``) that produced it. Leaves (tensors you create) have ``_edge = None``.
* ``_version``      -- a counter bumped by every in-place change, so that an op that saved this
  tensor for backward can tell that it was modified meanwhile. Aliases made by ``.data`` and
  ``detach()`` share their origin's counter (``_base`` points to the origin, which holds it), so
  ``x.data.add_(1)`` under a saved ``x`` is caught too.
* ``_post_acc_hooks`` -- None, or ``{id: hook}``: what ``register_post_accumulate_grad_hook``
  added (leaves only).

Here: those fields (set in one place, :func:`_fill`), metadata, conversions, ``detach`` /
``retain_grad`` and the in-place updates optimizers use. Every method that computes something --
the operators, ``x.sum()``, ``x.reshape(...)``, ``x.backward()`` -- is attached to the class by
``autograd_cnn/ops/methods.py``, the one place that binds Tensor to the ops and the engine.
"""
import weakref as _weakref

import numpy as np

from .grad_mode import _state

__all__ = ["Tensor", "as_array"]

_new = object.__new__


def _fill(t, data, requires_grad, edge):
    """Set every field of Tensor ``t`` (the one place they are initialised) and return it."""
    t._data = data
    t.grad = None
    t._ver = 0
    t._base = None
    t.requires_grad = requires_grad
    t._edge = edge
    t._post_acc_hooks = None
    return t


def as_array(x):
    """The ndarray behind a Tensor; anything else (ndarray, number, list) as ``np.asarray`` gives
    it. The one Tensor-to-array conversion of the package."""
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _infer_array(data, dtype):
    """The ndarray a Tensor built from ``data`` holds (no copy when not needed)."""
    if dtype is not None:
        dtype = np.dtype(dtype)
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, (np.ndarray, np.generic)):
        arr = np.asarray(data)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d._data if isinstance(d, Tensor) else d for d in data]
        try:
            arr = np.asarray(data)
        except (ValueError, TypeError) as e:
            raise TypeError(f"tensor(): cannot build a Tensor from {type(data).__name__}: {e}") from None
        if arr.dtype == np.float64 and dtype is None:
            arr = arr.astype(np.float32)   # Python floats -> the default float32
        elif arr.dtype == np.complex128 and dtype is None:
            arr = arr.astype(np.complex64)
    if arr.dtype.kind not in "biufc":
        raise TypeError(f"tensor(): unsupported data type {arr.dtype} (from {type(data).__name__})")
    if dtype is not None and arr.dtype != dtype:
        arr = arr.astype(dtype)
    return arr


class RemovableHandle:
    """What registering a hook (on a Tensor or a Module) returns: ``remove()`` takes the hook out
    again (twice is fine; also on leaving a ``with`` block), as in PyTorch."""

    _next_id = 0

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _Size(int):
    """``t.size`` is the number of elements (NumPy style) and ``t.size()`` / ``t.size(d)``
    give the shape / one dimension (PyTorch style)."""

    def __call__(self, dim=None):
        if dim is None:
            return self._shape
        return self._shape[dim]


class Tensor:
    """A multi-dimensional array that can record operations for automatic differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)`` wraps ``data`` (an ndarray is used as is
    when the dtype already matches; lists and numbers are converted, Python floats to float32).
    Only floating-point tensors may require grad.
    """

    __slots__ = ("_data", "grad", "requires_grad", "_edge", "_ver", "_base", "_post_acc_hooks",
                 "__weakref__")
    __array_priority__ = 1000  # NumPy defers ``ndarray * Tensor`` to Tensor.__rmul__

    def __init__(self, data, requires_grad=False, dtype=None):
        _fill(self, _infer_array(data, dtype), False, None)
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(arr):
        """Fast internal constructor: a leaf Tensor around ndarray ``arr`` (no checks)."""
        return _fill(_new(Tensor), arr, False, None)

    # ------------------------------------------------------------------ data & metadata ----
    def _alias(self):
        """A leaf Tensor sharing this one's array and version counter, with no graph."""
        t = _fill(_new(Tensor), self._data, False, None)
        t._base = self if self._base is None else self._base
        return t

    @property
    def data(self):
        """As in PyTorch: a Tensor sharing this one's values, with no graph and
        ``requires_grad=False`` (``t.data.mul_(0.5)`` changes ``t`` without recording anything).
        Unlike PyTorch, it shares the version counter, so an in-place change through it under a
        tensor saved for backward is still caught. ``t.numpy()`` gives the ndarray.
        Assigning (a Tensor or an array) replaces the values and counts as an in-place change."""
        return self._alias()

    @data.setter
    def data(self, value):
        self._data = np.asarray(value._data if isinstance(value, Tensor) else value)
        self._version += 1

    @property
    def _version(self):
        """The in-place change counter (shared with the ``.data`` / ``detach()`` aliases)."""
        return self._ver if self._base is None else self._base._ver

    @_version.setter
    def _version(self, value):
        if self._base is None:
            self._ver = value
        else:
            self._base._ver = value

    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def size(self):
        s = _Size(self._data.size)
        s._shape = self._data.shape
        return s

    @property
    def is_leaf(self):
        """True for tensors not produced by a recorded op (their .grad gets filled)."""
        return self._edge is None

    @property
    def grad_fn(self):
        """The graph node that produced this tensor (None for leaves)."""
        return None if self._edge is None else self._edge[0]

    @property
    def T(self):
        return self.permute(*range(self._data.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def dim(self):
        return self._data.ndim

    def numel(self):
        return self._data.size

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = self._data
        if dtype is not None and a.dtype != dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item(): a Tensor with {self._data.size} elements cannot be "
                             "converted to a Python scalar")
        return self._data.item()

    def tolist(self):
        return self._data.tolist()

    def detach(self):
        """A new leaf Tensor sharing the same data (and version counter), cut off from the
        graph."""
        return self._alias()

    def detach_(self):
        self._edge = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place (only floating-point leaves may require grad)."""
        if requires_grad and self._data.dtype.kind not in "fc":
            raise TypeError("requires_grad: only Tensors of floating point dtype can require "
                            f"gradients, got dtype {self._data.dtype}")
        if not requires_grad and self._edge is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables")
        self.requires_grad = bool(requires_grad)
        return self

    def __repr__(self):
        body = np.array2string(self._data, separator=", ", prefix="tensor(", precision=4,
                               floatmode="maxprec_equal" if self._data.dtype.kind == "f" else "maxprec")
        extra = ""
        if self._data.dtype not in (np.float32, np.int64, np.bool_):
            extra += f", dtype={self._data.dtype}"
        if self._edge is not None:
            extra += f", grad_fn=<{self._edge[0].name()}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} elements is "
                               "ambiguous")
        return bool(self._data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __getstate__(self):
        """Pickling and ``copy.deepcopy``: an alias (``.data``, ``detach()``, a state-dict value)
        becomes a standalone tensor with its own counter, not a copy dragging its origin along."""
        slots = {"_data": self._data, "grad": self.grad, "requires_grad": self.requires_grad,
                 "_edge": self._edge, "_ver": self._version, "_base": None}
        return getattr(self, "__dict__", None) or None, slots

    # ------------------------------------------------------------------ autograd ----------
    def retain_grad(self):
        """Also fill ``.grad`` of this non-leaf tensor during backward (leaves always get it)."""
        if self._edge is None:
            if not self.requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        node, idx = self._edge
        if node._retained is None:
            node._retained = {}
        node._retained[idx] = _weakref.ref(self)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` during each ``backward()`` right after this leaf's ``.grad`` has
        received its gradient (PyTorch's semantics: leaves that require grad only; the hook
        returns None and may change ``tensor.grad`` in place; ``autograd.grad`` runs no such
        hooks). Returns a handle whose ``remove()`` unregisters the hook."""
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, got "
                            f"{type(hook).__name__}")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._edge is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = {}
        handle = RemovableHandle(self._post_acc_hooks)
        self._post_acc_hooks[handle.id] = hook
        return handle

    @property
    def retains_grad(self):
        e = self._edge
        return e is not None and e[0]._retained is not None and e[1] in e[0]._retained

    # ------------------------------------------------------------------ in-place (no grad) --
    def _inplace(self, name):
        if _state.enabled and self.requires_grad:
            raise RuntimeError(f"{name}(): a Tensor that requires grad is being modified in "
                               "place; do it inside autograd_cnn.no_grad() (e.g. in optimizers) "
                               f"or on its .data (t.data.{name}(...))")
        d = self._data
        if not d.flags.writeable:  # a read-only or broadcast array: the origin gets the copy too
            base = self._base
            if base is not None and base._data is d:
                base._data = d = d.copy()
            else:
                d = d.copy()
            self._data = d
        self._version += 1
        return d

    def add_(self, other, alpha=1):
        d = self._inplace("add_")
        o = other._data if isinstance(other, Tensor) else other
        np.add(d, o if alpha == 1 else o * alpha, out=d, casting="unsafe")
        return self

    def sub_(self, other, alpha=1):
        d = self._inplace("sub_")
        o = other._data if isinstance(other, Tensor) else other
        np.subtract(d, o if alpha == 1 else o * alpha, out=d, casting="unsafe")
        return self

    def mul_(self, other):
        d = self._inplace("mul_")
        np.multiply(d, other._data if isinstance(other, Tensor) else other, out=d, casting="unsafe")
        return self

    def div_(self, other):
        d = self._inplace("div_")
        np.divide(d, other._data if isinstance(other, Tensor) else other, out=d, casting="unsafe")
        return self

    def zero_(self):
        self._inplace("zero_")[...] = 0
        return self

    def fill_(self, value):
        self._inplace("fill_")[...] = value
        return self

    def copy_(self, src):
        d = self._inplace("copy_")
        d[...] = src._data if isinstance(src, Tensor) else src
        return self

    def clamp_(self, min=None, max=None):  # noqa: A002
        d = self._inplace("clamp_")
        np.clip(d, min, max, out=d)
        return self
