"""Layers added for PyTorch porting (issue 15) next to PyTorch, same benchmark group when it is
importable: a DCGAN-style transposed convolution (forward+backward), LayerNorm / GroupNorm
(forward+backward) and exact GELU (forward+backward), float32, both libraries on 1 thread.

    python -m pytest benchmarks/bench_porting_layers.py --benchmark-only \
        --benchmark-columns=median,rounds --benchmark-group-by=group

Our transposed convolution is the conv input-gradient kernel (csrc/conv) plus a crop; the norms
and GELU's non-erf parts are NumPy passes, so these mark where a fused kernel would pay.
"""
import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import benchmarking as bm
from autograd_cnn.models.torch_twins import import_torch

torch = import_torch()
LIBS = ["ours"] + (["torch"] if torch is not None else [])


def _lib_ops(lib):
    if lib == "ours":
        return ac, F
    return torch, torch.nn.functional


CASES = {
    # DCGAN generator block: 64 -> 32 channels, 4x4, stride 2, padding 1, 16x16 -> 32x32
    "conv_transpose2d": ([(16, 64, 16, 16), (64, 32, 4, 4)],
                         lambda f, x, w: f.conv_transpose2d(x, w, None, 2, 1)),
    "layer_norm": ([(64, 128, 256)], lambda f, x: f.layer_norm(x, (256,))),
    "group_norm": ([(32, 64, 28, 28)], lambda f, x: f.group_norm(x, 8)),
    "gelu": ([(32, 64, 28, 28)], lambda f, x: f.gelu(x)),
}


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_backward(benchmark, case, lib):
    shapes, fn = CASES[case]
    mod, f = _lib_ops(lib)
    rng = np.random.default_rng(0)
    inputs = [mod.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in shapes]
    out = fn(f, *inputs)
    g = mod.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float32))

    def step():
        for t in inputs:
            t.grad = None
        fn(f, *inputs).backward(g)

    benchmark.group = case
    with bm.thread_count(1, torch):
        benchmark(step)
    benchmark.extra_info["threads"] = 1
    bm.record_rate(benchmark, "calls/s", 1)
