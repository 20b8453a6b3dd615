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
import subprocess
import sys
import time

import numpy as np

import autograd_cnn as acnn
from ._geometry import window_output_size
from . import models
from .models import torch_twins
from .models.torch_twins import import_torch

__all__ = ["ConvCase", "PoolCase", "TrainCase", "NetworkCase", "CONV_CASES", "POOL_CASES", "CASES",
           "NETWORK_CASES", "NETWORK_PHASES", "normal", "Timing", "time_ms", "thread_count",
           "threads_from_env", "Library", "ours", "torch_library", "time_phase", "train_step",
           "network_step", "peak_memory_growth", "step_memory", "held_peak_memory",
           "record_rate"]


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
] + [
    # the distinct layer shapes of NETWORK_CASES' CIFAR networks (ResNet-20, the small VGG) at
    # their training batch: narrow images, many channels, 1x1 and stride-2 1x1 shortcuts
    ConvCase("cifar_%s" % name, "conv2d %s N=64 (%s)" % (text, where), 64, c_in, c_out, size, k,
             stride=stride, padding=k // 2)
    for name, text, where, c_in, c_out, size, k, stride in [
        ("3x3_3to32_32", "3x3 3->32 32x32 pad 1", "VGG conv1", 3, 32, 32, 3, 1),
        ("3x3_16_32", "3x3 16->16 32x32 pad 1", "ResNet-20 stage 1", 16, 16, 32, 3, 1),
        ("3x3_32_32", "3x3 32->32 32x32 pad 1", "VGG conv2", 32, 32, 32, 3, 1),
        ("3x3s2_16to32_32", "3x3 stride 2 16->32 32x32 pad 1", "ResNet-20 stage 2 entry", 16,
         32, 32, 3, 2),
        ("1x1s2_16to32_32", "1x1 stride 2 16->32 32x32", "ResNet-20 shortcut", 16, 32, 32, 1, 2),
        ("3x3_32to64_16", "3x3 32->64 16x16 pad 1", "VGG conv3", 32, 64, 16, 3, 1),
        ("3x3_64_16", "3x3 64->64 16x16 pad 1", "VGG conv4", 64, 64, 16, 3, 1),
        ("1x1s2_32to64_16", "1x1 stride 2 32->64 16x16", "ResNet-20 shortcut", 32, 64, 16, 1, 2),
        ("3x3_64_8", "3x3 64->64 8x8 pad 1", "ResNet-20 stage 3", 64, 64, 8, 3, 1),
        ("3x3_128_8", "3x3 128->128 8x8 pad 1", "VGG conv6", 128, 128, 8, 3, 1),
        ("3x3_256_8", "3x3 256->256 8x8 pad 1", "a wider VGG", 256, 256, 8, 3, 1),
        ("1x1_128to256_8", "1x1 128->256 8x8", "a 1x1 projection", 128, 256, 8, 1, 1),
    ]
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


class NetworkCase:
    """A whole network as people train it: our model (a callable taking ``dtype``), its PyTorch
    twin (autograd_cnn/models/torch_twins.py), one sample's shape and the training batch size."""

    def __init__(self, name, description, model, twin, sample_shape, train_batch=64,
                 num_classes=10):
        self.name, self.description, self.kind = name, description, "network"
        self.model, self.twin, self.sample_shape = model, twin, tuple(sample_shape)
        self.train_batch, self.num_classes = train_batch, num_classes

    def batch_size(self, phase):
        return {"train_step": self.train_batch, "eval_forward": 64, "latency": 1}[phase]

    def pair(self, dtype, with_twin):
        """Our model with fresh weights, and (``with_twin``) its twin holding the same weights."""
        model = self.model(dtype=dtype)
        twin = torch_twins.copy_state(model.state_dict(), self.twin()) if with_twin else None
        return model, twin

    def batch(self, n, dtype, rng):
        """Random inputs (n, *sample_shape) and integer class labels."""
        x = rng.standard_normal((n,) + self.sample_shape).astype(dtype)
        return x, rng.integers(0, self.num_classes, n)


#: train_step: zero_grad, forward, cross-entropy, backward, SGD with momentum, timed together;
#: eval_forward: the model in eval mode with grad mode off on a batch of 64; latency: the same on
#: one sample.
NETWORK_PHASES = ("train_step", "eval_forward", "latency")

NETWORK_CASES = [
    NetworkCase("lenet5", "LeNet-5 on 1x28x28 (MNIST), train batch 64", models.LeNet5,
                torch_twins.lenet5, (1, 28, 28)),
    NetworkCase("resnet20", "ResNet-20 (BasicBlocks, BN, 1x1 stride-2 shortcuts) on 3x32x32, "
                "train batch 64", lambda dtype: models.CifarResNet(20, dtype=dtype),
                torch_twins.cifar_resnet, (3, 32, 32)),
    NetworkCase("vgg_cifar", "small VGG (six 3x3 convs with BN) on 3x32x32, train batch 64",
                models.CifarVGG, torch_twins.cifar_vgg, (3, 32, 32)),
    NetworkCase("conv1dnet", "3-layer conv1d net with BN on 1x40 (MNIST-1D), train batch 256",
                lambda dtype: models.Conv1DNet(batch_norm=True, dtype=dtype),
                lambda: torch_twins.conv1dnet(batch_norm=True), (1, 40), train_batch=256),
]


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


def network_step(lib, model, phase, x, y):
    """A function running one call of `phase` (one of NETWORK_PHASES) of `model` (ours or its
    twin, whose library is `lib`) on the NumPy batch `x`, `y`."""
    tx, ty = lib.tensor(x), lib.tensor(y)
    if phase == "train_step":
        model.train()
        optim = lib.module.optim if lib.name == "torch" else acnn.optim
        optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        return train_step(model, optimizer, lib.functional.cross_entropy, [(tx, ty)])
    model.eval()

    def forward():
        with lib.no_grad():
            model(tx)

    return forward


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {field}")


def _reset_peak():
    """Reset the process's peak resident memory (VmHWM) to its current resident memory; False
    where that cannot be done (not Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_memory_growth(run):
    """Bytes by which the process's peak resident memory rose, while ``run()`` ran, above the
    resident memory it started from; None where that cannot be measured. Linux only: the peak
    (VmHWM) is reset first by writing 5 to /proc/self/clear_refs."""
    if not _reset_peak():
        return None
    before = _status_kib("VmRSS")
    run()
    return max(0, _status_kib("VmHWM") - before) * 1024


#: training steps after the warm-up whose peak step_memory takes
MEMORY_STEPS = 3


def step_memory(case, impl, dtype, threads):
    """The memory a training step of network ``case`` holds at its peak, in bytes: the largest
    resident memory during any of MEMORY_STEPS steps after a warm-up step, above the resident
    memory before the warm-up (model and batch built, nothing run); ``impl`` is 'autograd_cnn' or
    'torch'; None where it cannot be measured. Each library runs in a fresh Python process so that
    neither's allocations count for the other.

    The baseline is taken before the warm-up (after a step on a batch of two, which sets up what a
    library initialises once per process) so that memory a library keeps from one step to the
    next for the steps (a buffer cache, an allocator's free lists, workspaces) counts: measured
    from after the warm-up, only the pages a step touches anew would count, and that depends on
    whether the allocator returned the previous step's blocks to the system (PyTorch's figure then
    swung between 8 and 34 MiB from run to run on ResNet-20, and ours was 0 from the third step
    on, whatever the step needs)."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(acnn.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [package_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    code = ("import sys, autograd_cnn.benchmarking as bm; "
            "print(bm._step_memory_here(*sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, case.name, impl, np.dtype(dtype).name,
                             str(threads)], capture_output=True, text=True, env=env, timeout=900)
    last = result.stdout.strip().splitlines()[-1:] if result.returncode == 0 else []
    return int(last[0]) if last and last[0].isdigit() else None


def _step_memory_here(case_name, impl, dtype_name, threads):
    case = next(c for c in NETWORK_CASES if c.name == case_name)
    dtype = np.dtype(dtype_name).type
    lib = ours() if impl == "autograd_cnn" else torch_library()
    with thread_count(int(threads), lib.module if impl == "torch" else None):
        model, twin = case.pair(dtype, with_twin=impl == "torch")
        net = twin if impl == "torch" else model
        rng = np.random.default_rng(0)
        small = network_step(lib, net, "train_step", *case.batch(2, dtype, rng))
        step = network_step(lib, net, "train_step", *case.batch(case.train_batch, dtype, rng))
        return held_peak_memory(step, init=small)


def held_peak_memory(step, init=None):
    """step_memory's measure in this process: the largest resident memory while ``step()`` runs,
    MEMORY_STEPS times after one warm-up call, above the resident memory before the warm-up, in
    bytes (None where it cannot be measured). ``init()``, when given, runs before that resident
    memory is read: step_memory passes a step on a batch of two, so that what a library sets up
    once per process (modules imported on first use, thread pools, BLAS buffers) does not count
    as the step's."""
    if init is not None:
        init()
    if not _reset_peak():
        return None
    start = _status_kib("VmRSS")
    step()
    peak = 0
    for _ in range(MEMORY_STEPS):
        _reset_peak()
        step()
        peak = max(peak, _status_kib("VmHWM"))
    return max(0, peak - start) * 1024


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
