"""Dropout (Srivastava et al., 2014) in ``torch.nn.functional`` style: ``dropout`` zeroes each
element with probability ``p``; ``dropout1d`` / ``dropout2d`` zero whole channels (every
position of one sample's channel together, Tompson et al., 2015), for convolutional features
whose neighbours are strongly correlated. Survivors are scaled by 1 / (1 - p) so the expected
value is unchanged ("inverted dropout"); with ``training=False`` each is the identity.

The mask comes from a NumPy generator: ``autograd_cnn.random.default_generator()`` (seeded by
``autograd_cnn.manual_seed``) unless ``generator`` is given. (So the random stream differs from
PyTorch's: the same seed does not give the same mask.) ``inplace`` is accepted and ignored: the
result is always a new tensor.
"""
import numbers
import warnings

import numpy as np

from .. import random as _random
from ..autograd import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d"]


def check_probability(p, fn):
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _masked(fn, input, p, training, mask_shape, generator):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    p = check_probability(p, fn)
    if not training or p == 0.0:
        return input
    if generator is None:
        generator = _random.default_generator()
    elif not isinstance(generator, np.random.Generator):
        raise TypeError(f"{fn}: generator must be a numpy.random.Generator or None, got "
                        f"{type(generator).__name__}")
    dtype = input.dtype
    if p == 1.0:
        mask = np.zeros(mask_shape, dtype=dtype)
    else:
        keep = generator.random(mask_shape) >= p
        mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return input * Tensor(mask)


def dropout(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero each element with probability ``p`` (when ``training``), scale the rest by
    1 / (1 - p). Same as torch.nn.functional.dropout."""
    return _masked("dropout", input, p, training, tuple(input.shape), generator)


def _channel_mask_shape(fn, input, spatial):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"{fn}: expected a {spatial + 1}-D (unbatched) or {spatial + 2}-D "
                         f"(batched) input, got shape {tuple(input.shape)}")
    lead = input.ndim - spatial
    return tuple(input.shape[:lead]) + (1,) * spatial


def dropout1d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero whole channels of an (N, C, L) or (C, L) input with probability ``p``. Same as
    torch.nn.functional.dropout1d."""
    return _masked("dropout1d", input, p, training, _channel_mask_shape("dropout1d", input, 1),
                   generator)


def dropout2d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero whole channels of an (N, C, H, W) or (C, H, W) input with probability ``p``. Same as
    torch.nn.functional.dropout2d, including its reading of a 3-D input: as (N, C, L), with a
    warning (channel-wise 1-D dropout), for backward compatibility."""
    shape = _channel_mask_shape("dropout2d", input, 2)
    if input.ndim == 3:
        warnings.warn("dropout2d: received a 3-D input; as PyTorch, it is read as (N, C, L) "
                      "and whole (sample, channel) rows are dropped (use dropout1d for that, "
                      "or pass a 4-D (N, C, H, W) input)", UserWarning, stacklevel=2)
        shape = tuple(input.shape[:2]) + (1,)
    return _masked("dropout2d", input, p, training, shape, generator)
