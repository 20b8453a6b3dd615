"""Samplers decide which samples an epoch visits, and in which order.

Each sampler hands the loader the whole epoch's index array at once (``epoch_indices()``), so
batches are plain slices of it.  The three sampling modes of stochastic training:

* :class:`SequentialSampler` — every sample once, in order (evaluation, full passes);
* :class:`RandomSampler` — every sample once per epoch in a fresh random order (``shuffle=True``);
* :class:`RandomSampler` with ``replacement=True`` — ``num_samples`` independent uniform draws,
  so a sample may appear several times per epoch or not at all;
* :class:`WeightedRandomSampler` — draws with probabilities proportional to given weights (an
  imbalanced dataset's rare classes drawn as often as the common ones).

:class:`BatchSampler` groups a sampler's indices into the batches of an epoch (the DataLoader's
``batch_sampler``).

Random samplers own a ``np.random.Generator``; ``state_dict()`` captures it for checkpoints.
"""
import numbers

import numpy as np

from ..tensor import as_array
from ._rng import generator_state, make_generator, set_generator_state

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


class Sampler:
    """Base class: ``epoch_indices()`` returns an int64 array; ``len`` is its length. A subclass
    written for PyTorch, defining only ``__iter__`` (and ``__len__``), works too."""

    def epoch_indices(self):
        if type(self).__iter__ is Sampler.__iter__:
            raise NotImplementedError(f"{type(self).__name__} must define epoch_indices() or "
                                      "__iter__()")
        return np.fromiter(iter(self), dtype=np.int64)

    def __iter__(self):
        return iter(self.epoch_indices().tolist())

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __len__(self):
        return len(self.data_source)

    def epoch_indices(self):
        return np.arange(len(self.data_source), dtype=np.int64)


class RandomSampler(Sampler):
    """A random permutation per epoch, or ``num_samples`` draws with ``replacement=True``.

    ``generator`` (a ``np.random.Generator``) or ``seed`` (an int) make it reproducible;
    without either the generator is seeded from ``autograd_cnn``'s global one."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None,
                 seed=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        if num_samples is not None and (isinstance(num_samples, bool) or
                                        not isinstance(num_samples, (int, np.integer))
                                        or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive int, got "
                             f"{num_samples!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        if generator is not None and seed is not None:
            raise ValueError("RandomSampler: give generator or seed, not both")
        self.generator = make_generator(generator if generator is not None else seed)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __len__(self):
        return self.num_samples

    def epoch_indices(self):
        n = len(self.data_source)
        if self.replacement:
            return self.generator.integers(0, n, size=self.num_samples, dtype=np.int64)
        # without replacement: whole permutations, concatenated if num_samples > n
        reps = -(-self.num_samples // n) if n else 0
        perm = np.concatenate([self.generator.permutation(n) for _ in range(max(reps, 1))])
        return perm[: self.num_samples].astype(np.int64)

    def state_dict(self):
        return {"generator": generator_state(self.generator)}

    def load_state_dict(self, state):
        if "generator" in state:  # (a distributed run's checkpoint has none: its order is seeded)
            set_generator_state(self.generator, state["generator"])


class SubsetRandomSampler(RandomSampler):
    """The given ``indices`` in a fresh random order each epoch."""

    def __init__(self, indices, generator=None, seed=None):
        self.indices = np.asarray(indices, dtype=np.int64)
        super().__init__(self.indices, generator=generator, seed=seed)

    def epoch_indices(self):
        return self.indices[self.generator.permutation(len(self.indices))]


def _positive_int(value, name, where):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")
    return int(value)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability ``weights[i] / sum(weights)`` (with
    ``replacement=True``, the default) or without replacement (each index at most once per
    epoch, so ``num_samples`` cannot exceed the number of non-zero weights).

    ``generator`` (a ``np.random.Generator``) or ``seed`` (an int) make it reproducible; the
    draws differ from PyTorch's for the same seed (NumPy's generator)."""

    def __init__(self, weights, num_samples, replacement=True, generator=None, seed=None):
        name = "WeightedRandomSampler"
        w = as_array(weights)
        if w.ndim != 1 or w.size == 0 or w.dtype.kind not in "biuf":
            raise ValueError(f"{name}: weights must be a non-empty 1-D sequence of numbers, got "
                             f"shape {w.shape} of {w.dtype}")
        w = w.astype(np.float64)
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"{name}: weights must be finite and >= 0 with a positive sum")
        self.num_samples = _positive_int(num_samples, "num_samples", name)
        if not isinstance(replacement, bool):
            raise TypeError(f"{name}: replacement must be a bool, got {replacement!r}")
        if not replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"{name}: without replacement num_samples ({self.num_samples}) "
                             f"cannot exceed the {np.count_nonzero(w)} non-zero weights")
        if generator is not None and seed is not None:
            raise ValueError(f"{name}: give generator or seed, not both")
        self.weights, self.replacement = w, replacement
        self.generator = make_generator(generator if generator is not None else seed)

    def __len__(self):
        return self.num_samples

    def epoch_indices(self):
        p = self.weights / self.weights.sum()
        return self.generator.choice(len(p), size=self.num_samples, replace=self.replacement,
                                     p=p).astype(np.int64)

    def state_dict(self):
        return {"generator": generator_state(self.generator)}

    def load_state_dict(self, state):
        if "generator" in state:
            set_generator_state(self.generator, state["generator"])


class BatchSampler(Sampler):
    """The indices of ``sampler`` (a Sampler, or any iterable of ints such as a range or a list)
    in batches of ``batch_size``; ``drop_last`` skips a final short batch. Iterating gives lists
    of ints, as PyTorch's; ``epoch_batches()`` gives one epoch's batches as int64 arrays (what the
    DataLoader uses: one draw of the sampler's order, then slices)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not hasattr(sampler, "__iter__"):
            raise TypeError(f"BatchSampler: sampler must be a Sampler or an iterable of indices, "
                            f"got {type(sampler).__name__}")
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last must be a bool, got {drop_last!r}")
        self.sampler = sampler
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        self.drop_last = drop_last

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def epoch_batches(self):
        s = self.sampler
        order = (s.epoch_indices() if isinstance(s, Sampler)
                 else np.fromiter(iter(s), dtype=np.int64))
        n, bs = len(order), self.batch_size
        stop = n - n % bs if self.drop_last else n
        return [order[i:i + bs] for i in range(0, stop, bs)]

    def epoch_indices(self):
        batches = self.epoch_batches()
        return np.concatenate(batches) if batches else np.empty(0, np.int64)

    def __iter__(self):
        return (b.tolist() for b in self.epoch_batches())

    def state_dict(self):
        get = getattr(self.sampler, "state_dict", None)
        return get() if get is not None else {}

    def load_state_dict(self, state):
        load = getattr(self.sampler, "load_state_dict", None)
        if load is not None:
            load(state)
