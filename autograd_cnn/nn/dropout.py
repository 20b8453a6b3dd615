"""``Dropout``: in training, zero each element with probability ``p`` and scale the survivors by
1 / (1 - p) so the expected value is unchanged ("inverted dropout"); in eval(), the identity.

The mask comes from a NumPy generator: ``autograd_cnn.random.default_generator()`` (seeded by
``autograd_cnn.manual_seed``) unless the layer is given its own ``generator``.
"""
import numbers

import numpy as np

from .. import random as _random
from ..tensor import Tensor
from .module import Module

__all__ = ["Dropout", "dropout"]


def dropout(input, p=0.5, training=True, generator=None):
    """Functional dropout (see the module docstring)."""
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be a probability in [0, 1], got {p!r}")
    if not training or p == 0.0:
        return input
    if generator is None:
        generator = _random.default_generator()
    dtype = input.dtype
    if p == 1.0:
        mask = np.zeros(input.shape, dtype=dtype)
    else:
        keep = generator.random(input.shape) >= p
        mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return input * Tensor(mask)


class Dropout(Module):
    """Randomly zero elements with probability ``p`` during training (see module docstring)."""

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"Dropout: generator must be a numpy.random.Generator or None, got "
                            f"{type(generator).__name__}")
        self.p = float(p)
        self.inplace = inplace
        self.generator = generator

    def forward(self, x):
        return dropout(x, self.p, self.training, self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"
