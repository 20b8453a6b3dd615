"""Pooling speed next to PyTorch (same benchmark group) when it is importable.

Cases: max and average pooling 2x2 stride 2 on (64, 6, 28, 28) and (8, 64, 112, 112), and 3x3
stride 2 padding 1 max pooling on (8, 64, 112, 112), all float32, forward alone and forward +
backward; the same three 112x112 cases with N = 32 (``*_112_n32``: a 103 MB input, which
does not fit in any cache, so they measure memory traffic and allocation rather than
arithmetic). Mode ``kernels`` is forward + backward on arrays, without autograd: the pooling
functions of autograd_cnn/functional/pooling.py against PyTorch's aten operators (it leaves out
what the engines add around them, e.g. our engine's copy of every leaf gradient). Each result
carries ``extra_info['GB/s']``: bytes moved per second, counting the input read and the output
written (forward), plus the output gradient read and the input gradient written (forward +
backward, kernels). Both libraries run with their default thread counts, or both with
POOL_BENCH_THREADS threads when that is set (recorded in extra_info; on a busy shared machine one
thread gives steadier numbers). Run with::

    python -m pytest benchmarks/bench_pool.py --benchmark-only --benchmark-columns=median,iqr,rounds
    POOL_BENCH_THREADS=1 python -m pytest benchmarks/bench_pool.py --benchmark-only

"""
import os

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

CASES = {  # name: (function name, input shape, kwargs)
    "max2x2_28": ("max_pool2d", (64, 6, 28, 28), dict(kernel_size=2, stride=2)),
    "avg2x2_28": ("avg_pool2d", (64, 6, 28, 28), dict(kernel_size=2, stride=2)),
    "max2x2_112": ("max_pool2d", (8, 64, 112, 112), dict(kernel_size=2, stride=2)),
    "avg2x2_112": ("avg_pool2d", (8, 64, 112, 112), dict(kernel_size=2, stride=2)),
    "max3x3s2p1_112": ("max_pool2d", (8, 64, 112, 112), dict(kernel_size=3, stride=2, padding=1)),
    "max2x2_112_n32": ("max_pool2d", (32, 64, 112, 112), dict(kernel_size=2, stride=2)),
    "avg2x2_112_n32": ("avg_pool2d", (32, 64, 112, 112), dict(kernel_size=2, stride=2)),
    "max3x3s2p1_112_n32": ("max_pool2d", (32, 64, 112, 112),
                           dict(kernel_size=3, stride=2, padding=1)),
}
MODES = ["forward", "forward+backward", "kernels"]
THREADS = int(os.environ.get("POOL_BENCH_THREADS", "0")) or None
if THREADS:
    ac.set_num_threads(THREADS)
    if torch is not None:
        torch.set_num_threads(THREADS)


def _data(shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _ours_kernels(name, shape, kw):
    from autograd_cnn.functional import pooling as P
    x = _data(shape)
    k, s, p = kw["kernel_size"], kw["stride"], kw.get("padding", 0)
    if name == "max_pool2d":
        call = P._window_call(name, x, 2, k, s, p, 1, False)
        gy = _data(P._max_forward(x, call, False)[0].shape)

        def step():
            _, ind = P._max_forward(x, call)
            return P._scatter(gy, ind, call)
    else:
        call = P._window_call(name, x, 2, k, s, p, 1, False, True, None)
        gy = _data(P._avg_forward(x, call).shape)

        def step():
            P._avg_forward(x, call)
            return P._avg_backward(gy, call)
    return step, gy.shape


def _torch_kernels(name, shape, kw):
    aten = torch.ops.aten
    x = torch.from_numpy(_data(shape))
    k, s, p = [kw["kernel_size"]] * 2, [kw["stride"]] * 2, [kw.get("padding", 0)] * 2
    if name == "max_pool2d":
        gy = torch.from_numpy(_data(tuple(aten.max_pool2d_with_indices(x, k, s, p)[0].shape)))

        def step():
            _, ind = aten.max_pool2d_with_indices(x, k, s, p)
            return aten.max_pool2d_with_indices_backward(gy, x, k, s, p, [1, 1], False, ind)
    else:
        gy = torch.from_numpy(_data(tuple(aten.avg_pool2d(x, k, s, p).shape)))

        def step():
            aten.avg_pool2d(x, k, s, p)
            return aten.avg_pool2d_backward(gy, x, k, s, p, False, True, None)
    return step, tuple(gy.shape)


def _ours(case, mode):
    name, shape, kw = CASES[case]
    if mode == "kernels":
        return _ours_kernels(name, shape, kw)
    fn = getattr(F, name)
    x = ac.tensor(_data(shape), requires_grad=(mode != "forward"))
    if mode == "forward":
        def step():
            with ac.no_grad():
                return fn(x, **kw)
        return step, fn(x.detach(), **kw).shape
    gy = ac.tensor(_data(fn(x.detach(), **kw).shape))

    def step():
        x.grad = None
        fn(x, **kw).backward(gy)
    return step, gy.shape


def _torch(case, mode):
    name, shape, kw = CASES[case]
    if mode == "kernels":
        return _torch_kernels(name, shape, kw)
    fn = getattr(torch.nn.functional, name)
    x = torch.from_numpy(_data(shape)).requires_grad_(mode != "forward")
    if mode == "forward":
        def step():
            with torch.no_grad():
                return fn(x, **kw)
        return step, tuple(fn(x.detach(), **kw).shape)
    gy = torch.from_numpy(_data(tuple(fn(x.detach(), **kw).shape)))

    def step():
        x.grad = None
        fn(x, **kw).backward(gy)
    return step, tuple(gy.shape)


def _run(benchmark, case, mode, make, threads):
    benchmark.group = f"pool {case} {mode}"
    step, out_shape = make(case, mode)
    benchmark(step)
    moved = 4 * (np.prod(CASES[case][1]) + np.prod(out_shape)) * (1 if mode == "forward" else 2)
    benchmark.extra_info["threads"] = threads
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["GB/s"] = round(float(moved) / benchmark.stats.stats.median / 1e9, 2)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_pool_autograd_cnn(benchmark, case, mode):
    _run(benchmark, case, mode, _ours, ac.get_num_threads())


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_pool_torch(benchmark, case, mode):
    _run(benchmark, case, mode, _torch, torch.get_num_threads())
