"""Per-op Python overhead of the autograd engine, next to PyTorch when it is importable.

The workload is ``y = (a * b + a).sum(); y.backward()`` on 1-element and 1000-element float32
tensors: three recorded ops and a backward pass, so it measures apply() and the backward
loop rather than arithmetic. Run with::

    python -m pytest benchmarks/bench_overhead.py --benchmark-only
"""
import numpy as np
import pytest

from autograd_cnn import benchmarking as bm
from autograd_cnn.models.torch_twins import import_torch

torch = import_torch()

SIZES = [1, 1000]


def _forward_backward(lib, n):
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    b = lib.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)

    def step():
        y = (a * b + a).sum()
        y.backward()
        a.grad = None
        b.grad = None
    return step


def _forward_no_grad(lib, n):
    a, b = lib.tensor(np.ones(n, np.float32)), lib.tensor(np.ones(n, np.float32))

    def step():
        with lib.no_grad():
            return (a * b + a).sum()
    return step


@pytest.mark.parametrize("n", SIZES)
def test_forward_backward_autograd_cnn(benchmark, n):
    benchmark.group = f"overhead n={n}"
    benchmark(_forward_backward(bm.ours(), n))


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("n", SIZES)
def test_forward_backward_torch(benchmark, n):
    benchmark.group = f"overhead n={n}"
    torch.set_num_threads(1)
    benchmark(_forward_backward(bm.torch_library(), n))


@pytest.mark.parametrize("n", SIZES)
def test_forward_only_no_grad_autograd_cnn(benchmark, n):
    benchmark.group = f"forward no_grad n={n}"
    benchmark(_forward_no_grad(bm.ours(), n))


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("n", SIZES)
def test_forward_only_no_grad_torch(benchmark, n):
    benchmark.group = f"forward no_grad n={n}"
    benchmark(_forward_no_grad(bm.torch_library(), n))
