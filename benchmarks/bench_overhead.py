"""Per-op Python overhead of the autograd engine, next to PyTorch when it is importable.

The workload is ``y = (a * b + a).sum(); y.backward()`` on 1-element and 1000-element float32
tensors: three recorded ops and a backward pass, so it measures apply() and the backward
loop rather than arithmetic. Run with::

    python -m pytest benchmarks/bench_overhead.py --benchmark-only
"""
import numpy as np
import pytest

import autograd_cnn as ac

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

SIZES = [1, 1000]


def _ours(n):
    rng = np.random.default_rng(0)
    a = ac.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    b = ac.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)

    def step():
        y = (a * b + a).sum()
        y.backward()
        a.grad = None
        b.grad = None
    return step


def _torch(n):
    rng = np.random.default_rng(0)
    a = torch.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)
    b = torch.tensor(rng.standard_normal(n).astype(np.float32), requires_grad=True)

    def step():
        y = (a * b + a).sum()
        y.backward()
        a.grad = None
        b.grad = None
    return step


@pytest.mark.parametrize("n", SIZES)
def test_forward_backward_autograd_cnn(benchmark, n):
    benchmark.group = f"overhead n={n}"
    benchmark(_ours(n))


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("n", SIZES)
def test_forward_backward_torch(benchmark, n):
    benchmark.group = f"overhead n={n}"
    torch.set_num_threads(1)
    benchmark(_torch(n))


@pytest.mark.parametrize("n", SIZES)
def test_forward_only_no_grad_autograd_cnn(benchmark, n):
    benchmark.group = f"forward no_grad n={n}"
    a, b = ac.ones(n), ac.ones(n)

    def step():
        with ac.no_grad():
            return (a * b + a).sum()
    benchmark(step)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("n", SIZES)
def test_forward_only_no_grad_torch(benchmark, n):
    benchmark.group = f"forward no_grad n={n}"
    a, b = torch.ones(n), torch.ones(n)

    def step():
        with torch.no_grad():
            return (a * b + a).sum()
    benchmark(step)
