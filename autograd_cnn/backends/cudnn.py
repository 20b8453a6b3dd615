"""``autograd_cnn.backends.cudnn``: no cuDNN here; ``deterministic``, ``benchmark``, ``enabled``
may be set (scripts do) and change nothing."""

deterministic = False
benchmark = False
enabled = True
allow_tf32 = True


def is_available():
    return False


def version():
    return None
