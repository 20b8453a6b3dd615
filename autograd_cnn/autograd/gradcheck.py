"""Numerical gradient checks: compare backward's gradients with finite differences.

``gradcheck(fn, inputs)`` builds the full Jacobian of ``fn`` twice:

* **analytically**, one row per output element: backpropagate a one-hot ``grad_output``
  through the graph with ``autograd.grad``;
* **numerically**, one column per input element, with central differences
  ``(f(x + eps) - f(x - eps)) / (2 eps)`` -- accurate to O(eps^2), in float64.

and demands ``|analytic - numeric| <= atol + rtol * |numeric|`` everywhere. Use float64
inputs: in float32 the rounding error of the difference quotient (~1e-7 / 1e-6) swamps the
comparison, so a warning is issued.

``gradgradcheck(fn, inputs)`` applies the same test to the function
``(inputs, v) -> autograd.grad(fn(inputs), inputs, v, create_graph=True)``: it checks that the
*backward* of every op is itself correctly differentiable.
"""
import warnings

import numpy as np

from .tensor import Tensor
from .engine import grad as _grad
from .grad_mode import no_grad, enable_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck/gradgradcheck when gradients do not match finite differences."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _outputs(fn, inputs):
    out = _as_tuple(fn(*inputs))
    return [o for o in out if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _fail(msg, raise_exception):
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """True if ``fn``'s gradients w.r.t. every input that requires grad match central finite
    differences. On a mismatch raise a ``GradcheckError`` (a RuntimeError) naming the output,
    the input, the element and both values -- or return False if ``raise_exception=False``."""
    inputs = _as_tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff:
        raise ValueError("gradcheck: no input requires grad; pass Tensors created with "
                         "requires_grad=True")
    for i in diff:
        if inputs[i].dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} has dtype {inputs[i].dtype}, not float64; "
                          "finite differences in low precision are unreliable", stacklevel=2)

    outs = _outputs(fn, inputs)
    # analytic Jacobians: analytic[o][k] has shape (out.size, input_k.size)
    analytic = []
    for o in outs:
        rows = [np.zeros((o._data.size, inputs[i]._data.size)) for i in diff]
        if o.requires_grad:
            for j in range(o._data.size):
                v = np.zeros(o._data.shape, dtype=o._data.dtype)
                v.flat[j] = 1
                gs = _grad([o], [inputs[i] for i in diff], [v], retain_graph=True,
                           allow_unused=True)
                for k, g in enumerate(gs):
                    if g is not None:
                        rows[k][j] = g._data.reshape(-1)
        analytic.append(rows)

    # numerical Jacobians, one input element at a time
    for k, i in enumerate(diff):
        x = inputs[i]
        if not x._data.flags.writeable:
            x._data = x._data.copy()
        flat = x._data.reshape(-1)  # a view of the contiguous data
        if not np.shares_memory(flat, x._data):
            x._data = np.ascontiguousarray(x._data)
            flat = x._data.reshape(-1)
        for e in range(flat.size):
            orig = flat[e]
            with no_grad():
                flat[e] = orig + eps
                plus = [o._data.astype(np.float64).copy() for o in _outputs(fn, inputs)]
                flat[e] = orig - eps
                minus = [o._data.astype(np.float64).copy() for o in _outputs(fn, inputs)]
                flat[e] = orig
            for oi, (p, m) in enumerate(zip(plus, minus)):
                num = ((p - m) / (2 * eps)).reshape(-1)
                ana = analytic[oi][k][:, e]
                bad = ~(np.abs(ana - num) <= atol + rtol * np.abs(num))
                if bad.any():
                    j = int(np.argmax(bad))
                    where_in = np.unravel_index(e, x._data.shape) if x._data.ndim else ()
                    where_out = np.unravel_index(j, p.shape) if p.ndim else ()
                    return _fail(
                        f"gradcheck: Jacobian mismatch for output {oi} element "
                        f"{tuple(int(a) for a in where_out)} with respect to input {i} element "
                        f"{tuple(int(a) for a in where_in)}: analytic {float(ana[j])!r} vs numeric "
                        f"{float(num[j])!r} (atol={atol}, rtol={rtol})", raise_exception)
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, seed=0):
    """gradcheck of the gradient: checks second derivatives, i.e. that every op's backward is
    itself differentiable. ``grad_outputs`` default to random float64 tensors (requiring grad,
    so the check also covers the dependence on them)."""
    inputs = _as_tuple(inputs)
    diff = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    outs = _outputs(fn, inputs)
    outs = [o for o in outs if o.requires_grad]
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        grad_outputs = [Tensor(rng.standard_normal(o.shape), requires_grad=True) for o in outs]
    else:
        grad_outputs = list(_as_tuple(grad_outputs))
    n_in = len(inputs)

    def first_derivative(*args):
        xs, vs = args[:n_in], args[n_in:]
        with enable_grad():  # also while gradcheck evaluates it for finite differences
            ys = [o for o in _outputs(fn, xs) if o.requires_grad]
            gs = _grad(ys, [xs[i] for i in diff], list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, tuple(inputs) + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
