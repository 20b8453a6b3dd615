"""The global random number generator behind ``randn``, ``rand`` and weight initialisation.

One ``np.random.Generator`` (PCG64) serves the whole library, so ``manual_seed(s)`` makes every
random factory and every layer initialisation reproducible::

    autograd_cnn.manual_seed(0)
    a = autograd_cnn.randn(3)
    autograd_cnn.manual_seed(0)
    assert (autograd_cnn.randn(3).numpy() == a.numpy()).all()
"""
import numbers

import numpy as np

__all__ = ["manual_seed", "seed", "default_generator", "get_rng_state", "set_rng_state"]

_generator = np.random.default_rng()


def default_generator():
    """The global ``np.random.Generator`` (use it for anything random in the library)."""
    return _generator


def manual_seed(s):
    """Re-seed the global generator with integer ``s``; returns the generator."""
    global _generator
    if isinstance(s, bool) or not isinstance(s, numbers.Integral):
        raise TypeError(f"manual_seed: seed must be an int, got {type(s).__name__}")
    if s < 0:
        raise ValueError(f"manual_seed: seed must be non-negative, got {s}")
    _generator = np.random.default_rng(int(s))
    return _generator


def seed():
    """Seed the global generator from fresh OS entropy; returns the generator."""
    global _generator
    _generator = np.random.default_rng()
    return _generator


def get_rng_state():
    """The generator's state (a dict), to restore later with :func:`set_rng_state`."""
    return _generator.bit_generator.state


def set_rng_state(state):
    """Restore a state returned by :func:`get_rng_state`."""
    _generator.bit_generator.state = state
