"""LeNet-5 training throughput (images/s, batch 64, Adam) against a PyTorch twin of the same
model, optimizer and batch size, with 1 and 2 threads.

Run (not part of the test command)::

    python -m pytest benchmarks/bench_training.py --benchmark-only --benchmark-columns=median,ops

One benchmark round is one training step (zero_grad, forward, cross-entropy, backward, Adam step)
on a batch of 64 real MNIST images; images/s = 64 / median (stored in ``extra_info``).
NumPy's OpenBLAS (the engine's matmul) is limited to one thread, as the train command does: its
own spinning thread pool otherwise competes with the kernels' OpenMP threads.
"""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import datasets, nn
from autograd_cnn.backend import set_blas_threads
from autograd_cnn.models import LeNet5
from autograd_cnn.optim import Adam

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

BATCH = 64
ROUNDS = 40


def _batches(n=8):
    d = datasets.load("mnist5k")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(d))[: n * BATCH].reshape(n, BATCH)
    return [(d.x[i], d.y[i]) for i in idx]


def _torch_lenet5():
    """PyTorch twin of autograd_cnn.models.LeNet5 (same layers and parameter shapes)."""
    tnn = torch.nn
    return tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
        tnn.Linear(16 * 5 * 5, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(),
        tnn.Linear(84, 10))


def _report(benchmark):
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        benchmark.extra_info["images_per_second"] = BATCH / stats.stats.median


@pytest.mark.parametrize("threads", [1, 2])
def test_lenet5_train_step_autograd_cnn(benchmark, threads):
    benchmark.group = f"lenet5-train-batch{BATCH}-threads{threads}"
    old = ac.get_num_threads()
    ac.set_num_threads(threads)
    set_blas_threads(1)
    ac.manual_seed(0)
    model = LeNet5()
    model.train()
    opt = Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    batches = [(ac.tensor(x), ac.tensor(y)) for x, y in _batches()]
    state = {"i": 0}

    def step():
        xb, yb = batches[state["i"] % len(batches)]
        state["i"] += 1
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    try:
        benchmark.pedantic(step, rounds=ROUNDS, warmup_rounds=3)
    finally:
        ac.set_num_threads(old)
    _report(benchmark)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("threads", [1, 2])
def test_lenet5_train_step_torch(benchmark, threads):
    benchmark.group = f"lenet5-train-batch{BATCH}-threads{threads}"
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = _torch_lenet5()
    ours = [tuple(p.shape) for p in LeNet5().parameters()]
    assert ours == [tuple(p.shape) for p in model.parameters()], "twin differs from LeNet5"
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in _batches()]
    state = {"i": 0}

    def step():
        xb, yb = batches[state["i"] % len(batches)]
        state["i"] += 1
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()

    try:
        benchmark.pedantic(step, rounds=ROUNDS, warmup_rounds=3)
    finally:
        torch.set_num_threads(old)
    _report(benchmark)
