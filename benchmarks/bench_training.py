"""LeNet-5 training throughput (images/s, batch 64, Adam) against a PyTorch twin of the same
model, optimizer and batch size, with 1 and 2 threads.

Run (not part of the test command)::

    python -m pytest benchmarks/bench_training.py --benchmark-only --benchmark-columns=median,ops

One benchmark round is one training step (zero_grad, forward, cross-entropy, backward, Adam step)
on a batch of 64 real MNIST images; images/s = 64 / median (stored in ``extra_info``). The step,
the thread setup and the PyTorch twin (autograd_cnn/models/torch_twins.py) are the ones the
``bench`` command uses.
NumPy's OpenBLAS (the engine's matmul) is limited to one thread, as the train command does: its
own spinning thread pool otherwise competes with the kernels' OpenMP threads.
"""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import benchmarking as bm
from autograd_cnn import datasets, nn
from autograd_cnn.models import LeNet5, torch_twins
from autograd_cnn.optim import Adam

torch = torch_twins.import_torch()

BATCH = 64
ROUNDS = 40


def _batches(n=8):
    d = datasets.load("mnist5k")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(d))[: n * BATCH].reshape(n, BATCH)
    return [(d.x[i], d.y[i]) for i in idx]


def _run(benchmark, threads, model, optimizer, loss_fn, batches):
    benchmark.group = f"lenet5-train-batch{BATCH}-threads{threads}"
    model.train()
    benchmark.pedantic(bm.train_step(model, optimizer, loss_fn, batches), rounds=ROUNDS,
                       warmup_rounds=3)
    bm.record_rate(benchmark, "images_per_second", BATCH)


@pytest.mark.parametrize("threads", [1, 2])
def test_lenet5_train_step_autograd_cnn(benchmark, threads):
    with bm.thread_count(threads):
        ac.manual_seed(0)
        model = LeNet5()
        batches = [(ac.tensor(x), ac.tensor(y)) for x, y in _batches()]
        _run(benchmark, threads, model, Adam(model.parameters(), lr=1e-3),
             nn.CrossEntropyLoss(), batches)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("threads", [1, 2])
def test_lenet5_train_step_torch(benchmark, threads):
    with bm.thread_count(threads, torch):
        torch.manual_seed(0)
        model = torch_twins.lenet5()
        ours = [tuple(p.shape) for p in LeNet5().parameters()]
        assert ours == [tuple(p.shape) for p in model.parameters()], "twin differs from LeNet5"
        batches = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in _batches()]
        _run(benchmark, threads, model, torch.optim.Adam(model.parameters(), lr=1e-3),
             torch.nn.CrossEntropyLoss(), batches)
