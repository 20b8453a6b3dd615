"""What training does when it runs as several ranks: ``fit``'s agreements between the ranks
(:class:`TrainingSync`) and the set-up of ``python -m autograd_cnn train --distributed``
(:func:`start_cli_job`).

Under ``fit`` every rank trains on its part of each epoch (a ``DistributedSampler``) with a
``DistributedDataParallel`` model, and

* the epoch's training loss and accuracy are summed over the ranks (every rank reports the
  global figures);
* validation is split too: each rank evaluates the validation loader it was given -- its slice
  of the set (a ``DistributedShardSampler``; ``train --distributed`` does that) -- and the sample
  counts, loss sums and correct counts are summed over the ranks (``evaluate(...,
  sum_over_ranks=True)``), which gives the one-process figures to round-off (a loader of the
  whole set on every rank gives them too, with no work saved);
* the epoch's record (validation loss and accuracy included) is rank 0's, broadcast, so the
  scheduler, early stopping and callbacks see the same numbers on every rank, and whether to stop
  is rank 0's decision, broadcast: no rank can leave the loop while the others train on;
* only rank 0 prints and writes checkpoints. A checkpoint holds the unwrapped model's state (no
  ``module.`` prefix) and no per-rank random state: the order of an epoch depends only on the
  seed and the epoch number, so it resumes with any number of ranks, or in one process.
"""
import io
import os
import sys


from .. import backend
from ..data import DataLoader
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler, DistributedShardSampler
from . import process_group as pg

__all__ = ["TrainingSync", "current", "unwrap", "start_cli_job"]


def unwrap(model):
    """The model a checkpoint stores: ``model`` without its DistributedDataParallel wrapper."""
    return model.module if isinstance(model, DistributedDataParallel) else model


class TrainingSync:
    """The ranks of the job, as ``fit`` needs them."""

    def __init__(self):
        self.rank, self.world_size = pg.get_rank(), pg.get_world_size()
        self.is_main = self.rank == 0

    @staticmethod
    def sum(*values):
        """The numbers summed over the ranks (floats)."""
        return tuple(pg.sum_numbers(values).tolist())

    @staticmethod
    def from_main(obj):
        """Rank 0's ``obj`` on every rank."""
        return pg.broadcast_object(obj)


def current():
    """A :class:`TrainingSync` when this process is one of several ranks, else None."""
    if pg.is_initialized() and pg.get_world_size() > 1:
        return TrainingSync()
    return None


class CliJob:
    """The ``train --distributed`` command's view of the job (made by :func:`start_cli_job`)."""

    def __init__(self, args, out):
        pg.init()
        self.rank, self.world_size = pg.get_rank(), pg.get_world_size()
        self.is_main = self.rank == 0
        if args.batch_size % self.world_size:
            raise ValueError(f"--batch-size {args.batch_size} is the global batch and must be a "
                             f"multiple of the {self.world_size} ranks")
        self.local_batch = args.batch_size // self.world_size
        if args.threads is not None:
            backend.set_num_threads(args.threads)
        else:  # the ranks on this machine share its cores
            cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else os.cpu_count() or 1)
            backend.set_num_threads(max(1, cores // pg.get_local_size()))
        self.out = out
        if not self.is_main:  # one voice: rank 0 prints and writes the files
            self.out = io.StringIO()
            args.save, args.plot = None, None
            if getattr(args, "report", None):
                args.report = None
        elif self.world_size == 1:
            sys.stderr.write("autograd_cnn: --distributed, but this process was started alone "
                             "(world size 1); start the ranks with `mpiexec -n N python -m "
                             "autograd_cnn train --distributed ...`\n")
        elif not args.quiet:
            out.write(f"Distributed: {self.world_size} ranks x {backend.get_num_threads()} "
                      f"threads, global batch {args.batch_size} ({self.local_batch} per rank)\n")

    def wrap(self, model):
        return DistributedDataParallel(model)

    def train_loader(self, dataset, seed):
        sampler = DistributedSampler(dataset, shuffle=True, seed=seed)
        return DataLoader(dataset, batch_size=self.local_batch, sampler=sampler)

    @staticmethod
    def eval_loader(dataset, batch_size):
        """This rank's slice of an evaluation set (to evaluate with ``sum_over_ranks=True``)."""
        return DataLoader(dataset, batch_size=batch_size,
                          sampler=DistributedShardSampler(dataset))


def start_cli_job(args, out):
    """Join the job for ``train --distributed`` (raises ValueError for a global batch that the
    ranks cannot share evenly)."""
    return CliJob(args, out)
