"""Tensor's methods that compute: the operators (``x + y``, ``x @ w``, ``x[i]``, ``x < 0``), the
named ops (``x.sum()``, ``x.reshape(...)``, ``x.relu()`` ...), ``x.backward()`` and the random
in-place fills. They are written as the body of ``_Methods`` below and attached to
:class:`~autograd_cnn.autograd.tensor.Tensor` at the bottom of this module: the one place where
the Tensor core meets the ops and the engine (neither of which the core imports).

Operators with Python numbers (``2 * x``, ``x ** 3``, ``1 / x``) use ops specialised for a
constant operand. NumPy scalars behave like Python numbers (they do not change the Tensor's
dtype, as in PyTorch) and ndarrays become constant Tensors.
"""
import numbers

import numpy as np

from .. import random as _random
from ..autograd import engine as _engine
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.tensor import Tensor
from . import elementwise as _ew, reduction as _red, shape as _sh, indexing as _ix
from . import activation as _act, creation as _cr, sorting as _sorting
from .matmul import matmul as _matmul, bmm as _bmm
from .._device import CPU as _CPU, check_device as _check_device, parse_to as _parse_to

_add, _sub, _mul, _div = _ew.Add.apply, _ew.Sub.apply, _ew.Mul.apply, _ew.Div.apply
_AddConst, _RSubConst = _ew.AddConst.apply, _ew.RSubConst.apply
_MulConst, _DivConst, _RDivConst = _ew.MulConst.apply, _ew.DivConst.apply, _ew.RDivConst.apply
_Sum = _red.Sum.apply


def _inplace_method(op, symbol):
    """The method ``x op= y`` for the operator method ``op`` (see _inplace_operator)."""
    def method(self, other):
        return _inplace_operator(self, other, op, symbol)
    method.__name__ = op.__name__.replace("__", "__i", 1)
    method.__qualname__ = "_Methods." + method.__name__
    return method


class _Methods:
    """Attached to Tensor below (``self`` is a Tensor)."""

    # ------------------------------------------------------------------ autograd ----------
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see autograd/engine.py).

        ``gradient`` is required unless ``self`` has one element; ``retain_graph=True`` keeps
        the graph for another backward; ``create_graph=True`` makes the gradients differentiable."""
        _engine.backward([self], None if gradient is None else [gradient], retain_graph,
                         create_graph)

    # ------------------------------------------------------------------ random fills ------
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

    # in-place operators (``x += y``): see _inplace_operator
    __iadd__ = _inplace_method(__add__, "+=")
    __isub__ = _inplace_method(__sub__, "-=")
    __imul__ = _inplace_method(__mul__, "*=")
    __itruediv__ = _inplace_method(__truediv__, "/=")
    __ipow__ = _inplace_method(__pow__, "**=")

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

    __iand__ = _inplace_method(__and__, "&=")
    __ior__ = _inplace_method(__or__, "|=")

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

    softmax, log_softmax = _act.softmax, _act.log_softmax

    def sin(self):
        return _ew.Sin.apply(self)

    def cos(self):
        return _ew.Cos.apply(self)

    # reductions accept NumPy's axis/keepdims spellings too (backward formulas rely on it)
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        if dim is None and axis is None and keepdims is None and keepdim is False:
            return _Sum(self, None, False)
        return _red.sum(self, *_np_names("sum", dim, keepdim, axis, keepdims))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _red.mean(self, *_np_names("mean", dim, keepdim, axis, keepdims))

    # the reductions that take a dimension accept NumPy's axis= / keepdims= too, as in PyTorch
    var, std, max, min = _red.var, _red.std, _red.max, _red.min  # noqa: A003
    amax, amin, argmax, argmin = _red.amax, _red.amin, _red.argmax, _red.argmin
    sort, argsort, topk = _sorting.sort, _sorting.argsort, _sorting.topk

    def any(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """True where any element (along ``dim``) is nonzero; a bool Tensor, not differentiable."""
        return _logical(self, np.any, *_np_names("any", dim, keepdim, axis, keepdims))

    def all(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """True where every element (along ``dim``) is nonzero; a bool Tensor."""
        return _logical(self, np.all, *_np_names("all", dim, keepdim, axis, keepdims))

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

    squeeze, unsqueeze, split, chunk, t = _sh.squeeze, _sh.unsqueeze, _sh.split, _sh.chunk, _sh.t

    def repeat(self, *sizes):
        return _sh.repeat(self, *sizes)

    def bmm(self, mat2):
        return _bmm(self, mat2)

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

    # device and dtype
    @property
    def device(self):
        """Always the CPU (``autograd_cnn.device("cpu")``): the engine runs on CPUs."""
        return _CPU

    def to(self, *args, **kwargs):
        """PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``
        (its dtype), with ``copy=``, ``non_blocking=`` (no effect). The device must be the CPU.
        A dtype change is a differentiable cast; otherwise ``self`` comes back (a copy with
        ``copy=True``)."""
        dtype, copy = _parse_to(args, kwargs, "Tensor.to", Tensor)
        if dtype is not None and dtype != self._data.dtype:
            return _ew.Cast.apply(self, dtype)
        return _ew.Clone.apply(self) if copy else self

    def cpu(self):
        """``self``: every Tensor lives on the CPU."""
        return self

    def cuda(self, device=None, non_blocking=False):
        _check_device("cuda" if device is None else device, "Tensor.cuda")

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


def _np_names(fname, dim, keepdim, axis, keepdims):
    """(dim, keepdim) from PyTorch's names or NumPy's (``axis``, ``keepdims``), not both."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{fname}(): got both 'dim' and its alias 'axis'")
        dim = axis
    if keepdims is not None:
        if keepdim is not False:
            raise TypeError(f"{fname}(): got both 'keepdim' and its alias 'keepdims'")
        keepdim = keepdims
    return dim, keepdim


def _logical(t, fn, dim, keepdim):
    axis = None if dim is None else tuple(dim) if isinstance(dim, (tuple, list)) else dim
    return Tensor._wrap(np.asarray(fn(t._data, axis=axis, keepdims=bool(keepdim))))


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


def _inplace_operator(t, other, op, symbol):
    """``t op= other``, PyTorch's semantics where no graph is recorded: ``t``'s own array changes
    (every alias sees it, the version counter moves on) and ``t`` is returned. The value is
    ``t op other`` computed as the operator computes it, then written back; as in PyTorch, its
    shape must be ``t``'s (no broadcasting of ``t`` itself) and its dtype must cast to ``t``'s
    within its kind (a float result does not go into an integer tensor).

    Where the operation would be recorded (grad mode on and ``t`` or ``other`` requires grad),
    the engine has no in-place nodes: a leaf that requires grad raises, as in PyTorch, and
    anything else gets ``t op other`` as a new tensor bound to the name (other aliases of ``t``
    keep the old values; docs/porting.md)."""
    recorded = _grad_state.enabled and (t.requires_grad or (isinstance(other, Tensor)
                                                             and other.requires_grad))
    if recorded:
        if t.requires_grad and t._edge is None:
            raise RuntimeError(f"{symbol}: a leaf Tensor that requires grad is being used in an "
                               "in-place operation; do it inside autograd_cnn.no_grad() (as an "
                               "optimizer step does) or write t = t " + symbol[:-1] + " ...")
        return op(t, other)
    result = op(t, other)
    if result is NotImplemented:
        return NotImplemented
    r = result._data
    if r.shape != t._data.shape:
        raise RuntimeError(f"{symbol}: output with shape {list(t.shape)} doesn't match the "
                           f"broadcast shape {list(r.shape)}")
    if not np.can_cast(r.dtype, t._data.dtype, "same_kind"):
        raise RuntimeError(f"{symbol}: result type {r.dtype} can't be cast to the desired output "
                           f"type {t._data.dtype} of the tensor changed in place")
    np.copyto(t._inplace(symbol), r, casting="unsafe")
    return t


# class-body bookkeeping, not methods (``__hash__`` is None because _Methods defines __eq__; the
# core keeps object.__hash__)
_NOT_METHODS = {"__module__", "__qualname__", "__doc__", "__dict__", "__weakref__", "__hash__"}
for _name, _value in vars(_Methods).items():
    if _name not in _NOT_METHODS:
        if getattr(_value, "__qualname__", "").startswith("_Methods."):  # for tracebacks, help()
            _value.__qualname__ = "Tensor." + _value.__name__
        setattr(Tensor, _name, _value)
del _name, _value
