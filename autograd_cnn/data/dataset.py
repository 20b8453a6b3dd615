"""Datasets: anything with ``__len__`` and ``__getitem__``; array datasets also hand out whole
batches at once.

A :class:`Dataset` returns one sample ``dataset[i]`` (a tuple of arrays).  The fast path of the
:class:`~autograd_cnn.data.DataLoader` is ``dataset.get_batch(indices)``: given an integer index
array it returns the batch as a tuple of arrays, by NumPy fancy indexing (``x[indices]``), without a
Python loop over samples.  :class:`TensorDataset` and :class:`Subset` provide it; a custom dataset
without it is collated sample by sample.
"""
import numpy as np

from ..tensor import as_array
from ._rng import make_generator
from .collate import default_collate

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "random_split"]


def _as_array(a, what):
    data = as_array(a)
    if data.ndim == 0:
        raise ValueError(f"{what}: arrays need a first (sample) dimension, got a scalar")
    return data


class Dataset:
    """Base class: subclasses define ``__len__`` and ``__getitem__(i)`` (one sample, a tuple)."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError


class IterableDataset(Dataset):
    """Base class of a stream of samples: subclasses define ``__iter__`` (and ``__len__`` if the
    count is known). The DataLoader batches consecutive samples. With ``num_workers=N`` every
    worker iterates its own copy, so each sample comes N times unless ``__iter__`` gives each
    worker its share (``get_worker_info()`` says which worker runs it), as in PyTorch."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__()")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} has no length (an IterableDataset defines "
                        "__len__ only when it knows its count)")


class TensorDataset(Dataset):
    """Samples made of matching rows of several arrays (or Tensors), e.g. ``TensorDataset(x, y)``.

    The arrays are kept as they are (no copy); all need the same first dimension."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset: needs at least one array")
        self.arrays = tuple(_as_array(a, "TensorDataset") for a in arrays)
        n = len(self.arrays[0])
        for i, a in enumerate(self.arrays):
            if len(a) != n:
                raise ValueError(f"TensorDataset: array {i} has {len(a)} samples, array 0 has {n}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices):
        """The rows ``indices`` (an int array) of every array: one fancy-indexing per array."""
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The samples ``indices`` of ``dataset``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        if self.indices.ndim != 1:
            raise ValueError(f"Subset: indices must be 1-D, got shape {self.indices.shape}")

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def get_batch(self, indices):
        """Forward the batch to the parent dataset (its fast path if it has one)."""
        idx = self.indices[indices]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(idx)
        return default_collate([self.dataset[int(i)] for i in idx])


def random_split(dataset, lengths, generator=None, seed=None):
    """Split ``dataset`` into non-overlapping random :class:`Subset` s of the given ``lengths``.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1 (PyTorch's rule:
    ``floor(f * n)`` each, then the remainder handed out one by one, round-robin from the first).
    ``generator`` (a ``np.random.Generator``, e.g. ``autograd_cnn.Generator().manual_seed(42)``)
    or ``seed`` (an int) makes the split reproducible; without either it follows
    ``autograd_cnn.manual_seed``."""
    if generator is not None and seed is not None:
        raise ValueError("random_split: give generator or seed, not both")
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if all(isinstance(v, float) for v in lengths) and abs(sum(lengths) - 1.0) < 1e-9:
        if any(v < 0 or v > 1 for v in lengths):
            raise ValueError(f"random_split: fractions must be in [0, 1], got {lengths}")
        counts = [int(np.floor(f * n)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints (or fractions summing "
                         f"to 1), got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, but the dataset "
                         f"has {n} samples")
    perm = make_generator(generator if generator is not None else seed).permutation(n)
    bounds = np.cumsum([0] + lengths)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
