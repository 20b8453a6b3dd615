"""``Dropout``: in training, zero each element with probability ``p`` and scale the survivors by
1 / (1 - p) so the expected value is unchanged ("inverted dropout"); in eval(), the identity.
``Dropout1d`` / ``Dropout2d`` zero whole channels instead (see functional/dropout_ops.py).

The mask comes from a NumPy generator: ``autograd_cnn.random.default_generator()`` (seeded by
``autograd_cnn.manual_seed``) unless the layer is given its own ``generator``.
"""
import numpy as np

from ..functional.dropout_ops import check_probability, dropout, dropout1d, dropout2d
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "dropout"]


class Dropout(Module):
    """Randomly zero elements with probability ``p`` during training (see module docstring)."""

    def __init__(self, p=0.5, inplace=False, generator=None):
        super().__init__()
        p = check_probability(p, type(self).__name__)
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"{type(self).__name__}: generator must be a "
                            f"numpy.random.Generator or None, got {type(generator).__name__}")
        self.p = float(p)
        self.inplace = inplace
        self.generator = generator

    def forward(self, x):
        return dropout(x, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(Dropout):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p`` in training."""

    def forward(self, x):
        return dropout1d(x, self.p, self.training, generator=self.generator)


class Dropout2d(Dropout):
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs with probability ``p`` in
    training."""

    def forward(self, x):
        return dropout2d(x, self.p, self.training, generator=self.generator)
