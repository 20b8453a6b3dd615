"""``Tensor``: an ndarray plus what reverse-mode autodiff needs to know about it.

A Tensor holds

* ``data``          -- the values, a NumPy array (float32 by default);
* ``requires_grad`` -- whether gradients should flow to it;
* ``grad``          -- after ``backward()``, a Tensor with d(output)/d(this), for leaves;
* ``_edge``         -- for a tensor computed by an op: ``(node, output_index)``, the graph node
  (the op's ``Context``) that produced it. Leaves (tensors you create) have ``_edge = None``.
* ``_version``      -- a counter bumped by every in-place change, so that an op that saved this
  tensor for backward can tell that it was modified meanwhile.

All math lives in ``autograd_cnn/ops``; the methods here are thin entry points to it. Operators
with Python numbers (``2 * x``, ``x ** 3``, ``1 / x``) use ops specialised for a constant
operand. NumPy scalars behave like Python numbers (they do not change the Tensor's dtype, as in
PyTorch) and ndarrays become constant Tensors.
"""
import numbers
import weakref as _weakref

import numpy as np

from .autograd import function as _function
from .autograd.grad_mode import _state

__all__ = ["Tensor", "tensor", "from_numpy", "float32", "float64", "float16", "int32", "int64",
           "bool_", "uint8"]

float16, float32, float64 = np.float16, np.float32, np.float64
int32, int64, uint8, bool_ = np.int32, np.int64, np.uint8, np.bool_

_new = object.__new__


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

    __slots__ = ("_data", "grad", "requires_grad", "_edge", "_version", "__weakref__")
    __array_priority__ = 1000  # NumPy defers ``ndarray * Tensor`` to Tensor.__rmul__

    def __init__(self, data, requires_grad=False, dtype=None):
        arr = _infer_array(data, dtype)
        self._data = arr
        self.grad = None
        self._edge = None
        self._version = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(arr):
        """Fast internal constructor: a leaf Tensor around ndarray ``arr`` (no checks)."""
        t = _new(Tensor)
        t._data = arr
        t.grad = None
        t.requires_grad = False
        t._edge = None
        t._version = 0
        return t

    # ------------------------------------------------------------------ data & metadata ----
    @property
    def data(self):
        """The values (an ndarray). Assigning a new array counts as an in-place change."""
        return self._data

    @data.setter
    def data(self, value):
        if isinstance(value, Tensor):
            value = value._data
        self._data = np.asarray(value)
        self._version += 1

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
    def device(self):
        return "cpu"

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
        """A new leaf Tensor sharing the same data, cut off from the graph."""
        return Tensor._wrap(self._data)

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

    # ------------------------------------------------------------------ autograd ----------
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see autograd/engine.py).

        ``gradient`` is required unless ``self`` has one element; ``retain_graph=True`` keeps
        the graph for another backward; ``create_graph=True`` makes the gradients differentiable."""
        _engine.backward([self], None if gradient is None else [gradient], retain_graph,
                         create_graph)

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

    @property
    def retains_grad(self):
        e = self._edge
        return e is not None and e[0]._retained is not None and e[1] in e[0]._retained

    # ------------------------------------------------------------------ in-place (no grad) --
    def _inplace(self, name):
        if _state.enabled and self.requires_grad:
            raise RuntimeError(f"{name}(): a Tensor that requires grad is being modified in "
                               "place; do it inside autograd_cnn.no_grad() (e.g. in optimizers)")
        d = self._data
        if not d.flags.writeable:
            d = self._data = d.copy()
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

    def uniform_(self, a=0.0, b=1.0):
        d = self._inplace("uniform_")
        d[...] = _random.default_generator().uniform(a, b, d.shape)
        return self

    def normal_(self, mean=0.0, std=1.0):
        d = self._inplace("normal_")
        d[...] = _random.default_generator().normal(mean, std, d.shape)
        return self

    # ------------------------------------------------------------------ operators ---------
    def __add__(self, other):
        if isinstance(other, Tensor):
            return _add(*_promote_0d(self, other))
        return _with_const(self, other, _AddConst, _add, False)

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, Tensor):
            return _sub(*_promote_0d(self, other))
        c = _scalar(other)
        if c is not None:
            return _with_const(self, -c, _AddConst, _sub, False)
        return _with_const(self, other, None, _sub, False)

    def __rsub__(self, other):
        return _with_const(self, other, _RSubConst, _sub, True)

    def __mul__(self, other):
        if isinstance(other, Tensor):
            return _mul(*_promote_0d(self, other))
        return _with_const(self, other, _MulConst, _mul, False)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, Tensor):
            return _div(*_promote_0d(self, other))
        return _with_const(self, other, _DivConst, _div, False)

    def __rtruediv__(self, other):
        return _with_const(self, other, _RDivConst, _div, True)

    def __pow__(self, other):
        if isinstance(other, Tensor):
            return _ew.Pow.apply(*_promote_0d(self, other))
        return _with_const(self, other, _ew.PowConst.apply, _ew.Pow.apply, False)

    def __rpow__(self, other):
        return _with_const(self, other, _ew.RPowConst.apply, _ew.Pow.apply, True)

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            if not isinstance(other, np.ndarray):
                return NotImplemented
            other = Tensor._wrap(other)
        return _matmul(self, other)

    def __rmatmul__(self, other):
        if not isinstance(other, np.ndarray):
            return NotImplemented
        return _matmul(Tensor._wrap(other), self)

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.Abs.apply(self)

    def __getitem__(self, index):
        return _ix.getitem(self, index)

    def __setitem__(self, index, value):
        d = self._inplace("__setitem__")
        d[_ix.normalize_index(index)[0]] = value._data if isinstance(value, Tensor) else value

    # comparisons: boolean tensors, never differentiable
    def _cmp(self, other, ufunc):
        o = other._data if isinstance(other, Tensor) else other
        if not isinstance(o, (numbers.Number, np.ndarray, np.generic, list, tuple)):
            return NotImplemented
        return Tensor._wrap(np.asarray(ufunc(self._data, o)))

    def __eq__(self, other):
        return self._cmp(other, np.equal)

    def __ne__(self, other):
        return self._cmp(other, np.not_equal)

    def __lt__(self, other):
        return self._cmp(other, np.less)

    def __le__(self, other):
        return self._cmp(other, np.less_equal)

    def __gt__(self, other):
        return self._cmp(other, np.greater)

    def __ge__(self, other):
        return self._cmp(other, np.greater_equal)

    def eq(self, other):
        return self._cmp(other, np.equal)

    def ne(self, other):
        return self._cmp(other, np.not_equal)

    def lt(self, other):
        return self._cmp(other, np.less)

    def le(self, other):
        return self._cmp(other, np.less_equal)

    def gt(self, other):
        return self._cmp(other, np.greater)

    def ge(self, other):
        return self._cmp(other, np.greater_equal)

    def __invert__(self):
        if self._data.dtype != np.bool_:
            raise TypeError("~ is only supported on bool tensors")
        return Tensor._wrap(~self._data)

    def __and__(self, other):
        return Tensor._wrap(self._data & (other._data if isinstance(other, Tensor) else other))

    def __or__(self, other):
        return Tensor._wrap(self._data | (other._data if isinstance(other, Tensor) else other))

    # ------------------------------------------------------------------ named ops ---------
    def add(self, other):
        return self + other

    def sub(self, other):
        return self - other

    def mul(self, other):
        return self * other

    def div(self, other):
        return self / other

    def pow(self, exponent):
        return self ** exponent

    def matmul(self, other):
        return _matmul(self, other)

    def neg(self):
        return _ew.Neg.apply(self)

    def exp(self):
        return _ew.Exp.apply(self)

    def log(self):
        return _ew.Log.apply(self)

    def sqrt(self):
        return _ew.Sqrt.apply(self)

    def abs(self):
        return _ew.Abs.apply(self)

    def clamp(self, min=None, max=None):  # noqa: A002
        return _ew.clamp(self, min, max)

    clip = clamp

    def maximum(self, other):
        return _ew.maximum(self, other)

    def minimum(self, other):
        return _ew.minimum(self, other)

    def relu(self):
        return _act.Relu.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        return _act.leaky_relu(self, negative_slope)

    def sigmoid(self):
        return _act.Sigmoid.apply(self)

    def tanh(self):
        return _act.Tanh.apply(self)

    def softmax(self, dim):
        return _act.softmax(self, dim)

    def log_softmax(self, dim):
        return _act.log_softmax(self, dim)

    # reductions accept NumPy's axis/keepdims spellings too (backward formulas rely on it)
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        if dim is None and axis is None and keepdims is None and keepdim is False:
            return _Sum(self, None, False)
        return _red.sum(self, dim if axis is None else axis,
                        keepdim if keepdims is None else keepdims)

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _red.mean(self, dim if axis is None else axis,
                         keepdim if keepdims is None else keepdims)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _red.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _red.std(self, dim, unbiased, keepdim, correction=correction)

    def max(self, dim=None, keepdim=False):
        return _red.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False):
        return _red.min(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False):
        return _red.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return _red.amin(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _red.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _red.argmin(self, dim, keepdim)

    # shape
    def reshape(self, *shape):
        return _sh.reshape(self, *shape)

    def view(self, *shape):
        return _sh.reshape(self, *shape)

    def transpose(self, dim0, dim1):
        return _sh.transpose(self, dim0, dim1)

    swapaxes = transpose

    def permute(self, *dims):
        return _sh.permute(self, *dims)

    def flatten(self, start_dim=0, end_dim=-1):
        return _sh.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None):
        return _sh.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _sh.unsqueeze(self, dim)

    def expand(self, *shape):
        return _sh.expand(self, *shape)

    def expand_as(self, other):
        return _sh.expand(self, other.shape)

    def broadcast_to(self, shape):
        return _sh.expand(self, tuple(shape))

    def sum_to_size(self, *shape):
        return _sh.sum_to_size(self, *shape)

    def view_as(self, other):
        return _sh.reshape(self, other.shape)

    def reshape_as(self, other):
        return _sh.reshape(self, other.shape)

    def contiguous(self):
        return self

    def clone(self):
        return _ew.Clone.apply(self)

    # dtype
    def to(self, dtype=None, *args, **kwargs):
        """``to(dtype)`` casts (differentiably); device arguments ('cpu') are accepted."""
        if dtype is None or isinstance(dtype, str) and dtype == "cpu":
            return self
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        return _ew.Cast.apply(self, dtype)

    def type(self, dtype):
        return self.to(dtype)

    def astype(self, dtype):
        return self.to(dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return Tensor._wrap(self._data.astype(np.int64))

    def int(self):
        return Tensor._wrap(self._data.astype(np.int32))

    def bool(self):
        return Tensor._wrap(self._data.astype(np.bool_))

    def new_zeros(self, *size, dtype=None):
        return _cr.zeros(*size, dtype=self._data.dtype if dtype is None else dtype)

    def new_ones(self, *size, dtype=None):
        return _cr.ones(*size, dtype=self._data.dtype if dtype is None else dtype)

    def new_tensor(self, data, dtype=None):
        return Tensor(np.array(data, dtype=self._data.dtype if dtype is None else dtype))


def _scalar(x):
    """A Python number for Python/NumPy scalars (weakly typed, like PyTorch), else None."""
    if isinstance(x, np.generic):  # before float: np.float64 subclasses float
        return x.item() if x.dtype.kind in "biuf" else None
    if isinstance(x, (float, int)):
        return x
    return None


_KIND = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _promote_0d(a, b):
    """PyTorch's promotion for a 0-d Tensor meeting a dimensioned one of the same kind (both
    floating, both integer): the 0-d one takes the other's dtype, as a Python number would.
    NumPy would let a float64 0-d array turn a float32 tensor into float64."""
    da, db = a._data.dtype, b._data.dtype
    if da != db and (a._data.ndim == 0) != (b._data.ndim == 0) and _KIND[da.kind] == _KIND[db.kind]:
        if a._data.ndim == 0:
            return a.to(db), b
        return a, b.to(da)
    return a, b


def _with_const(t, other, const_op, tensor_op, reflected):
    """Binary op between Tensor ``t`` and a non-Tensor: numbers use the constant op, ndarrays
    become constant Tensors."""
    c = _scalar(other)
    if t._data.dtype.kind in "biu" and (isinstance(c, float) or const_op is _DivConst
                                        or const_op is _RDivConst):
        # an integer tensor meeting a float (or true division) gives the default float dtype,
        # float32, as in PyTorch (NumPy would give float64): images / 255.0 stay float32
        t = t.float()
    if c is not None and const_op is not None:
        return const_op(t, c)
    if c is not None:
        other = np.asarray(c, dtype=t._data.dtype if t._data.dtype.kind == "f" else None)
    if not isinstance(other, np.ndarray):
        return NotImplemented
    o = Tensor._wrap(other)
    return tensor_op(o, t) if reflected else tensor_op(t, o)


def tensor(data, requires_grad=False, dtype=None):
    """A new Tensor holding a *copy* of ``data`` (list, number, ndarray or Tensor)."""
    arr = _infer_array(data, dtype)
    if arr is data or (isinstance(data, Tensor) and arr is data._data):
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad)


def from_numpy(array):
    """A Tensor sharing memory with ``array`` (no copy, dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy(): expected an np.ndarray, got {type(array).__name__}")
    return Tensor(array)


_function.Tensor = Tensor

# the op modules import Tensor from here, so they come last
from .autograd import engine as _engine  # noqa: E402
from .ops import elementwise as _ew, reduction as _red, shape as _sh, indexing as _ix  # noqa: E402
from .ops import activation as _act, creation as _cr  # noqa: E402
from .ops.matmul import matmul as _matmul  # noqa: E402
from . import random as _random  # noqa: E402

_add, _sub, _mul, _div = _ew.Add.apply, _ew.Sub.apply, _ew.Mul.apply, _ew.Div.apply
_AddConst, _RSubConst = _ew.AddConst.apply, _ew.RSubConst.apply
_MulConst, _DivConst, _RDivConst = _ew.MulConst.apply, _ew.DivConst.apply, _ew.RDivConst.apply
_Sum = _red.Sum.apply
