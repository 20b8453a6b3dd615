"""Convolution benchmarks: autograd_cnn vs PyTorch (same pytest-benchmark group when torch is
installed) vs a NumPy im2col + matmul baseline, float32 NCHW, forward and forward+backward, on 1
and 2 threads.

Run (not part of the test suite; the machine is shared, keep rounds low):

    python -m pytest benchmarks/bench_conv.py --benchmark-min-rounds=3 --benchmark-warmup=on \
        --benchmark-columns=median,rounds --benchmark-group-by=group --benchmark-sort=name

Each benchmark stores its achieved GFLOP/s in ``extra_info['gflops']`` (forward counts
2 * N * C_out * out_pixels * C_in / groups * K per call; forward+backward counts three times that:
forward, input gradient, weight gradient). Select cases with ``-k``, e.g. ``-k "3x3 and fwd"``.
The ``*_kernel`` benchmarks time the forward, input-gradient and weight-gradient kernels one by
one (``-k "kernel and 1t"``); the others time the autograd calls.

On a shared machine: time the 1-thread cases by CPU time of the calling thread
(``-k 1t --benchmark-timer=time.thread_time``; all three implementations then run on that thread),
and run each implementation's 2-thread cases in a process of its own (``-k "2t and ours"``,
``-k "2t and torch"``): two OpenMP runtimes in one process, or another process on the second core,
make a parallel region wait for a descheduled thread (a scheduler slice, ~4-8 ms).
"""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn._geometry import window_output_size
from autograd_cnn.backend import set_blas_threads
from autograd_cnn.functional import conv1d, conv2d

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

# name: (N, C_in, spatial, C_out, kernel, stride, padding, dilation)
CASES = {
    "lenet_conv1": (64, 1, (32, 32), 6, (5, 5), 1, 0, 1),
    "lenet_conv2": (64, 6, (14, 14), 16, (5, 5), 1, 0, 1),
    "3x3_64_56": (8, 64, (56, 56), 64, (3, 3), 1, 1, 1),
    "3x3s2_64_128_56": (8, 64, (56, 56), 128, (3, 3), 2, 1, 1),
    "3x3d2_64_56": (8, 64, (56, 56), 64, (3, 3), 1, 2, 2),
    "11x11s4_3_64_224": (8, 3, (224, 224), 64, (11, 11), 4, 2, 1),
    "conv1d_k7": (32, 16, (1024,), 32, (7,), 1, 3, 1),
    "conv1d_k7_d4": (32, 16, (1024,), 32, (7,), 1, 12, 4),
}


def _out(size, k, s, p, d):
    return window_output_size(size, k, s, p, p, d)


def flops(case):
    n, cin, sp, cout, k, s, p, d = CASES[case]
    pixels = np.prod([_out(a, b, s, p, d) for a, b in zip(sp, k)])
    return 2.0 * n * cout * pixels * cin * np.prod(k)


def _inputs(case, seed=0):
    n, cin, sp, cout, k, s, p, d = CASES[case]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin) + sp).astype(np.float32)
    w = (rng.standard_normal((cout, cin) + k) / np.sqrt(cin * np.prod(k))).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    return x, w, b, dict(stride=s, padding=p, dilation=d)


def _im2col_conv(x, w, b, stride, padding, dilation, backward):
    """Baseline: im2col (one strided slice per tap) + one matmul; backward by the transposes."""
    x4 = x if x.ndim == 4 else x[:, :, None]
    w4 = w if w.ndim == 4 else w[:, :, None]
    n, cin, h, wd = x4.shape
    cout, _, kh, kw = w4.shape
    ph, pw = (padding, padding) if x.ndim == 4 else (0, padding)
    sh, sw = (stride, stride) if x.ndim == 4 else (1, stride)
    dh, dw = (dilation, dilation) if x.ndim == 4 else (1, dilation)
    oh, ow = _out(h, kh, sh, ph, dh), _out(wd, kw, sw, pw, dw)
    xp = np.pad(x4, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((cin, kh, kw, n, oh, ow), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                               j * dw:j * dw + sw * (ow - 1) + 1:sw].transpose(1, 0, 2, 3)
    cols = cols.reshape(cin * kh * kw, n * oh * ow)
    y = (w4.reshape(cout, -1) @ cols).reshape(cout, n, oh, ow).transpose(1, 0, 2, 3) + b[None, :, None, None]
    if not backward:
        return y
    dy = np.ascontiguousarray(np.ones_like(y).transpose(1, 0, 2, 3)).reshape(cout, -1)
    dw_ = dy @ cols.T
    dcols = (w4.reshape(cout, -1).T @ dy).reshape(cin, kh, kw, n, oh, ow)
    dxp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                j * dw:j * dw + sw * (ow - 1) + 1:sw] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return y, dw_, dxp


@pytest.fixture(params=[1, 2], ids=lambda t: f"{t}t")
def threads(request):
    before = ac.get_num_threads()
    ac.set_num_threads(request.param)
    if torch is not None:
        torch_before = torch.get_num_threads()
        torch.set_num_threads(request.param)
    set_blas_threads(request.param)  # the im2col baseline's matmul
    yield request.param
    ac.set_num_threads(before)
    if torch is not None:
        torch.set_num_threads(torch_before)


def _record(benchmark, case, mode, threads, impl):
    benchmark.group = f"{case}-{mode}-{threads}t"
    benchmark.extra_info.update(case=case, mode=mode, threads=threads, impl=impl)


def _finish(benchmark, case, mode):
    scale = 3.0 if mode == "fwdbwd" else 1.0
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["gflops"] = round(scale * flops(case) / benchmark.stats.stats.median / 1e9, 1)


@pytest.mark.parametrize("mode", ["fwd", "fwdbwd"])
@pytest.mark.parametrize("case", list(CASES))
def test_ours(benchmark, case, mode, threads):
    x, w, b, kw = _inputs(case)
    fn = conv2d if x.ndim == 4 else conv1d
    tw, tb = ac.tensor(w, requires_grad=True), ac.tensor(b, requires_grad=True)
    tx = ac.tensor(x, requires_grad=True)
    dy = None

    def fwd():
        with ac.no_grad():
            return fn(tx, tw, tb, **kw)

    def fwdbwd():
        y = fn(tx, tw, tb, **kw)
        y.backward(dy)
        tx.grad = tw.grad = tb.grad = None

    if mode == "fwdbwd":
        dy = ac.tensor(np.ones(fwd().shape, np.float32))
    _record(benchmark, case, mode, threads, "autograd_cnn")
    benchmark(fwd if mode == "fwd" else fwdbwd)
    _finish(benchmark, case, mode)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("mode", ["fwd", "fwdbwd"])
@pytest.mark.parametrize("case", list(CASES))
def test_torch(benchmark, case, mode, threads):
    x, w, b, kw = _inputs(case)
    fn = torch.nn.functional.conv2d if x.ndim == 4 else torch.nn.functional.conv1d
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    dy = None

    def fwd():
        with torch.no_grad():
            return fn(tx, tw, tb, **kw)

    def fwdbwd():
        y = fn(tx, tw, tb, **kw)
        y.backward(dy)
        tx.grad = tw.grad = tb.grad = None

    if mode == "fwdbwd":
        dy = torch.ones(fwd().shape)
    _record(benchmark, case, mode, threads, "torch")
    benchmark(fwd if mode == "fwd" else fwdbwd)
    _finish(benchmark, case, mode)


@pytest.mark.parametrize("mode", ["fwd", "fwdbwd"])
@pytest.mark.parametrize("case", list(CASES))
def test_numpy_im2col(benchmark, case, mode, threads):
    x, w, b, kw = _inputs(case)
    _record(benchmark, case, mode, threads, "numpy_im2col")
    benchmark(_im2col_conv, x, w, b, kw["stride"], kw["padding"], kw["dilation"], mode == "fwdbwd")
    _finish(benchmark, case, mode)


def _kernel_inputs(case):
    """Arrays and the ConvSpec for calling the three kernels directly (no autograd)."""
    from autograd_cnn.functional._conv_kernels import ConvSpec

    x, w, b, kw = _inputs(case)
    n, cin, sp, cout, k, s, p, d = CASES[case]
    nd = len(sp)
    osz = tuple(_out(a, kk, s, p, d) for a, kk in zip(sp, k))
    spec = ConvSpec(x.shape, w.shape, (n, cout) + osz, (s,) * nd, ((p, p),) * nd, (d,) * nd, 1)
    dy = np.random.default_rng(1).standard_normal((n, cout) + osz).astype(np.float32)
    return x, w, b, dy, spec, (s, p, d)


@pytest.mark.parametrize("kernel", ["fwd", "bwd_data", "bwd_weight"])
@pytest.mark.parametrize("case", list(CASES))
def test_ours_kernel(benchmark, case, kernel, threads):
    """Each kernel on its own (``-k kernel``): forward, input gradient, weight gradient; each
    counts 2 * N * C_out * out_pixels * C_in * K flops."""
    from autograd_cnn.functional._conv_kernels import conv_backward_input, conv_backward_weight, conv_forward

    x, w, b, dy, spec, _ = _kernel_inputs(case)
    fn = {"fwd": lambda: conv_forward(x, w, b, spec), "bwd_data": lambda: conv_backward_input(dy, w, spec),
          "bwd_weight": lambda: conv_backward_weight(x, dy, spec)}[kernel]
    _record(benchmark, case, kernel, threads, "autograd_cnn")
    benchmark(fn)
    _finish(benchmark, case, kernel)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("kernel", ["fwd", "bwd_data", "bwd_weight"])
@pytest.mark.parametrize("case", list(CASES))
def test_torch_kernel(benchmark, case, kernel, threads):
    x, w, b, dy, spec, (s, p, d) = _kernel_inputs(case)
    nd = x.ndim - 2
    tx, tw, tb, tdy = (torch.from_numpy(a) for a in (x, w, b, dy))
    conv = torch.nn.functional.conv2d if nd == 2 else torch.nn.functional.conv1d

    def backward(mask):
        return lambda: torch.ops.aten.convolution_backward(tdy, tx, tw, None, [s] * nd, [p] * nd, [d] * nd,
                                                           False, [0] * nd, 1, mask)

    fn = {"fwd": lambda: conv(tx, tw, tb, stride=s, padding=p, dilation=d),
          "bwd_data": backward([True, False, False]), "bwd_weight": backward([False, True, False])}[kernel]
    _record(benchmark, case, kernel, threads, "torch")
    with torch.no_grad():
        benchmark(fn)
    _finish(benchmark, case, kernel)
