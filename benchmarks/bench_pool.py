"""Pooling speed next to PyTorch (same benchmark group) when it is importable.

Cases (the ``bench`` command's, autograd_cnn/benchmarking.py): max and average pooling 2x2
stride 2 on (64, 6, 28, 28) and (8, 64, 112, 112), and 3x3 stride 2 padding 1 max pooling on
(8, 64, 112, 112), all float32, forward alone and forward + backward; the same three 112x112
cases with N = 32 (``*_big``: a 103 MB input, which does not fit in any cache, so they measure
memory traffic and allocation rather than arithmetic). Mode ``kernels`` is forward + backward on arrays, without autograd: the pooling
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
import pytest

import autograd_cnn as ac
from autograd_cnn import benchmarking as bm
from autograd_cnn.models.torch_twins import import_torch

torch = import_torch()

# the bench command's pooling cases, and one more beyond cache
CASES = {case.name: case for case in bm.POOL_CASES + [
    bm.PoolCase("maxpool3x3s2_big", "max_pool2d 3x3 s2 pad 1 N=32 C=64 112x112 (beyond cache)",
                "max_pool2d", 32, 64, 112, 3, 2, 1)]}
MODES = ["forward", "forward+backward", "kernels"]
THREADS = bm.threads_from_env("POOL_BENCH_THREADS", torch)
_data = bm.normal


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


def _autograd_step(lib, case, mode):
    """The pooling function through `lib`'s autograd: forward with grad mode off, or forward
    and backward."""
    c = CASES[case]
    fn = getattr(lib.functional, c.kind)
    x = lib.tensor(_data(c.input_shape), requires_grad=(mode != "forward"))
    if mode == "forward":
        def step():
            with lib.no_grad():
                return fn(x, **c.kwargs)
        return step
    gy = lib.tensor(_data(c.output_shape))

    def step():
        x.grad = None
        fn(x, **c.kwargs).backward(gy)
    return step


def _run(benchmark, case, mode, lib, kernels, threads):
    c = CASES[case]
    benchmark.group = f"pool {case} {mode}"
    if mode == "kernels":
        step = kernels(c.kind, c.input_shape, c.kwargs)[0]
    else:
        step = _autograd_step(lib, case, mode)
    benchmark(step)
    benchmark.extra_info["threads"] = threads
    moved = c.bytes_moved(4) * (1 if mode == "forward" else 2)
    bm.record_rate(benchmark, "GB/s", moved / 1e9)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_pool_autograd_cnn(benchmark, case, mode):
    _run(benchmark, case, mode, bm.ours(), _ours_kernels, ac.get_num_threads())


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(CASES))
def test_pool_torch(benchmark, case, mode):
    _run(benchmark, case, mode, bm.torch_library(), _torch_kernels, torch.get_num_threads())
