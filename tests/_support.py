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


def assert_array_and_tensor_backward_agree(fn, inputs, seed=3, second_order=True):
    """Each op's backward is written once and runs in two worlds (autograd/function.py): on
    plain ndarrays (create_graph=False) and on Tensors (create_graph=True). Both must give the
    same gradients -- and, with ``second_order``, so must the backward of the backward, which
    runs the adjoint ops in both worlds too."""
    import autograd_cnn as ac

    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    v = ac.tensor(rng.standard_normal(out.shape), dtype=out.dtype)
    on_arrays = ac.autograd.grad(out, inputs, v, retain_graph=True)
    on_tensors = ac.autograd.grad(out, inputs, v, create_graph=True)
    for a, t in zip(on_arrays, on_tensors):
        assert a.shape == t.shape and a.dtype == t.dtype
        np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)
    if not second_order:
        return
    firsts = [t for t in on_tensors if t.requires_grad]
    if not firsts:  # a linear op: its gradient does not depend on the inputs
        return
    ws = [ac.tensor(rng.standard_normal(t.shape), dtype=t.dtype) for t in firsts]
    s = sum((t * w).sum() for t, w in zip(firsts, ws))
    on_arrays = ac.autograd.grad(s, inputs, retain_graph=True, allow_unused=True)
    on_tensors = ac.autograd.grad(s, inputs, create_graph=True, allow_unused=True)
    for a, t in zip(on_arrays, on_tensors):
        assert (a is None) == (t is None)
        if a is not None:
            np.testing.assert_allclose(a.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)
