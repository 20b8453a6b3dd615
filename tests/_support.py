"""Shared test helpers: the optional PyTorch twin and tolerances."""
import numpy as np
import pytest

try:  # the comparisons with PyTorch run where it is installed and skip elsewhere
    import torch
except ImportError:  # pragma: no cover - depends on the environment
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

# rtol by dtype for comparing our results with a reference computed differently
RTOL = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}


@pytest.fixture
def restore_backend():
    """Puts the instruction-set path and thread count back after a test that changes them."""
    import autograd_cnn as ac

    isa, threads = ac.get_isa(), ac.get_num_threads()
    yield
    ac.set_isa(isa)
    ac.set_num_threads(threads)
