"""ReLU speed (csrc/activation) next to PyTorch (same benchmark group) when it is importable, and
next to the NumPy expressions it replaced (np.maximum for the forward, np.where for the backward).

Cases: LeNet-5's first activation (64, 6, 28, 28) and a large one (8, 64, 112, 112), float32.
Modes: ``forward`` (grad mode off), ``forward+backward`` (through autograd) and ``numpy`` (our
forward and backward on arrays vs np.maximum + x > 0 + np.where: the NumPy twin, which runs without
PyTorch). Each result carries ``extra_info['GB/s']``: bytes read and written per second (forward:
x read, y and the one-byte mask written; backward adds g and the mask read, dx written). Both
libraries run with their default thread counts, or both with ACT_BENCH_THREADS threads. Run with::

    python -m pytest benchmarks/bench_activation.py --benchmark-only --benchmark-columns=median,iqr
    ACT_BENCH_THREADS=1 python -m pytest benchmarks/bench_activation.py --benchmark-only

"""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import benchmarking as bm
from autograd_cnn.models.torch_twins import import_torch
from autograd_cnn.ops.activation import _relu_grad_np, _relu_np

torch = import_torch()

CASES = {"lenet": (64, 6, 28, 28), "112": (8, 64, 112, 112)}
MODES = ["forward", "forward+backward"]
THREADS = bm.threads_from_env("ACT_BENCH_THREADS", torch)
_data = bm.normal


def _bytes(shape, mode):
    n = int(np.prod(shape))
    fwd = 4 * n + 4 * n + n  # x read, y and mask written
    return fwd if mode == "forward" else fwd + 4 * n + n + 4 * n


def _run(benchmark, group, step, shape, mode, threads):
    benchmark.group = group
    benchmark(step)
    benchmark.extra_info["threads"] = threads
    bm.record_rate(benchmark, "GB/s", _bytes(shape, mode) / 1e9)


def _autograd_step(lib, shape, mode):
    """ReLU through `lib`'s autograd: forward with grad mode off, or forward and backward."""
    x = lib.tensor(_data(shape), requires_grad=(mode != "forward"))
    g = lib.tensor(_data(shape, 1))

    def step():
        if mode == "forward":
            with lib.no_grad():
                return x.relu()
        x.grad = None
        x.relu().backward(g)

    return step


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_relu_autograd_cnn(benchmark, case, mode):
    shape = CASES[case]
    _run(benchmark, f"relu {case} {mode}", _autograd_step(bm.ours(), shape, mode), shape, mode,
         ac.get_num_threads())


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_relu_torch(benchmark, case, mode):
    shape = CASES[case]
    _run(benchmark, f"relu {case} {mode}", _autograd_step(bm.torch_library(), shape, mode), shape,
         mode, torch.get_num_threads())


@pytest.mark.parametrize("impl", ["kernel", "numpy"])
@pytest.mark.parametrize("case", list(CASES))
def test_relu_arrays(benchmark, case, impl):
    """Forward and backward on arrays: the compiled kernels against the NumPy they replaced."""
    shape = CASES[case]
    x, g = _data(shape), _data(shape, 1)

    if impl == "kernel":
        def step():
            _, pos = _relu_np(x)
            return _relu_grad_np(pos, g)
    else:
        def step():
            np.maximum(x, 0)
            return np.where(x > 0, g, 0)

    _run(benchmark, f"relu {case} arrays", step, shape, "forward+backward", ac.get_num_threads())
