"""``autograd_cnn.backends``: the switches scripts set for PyTorch's backends. Only the CPU
engine exists, so ``cudnn`` and ``mps`` say they are unavailable and their flags are plain
attributes with no effect; the engine's results are deterministic already (they do not depend
on thread counts), so ``use_deterministic_algorithms`` only records the wish."""
from . import cudnn, mps  # noqa: F401

__all__ = ["cudnn", "mps", "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
           "set_float32_matmul_precision", "get_float32_matmul_precision"]

_deterministic = False
_matmul_precision = "highest"


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Accepted for PyTorch scripts; every kernel of this engine is deterministic anyway."""
    global _deterministic
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms: mode must be a bool, got {mode!r}")
    _deterministic = mode


def are_deterministic_algorithms_enabled():
    return _deterministic


def set_float32_matmul_precision(precision):
    """Accepted for PyTorch scripts ("highest", "high" or "medium"); float32 products here are
    always computed in float32 (what PyTorch calls "highest")."""
    global _matmul_precision
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"set_float32_matmul_precision: precision must be 'highest', 'high' "
                           f"or 'medium', got {precision!r}")
    _matmul_precision = precision


def get_float32_matmul_precision():
    """What ``set_float32_matmul_precision`` was last given ("highest" by default)."""
    return _matmul_precision
