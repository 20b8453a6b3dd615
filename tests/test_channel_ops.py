"""The per-channel kernels (csrc/channel) and their Functions (ops/channel.py): against NumPy
references on every instruction-set path, bitwise equal on 1 and 2 threads, gradients checked in
float64 to second order, and bad shapes refused by the binding."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import _C
from autograd_cnn.autograd import match_shape
from autograd_cnn.ops import channel
from _support import assert_array_and_tensor_backward_agree, restore_backend  # noqa: F401

# odd sizes, a row longer than a block (2048 values), sizes large enough that two threads run
# (channel_kernels.h: one thread per 65536 elements), and channels cut into several segments
# (one per 32768 values: long rows, short rows)
SHAPES = [(3, 5, 7), (2, 3, 1), (1, 4, 33), (5, 2, 2049), (4, 8, 4100), (130, 3, 2),
          (3, 1, 40001), (3000, 2, 31)]
TOL = {np.float32: 2e-5, np.float64: 1e-12}


def _data(shape, dtype, seed, offset=0.0):
    return (np.random.default_rng(seed).standard_normal(shape) + offset).astype(dtype)


def _vec(C, dtype, seed):
    return np.random.default_rng(seed).uniform(0.5, 1.5, C).astype(dtype)


def _on_every_isa_and_thread_count(run):
    """run() on every ISA with 1 and 2 threads; asserts the bits do not depend on the thread
    count and returns each ISA's results (a list of tuples of arrays)."""
    results = []
    for isa in ac.backend_info()["available_isas"]:
        ac.set_isa(isa)
        outs = []
        for threads in (1, 2):
            ac.set_num_threads(threads)
            outs.append(run())
        for a, b in zip(*outs):
            assert np.array_equal(a, b), isa
        results.append(outs[0])
    return results


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_moments_match_numpy(shape, dtype, restore_backend):
    # a large mean next to unit deviations: the one-pass sum of squares would lose the variance
    x = _data(shape, dtype, 0, offset=1000.0)
    ref = x.astype(np.float64)
    for mean, var in _on_every_isa_and_thread_count(lambda: channel.moments(x)):
        assert mean.dtype == var.dtype == dtype
        np.testing.assert_allclose(mean, ref.mean(axis=(0, 2)), rtol=TOL[dtype])
        np.testing.assert_allclose(var, ref.var(axis=(0, 2)), rtol=TOL[dtype] * 50,
                                   atol=TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_sums_match_numpy(shape, dtype, restore_backend):
    g, x = _data(shape, dtype, 1), _data(shape, dtype, 2, offset=3.0)
    shift = _vec(shape[1], dtype, 3)
    rg, rx = g.astype(np.float64), x.astype(np.float64) - shift.reshape(1, -1, 1)
    atol = TOL[dtype] * np.sqrt(shape[0] * shape[2]) * 10
    for sg, sgx, s0 in _on_every_isa_and_thread_count(
            lambda: channel.sums(g, x, shift) + (channel.sums(g),)):
        np.testing.assert_allclose(sg, rg.sum(axis=(0, 2)), rtol=TOL[dtype], atol=atol)
        np.testing.assert_allclose(s0, rg.sum(axis=(0, 2)), rtol=TOL[dtype], atol=atol)
        np.testing.assert_allclose(sgx, (rg * rx).sum(axis=(0, 2)), rtol=TOL[dtype], atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_affine_matches_numpy(shape, dtype, restore_backend):
    x, g = _data(shape, dtype, 4), _data(shape, dtype, 5)
    C = shape[1]
    scale, shift, bias, gscale = (_vec(C, dtype, s) for s in (6, 7, 8, 9))
    v = (1, C, 1)
    ref_plain = x.astype(np.float64) * scale.reshape(v)
    ref_full = ((x - shift.reshape(v)).astype(np.float64) * scale.reshape(v) + bias.reshape(v)
                + g.astype(np.float64) * gscale.reshape(v))
    for plain, full in _on_every_isa_and_thread_count(
            lambda: (channel.affine(x, scale), channel.affine(x, scale, shift, bias, g, gscale))):
        assert plain.shape == full.shape == shape and full.dtype == dtype
        np.testing.assert_allclose(plain, ref_plain, rtol=TOL[dtype], atol=TOL[dtype])
        np.testing.assert_allclose(full, ref_full, rtol=TOL[dtype], atol=TOL[dtype] * 10)


def test_other_dtypes_run_the_numpy_formulas():
    x = _data((3, 2, 4), np.float16, 0)
    s = np.ones(2, np.float16)
    mean, var = channel.moments(x)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=(0, 2)), rtol=1e-2)
    np.testing.assert_allclose(channel.affine(x, s, mean), x - mean.reshape(1, 2, 1), rtol=1e-2)
    assert channel.sums(x, x, mean)[0].dtype == np.float16


def test_the_binding_refuses_wrong_shapes():
    x = np.zeros((2, 3, 4), np.float32)
    v3, v2, e = np.zeros(3, np.float32), np.zeros(2, np.float32), np.zeros(0, np.float32)
    e3 = np.zeros((0, 0, 0), np.float32)
    with pytest.raises(ValueError, match="mean must have 3 elements"):
        _C.channel_moments(x, v2, v3)
    with pytest.raises(ValueError, match="values in each channel"):
        _C.channel_moments(np.zeros((0, 3, 4), np.float32), v3, v3)
    with pytest.raises(ValueError, match="x must have g's shape"):
        _C.channel_sums(x, np.zeros((2, 3, 5), np.float32), e, v3, v3)
    with pytest.raises(ValueError, match="shift must have 3 elements"):
        _C.channel_sums(x, x, v2, v3, v3)
    with pytest.raises(ValueError, match="y must have x's shape"):
        _C.channel_affine(x, e, v3, e, e3, e, np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match="scale must have 3 elements"):
        _C.channel_affine(x, e, e, e, e3, e, x.copy())
    with pytest.raises(ValueError, match="g must have x's shape"):
        _C.channel_affine(x, e, v3, e, np.zeros((1, 3, 4), np.float32), v3, x.copy())


# ---------------------------------------------------------------- gradients (float64) -------
def _t(a):
    return ac.tensor(a, requires_grad=True)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 2, 2, 3), (4, 2)])
def test_affine_gradients_to_second_order(shape):
    C = shape[1]
    args = [_t(_data(shape, np.float64, 0)), _t(_vec(C, np.float64, 1)),
            _t(_vec(C, np.float64, 2)), _t(_vec(C, np.float64, 3)),
            _t(_data(shape, np.float64, 4)), _t(_vec(C, np.float64, 5))]
    assert ac.gradcheck(channel.ChannelAffine.apply, args)
    assert ac.gradgradcheck(channel.ChannelAffine.apply, args)
    assert_array_and_tensor_backward_agree(channel.ChannelAffine.apply, args)
    # the optional arguments left out
    assert ac.gradgradcheck(lambda x, s: channel.ChannelAffine.apply(x, s), args[:2])


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 2, 2, 3)])
def test_moments_and_sums_gradients_to_second_order(shape):
    C = shape[1]
    x, g = _t(_data(shape, np.float64, 0)), _t(_data(shape, np.float64, 1))
    shift = _t(_vec(C, np.float64, 2))
    both = lambda *a: sum(o * w for o, w in zip(a, (1.0, 0.7)))  # noqa: E731

    def moments(x):
        return both(*channel.ChannelMoments.apply(x))

    def sums(g, x, shift):
        return both(*channel.ChannelSums.apply(g, x, shift))

    for fn, args in ((moments, (x,)), (sums, (g, x, shift))):
        assert ac.gradcheck(fn, args)
        assert ac.gradgradcheck(fn, args)
        assert_array_and_tensor_backward_agree(fn, args)


def test_channel_sum_and_broadcast_are_adjoint():
    g = _t(_data((2, 3, 4), np.float64, 0))
    b = _t(_vec(3, np.float64, 1))
    assert ac.gradgradcheck(lambda g: channel.ChannelSum.apply(g, 1) ** 2, (g,))
    assert ac.gradcheck(lambda b: channel.ChannelBroadcast.apply(b, (2, 3, 4), 1), (b,))
    y = channel.ChannelBroadcast.apply(b, (2, 3, 4), 1)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(b.numpy().reshape(1, 3, 1), (2, 3, 4)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wshape", [(1, 6, 1, 1), (6, 1, 1), (1, 1, 1, 70)])
def test_engine_sums_broadcast_gradients_per_channel(wshape, dtype, restore_backend, monkeypatch):
    """A (C,)-like operand broadcast over a large tensor: its gradient, summed by the engine with
    the compiled per-channel sum (autograd/match_shape.py), matches NumPy's and does not depend on
    the thread count."""
    shape = (8, 6, 9, 70)  # 30240 elements: above the engine's threshold
    x = ac.tensor(_data(shape, dtype, 0))
    w = ac.tensor(_data(wshape, dtype, 1), requires_grad=True)
    g = _data(shape, dtype, 2)
    aligned = (1,) * (4 - len(wshape)) + wshape
    ref = (g.astype(np.float64) * x.numpy()).sum(
        axis=tuple(i for i in range(4) if aligned[i] == 1), keepdims=True).reshape(wshape)
    calls, installed = [], match_shape._channel_sum
    monkeypatch.setattr(match_shape, "_channel_sum", lambda g, a: calls.append(a) or installed(g, a))
    grads = []
    for threads in (1, 2):
        ac.set_num_threads(threads)
        w.grad = None
        (x * w).backward(ac.tensor(g))
        grads.append(w.grad.numpy())
    assert calls and grads[0].shape == wshape and np.array_equal(grads[0], grads[1])
    np.testing.assert_allclose(grads[0], ref, rtol=TOL[dtype] * 10,
                               atol=TOL[dtype] * 100)
