"""The compiled core's runtime: instruction-set dispatch, threads, and the sum kernel that proves
the build path end to end."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import _C, backend
from _support import restore_backend  # noqa: F401 (fixture)




def test_backend_info_reports_isa_threads_and_flags():
    info = ac.backend_info()
    assert info["isa"] in ("avx512", "avx2", "baseline")
    assert info["isa"] in info["available_isas"]
    assert "baseline" in info["available_isas"]
    assert info["num_threads"] >= 1
    assert "-O3" in info["compile_flags"]["common"]
    assert "-march=native" not in " ".join(info["compile_flags"].values())


def test_set_num_threads_roundtrip(restore_backend):
    ac.set_num_threads(1)
    assert ac.get_num_threads() == 1
    ac.set_num_threads(2)
    assert ac.get_num_threads() == (2 if ac.backend_info()["openmp"] else 1)


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-3, ValueError), (1.5, TypeError), (True, TypeError),
                                      (ac.backend.MAX_THREADS + 1, ValueError), (100000, ValueError),
                                      (2 ** 40, ValueError)])
def test_set_num_threads_rejects_bad_values(bad, exc, restore_backend):
    before = ac.get_num_threads()
    with pytest.raises(exc, match="set_num_threads"):
        ac.set_num_threads(bad)
    assert ac.get_num_threads() == before


def test_set_isa_rejects_unknown_names(restore_backend):
    with pytest.raises(ValueError, match="isa"):
        ac.set_isa("sse9")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 1, 7, 100, 16384, 16385, 300001])
def test_sum_kernel_every_isa_and_thread_count(restore_backend, dtype, n):
    x = np.random.default_rng(n).standard_normal(n).astype(dtype)
    reference = float(np.sum(x.astype(np.float64)))
    results = {}
    for isa in ac.backend_info()["available_isas"]:
        ac.set_isa(isa)
        for threads in (1, 2):
            ac.set_num_threads(threads)
            results[isa, threads] = _C.reduce_sum(x)
        # bitwise the same on 1 and 2 threads
        assert results[isa, 1] == results[isa, 2]
    tol = 1e-4 * max(1.0, float(np.abs(x).sum())) if dtype == np.float32 else 1e-10 * max(1.0, float(np.abs(x).sum()))
    for value in results.values():
        assert abs(value - reference) <= tol


def test_sum_kernel_rejects_non_contiguous():
    x = np.arange(10, dtype=np.float64)[::2]
    with pytest.raises(ValueError):
        _C.reduce_sum(x)


def test_buffer_cache_limit_is_reported_and_settable():
    before = ac.backend_info()["buffer_cache"]["limit_bytes"]
    try:
        ac.backend.set_buffer_cache_limit(0)
        assert ac.backend_info()["buffer_cache"] == {"idle_blocks": 0, "idle_bytes": 0, "limit_bytes": 0}
    finally:
        ac.backend.set_buffer_cache_limit(before)
    with pytest.raises(ValueError, match="set_buffer_cache_limit"):
        ac.backend.set_buffer_cache_limit(-1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(64, 6, 784), (3, 5, 1), (1, 1, 70001), (7, 130, 33), (0, 4, 9),
                                   (2, 3, 0)])
def test_channel_sum_matches_numpy_on_every_isa_and_thread_count(shape, dtype, restore_backend):
    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    ref = x.astype(np.float64).sum(axis=(0, 2))
    results = []
    for isa in ac.backend_info()["available_isas"]:
        for threads in (1, 2):
            ac.set_isa(isa)
            ac.set_num_threads(threads)
            out = np.full(shape[1], np.nan, dtype)
            _C.channel_sum(x, out)
            tol = 1e-5 if dtype == np.float32 else 1e-12
            # (the sum of n unit normals is about sqrt(n) in size)
            np.testing.assert_allclose(out, ref, rtol=tol, atol=tol * max(1, shape[0] * shape[2]) ** 0.5)
            results.append((isa, threads, out))
    # the thread count never changes the bits (for one ISA)
    for (isa1, t1, a), (isa2, t2, b) in zip(results[::2], results[1::2]):
        assert isa1 == isa2 and np.array_equal(a, b)


def test_channel_sum_rejects_a_wrong_output_length():
    with pytest.raises(ValueError, match="3 elements"):
        _C.channel_sum(np.zeros((2, 3, 4), np.float32), np.zeros(4, np.float32))


def test_the_core_clamps_a_thread_count_python_did_not_check(restore_backend):
    """The C++ side trusts nothing: the binding called directly keeps the count in range."""
    ac._C.runtime_set_num_threads(10 ** 6)
    assert ac.get_num_threads() == ac.backend.MAX_THREADS
    ac._C.runtime_set_num_threads(-7)
    assert ac.get_num_threads() == 1


def test_blas_call_runs_small_products_on_one_thread_and_restores_the_setting(monkeypatch):
    # a fake OpenBLAS that records the thread count each product runs with
    state = {"threads": 4, "seen": []}
    monkeypatch.setattr(backend, "_blas", (lambda: state["threads"],
                                           lambda n: state.__setitem__("threads", n)))
    old = ac.get_num_threads()
    ac.set_num_threads(4)
    try:
        def product(a, b):
            state["seen"].append(state["threads"])
            return a @ b
        a, b = np.ones((64, 512)), np.ones((512, 10))
        # VGG-CIFAR's classifier: 1.3 million multiply-adds, far below one grain: one thread
        np.testing.assert_array_equal(backend.blas_call(product, a, b, work=64 * 2048 * 10), a @ b)
        grain = backend.BLAS_GRAIN_WORK
        backend.blas_call(product, a, b, work=8 * grain)  # at most the 4 threads both have
        backend.blas_call(product, a, b, work=3 * grain + 5)  # one per whole grain
        assert state["seen"] == [1, 4, 3]
        assert state["threads"] == 4  # restored after every call
        ac.set_num_threads(2)  # never more threads than the kernels have
        backend.blas_call(product, a, b, work=8 * grain)
        assert state["seen"][-1] == 2 and state["threads"] == 4
        # restored even when the product raises
        with pytest.raises(ValueError):
            backend.blas_call(lambda: (_ for _ in ()).throw(ValueError("boom")), work=0)
        assert state["threads"] == 4
    finally:
        ac.set_num_threads(old)


def test_matmul_passes_its_multiply_adds_to_blas_call(monkeypatch):
    import importlib
    matmul_module = importlib.import_module("autograd_cnn.ops.matmul")
    works = []

    def recording(fn, *args, work):
        works.append(work)
        return fn(*args)
    monkeypatch.setattr(matmul_module, "blas_call", recording)
    x = ac.tensor(np.ones((3, 1, 5, 7)), requires_grad=True)
    w = ac.tensor(np.ones((4, 7, 2)), requires_grad=True)
    y = x @ w  # batch (3, 4) of 5 x 7 @ 7 x 2
    y.sum().backward()
    assert works[0] == 3 * 4 * 5 * 7 * 2
    assert sorted(works[1:]) == [3 * 4 * 5 * 7 * 2] * 2  # both gradients: the same products
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 1, 5, 7), 2.0 * 4))
    v = ac.tensor(np.ones(7))
    assert (v @ w).shape == (4, 2) and works[-1] == 4 * 1 * 2 * 7
