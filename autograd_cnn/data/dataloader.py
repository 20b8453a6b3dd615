"""The DataLoader: an iterable over mini-batches of a dataset.

Each epoch the sampler produces the whole index array; the loader cuts it into consecutive slices
of ``batch_size`` and fetches each slice in one go (``dataset.get_batch(indices)``: NumPy fancy
indexing, no per-sample Python loop), then wraps the arrays as Tensors.

* full-batch gradient descent: ``batch_size=len(dataset)``;
* stochastic gradient descent on single samples: ``batch_size=1``;
* mini-batches in a fresh random order per epoch: ``shuffle=True`` (and a ``seed`` or
  ``generator``; without either the order follows ``autograd_cnn.manual_seed``);
* draws with replacement: ``sampler=RandomSampler(ds, replacement=True, num_samples=k)``, or
  weighted: ``sampler=WeightedRandomSampler(weights, k)``;
* batches of your own making: ``batch_sampler=`` any iterable of index lists per epoch (e.g.
  a :class:`BatchSampler`), instead of ``batch_size`` / ``shuffle`` / ``sampler`` / ``drop_last``;
* batches made in parallel worker processes: ``num_workers=N`` (see ``_workers.py``): the same
  batches in the same order as ``num_workers=0``;
* a stream of samples (an :class:`IterableDataset`): consecutive samples in batches, no sampler.

Given a ``seed`` the sequence of batches is deterministic, and ``state_dict()`` /
``load_state_dict()`` capture and restore the random state between epochs (for checkpoints).
"""
import numbers

import numpy as np

from .. import random as _random
from ..tensor import Tensor
from ._workers import WorkerPool
from .collate import default_collate, fetch_batch, iter_batches
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "default_collate"]


def _to_tensor(array):
    return Tensor(np.ascontiguousarray(array))


def _check_count(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"DataLoader: {name} must be an int >= {low}, got {value!r}")
    return int(value)


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors (a tuple per batch, one per field).

    Parameters follow ``torch.utils.data.DataLoader``: ``batch_size`` (positive int),
    ``shuffle`` (a fresh permutation each epoch), ``sampler`` (a :class:`Sampler`; exclusive with
    ``shuffle``), ``drop_last`` (skip a final short batch), ``batch_sampler`` (an iterable giving
    each epoch's batches as lists of indices, such as a :class:`BatchSampler`; exclusive with the
    four before it; ``loader.batch_size`` is then None), ``collate_fn`` (turns a list of
    samples into a batch; its result is handed out as it is), ``generator`` (a
    ``np.random.Generator`` for the shuffling and the workers' seeds), ``num_workers`` (0: load in
    this process; N: in N worker processes), ``worker_init_fn``, ``prefetch_factor`` (batches in
    flight per worker, default 2), ``persistent_workers`` (keep the workers between epochs),
    ``timeout`` (seconds to wait for one batch from the workers, 0 = no limit),
    ``multiprocessing_context`` (default "fork" where it exists). ``pin_memory`` and
    ``pin_memory_device`` are accepted and have no effect: there is no GPU memory to copy to.
    Ours: ``seed`` (an int or Generator, as ``generator``) and ``as_tensor=False`` (yield NumPy
    arrays instead of Tensors).
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 seed=None, as_tensor=True):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        shuffle = False if shuffle is None else shuffle
        if not isinstance(shuffle, bool):
            raise TypeError(f"DataLoader: shuffle must be a bool, got {shuffle!r}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are mutually exclusive")
        if sampler is not None and not isinstance(sampler, Sampler):
            raise TypeError(f"DataLoader: sampler must be a Sampler, got {type(sampler).__name__}")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler is mutually exclusive with "
                                 "batch_size, shuffle, sampler and drop_last")
            if not hasattr(batch_sampler, "__iter__"):
                raise TypeError(f"DataLoader: batch_sampler must be an iterable of index lists, "
                                f"got {type(batch_sampler).__name__}")
        if isinstance(dataset, IterableDataset):
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                     f"{name} option, but got {name}={value!r} (a stream has no "
                                     "indices to choose from)")
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a np.random.Generator, got "
                            f"{type(generator).__name__}")
        if seed is not None and not isinstance(seed, np.random.Generator) and (
                isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"DataLoader: seed must be an int, None or a np.random.Generator, "
                            f"got {type(seed).__name__}")
        self.num_workers = _check_count("num_workers", num_workers, 0)
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or timeout < 0:
            raise ValueError(f"DataLoader: timeout must be a non-negative number, got {timeout!r}")
        if prefetch_factor is not None and self.num_workers == 0:
            raise ValueError("DataLoader: prefetch_factor is only used with num_workers > 0; "
                             "leave it None")
        if persistent_workers and self.num_workers == 0:
            raise ValueError("DataLoader: persistent_workers=True needs num_workers > 0")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable, got {worker_init_fn!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.as_tensor = as_tensor
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)  # no effect: CPU memory is all there is
        self.timeout = float(timeout)
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.prefetch_factor = (2 if prefetch_factor is None and self.num_workers
                                else prefetch_factor)
        if self.num_workers:
            self.prefetch_factor = _check_count("prefetch_factor", self.prefetch_factor, 1)
        self.persistent_workers = bool(persistent_workers)
        self.generator = generator if generator is not None else (
            seed if isinstance(seed, np.random.Generator) else None)
        self._pool = None
        if isinstance(dataset, IterableDataset):  # no indices: no sampler, as in PyTorch
            self.sampler = self.batch_sampler = None
            return
        if sampler is None:
            sampler = (RandomSampler(dataset, generator=generator, seed=seed)
                       if shuffle else SequentialSampler(dataset))
        self.sampler = sampler
        self.batch_sampler = (BatchSampler(sampler, self.batch_size, self.drop_last)
                              if batch_sampler is None else batch_sampler)

    def __len__(self):
        if self.batch_sampler is None:  # an iterable dataset: from its __len__ if it has one
            n, bs = len(self.dataset), self.batch_size
            return n // bs if self.drop_last else -(-n // bs)
        return len(self.batch_sampler)

    def _epoch_batches(self):
        """This epoch's batches, index arrays (one draw of the order)."""
        bs = self.batch_sampler
        if isinstance(bs, BatchSampler):
            return bs.epoch_batches()
        return [np.asarray(b, dtype=np.int64).reshape(-1) for b in bs]

    def _finish(self, arrays):
        """Arrays from :func:`fetch_batch` -> what the loop gets."""
        if self.collate_fn is not None or not self.as_tensor:
            return arrays
        return tuple(_to_tensor(a) for a in arrays)

    def _fetch(self, idx):
        return self._finish(fetch_batch(self.dataset, idx, self.collate_fn))

    def __iter__(self):
        # drawn now, whatever num_workers is (as PyTorch does), so the random streams after it
        # are the same with and without workers: the workers' base seed, then the epoch's order
        gen = self.generator if self.generator is not None else _random.default_generator()
        base_seed = int(gen.integers(0, 2 ** 63 - 1))
        stream = self.batch_sampler is None  # an iterable dataset
        batches = None if stream else self._epoch_batches()  # drawn now: a new order per epoch
        if self.num_workers == 0:
            if stream:
                for arrays in iter_batches(iter(self.dataset), self.batch_size, self.drop_last,
                                           self.collate_fn):
                    yield self._finish(arrays)
            for idx in batches or ():
                yield self._fetch(idx)
            return
        pool = self._pool
        if pool is None or pool.closed:
            pool = WorkerPool(self, base_seed)
            if self.persistent_workers:
                self._pool = pool
        try:
            for arrays in (pool.run_stream() if stream else pool.run_epoch(batches)):
                yield self._finish(arrays)
        finally:  # the loop ended, broke off, or raised: workers of one epoch stop here
            if not self.persistent_workers:
                pool.shutdown()

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.__del__()

    def __getstate__(self):  # a loader sent to a process does not take its workers along
        state = dict(self.__dict__)
        state["_pool"] = None
        return state

    def state_dict(self):
        """The random state of the sampler (restoring it replays the same future epochs)."""
        get = getattr(self.batch_sampler, "state_dict", None)  # (None: an iterable dataset)
        return {"sampler": get() if get is not None else {}}

    def load_state_dict(self, state):
        load = getattr(self.batch_sampler, "load_state_dict", None)
        if load is not None:
            load(state.get("sampler", {}))
