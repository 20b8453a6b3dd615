"""The DataLoader: an iterable over mini-batches of a dataset.

Each epoch the sampler produces the whole index array; the loader cuts it into consecutive slices
of ``batch_size`` and fetches each slice in one go (``dataset.get_batch(indices)``: NumPy fancy
indexing, no per-sample Python loop), then wraps the arrays as Tensors.

* full-batch gradient descent: ``batch_size=len(dataset)``;
* stochastic gradient descent on single samples: ``batch_size=1``;
* mini-batches in a fresh random order per epoch: ``shuffle=True`` (and a ``seed``);
* draws with replacement: ``sampler=RandomSampler(ds, replacement=True, num_samples=k)``.

Given a ``seed`` the sequence of batches is deterministic, and ``state_dict()`` /
``load_state_dict()`` capture and restore the random state between epochs (for checkpoints).
"""
import numpy as np

from ..tensor import Tensor
from .sampler import RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples):
    """Stack a list of samples (tuples of arrays / numbers) field by field into batch arrays."""
    first = samples[0]
    if isinstance(first, tuple) or isinstance(first, list):
        return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(first)))
    return (np.stack([np.asarray(s) for s in samples]),)


def _to_tensor(array):
    return Tensor(np.ascontiguousarray(array))


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors (a tuple per batch, one per field).

    Parameters follow ``torch.utils.data.DataLoader``: ``batch_size`` (positive int),
    ``shuffle`` (a fresh permutation each epoch), ``sampler`` (a :class:`Sampler`; exclusive with
    ``shuffle``), ``drop_last`` (skip a final short batch), and ``seed`` for the shuffling
    generator.  ``as_tensor=False`` yields NumPy arrays instead of Tensors.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
                 seed=None, as_tensor=True):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if not isinstance(shuffle, bool):
            raise TypeError(f"DataLoader: shuffle must be a bool, got {shuffle!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive")
        if sampler is not None and not isinstance(sampler, Sampler):
            raise TypeError(f"DataLoader: sampler must be a Sampler, got {type(sampler).__name__}")
        if seed is not None and not isinstance(seed, np.random.Generator) and (
                isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"DataLoader: seed must be an int, None or a np.random.Generator, "
                            f"got {type(seed).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.drop_last = bool(drop_last)
        self.as_tensor = as_tensor
        if sampler is None:
            sampler = RandomSampler(dataset, seed=seed) if shuffle else SequentialSampler(dataset)
        self.sampler = sampler

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _fetch(self, idx):
        if hasattr(self.dataset, "get_batch"):
            arrays = self.dataset.get_batch(idx)
        else:
            arrays = default_collate([self.dataset[int(i)] for i in idx])
        if not isinstance(arrays, tuple):
            arrays = (arrays,)
        return tuple(_to_tensor(a) for a in arrays) if self.as_tensor else arrays

    def __iter__(self):
        order = self.sampler.epoch_indices()  # drawn now: one new order per epoch
        n, bs = len(order), self.batch_size
        stop = n - n % bs if self.drop_last else n
        for start in range(0, stop, bs):
            yield self._fetch(order[start:start + bs])

    def state_dict(self):
        """The random state of the sampler (restoring it replays the same future epochs)."""
        return {"sampler": self.sampler.state_dict()}

    def load_state_dict(self, state):
        self.sampler.load_state_dict(state.get("sampler", {}))
