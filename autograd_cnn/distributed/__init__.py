"""Data-parallel training over MPI (``pip install "autograd_cnn[distributed]"``: mpi4py and
MPICH). ``mpi4py`` is imported by ``init()``, not by ``import autograd_cnn``.

    from autograd_cnn import distributed as dist
    dist.init()
    model = dist.DistributedDataParallel(model)
    loader = DataLoader(ds, batch_size=64 // dist.get_world_size(),
                        sampler=dist.DistributedSampler(ds, seed=0))

and run the script with ``mpiexec -n 4 python train.py``. See ``process_group`` (ranks and
collectives), ``ddp`` (gradient averaging), ``sampler`` (each rank's share of an epoch),
``DistributedShardSampler`` (each rank's slice of an evaluation set),
``sync_batchnorm`` (batch statistics over all ranks) and ``training`` (what ``fit`` and the
``train --distributed`` command do under MPI).

Differences from ``torch.distributed``: MPI is the one backend, so ``init()`` replaces
``init_process_group(backend, ...)`` and the launcher is ``mpiexec``, not ``torchrun``; the
collectives (``all_reduce`` sums, ``broadcast``, ``barrier``, ``broadcast_object``) work on CPU
arrays in place; ``get_local_size()`` (ranks sharing this machine) has no PyTorch twin.
"""
from .process_group import (init, is_initialized, is_available, get_rank, get_world_size,
                            get_local_size, barrier, broadcast, all_reduce, broadcast_object)
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler, DistributedShardSampler
from .sync_batchnorm import SyncBatchNorm, all_reduce_sum, convert_sync_batchnorm

__all__ = ["init", "is_initialized", "is_available", "get_rank", "get_world_size",
           "get_local_size", "barrier", "broadcast", "all_reduce", "broadcast_object",
           "DistributedDataParallel", "DistributedSampler", "DistributedShardSampler",
           "SyncBatchNorm",
           "all_reduce_sum", "convert_sync_batchnorm"]
