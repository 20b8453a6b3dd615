"""Whole networks as people train them, each next to its PyTorch twin holding the same weights
(same benchmark group): the training step (zero_grad, forward, cross-entropy, backward, SGD with
momentum) on the network's training batch, the eval-mode forward on a batch of 64, and the
batch-1 latency, with 1 and 2 threads (NETWORKS_BENCH_THREADS=n: that count alone).

    python -m pytest benchmarks/bench_networks.py --benchmark-only --benchmark-columns=median,ops

The networks, phases and twins are autograd_cnn/benchmarking.py's NETWORK_CASES, the ones that
``python -m autograd_cnn bench --networks`` times (which also reports the peak memory of a step).
Each result carries ``extra_info['images_per_second']``.
"""
import os

import numpy as np
import pytest

from autograd_cnn import benchmarking as bm

torch_lib = bm.torch_library()
THREADS = [int(os.environ["NETWORKS_BENCH_THREADS"])] if os.environ.get(
    "NETWORKS_BENCH_THREADS") else [1, 2]
IMPLS = ["autograd_cnn"] + (["torch"] if torch_lib is not None else [])


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("phase", bm.NETWORK_PHASES)
@pytest.mark.parametrize("case", bm.NETWORK_CASES, ids=lambda c: c.name)
def test_network(benchmark, case, phase, threads, impl):
    lib = bm.ours() if impl == "autograd_cnn" else torch_lib
    torch = torch_lib.module if impl == "torch" else None
    with bm.thread_count(threads, torch):
        model, twin = case.pair(np.float32, with_twin=impl == "torch")
        n = case.batch_size(phase)
        x, y = case.batch(n, np.float32, np.random.default_rng(0))
        step = bm.network_step(lib, twin if impl == "torch" else model, phase, x, y)
        step()  # warm-up: first-call allocations and caches
        benchmark.group = f"{case.name}-{phase}-{threads}t"
        benchmark.extra_info.update(network=case.name, phase=phase, threads=threads, impl=impl)
        benchmark(step)
        bm.record_rate(benchmark, "images_per_second", n)
