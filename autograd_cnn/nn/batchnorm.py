"""Batch normalization (Ioffe & Szegedy, 2015), built from autograd ops so that gradients (and
gradients of gradients) follow from the graph: the per-channel Functions of ``ops/channel.py``
(statistics, sums, scale-and-shift), each one pass of a compiled, multi-threaded kernel.

For an input of shape (N, C) or (N, C, L) (``BatchNorm1d``) or (N, C, H, W) (``BatchNorm2d``),
each channel c is normalised over every axis except the channel axis (m = N*L or N*H*W values)::

    mean_c = sum(x) / m
    var_c  = sum((x - mean_c)^2) / m                  (biased: divides by m)
    y      = (x - mean_c) / sqrt(var_c + eps) * gamma_c + beta_c

The normaliser is ``sqrt(var + eps)``, as in PyTorch and the original paper. (Some lecture notes
write ``sigma + eps``; for the tiny eps used the two differ only for near-constant channels, and
we follow PyTorch so its weights and results carry over exactly.)

Running statistics (buffers ``running_mean``, ``running_var``, ``num_batches_tracked``) follow
PyTorch's momentum convention -- note it is the weight of the *new* value::

    running = (1 - momentum) * running + momentum * batch_statistic

with the *unbiased* batch variance (divides by m - 1) for ``running_var``. ``momentum=None``
gives a cumulative average: momentum = 1 / num_batches_tracked. In ``eval()`` the running
statistics replace the batch statistics (so the output of one sample no longer depends on the
rest of the batch). With ``track_running_stats=False`` there are no buffers and batch statistics
are used in both modes. With ``affine=False`` there are no gamma/beta parameters (and with
``bias=False``, PyTorch 2.13's keyword, no beta).
"""
import numbers

import numpy as np

from .._device import check_device
from ..autograd import Op, is_grad_enabled
from ..ops import channel
from ..tensor import Tensor, as_array
from . import init
from .module import Module
from .parameter import Parameter
from ._utils import check_positive_int, resolve_dtype

__all__ = ["BatchNorm1d", "BatchNorm2d", "batch_norm"]


class BatchNormTraining(Op):
    """y = (x - mean[c]) * inv_std[c] * weight[c] + bias[c] with the batch's own statistics (given
    as arrays: ``batch_norm`` computes them once, for this and the running averages); weight and
    bias may be None.

    Forward: one ChannelAffine pass. Backward: one ChannelSums pass (sum dy, sum dy * (x - mean))
    and one ChannelAffine pass for dx::

        dx = k dy + (x - mean) p + q,  k = weight inv_std,  p = -k inv_std^2 sum(dy (x - mean)) / m,
                                       q = -k sum(dy) / m

    written with the per-channel Functions (ops/channel.py), so it is differentiable again. In a
    graph of the gradient the statistics are recomputed from x as Tensors (ChannelMoments), since
    their dependence on x is part of the second derivative."""

    @staticmethod
    def forward(ctx, x, weight, bias, mean, var, eps):
        inv_std = 1 / np.sqrt(var + var.dtype.type(eps))
        scale = inv_std if weight is None else inv_std * as_array(weight)
        ctx.save_for_backward(x, weight)
        ctx.mean, ctx.inv_std, ctx.eps = mean, inv_std, eps
        return channel.affine(as_array(x), scale, mean, None if bias is None else as_array(bias))

    @staticmethod
    def backward(ctx, gy):
        x, weight = ctx.saved
        need = ctx.needs_input_grad
        if isinstance(x, np.ndarray):
            mean, inv_std = ctx.mean, ctx.inv_std
        else:
            mean, var = channel.ChannelMoments.apply(x)
            inv_std = (var + ctx.eps) ** -0.5
        s, sx = channel.ChannelSums.apply(gy, x, mean)
        gx = None
        if need[0]:
            m = x.size // x.shape[1]
            k = inv_std if weight is None else weight * inv_std
            gx = channel.ChannelAffine.apply(x, k * inv_std * inv_std * sx / -m, mean, k * s / -m,
                                             gy, k)
        gw = sx * inv_std if need[1] else None
        gb = s if need[2] else None
        return gx, gw, gb, None, None, None


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Functional batch norm over axis 1 of ``input`` (see the module docstring).

    ``running_mean`` / ``running_var`` (Tensors or ndarrays of shape (C,), or None) are updated
    in place when ``training``; ``momentum`` here is the plain update factor (a float).
    When not training they must be given and are used instead of the batch statistics."""
    if input.ndim < 2:
        raise ValueError(f"batch_norm: input must have a batch and a channel axis, got shape "
                         f"{tuple(input.shape)}")
    C = input.shape[1]
    x = as_array(input)
    dtype = x.dtype
    if training:
        m = x.size // C
        if m <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {tuple(input.shape)}")
        mean, var = channel.moments(x)
        # running = (1 - momentum) running + momentum statistic, in place (the same roundings)
        if running_mean is not None:
            rm = as_array(running_mean)
            np.add(np.multiply(rm, 1 - momentum, out=rm), momentum * mean, out=rm)
        if running_var is not None:
            rv = as_array(running_var)
            np.add(np.multiply(rv, 1 - momentum, out=rv), momentum * (var * (m / (m - 1))),
                   out=rv)
        return BatchNormTraining.apply(input, weight, bias, mean, var, eps)
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: running_mean and running_var are required when not "
                         "training")
    rm = as_array(running_mean).astype(dtype, copy=False)
    rv = as_array(running_var).astype(dtype, copy=False)
    # the running statistics are constants: no gradient flows into them
    scale = (1.0 / np.sqrt(rv + dtype.type(eps))).astype(dtype, copy=False)
    if weight is not None:
        if is_grad_enabled() and isinstance(weight, Tensor) and weight.requires_grad:
            scale = weight * Tensor(scale)  # recorded: the gradient reaches weight through it
        else:
            scale = as_array(weight) * scale
    return channel.ChannelAffine.apply(input, scale, rm, bias)


class _BatchNorm(Module):
    _dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        self.num_features = check_positive_int(num_features, "num_features", name)
        if not isinstance(eps, numbers.Real) or isinstance(eps, bool) or eps <= 0:
            raise ValueError(f"{name}: eps must be a positive number, got {eps!r}")
        if momentum is not None and (not isinstance(momentum, numbers.Real)
                                     or isinstance(momentum, bool) or not 0 <= momentum <= 1):
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum!r}")
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dt = resolve_dtype(dtype, name)
        if self.affine:
            self.weight = Parameter(np.ones(num_features, dtype=dt))
            if bias:
                self.bias = Parameter(np.zeros(num_features, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dt)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            as_array(self.running_mean)[...] = 0
            as_array(self.running_var)[...] = 1
            as_array(self.num_batches_tracked)[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, x):
        name = type(self).__name__
        if x.ndim not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{name}: expected {want} input, got shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{name}: expected {self.num_features} channels on axis 1, got "
                             f"input of shape {tuple(x.shape)}")
        if self.training and as_array(x).size // self.num_features <= 1:
            raise ValueError(f"{name}: expected more than 1 value per channel when training, "
                             f"got input of shape {tuple(x.shape)}")

    def forward(self, x):
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            tracked = as_array(self._registered("num_batches_tracked"))
            tracked[...] += 1
            if self.momentum is None:
                factor = 1.0 / float(tracked)
        running_mean = self._registered("running_mean")
        use_batch_stats = self.training or running_mean is None
        track = not use_batch_stats or self.track_running_stats
        return batch_norm(x, running_mean if track else None,
                          self._registered("running_var") if track else None,
                          self._registered("weight"), self._registered("bias"),
                          use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs (statistics per channel over N and L)."""
    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs (statistics per channel over N, H and W)."""
    _dims = (4,)
