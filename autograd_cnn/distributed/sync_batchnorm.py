"""``SyncBatchNorm``: batch normalisation whose batch statistics are those of the whole global
batch, over all ranks (PyTorch's ``torch.nn.SyncBatchNorm``), built on the autograd graph like
``BatchNorm`` -- the one collective, an all-reduce, is a differentiable Function.

Each rank computes its channels' mean and sum of squared deviations (about its own mean, so
float32 loses nothing to a large mean) and its count, places them in its row of a (ranks, 2C+1)
matrix of zeros and all-reduces the matrix: every rank then holds every rank's statistics
(an all-gather made of one all-reduce). They combine exactly (Chan, Golub & LeVeque)::

    mean = sum_r n_r mean_r / n
    var  = (sum_r M2_r + sum_r n_r (mean_r - mean)^2) / n          (biased, as BatchNorm)

The all-reduce's gradient is the all-reduce of the gradients (each rank's statistics reach every
rank's output), so backward gives each rank the gradient of the sum of all ranks' losses with
respect to its inputs -- what the same BatchNorm on the concatenated batch would give. In eval
mode, and in a job of one rank, it is plain batch norm.

Difference from PyTorch: the class is ``autograd_cnn.distributed.SyncBatchNorm``, not
``nn.SyncBatchNorm``: ``nn`` sits below ``distributed`` in the package's layers and does not
import it.
"""
import numpy as np

from ..autograd.function import Function
from ..autograd.tensor import Tensor, as_array
from ..nn.batchnorm import _BatchNorm
from ..ops.shape import cat
from . import process_group as pg

__all__ = ["SyncBatchNorm", "all_reduce_sum", "convert_sync_batchnorm"]


class _AllReduceSum(Function):
    """y = the sum over the ranks of x; dL/dx = the sum over the ranks of dL/dy."""

    @staticmethod
    def forward(ctx, x, comm):
        ctx.comm = comm
        out = np.array(as_array(x), copy=True, order="C")
        comm.Allreduce(pg._mpi().IN_PLACE, out, op=pg._mpi().SUM)
        return out

    @staticmethod
    def backward(ctx, grad):
        return _AllReduceSum.apply(grad, ctx.comm), None


def all_reduce_sum(x, process_group=None):
    """The sum of Tensor ``x`` over all ranks, as a new Tensor, differentiable (its gradient is
    the sum of the ranks' gradients). ``process_group``: an mpi4py communicator (default: the one
    ``init()`` joined)."""
    comm = process_group if process_group is not None else pg.comm()
    if comm.Get_size() == 1:
        return x * 1.0 if isinstance(x, Tensor) else Tensor(np.array(x))
    return _AllReduceSum.apply(x, comm)


class SyncBatchNorm(_BatchNorm):
    """Batch norm over (N, C, ...) inputs with statistics over the batches of all ranks.
    Arguments as BatchNorm's, plus ``process_group`` (an mpi4py communicator; default: the one
    ``distributed.init()`` joined, or none before it: then it is plain batch norm)."""
    _dims = (2, 3, 4, 5)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None, *,
                 bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)
        self.process_group = process_group

    def _comm(self):
        if self.process_group is not None:
            return self.process_group
        return pg.comm() if pg.is_initialized() else None

    def forward(self, x):
        comm = self._comm()
        if not self.training or comm is None or comm.Get_size() == 1:
            return super().forward(x)
        self._check_input(x)
        mean, var, n = _global_statistics(x, comm)
        if self.track_running_stats:
            self.num_batches_tracked.numpy()[...] += 1
            factor = (1.0 / float(self.num_batches_tracked.numpy()) if self.momentum is None
                      else self.momentum)
            rm, rv = self.running_mean.numpy(), self.running_var.numpy()
            rm[...] = (1 - factor) * rm + factor * mean.numpy()
            rv[...] = (1 - factor) * rv + factor * var.numpy() * (n / (n - 1))
        bshape = (1, self.num_features) + (1,) * (x.ndim - 2)
        scale = (var.reshape(bshape) + self.eps) ** -0.5
        if self.weight is not None:
            scale = scale * self.weight.reshape(bshape)
        out = (x - mean.reshape(bshape)) * scale
        return out if self.bias is None else out + self.bias.reshape(bshape)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm holding the same
        parameters and buffers (the module itself when it is a BatchNorm layer)."""
        return convert_sync_batchnorm(module, process_group)


def _global_statistics(x, comm):
    """(mean, biased variance) per channel over the inputs of all ranks, as differentiable
    Tensors of shape (C,), and the number of values per channel over all ranks."""
    C, dtype = x.shape[1], x.numpy().dtype
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, C) + (1,) * (x.ndim - 2)
    local_mean = x.mean(dim=axes)
    centred = x - local_mean.reshape(bshape)
    local_m2 = (centred * centred).sum(dim=axes)
    count = Tensor(np.array([x.numpy().size // C], dtype=dtype))
    row = cat([local_mean, local_m2, count]).reshape(1, 2 * C + 1)
    place = np.zeros((comm.Get_size(), 1), dtype=dtype)
    place[comm.Get_rank()] = 1
    table = _AllReduceSum.apply(row * Tensor(place), comm)       # (ranks, 2C + 1)
    counts = table.numpy()[:, 2 * C:].copy()                      # (ranks, 1), constants
    n = float(counts.sum())
    means = table[:, :C]
    mean = (means * Tensor(counts / n)).sum(dim=0)
    spread = means - mean.reshape(1, C)
    var = (table[:, C:2 * C].sum(dim=0) + (spread * spread * Tensor(counts)).sum(dim=0)) / n
    return mean, var, n


def convert_sync_batchnorm(module, process_group=None):
    """``module`` with every BatchNorm layer (``BatchNorm1d``/``2d``) replaced by a
    ``SyncBatchNorm`` sharing its parameters, buffers and mode (PyTorch's
    ``SyncBatchNorm.convert_sync_batchnorm``)."""
    out = module
    if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
        dtype = next((t.dtype for t in (module.weight, module.running_mean) if t is not None),
                     None)
        out = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group, dtype=dtype,
                            bias=module.bias is not None or not module.affine)
        for name in ("weight", "bias"):
            setattr(out, name, getattr(module, name))
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            setattr(out, name, getattr(module, name))
        out.train(module.training)
    for name, child in list(module.named_children()):
        setattr(out, name, convert_sync_batchnorm(child, process_group))
    return out
