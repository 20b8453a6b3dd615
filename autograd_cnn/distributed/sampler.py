"""``DistributedSampler``: each rank's share of an epoch (PyTorch's
``torch.utils.data.distributed.DistributedSampler``).

Every rank draws the same permutation of the whole dataset (from ``seed + epoch``, so no random
state has to travel), pads it by repeating its start until it divides evenly (or, with
``drop_last``, cuts the tail), and keeps every ``num_replicas``-th index from its ``rank`` on.
Every rank thus has the same number of samples -- and of batches, so none waits in a collective
for a batch its peers never take -- and over the ranks the epoch visits every sample once (plus
the padding's few repeats). Call ``set_epoch(epoch)`` before each epoch for a new order
(``fit`` does).

Difference from PyTorch: the permutation comes from NumPy's generator
(``np.random.default_rng(seed + epoch)``), not from ``torch.randperm``, so the orders differ.

``DistributedShardSampler`` (no PyTorch twin) is for evaluation, where padding would count some
samples twice: rank r gets the r-th contiguous slice of the dataset, in order, unpadded (the
slices' sizes differ by at most one; evaluation runs no collective per batch, so the ranks need
not take equally many). ``evaluate(..., sum_over_ranks=True)`` adds up the ranks' slices.
"""
import math
import numbers

import numpy as np

from ..data import Sampler
from . import process_group

__all__ = ["DistributedSampler", "DistributedShardSampler"]


def _check_int(value, name, low, owner="DistributedSampler"):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def _replicas_and_rank(num_replicas, rank, owner):
    """``(num_replicas, rank)``, defaulting to the job's, checked."""
    if num_replicas is None:
        num_replicas = process_group.get_world_size()
    if rank is None:
        rank = process_group.get_rank()
    num_replicas = _check_int(num_replicas, "num_replicas", 1, owner)
    rank = _check_int(rank, "rank", 0, owner)
    if rank >= num_replicas:
        raise ValueError(f"{owner}: invalid rank {rank}, rank should be in the interval "
                         f"[0, {num_replicas - 1}]")
    return num_replicas, rank


class DistributedSampler(Sampler):
    """This rank's part of ``dataset`` each epoch. ``num_replicas`` / ``rank`` default to the
    job's world size and rank (``distributed.init()`` must have run, unless both are given)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        self.num_replicas, rank = _replicas_and_rank(num_replicas, rank, "DistributedSampler")
        if not isinstance(shuffle, bool) or not isinstance(drop_last, bool):
            raise TypeError(f"DistributedSampler: shuffle and drop_last must be bools, got "
                            f"{shuffle!r} and {drop_last!r}")
        self.dataset, self.rank, self.shuffle = dataset, rank, shuffle
        self.seed, self.drop_last, self.epoch = _check_int(seed, "seed", 0), drop_last, 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Choose the epoch whose order ``epoch_indices`` draws (the same on every rank)."""
        self.epoch = _check_int(epoch, "epoch", 0)

    def epoch_indices(self):
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad by repeating the start (several times if need be)
            order = np.resize(order, self.total_size) if n else order
        order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64)

    def state_dict(self):
        return {"epoch": self.epoch}

    def load_state_dict(self, state):
        if "epoch" in state:
            self.set_epoch(int(np.asarray(state["epoch"])))


class DistributedShardSampler(Sampler):
    """This rank's contiguous, unpadded slice of ``dataset``, in order (for evaluation: over the
    ranks every sample counts exactly once). ``num_replicas`` / ``rank`` as DistributedSampler's."""

    def __init__(self, dataset, num_replicas=None, rank=None):
        self.num_replicas, self.rank = _replicas_and_rank(num_replicas, rank,
                                                          "DistributedShardSampler")
        self.dataset = dataset

    def _bounds(self):
        n = len(self.dataset)
        return n * self.rank // self.num_replicas, n * (self.rank + 1) // self.num_replicas

    def __len__(self):
        lo, hi = self._bounds()
        return hi - lo

    def epoch_indices(self):
        return np.arange(*self._bounds(), dtype=np.int64)
