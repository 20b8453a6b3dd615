"""``autograd_cnn.backends``: the switches scripts set for PyTorch's backends. Only the CPU
engine exists, so ``cudnn`` and ``mps`` say they are unavailable and their flags are plain
attributes with no effect; the engine's results are deterministic already (they do not depend
on thread counts), so ``use_deterministic_algorithms`` only records the wish."""
from . import cudnn, mps  # noqa: F401

__all__ = ["cudnn", "mps", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled"]

_deterministic = False


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Accepted for PyTorch scripts; every kernel of this engine is deterministic anyway."""
    global _deterministic
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms: mode must be a bool, got {mode!r}")
    _deterministic = mode


def are_deterministic_algorithms_enabled():
    return _deterministic
