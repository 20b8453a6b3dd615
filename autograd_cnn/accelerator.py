"""``autograd_cnn.accelerator``: no accelerator here (PyTorch's answers on a CPU-only machine)."""

__all__ = ["is_available", "device_count", "current_accelerator"]


def is_available():
    """False: autograd_cnn runs on CPUs."""
    return False


def device_count():
    return 0


def current_accelerator(check_available=False):
    """None: there is no accelerator."""
    return None
