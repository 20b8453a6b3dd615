"""``autograd_cnn.nn.utils``: PyTorch's ``torch.nn.utils`` helpers for training loops --
gradient clipping and flattening parameters into one vector.

* :func:`clip_grad_norm_` scales every gradient by one coefficient so that their joint
  ``norm_type``-norm is at most ``max_norm``::

      total = || (||g_1||_p, ||g_2||_p, ...) ||_p        (= ||concat(g_i)||_p for finite p)
      coef  = min(max_norm / (total + 1e-6), 1)          g_i <- g_i * coef

  It is :func:`get_total_norm` followed by :func:`clip_grads_with_norm_`, as in PyTorch, and
  returns ``total`` (a 0-d Tensor, measured before clipping).
* :func:`clip_grad_value_` clamps every gradient element to ``[-clip_value, clip_value]``.
* :func:`parameters_to_vector` / :func:`vector_to_parameters`: all parameters as one 1-D Tensor
  (differentiable: a concatenation) and back (the parameters' values become views of the vector).

Gradients are changed in place (the ``.grad`` Tensors keep their identity), outside the graph.
``foreach`` chooses PyTorch's multi-tensor kernels; it is accepted here and changes nothing.
"""
import math

import numpy as np

from ..autograd import Tensor, no_grad
from ..ops.shape import cat

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters"]

_CLIP_EPS = 1e-6  # PyTorch's: coef = max_norm / (total + 1e-6)


def _tensors(parameters, fn, name="parameters"):
    """A Tensor, or an iterable of Tensors (a generator is read once), as a list."""
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        items = list(parameters)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}") from None
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}: {name}[{i}] must be a Tensor, got {type(t).__name__}")
    return items


def _grads(parameters, fn):
    return [p.grad for p in _tensors(parameters, fn) if p.grad is not None]


def _number(value, name, fn):
    """``float(value)`` as PyTorch takes it (so ``'inf'`` works too), or an error naming it."""
    if isinstance(value, Tensor):
        value = value.item()
    try:
        return float(value)
    except (TypeError, ValueError):
        error = ValueError if isinstance(value, str) else TypeError
        raise error(f"{fn}: {name} must be a number, got {value!r}") from None


def _vector_norm(a, p):
    """``torch.linalg.vector_norm(a, p)`` of an ndarray (every element), in a's dtype."""
    a = np.ravel(a)
    if a.size == 0:
        return a.dtype.type(0)
    if p == math.inf:
        return np.abs(a).max()
    if p == -math.inf:
        return np.abs(a).min()
    if p == 0:
        return a.dtype.type(np.count_nonzero(a))
    if p == 1:
        return np.abs(a).sum()
    if p == 2:
        return np.sqrt(np.dot(a, a))
    return (np.abs(a) ** a.dtype.type(p)).sum() ** a.dtype.type(1.0 / p)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The ``norm_type``-norm of the norms of ``tensors`` (that is, of all their elements
    together, for a finite norm): a 0-d Tensor of their common dtype (float32 0 when there are
    none). With ``error_if_nonfinite`` a NaN or infinite total raises RuntimeError."""
    fn = "get_total_norm"
    tensors = _tensors(tensors, fn, "tensors")
    p = _number(norm_type, "norm_type", fn)
    if not tensors:
        return Tensor(np.asarray(0.0, np.float32))
    dtype = np.result_type(*[t.dtype for t in tensors])
    norms = np.array([_vector_norm(t.numpy(), p) for t in tensors], dtype=dtype)
    total = np.asarray(_vector_norm(norms, p), dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {p} for gradients from `parameters` is "
                           "non-finite, so it cannot be clipped. To disable this error and scale "
                           "the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return Tensor(total)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the parameters' gradients in place by ``min(max_norm / (total_norm + 1e-6), 1)``
    (``total_norm`` as :func:`get_total_norm` gives it). Returns None."""
    fn = "clip_grads_with_norm_"
    grads = _grads(parameters, fn)
    max_norm = _number(max_norm, "max_norm", fn)
    total = np.asarray(total_norm.numpy() if isinstance(total_norm, Tensor) else total_norm)
    if total.size != 1 or total.dtype.kind != "f":
        raise TypeError(f"{fn}: total_norm must be one floating-point number (a 0-d Tensor), "
                        f"got {total_norm!r}")
    total = total.reshape(())
    # PyTorch computes max_norm / t as reciprocal(t) * max_norm, in t's dtype
    coef = np.minimum(np.reciprocal(total + total.dtype.type(_CLIP_EPS))
                      * total.dtype.type(max_norm), total.dtype.type(1.0))
    with no_grad():
        for g in grads:
            g.mul_(coef.astype(g.dtype))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Clip the gradients of ``parameters`` (a Tensor or an iterable of Tensors; those without
    ``.grad`` are skipped) in place so that their total ``norm_type``-norm (``inf`` for the
    largest magnitude) is at most ``max_norm``. Returns the total norm before clipping, a 0-d
    Tensor. Same as torch.nn.utils.clip_grad_norm_ (typical use: between ``loss.backward()`` and
    ``optimizer.step()``)."""
    fn = "clip_grad_norm_"
    params = _tensors(parameters, fn)
    max_norm = _number(max_norm, "max_norm", fn)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return Tensor(np.asarray(0.0, np.float32))
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element of ``parameters`` to ``[-clip_value, clip_value]`` in place.
    Returns None. Same as torch.nn.utils.clip_grad_value_."""
    fn = "clip_grad_value_"
    grads = _grads(parameters, fn)
    clip_value = _number(clip_value, "clip_value", fn)
    with no_grad():
        for g in grads:
            g.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters):
    """All of ``parameters`` flattened and concatenated, in order, into one 1-D Tensor (a new
    array, differentiable with respect to each parameter)."""
    params = _tensors(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: parameters must hold at least one Tensor, got "
                         "none")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    """Give ``parameters`` the values of the 1-D Tensor ``vec``, consecutive slices in order
    (the inverse of :func:`parameters_to_vector`). As in PyTorch, each parameter's ``data``
    becomes a view of ``vec``'s array (the Parameter objects stay the same); ``vec`` may be
    longer than the parameters need. Returns None."""
    fn = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{fn}: vec must be a Tensor, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"{fn}: vec must be 1-D, got shape {tuple(vec.shape)}")
    params = _tensors(parameters, fn)
    needed = sum(p.numel() for p in params)
    if vec.shape[0] < needed:
        raise ValueError(f"{fn}: vec has {vec.shape[0]} elements, the parameters need {needed}")
    flat, start = vec.numpy(), 0
    for p in params:
        n = p.numel()
        p.data = flat[start:start + n].reshape(p.shape)
        start += n
