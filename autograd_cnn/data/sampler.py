"""Samplers decide which samples an epoch visits, and in which order.

Each sampler hands the loader the whole epoch's index array at once (``epoch_indices()``), so
batches are plain slices of it.  The three sampling modes of stochastic training:

* :class:`SequentialSampler` — every sample once, in order (evaluation, full passes);
* :class:`RandomSampler` — every sample once per epoch in a fresh random order (``shuffle=True``);
* :class:`RandomSampler` with ``replacement=True`` — ``num_samples`` independent uniform draws,
  so a sample may appear several times per epoch or not at all.

Random samplers own a ``np.random.Generator``; ``state_dict()`` captures it for checkpoints.
"""
import numpy as np

from ._rng import generator_state, make_generator, set_generator_state

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler"]


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
