"""Batch normalization (Ioffe & Szegedy, 2015), built from ordinary Tensor operations so that
autograd derives its gradients (and gradients of gradients) -- no special kernel.

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

from ..tensor import Tensor, as_array
from . import init
from .module import Module
from .parameter import Parameter
from ._utils import check_positive_int, resolve_dtype

__all__ = ["BatchNorm1d", "BatchNorm2d", "batch_norm"]


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
    axes = (0,) + tuple(range(2, input.ndim))
    bshape = (1, C) + (1,) * (input.ndim - 2)
    dtype = input.dtype
    if training:
        m = input.numel() // C
        if m <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {tuple(input.shape)}")
        mean = input.mean(dim=axes, keepdim=True)
        centred = input - mean
        var = (centred * centred).mean(dim=axes, keepdim=True)
        if running_mean is not None or running_var is not None:
            batch_mean = mean.numpy().reshape(C)
            unbiased = var.numpy().reshape(C) * (m / (m - 1))
            if running_mean is not None:
                rm = as_array(running_mean)
                rm[...] = (1 - momentum) * rm + momentum * batch_mean
            if running_var is not None:
                rv = as_array(running_var)
                rv[...] = (1 - momentum) * rv + momentum * unbiased
        # one per-channel scale (rsqrt times gamma), then one multiply-add over the centred
        # input: fewer full-size passes than normalising and scaling apart, and no cancellation
        # of a large mean in float32 (x * scale - mean * scale would lose it)
        scale = (var + eps) ** -0.5
        if weight is not None:
            scale = scale * weight.reshape(bshape)
        out = centred * scale
        return out if bias is None else out + bias.reshape(bshape)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are required when not "
                             "training")
        rm = as_array(running_mean).astype(dtype, copy=False).reshape(bshape)
        rv = as_array(running_var).astype(dtype, copy=False).reshape(bshape)
        # constants: no gradient flows into the running statistics
        inv_std = Tensor((1.0 / np.sqrt(rv + dtype.type(eps))).astype(dtype, copy=False))
        out = (input - Tensor(rm)) * inv_std
    if weight is not None:
        out = out * weight.reshape(bshape)
    if bias is not None:
        out = out + bias.reshape(bshape)
    return out


class _BatchNorm(Module):
    _dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=None, *, bias=True):
        super().__init__()
        name = type(self).__name__
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
            self.running_mean.numpy()[...] = 0
            self.running_var.numpy()[...] = 1
            self.num_batches_tracked.numpy()[...] = 0

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
        if self.training and x.numel() // self.num_features <= 1:
            raise ValueError(f"{name}: expected more than 1 value per channel when training, "
                             f"got input of shape {tuple(x.shape)}")

    def forward(self, x):
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.numpy()[...] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.numpy())
        use_batch_stats = self.training or self.running_mean is None
        track = not use_batch_stats or self.track_running_stats
        return batch_norm(x, self.running_mean if track else None,
                          self.running_var if track else None, self.weight, self.bias,
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
