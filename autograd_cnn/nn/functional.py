"""``autograd_cnn.nn.functional``: PyTorch's ``torch.nn.functional`` path, so that
``import autograd_cnn.nn.functional as F`` works in ported scripts.

The functions live in :mod:`autograd_cnn.functional` (activations, convolution, pooling, losses,
normalization, padding, dropout, pixel shuffle, one_hot) and in the layer files (``linear``,
``batch_norm``, ``instance_norm``); this module only gathers them under PyTorch's name (one implementation each).
"""
from .. import functional as _functional
from ..functional import *  # noqa: F401,F403
from .batchnorm import batch_norm
from .instancenorm import instance_norm
from .linear import linear

__all__ = sorted({name for name in dir(_functional)
                  if not name.startswith("_") and callable(getattr(_functional, name))
                  and not isinstance(getattr(_functional, name), type(_functional))}
                 | {"batch_norm", "instance_norm", "linear"})
