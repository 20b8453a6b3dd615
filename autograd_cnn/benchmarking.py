"""What the ``bench`` command (autograd_cnn/bench.py) and the benchmark suites (benchmarks/) share:
the benchmark problems, their inputs and work counts, one timer, the thread setup of both
libraries, per-phase timing of a function in either library, and one training step.

PyTorch is optional and imported only when asked for (``torch_library()``, the twins in
autograd_cnn/models/torch_twins.py); ``import autograd_cnn`` does not load this module.
"""
import contextlib
import itertools
import os
import statistics
import time

import numpy as np

import autograd_cnn as acnn
from ._geometry import window_output_size
from .models.torch_twins import import_torch

__all__ = ["ConvCase", "PoolCase", "TrainCase", "CONV_CASES", "POOL_CASES", "CASES", "normal",
           "Timing", "time_ms", "thread_count", "threads_from_env", "Library", "ours",
           "torch_library", "time_phase", "train_step", "record_rate"]


# ---------------------------------------------------------------------------------------------
# the problems


class ConvCase:
    """A convolution problem: batch ``n``, ``c_in`` -> ``c_out`` channels, a square (or, with
    ``dims=1``, linear) input of ``size`` and kernel of ``k``, and PyTorch's keyword arguments."""

    def __init__(self, name, description, n, c_in, c_out, size, k, dims=2, stride=1, padding=0,
                 dilation=1):
        self.name, self.description, self.kind = name, description, "conv%dd" % dims
        self.n, self.c_in, self.c_out, self.size, self.k, self.dims = n, c_in, c_out, size, k, dims
        self.kwargs = dict(stride=stride, padding=padding, dilation=dilation)
        self.out_size = window_output_size(size, k, stride, padding, padding, dilation)

    @property
    def output_shape(self):
        return (self.n, self.c_out) + (self.out_size,) * self.dims

    def flops(self):
        """2 * N * C_out * out_pixels * C_in * prod(kernel): one multiply-add per weight tap per
        output (each backward phase counts the same)."""
        return (2 * self.n * self.c_out * self.out_size ** self.dims * self.c_in
                * self.k ** self.dims)

    def arrays(self, dtype, rng):
        """Input, weight (scaled by 1 / sqrt(fan-in)) and bias drawn from ``rng``, in that order."""
        x = rng.standard_normal((self.n, self.c_in) + (self.size,) * self.dims).astype(dtype)
        w = (rng.standard_normal((self.c_out, self.c_in) + (self.k,) * self.dims)
             / np.sqrt(self.c_in * self.k ** self.dims)).astype(dtype)
        b = rng.standard_normal(self.c_out).astype(dtype)
        return x, w, b


class PoolCase:
    """A 2-D pooling problem: ``kind`` ('max_pool2d' or 'avg_pool2d') over (n, c, size, size)."""

    def __init__(self, name, description, kind, n, c, size, k, stride, padding=0):
        self.name, self.description, self.kind = name, description, kind
        self.input_shape = (n, c, size, size)
        self.kwargs = dict(kernel_size=k, stride=stride, padding=padding)
        out = window_output_size(size, k, stride, padding, padding)
        self.output_shape = (n, c, out, out)

    def bytes_moved(self, itemsize):
        """Bytes one phase moves: forward reads the input and writes the output; backward reads
        the output gradient and writes the input gradient (the same count)."""
        return (int(np.prod(self.input_shape)) + int(np.prod(self.output_shape))) * itemsize


class TrainCase:
    """A LeNet-5 training step on a batch of ``n`` 1x28x28 images."""

    def __init__(self, name, description, n):
        self.name, self.description, self.kind, self.n = name, description, "train", n


CONV_CASES = [
    ConvCase("conv3x3_64_56", "conv2d 3x3 64->64 56x56 N=8 pad 1", 8, 64, 64, 56, 3, padding=1),
    ConvCase("conv3x3s2_64to128_56", "conv2d 3x3 stride 2 64->128 56x56 N=8 pad 1", 8, 64, 128,
             56, 3, stride=2, padding=1),
    ConvCase("conv3x3d2_64_56", "conv2d 3x3 dilation 2 64->64 56x56 N=8 pad 2", 8, 64, 64, 56, 3,
             dilation=2, padding=2),
    ConvCase("lenet_conv1", "conv2d 5x5 1->6 32x32 N=64 (LeNet-5 conv1)", 64, 1, 6, 32, 5),
    ConvCase("lenet_conv2", "conv2d 5x5 6->16 14x14 N=64 (LeNet-5 conv2)", 64, 6, 16, 14, 5),
    ConvCase("alexnet_conv1", "conv2d 11x11 stride 4 3->64 224x224 N=8 pad 2", 8, 3, 64, 224, 11,
             stride=4, padding=2),
    ConvCase("conv1d_k7", "conv1d K=7 16->32 L=1024 N=32 pad 3", 32, 16, 32, 1024, 7, dims=1,
             padding=3),
    ConvCase("conv1d_k7d4", "conv1d K=7 dilation 4 16->32 L=1024 N=32 pad 12", 32, 16, 32, 1024,
             7, dims=1, dilation=4, padding=12),
]
POOL_CASES = [
    PoolCase("maxpool2x2_lenet", "max_pool2d 2x2 s2 N=64 C=6 28x28", "max_pool2d", 64, 6, 28, 2,
             2),
    PoolCase("avgpool2x2_lenet", "avg_pool2d 2x2 s2 N=64 C=6 28x28", "avg_pool2d", 64, 6, 28, 2,
             2),
    PoolCase("maxpool2x2_112", "max_pool2d 2x2 s2 N=8 C=64 112x112", "max_pool2d", 8, 64, 112, 2,
             2),
    PoolCase("avgpool2x2_112", "avg_pool2d 2x2 s2 N=8 C=64 112x112", "avg_pool2d", 8, 64, 112, 2,
             2),
    PoolCase("maxpool3x3s2_112", "max_pool2d 3x3 s2 pad 1 N=8 C=64 112x112", "max_pool2d", 8, 64,
             112, 3, 2, 1),
    PoolCase("maxpool2x2_big", "max_pool2d 2x2 s2 N=32 C=64 112x112 (beyond cache)",
             "max_pool2d", 32, 64, 112, 2, 2),
    PoolCase("avgpool2x2_big", "avg_pool2d 2x2 s2 N=32 C=64 112x112 (beyond cache)",
             "avg_pool2d", 32, 64, 112, 2, 2),
]
CASES = CONV_CASES + POOL_CASES + [
    TrainCase("lenet5_train", "LeNet-5 training step (forward, cross-entropy, backward, SGD) "
              "N=64 1x28x28", 64)]


def normal(shape, seed=0, dtype=np.float32):
    """Standard-normal test data of ``shape`` from a fresh generator seeded with ``seed``."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------------------------------
# timing and threads


class Timing:
    """How to time: `repeat` timed calls after one warm-up, summarised by `stat` ('median', the
    default, or 'min', the best call: less sensitive to other processes on a shared machine)."""

    def __init__(self, repeat=5, stat="median"):
        self.repeat, self.stat = repeat, stat


def time_ms(setup, run, timing):
    """run(setup()) timed `timing.repeat` times after one untimed warm-up; the median (or min) in
    milliseconds. Only run() is inside the timed region."""
    run(setup())
    times = []
    for _ in range(timing.repeat):
        state = setup()
        t0 = time.perf_counter()
        run(state)
        times.append(time.perf_counter() - t0)
    best = min(times) if timing.stat == "min" else statistics.median(times)
    return best * 1e3


@contextlib.contextmanager
def thread_count(threads, torch=None, blas=None):
    """Inside the block our kernels run on `threads` threads, NumPy's OpenBLAS (our matmul) on
    `blas` (default: the same count) and PyTorch, when the `torch` module is given, on `threads`;
    the previous counts come back afterwards."""
    saved = acnn.get_num_threads(), acnn.backend.get_blas_threads()
    saved_torch = torch.get_num_threads() if torch is not None else None
    acnn.set_num_threads(threads)
    acnn.backend.set_blas_threads(blas or threads)
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        acnn.set_num_threads(saved[0])
        if saved[1] is not None:
            acnn.backend.set_blas_threads(saved[1])
        if torch is not None:
            torch.set_num_threads(saved_torch)


def threads_from_env(variable, torch=None):
    """The thread count in environment variable `variable` (None when unset or 0). When set, our
    kernels and PyTorch (when given) run on that many threads for the rest of the process."""
    threads = int(os.environ.get(variable, "0")) or None
    if threads:
        acnn.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
    return threads


def record_rate(benchmark, key, work):
    """Store work per second of a pytest-benchmark run (work / median time) in
    ``benchmark.extra_info[key]``; nothing under ``--benchmark-disable`` (no timings)."""
    if benchmark.stats is not None:
        benchmark.extra_info[key] = round(float(work) / benchmark.stats.stats.median, 2)


# ---------------------------------------------------------------------------------------------
# one function of either library, phase by phase


class Library:
    """What the timers need from a library, autograd_cnn or PyTorch (the same API): its module,
    its functional module, and a tensor made from a NumPy array."""

    def __init__(self, name, module, functional, from_numpy):
        self.name, self.module, self.functional, self._from_numpy = (
            name, module, functional, from_numpy)

    def tensor(self, array, requires_grad=False):
        return self._from_numpy(array, requires_grad)

    def no_grad(self):
        return self.module.no_grad()


def ours():
    return Library("autograd_cnn", acnn, acnn.functional,
                   lambda a, rg: acnn.tensor(a, requires_grad=rg))


def torch_library():
    """PyTorch as a Library, or None when it is not installed."""
    torch = import_torch()
    if torch is None:
        return None
    import torch.nn.functional

    return Library("torch", torch, torch.nn.functional,
                   lambda a, rg: torch.from_numpy(a).requires_grad_(rg))


def time_phase(lib, fname, arrays, kwargs, grad_of, g_np, timing):
    """Milliseconds of one phase of ``lib.functional.<fname>(*arrays, **kwargs)``. grad_of None:
    the call with grad mode off; otherwise the index of the argument in `arrays` that requires
    grad, and only y.backward(g) is timed (the forward runs untimed before each call)."""
    fn = getattr(lib.functional, fname)
    if grad_of is None:
        args = [lib.tensor(a) for a in arrays]

        def run(_):
            with lib.no_grad():
                fn(*args, **kwargs)

        return time_ms(lambda: None, run, timing)
    g = lib.tensor(g_np)

    def setup():
        args = [lib.tensor(a, i == grad_of) for i, a in enumerate(arrays)]
        return fn(*args, **kwargs)

    return time_ms(setup, lambda y: y.backward(g), timing)


def train_step(model, optimizer, loss_fn, batches):
    """A function running one training step per call (zero_grad, forward, loss, backward,
    optimizer step) on the next of `batches` ((input, target) pairs, in turn). Our models and
    their PyTorch twins have the same API, so one step serves both."""
    batch = itertools.cycle(batches)

    def step():
        x, y = next(batch)
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

    return step
