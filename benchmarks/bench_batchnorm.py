"""Batch norm speed (ops/channel.py on csrc/channel) next to PyTorch's (same benchmark group) when
it is importable, and next to the NumPy formulation batch norm had before (the twin that runs
without PyTorch: mean, centre, variance, scale and shift as separate NumPy passes, and the
closed-form backward).

Cases: ``64x16x16`` (N, C, H, W) = (64, 64, 16, 16), the target of issue 13, and ``1d`` (256, 32,
40), the conv1d net's layer; float32. Modes: ``train`` (forward and backward through autograd, batch
statistics) and ``eval`` (forward with the running statistics, grad mode off). Both libraries run
with their default thread counts, or both with BN_BENCH_THREADS threads. Run with::

    python -m pytest benchmarks/bench_batchnorm.py --benchmark-only --benchmark-columns=median,iqr
    BN_BENCH_THREADS=1 python -m pytest benchmarks/bench_batchnorm.py --benchmark-only

"""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import benchmarking as bm
from autograd_cnn.models.torch_twins import import_torch

torch = import_torch()

CASES = {"64x16x16": (64, 64, 16, 16), "1d": (256, 32, 40)}
MODES = ["train", "eval"]
THREADS = bm.threads_from_env("BN_BENCH_THREADS", torch)


def _layer(lib, shape):
    nn = lib.module.nn
    return (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1])


def _step(lib, shape, mode):
    layer = _layer(lib, shape)
    x = lib.tensor(bm.normal(shape), requires_grad=(mode == "train"))
    g = lib.tensor(bm.normal(shape, 1))
    if mode == "eval":
        layer.eval()

        def step():
            with lib.no_grad():
                return layer(x)
        return step

    def step():
        x.grad = None
        layer(x).backward(g)

    return step


def _run(benchmark, case, mode, lib, threads):
    benchmark.group = f"batchnorm {case} {mode}"
    benchmark(_step(lib, CASES[case], mode))
    benchmark.extra_info["threads"] = threads
    bm.record_rate(benchmark, "Melem/s", np.prod(CASES[case]) / 1e6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_batchnorm_autograd_cnn(benchmark, case, mode):
    _run(benchmark, case, mode, bm.ours(), ac.get_num_threads())


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_batchnorm_torch(benchmark, case, mode):
    _run(benchmark, case, mode, bm.torch_library(), torch.get_num_threads())


@pytest.mark.parametrize("case", list(CASES))
def test_batchnorm_numpy(benchmark, case):
    """The NumPy twin of the train mode: the passes batch norm was built from before."""
    shape = CASES[case]
    x, g = bm.normal(shape), bm.normal(shape, 1)
    axes = (0,) + tuple(range(2, len(shape)))
    v = (1, -1) + (1,) * (len(shape) - 2)
    gamma, beta = np.ones(shape[1], np.float32).reshape(v), np.zeros(shape[1], np.float32).reshape(v)

    def step():
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        inv = (centred * centred).mean(axis=axes, keepdims=True) + np.float32(1e-5)
        inv = 1 / np.sqrt(inv)
        _ = centred * (inv * gamma) + beta
        xhat = centred * inv
        m = x.size // shape[1]
        return (inv * gamma / m) * (m * g - g.sum(axis=axes, keepdims=True)
                                    - xhat * (g * xhat).sum(axis=axes, keepdims=True))

    benchmark.group = f"batchnorm {case} train"
    benchmark(step)
    bm.record_rate(benchmark, "Melem/s", np.prod(shape) / 1e6)
