"""Ordering along a dimension: ``sort``, ``argsort`` and ``topk`` (PyTorch's). Values come
through ``GatherAlong``, so their gradient flows back to the places they were taken from; indices
are int64 and not differentiable.

NaN counts as larger than every number, as in PyTorch: first in a descending order, last in an
ascending one. Equal values keep their original order (a stable sort), also when descending;
PyTorch promises that only with ``stable=True``."""
import numbers

import numpy as np

from ..tensor import Tensor
from ._util import check_tensor, dim_aliases, norm_dim
from .indexing import GatherAlong
from .reduction import ValuesIndices

__all__ = ["sort", "argsort", "topk"]


def _order(data, dim, descending):
    """Indices that sort ``data`` along ``dim`` (stable, NaN largest), as int64."""
    if not descending:
        return np.argsort(data, axis=dim, kind="stable")
    # descending and stable: sort the reversed line ascending, then reverse the result back
    n = data.shape[dim]
    flipped = np.argsort(np.flip(data, axis=dim), axis=dim, kind="stable")
    return (n - 1) - np.flip(flipped, axis=dim)


def _prepare(x, dim, fname):
    check_tensor(x, fname)
    data = x._data
    if data.ndim == 0:
        return data.reshape(1), 0, True
    return data, norm_dim(dim, data.ndim), False


def _gather(x, idx, dim, scalar):
    if scalar:
        return ValuesIndices(x.clone() if x.requires_grad else Tensor._wrap(x._data.copy()),
                             Tensor._wrap(np.zeros((), np.int64)))
    return ValuesIndices(GatherAlong.apply(x, idx, dim), Tensor._wrap(idx.astype(np.int64)))


@dim_aliases
def sort(input, dim=-1, descending=False, stable=False):  # noqa: A002 (PyTorch's name)
    """``(values, indices)`` of ``input`` sorted along ``dim`` (ascending unless
    ``descending``)."""
    data, d, scalar = _prepare(input, dim, "sort")
    return _gather(input, None if scalar else _order(data, d, bool(descending)), d, scalar)


@dim_aliases
def argsort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """The indices :func:`sort` would return."""
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=-1, largest=True, sorted=True):  # noqa: A002 (PyTorch's names)
    """``(values, indices)`` of the ``k`` largest (or, with ``largest=False``, smallest) elements
    along ``dim``, in order (largest first). ``sorted=False`` is accepted; the result is sorted
    anyway."""
    data, d, scalar = _prepare(input, dim, "topk")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"topk(): argument 'k' must be an int, got {type(k).__name__}")
    n = data.shape[d]
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k out of range: k={k} for a dimension of "
                           f"size {n}")
    if scalar:
        return _gather(input, None, d, True)
    idx = np.take(_order(data, d, bool(largest)), np.arange(int(k)), axis=d)
    return _gather(input, idx, d, False)
