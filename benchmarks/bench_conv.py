"""Convolution benchmarks: autograd_cnn vs PyTorch (same pytest-benchmark group when torch is
installed) vs a NumPy im2col + matmul baseline, float32 NCHW, forward and forward+backward, on 1
and 2 threads.

Run (not part of the test suite; the machine is shared, keep rounds low):

    python -m pytest benchmarks/bench_conv.py --benchmark-min-rounds=3 --benchmark-warmup=on \
        --benchmark-columns=median,rounds --benchmark-group-by=group --benchmark-sort=name

Each benchmark stores its achieved GFLOP/s in ``extra_info['gflops']`` (forward counts
2 * N * C_out * out_pixels * C_in / groups * K per call; forward+backward counts three times that:
forward, input gradient, weight gradient). The cases are the ``bench`` command's convolutions
(autograd_cnn/benchmarking.py). Select cases with ``-k``, e.g. ``-k "3x3 and fwd"``.
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

from autograd_cnn import benchmarking as bm
from autograd_cnn._geometry import window_output_size
from autograd_cnn.models.torch_twins import import_torch

torch = import_torch()

CASES = {case.name: case for case in bm.CONV_CASES}  # the bench command's convolutions


def _out(size, k, s, p, d):
    return window_output_size(size, k, s, p, p, d)


def _inputs(case, seed=0):
    x, w, b = CASES[case].arrays(np.float32, np.random.default_rng(seed))
    return x, w, b, CASES[case].kwargs


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
    with bm.thread_count(request.param, torch):  # NumPy's BLAS too: the im2col baseline's matmul
        yield request.param


def _record(benchmark, case, mode, threads, impl):
    benchmark.group = f"{case}-{mode}-{threads}t"
    benchmark.extra_info.update(case=case, mode=mode, threads=threads, impl=impl)


def _finish(benchmark, case, mode):
    scale = 3.0 if mode == "fwdbwd" else 1.0
    bm.record_rate(benchmark, "gflops", scale * CASES[case].flops() / 1e9)


def _autograd_step(lib, case, mode):
    """The convolution through `lib`'s autograd: forward with grad mode off ("fwd"), or forward
    and backward with every argument requiring grad ("fwdbwd")."""
    x, w, b, kw = _inputs(case)
    fn = getattr(lib.functional, CASES[case].kind)
    tx, tw, tb = (lib.tensor(a, requires_grad=True) for a in (x, w, b))

    def fwd():
        with lib.no_grad():
            return fn(tx, tw, tb, **kw)

    dy = lib.tensor(np.ones(CASES[case].output_shape, np.float32))

    def fwdbwd():
        y = fn(tx, tw, tb, **kw)
        y.backward(dy)
        tx.grad = tw.grad = tb.grad = None

    return fwd if mode == "fwd" else fwdbwd


@pytest.mark.parametrize("mode", ["fwd", "fwdbwd"])
@pytest.mark.parametrize("case", list(CASES))
def test_ours(benchmark, case, mode, threads):
    _record(benchmark, case, mode, threads, "autograd_cnn")
    benchmark(_autograd_step(bm.ours(), case, mode))
    _finish(benchmark, case, mode)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("mode", ["fwd", "fwdbwd"])
@pytest.mark.parametrize("case", list(CASES))
def test_torch(benchmark, case, mode, threads):
    _record(benchmark, case, mode, threads, "torch")
    benchmark(_autograd_step(bm.torch_library(), case, mode))
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

    c = CASES[case]
    x, w, b, kw = _inputs(case)
    s, p, d = kw["stride"], kw["padding"], kw["dilation"]
    nd = c.dims
    spec = ConvSpec(x.shape, w.shape, c.output_shape, (s,) * nd, ((p, p),) * nd, (d,) * nd, 1)
    dy = np.random.default_rng(1).standard_normal(c.output_shape).astype(np.float32)
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
