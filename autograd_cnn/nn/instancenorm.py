"""Instance normalization (Ulyanov et al., 2016): each channel of each sample normalised over its
own positions, as PyTorch's ``InstanceNorm1d/2d`` and ``F.instance_norm``::

    mean_nc = mean of x[n, c, ...],   var_nc = biased variance of x[n, c, ...]
    y[n, c] = (x[n, c] - mean_nc) / sqrt(var_nc + eps) * weight[c] + bias[c]

It is batch norm on the input viewed as one sample of N * C channels, which is how it is
computed here: ``batch_norm`` (its compiled per-channel kernels, its gradient to every order) on
the (1, N*C, ...) view, with the affine parameters repeated N times (``repeat``, so their
gradients are summed over the samples). Defaults as PyTorch: ``affine=False`` and
``track_running_stats=False``. With ``track_running_stats`` the running statistics are updated
with the mean over the batch of the instances' statistics (the variance unbiased), and ``eval()``
normalises with them instead (then it is batch norm in eval mode). Unbatched inputs ((C, L) for
1d, (C, H, W) for 2d) are taken as a batch of one.
"""
import math
import warnings

import numpy as np

from ..tensor import Tensor, as_array
from .batchnorm import _BatchNorm, batch_norm

__all__ = ["InstanceNorm1d", "InstanceNorm2d", "instance_norm"]


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) of an (N, C, *) input over its positions (see the module
    docstring). ``use_input_stats=False`` uses ``running_mean`` / ``running_var`` instead; with
    ``use_input_stats`` and running statistics given, those are updated in place. Same as
    torch.nn.functional.instance_norm."""
    fn = "instance_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"{fn}: input must be (N, C, *), got shape {tuple(input.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{fn}: give both running_mean and running_var, or neither")
    if not use_input_stats:
        if running_mean is None:
            raise ValueError(f"{fn}: running_mean and running_var are required when "
                             "use_input_stats=False")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    shape = tuple(input.shape)
    if math.prod(shape[2:]) <= 1:
        raise ValueError(f"{fn}: expected more than 1 spatial element when using the input's "
                         f"statistics, got input of shape {shape}")
    n, c = shape[:2]
    flat = input.reshape((1, n * c) + shape[2:])
    w = weight.repeat(n) if weight is not None else None
    b = bias.repeat(n) if bias is not None else None
    stats = None
    if running_mean is not None:  # one copy per sample, updated, then averaged over the batch
        stats = [np.tile(as_array(s), n) for s in (running_mean, running_var)]
    out = batch_norm(flat, *(stats or (None, None)), w, b, True, momentum, eps)
    if stats is not None:
        for target, updated in zip((running_mean, running_var), stats):
            as_array(target)[...] = updated.reshape(n, c).mean(axis=0)
    return out.reshape(shape)


class _InstanceNorm(_BatchNorm):
    """The parameters and buffers of batch norm (PyTorch's ``_NormBase``) with instance norm's
    defaults and forward."""
    _spatial = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype,
                         bias=bias)

    def forward(self, input):
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        batched = self._spatial + 2
        if input.ndim not in (batched - 1, batched):
            raise ValueError(f"{name}: expected {batched - 1}D or {batched}D input, got shape "
                             f"{tuple(input.shape)}")
        axis = input.ndim - self._spatial - 1
        if input.shape[axis] != self.num_features:
            message = (f"{name}: expected {self.num_features} channels on axis {axis} "
                       f"(num_features), got input of shape {tuple(input.shape)}")
            if self.affine:
                raise ValueError(message)
            warnings.warn(message + "; num_features is not used when affine=False",
                          UserWarning, stacklevel=2)
        x = input if axis == 1 else input.unsqueeze(0)
        out = instance_norm(x, self._registered("running_mean"),
                            self._registered("running_var"), self._registered("weight"),
                            self._registered("bias"),
                            self.training or not self.track_running_stats,
                            0.0 if self.momentum is None else self.momentum, self.eps)
        return out if axis == 1 else out.squeeze(0)


class InstanceNorm1d(_InstanceNorm):
    """Instance norm over (N, C, L) inputs (or unbatched (C, L)): statistics per sample and
    channel over L."""
    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance norm over (N, C, H, W) inputs (or unbatched (C, H, W)): statistics per sample
    and channel over H and W."""
    _spatial = 2
