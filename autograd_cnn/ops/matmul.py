"""Matrix product ``a @ b`` with NumPy/PyTorch semantics: 1-D operands are promoted to a row
(left) or column (right) vector and the added dimension is removed again; leading batch
dimensions broadcast.

For ``C = A @ B`` the gradients are ``dA = dC @ B^T`` and ``dB = A^T @ dC`` (transposing the
last two dimensions). Batch dimensions that were broadcast come back summed by the engine.
``Linear`` is ``x @ w^T + b`` as one node, for ``nn.functional.linear``.
"""
import math

import numpy as np

from ..autograd import Op
from ..backend import blas_call
from ._util import check_tensor, ShapeError


def _product(a, b):
    """``a @ b``; for two ndarrays, on the BLAS threads its multiply-adds pay for
    (backend.blas_call). Tensors (backward building a graph) take the differentiable ``@``."""
    if type(a) is not np.ndarray or type(b) is not np.ndarray:
        return a @ b
    m, k = a.shape[-2:] if a.ndim > 1 else (1, a.shape[0])
    n = b.shape[-1] if b.ndim > 1 else 1
    batch = 1
    if a.ndim > 2 or b.ndim > 2:
        batch = math.prod(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
    return blas_call(np.matmul, a, b, work=batch * m * n * k)


class MatMul(Op):
    @staticmethod
    def forward(ctx, a, b):
        na, nb = ctx.needs_input_grad
        ctx.save_for_backward(a if nb else None, b if na else None)
        ctx.nd = (a._data.ndim, b._data.ndim)
        return _product(a._data, b._data)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        nda, ndb = ctx.nd
        ga = gb = None
        if nda == 1 and ndb == 1:  # dot product: g is a scalar
            return (g * b if b is not None else None), (g * a if a is not None else None)
        if b is not None:  # dA = g @ B^T
            if ndb == 1:    # (..., n) = (..., n, k) @ (k,): outer product
                ga = g[..., None] * b
            elif nda == 1:  # (..., m) = (k,) @ (..., k, m)
                ga = _product(g[..., None, :], b.swapaxes(-1, -2))[..., 0, :]
            else:
                ga = _product(g, b.swapaxes(-1, -2))
        if a is not None:  # dB = A^T @ g
            if nda == 1:
                gb = a[:, None] * g[..., None, :]
            elif ndb == 1:
                gb = _product(a.swapaxes(-1, -2), g[..., None])[..., 0]
            else:
                gb = _product(a.swapaxes(-1, -2), g)
        return ga, gb


class Linear(Op):
    """y = x @ w^T + b over the last axis of x: x (*, in), w (out, in), b (out,) or None, all of
    one dtype. One node instead of Transpose, MatMul and Add (a small network's classifier pays
    per op): the product on the rows of x viewed as (rows, in), the bias added in place."""

    @staticmethod
    def forward(ctx, x, w, b):
        nx, nw, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if nw else None, w if nx else None)
        xa, wa = x._data, w._data
        ctx.x_shape = xa.shape
        y = _product(xa.reshape(-1, xa.shape[-1]), wa.T)
        if b is not None:
            np.add(y, b._data, out=y)
        return y.reshape(xa.shape[:-1] + (wa.shape[0],))

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved
        nx, nw, nb = ctx.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1])
        gx = _product(g2, w).reshape(ctx.x_shape) if nx else None
        gw = _product(g2.swapaxes(0, 1), x.reshape(-1, x.shape[-1])) if nw else None
        gb = g2.sum(axis=0) if nb else None
        return gx, gw, gb


def matmul(a, b):
    """Matrix product with broadcasting batch dimensions (``a @ b``)."""
    check_tensor(a, "matmul")
    check_tensor(b, "matmul", "other")
    da, db = a._data, b._data
    if da.ndim == 0 or db.ndim == 0:
        raise ShapeError("matmul(): both arguments need at least 1 dimension, got "
                           f"{da.ndim}D and {db.ndim}D tensors")
    ka = da.shape[-1]
    kb = db.shape[-2] if db.ndim > 1 else db.shape[0]
    if ka != kb:
        raise ShapeError(f"matmul(): shapes {tuple(da.shape)} and {tuple(db.shape)} cannot be "
                           f"multiplied ({ka} != {kb})")
    return MatMul.apply(a, b)


def bmm(a, b):
    """Batched matrix product of two 3-D tensors, ``(B, n, k) @ (B, k, m) -> (B, n, m)``; unlike
    :func:`matmul` the batch sizes must be equal (no broadcasting), as in PyTorch."""
    check_tensor(a, "bmm")
    check_tensor(b, "bmm", "mat2")
    sa, sb = a._data.shape, b._data.shape
    if len(sa) != 3 or len(sb) != 3:
        raise ShapeError(f"bmm(): both arguments must be 3-D, got shapes {tuple(sa)} and "
                         f"{tuple(sb)}")
    if sa[0] != sb[0] or sa[2] != sb[1]:
        raise ShapeError(f"bmm(): shapes {tuple(sa)} and {tuple(sb)} do not match: need "
                         "(B, n, k) and (B, k, m)")
    return MatMul.apply(a, b)
