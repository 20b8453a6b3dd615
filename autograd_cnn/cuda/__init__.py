"""``autograd_cnn.cuda``: there is no GPU here. The queries scripts make before choosing a device
answer as PyTorch does on a machine without one; seeding and synchronising are no-ops; anything
that needs a GPU raises."""

from . import amp  # torch.cuda.amp: disabled, there is no GPU

__all__ = ["amp", "is_available", "device_count", "is_initialized", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "synchronize", "empty_cache", "current_device",
           "get_device_name"]


def is_available():
    """False: autograd_cnn runs on CPUs."""
    return False


def device_count():
    return 0


def is_initialized():
    return False


def manual_seed(seed):
    """No GPU generator to seed (as in PyTorch without CUDA: silently ignored)."""


manual_seed_all = manual_seed


def seed():
    pass


seed_all = seed


def synchronize(device=None):
    pass


def empty_cache():
    pass


def _no_gpu(what):
    raise RuntimeError(f"autograd_cnn.cuda.{what}(): there is no CUDA device; autograd_cnn runs "
                       "on CPUs only")


def current_device():
    _no_gpu("current_device")


def get_device_name(device=None):
    _no_gpu("get_device_name")
