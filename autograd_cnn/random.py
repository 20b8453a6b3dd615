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

from ._device import check_device

__all__ = ["manual_seed", "seed", "default_generator", "get_rng_state", "set_rng_state",
           "Generator"]

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


class Generator(np.random.Generator):
    """PyTorch's ``torch.Generator`` for scripts that make their own: a ``np.random.Generator``
    (PCG64), so it goes wherever one is taken (``DataLoader(generator=)``, ``random_split``,
    ``randn(generator=)``), with ``manual_seed(s)`` (reseeds in place, returns the generator),
    ``seed()``, ``initial_seed()``, ``get_state()`` / ``set_state()`` and ``device``. The same
    seed gives NumPy's stream, not PyTorch's."""

    def __init__(self, device="cpu"):
        check_device(device, "Generator")
        self._initial = int(np.random.SeedSequence().entropy % 2 ** 63)
        super().__init__(np.random.PCG64(self._initial))

    def manual_seed(self, seed):  # noqa: D102
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise TypeError(f"Generator.manual_seed: seed must be a non-negative int, got {seed!r}")
        self._initial = int(seed)
        self.bit_generator.state = np.random.PCG64(self._initial).state
        return self

    def seed(self):
        """Reseed from fresh OS entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % 2 ** 63))
        return self._initial

    def initial_seed(self):
        return self._initial

    def get_state(self):
        return self.bit_generator.state

    def set_state(self, state):
        self.bit_generator.state = state
        return self

    @property
    def device(self):
        return check_device("cpu", "Generator")
