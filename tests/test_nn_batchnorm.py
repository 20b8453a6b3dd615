"""BatchNorm1d/2d against a NumPy reference (forward, closed-form backward, running buffers),
gradcheck in float64, and PyTorch where installed."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import nn
from _support import (RTOL, assert_array_and_tensor_backward_agree, requires_torch,  # noqa: F401
                      restore_backend, torch)


def ref_forward(x, gamma, beta, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    xhat = (x - mean) / np.sqrt(var + eps)
    return xhat * gamma.reshape(shape) + beta.reshape(shape), xhat, var


def ref_backward(dy, xhat, var, gamma, eps=1e-5):
    """Closed-form batch-norm gradients (training mode)."""
    axes = (0,) + tuple(range(2, dy.ndim))
    shape = (1, -1) + (1,) * (dy.ndim - 2)
    m = dy.size / dy.shape[1]
    dxhat = dy * gamma.reshape(shape)
    inv = 1 / np.sqrt(var + eps)
    dx = inv / m * (m * dxhat - dxhat.sum(axis=axes, keepdims=True)
                    - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx, (dy * xhat).sum(axis=axes), dy.sum(axis=axes)


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)


def _layer(ndim, C, dtype, **kw):
    cls = nn.BatchNorm2d if ndim == 4 else nn.BatchNorm1d
    layer = cls(C, dtype=dtype, **kw)
    rng = np.random.default_rng(1)
    if layer.affine:
        layer.weight.numpy()[...] = rng.uniform(0.5, 1.5, C)
        layer.bias.numpy()[...] = rng.standard_normal(C)
    return layer


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (3, 2, 4, 5), (5, 7, 9), (3, 5, 7, 9)])
def test_training_forward_backward_matches_reference(shape, dtype):
    layer = _layer(len(shape), shape[1], dtype)
    xd = _data(shape, dtype)
    x = ac.tensor(xd, requires_grad=True)
    y = layer(x)
    dy = _data(shape, dtype, seed=2)
    (y * ac.tensor(dy)).sum().backward()
    g, b = layer.weight.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)
    ry, xhat, var = ref_forward(xd.astype(np.float64), g, b)
    dx, dg, db = ref_backward(dy.astype(np.float64), xhat, var, g)
    rtol = RTOL[np.dtype(dtype)]
    atol = 1e-12 if dtype == np.float64 else 1e-5
    assert y.dtype == dtype
    np.testing.assert_allclose(y.numpy(), ry, rtol=rtol, atol=atol)
    np.testing.assert_allclose(x.grad.numpy(), dx, rtol=rtol, atol=atol * 10)
    np.testing.assert_allclose(layer.weight.grad.numpy(), dg, rtol=rtol, atol=atol * 10)
    np.testing.assert_allclose(layer.bias.grad.numpy(), db, rtol=rtol, atol=atol * 10)


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_running_statistics(momentum):
    layer = _layer(4, 3, np.float64, momentum=momentum)
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(1, 4):
        xd = _data((2, 3, 3, 4), np.float64, seed=step)
        layer(ac.tensor(xd))
        mean = xd.mean(axis=(0, 2, 3))
        unbiased = xd.var(axis=(0, 2, 3), ddof=1)
        f = 1 / step if momentum is None else momentum
        rm = (1 - f) * rm + f * mean
        rv = (1 - f) * rv + f * unbiased
        assert int(layer.num_batches_tracked.numpy()) == step
    np.testing.assert_allclose(layer.running_mean.numpy(), rm, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), rv, rtol=1e-12)


def test_eval_uses_running_statistics():
    layer = _layer(3, 4, np.float64)
    layer.running_mean.numpy()[...] = [0.5, -1, 2, 0]
    layer.running_var.numpy()[...] = [1, 4, 0.25, 2]
    layer.eval()
    xd = _data((3, 4, 5), np.float64)
    x = ac.tensor(xd, requires_grad=True)
    y = layer(x)
    shape = (1, 4, 1)
    inv = 1 / np.sqrt(layer.running_var.numpy() + 1e-5)
    g, b = layer.weight.numpy(), layer.bias.numpy()
    ref = (xd - layer.running_mean.numpy().reshape(shape)) * inv.reshape(shape) * g.reshape(shape) \
        + b.reshape(shape)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to((inv * g).reshape(shape), xd.shape),
                               rtol=1e-12)
    assert int(layer.num_batches_tracked.numpy()) == 0  # eval never updates the buffers
    # one sample's output does not depend on the batch in eval
    np.testing.assert_allclose(layer(ac.tensor(xd[:1])).numpy(), y.numpy()[:1], rtol=1e-12)


def test_affine_false_and_no_tracking():
    bn = nn.BatchNorm2d(3, affine=False)
    assert list(bn.state_dict()) == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(bn.parameters()) == []
    xd = _data((2, 3, 2, 2), np.float64)
    ref, _, _ = ref_forward(xd, np.ones(3), np.zeros(3))
    np.testing.assert_allclose(bn.double()(ac.tensor(xd)).numpy(), ref, rtol=1e-10)
    nt = nn.BatchNorm1d(3, track_running_stats=False, dtype=np.float64)
    assert list(nt.state_dict()) == ["weight", "bias"]
    nt.eval()  # no running stats: batch statistics even in eval
    xd = _data((5, 3), np.float64)
    np.testing.assert_allclose(nt(ac.tensor(xd)).numpy(), ref_forward(xd, np.ones(3),
                                                                       np.zeros(3))[0], rtol=1e-10)


def test_errors():
    with pytest.raises(ValueError, match="4D"):
        nn.BatchNorm2d(3)(ac.tensor(np.zeros((2, 3, 4), np.float32)))
    with pytest.raises(ValueError, match="2D or 3D"):
        nn.BatchNorm1d(3)(ac.tensor(np.zeros((2, 3, 4, 4), np.float32)))
    with pytest.raises(ValueError, match="3 channels"):
        nn.BatchNorm1d(3)(ac.tensor(np.zeros((2, 4), np.float32)))
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(ac.tensor(np.zeros((1, 3), np.float32)))
    assert int(bn.num_batches_tracked.numpy()) == 0
    bn.eval()
    bn(ac.tensor(np.zeros((1, 3), np.float32)))  # fine in eval
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=2.0)
    with pytest.raises(ValueError, match="eps"):
        nn.BatchNorm1d(3, eps=0)


def _as_function(layer):
    """layer as a function of (x, weight, bias), with copies of its parameters to check it at."""
    def fn(x, w, b):
        layer.weight, layer.bias = w, b
        return layer(x)

    return fn, nn.Parameter(layer.weight.numpy().copy()), nn.Parameter(layer.bias.numpy().copy())


@pytest.mark.parametrize("shape,train", [((4, 2), True), ((3, 2, 3), True), ((2, 2, 2, 3), True),
                                         ((2, 2, 2, 3), False)])
def test_gradcheck(shape, train):
    layer = _layer(len(shape), shape[1], np.float64)
    layer.running_var.numpy()[...] = [0.7, 1.3]
    layer.train(train)
    x = ac.tensor(_data(shape, np.float64), requires_grad=True)
    fn, w, b = _as_function(layer)
    assert ac.gradcheck(fn, (x, w, b))


@pytest.mark.parametrize("shape,train,affine", [((2, 2, 2, 2), True, True),
                                                 ((3, 2, 3), True, True), ((4, 2), True, False),
                                                 ((2, 2, 3), False, True)])
def test_gradgradcheck(shape, train, affine):
    layer = _layer(len(shape), 2, np.float64, affine=affine)
    layer.train(train)
    x = ac.tensor(_data(shape, np.float64), requires_grad=True)
    if not affine:
        assert ac.gradgradcheck(lambda x: layer(x), (x,))
        return
    fn, w, b = _as_function(layer)
    assert ac.gradgradcheck(fn, (x, w, b))
    assert_array_and_tensor_backward_agree(fn, (x, w, b))


@pytest.mark.parametrize("shape", [(8, 4, 64, 65), (64, 5, 411)])
def test_every_isa_and_thread_count(shape, restore_backend):
    """The compiled path (large enough to run on two threads): the NumPy reference on every
    instruction-set path, the same bits on one and two threads; a large mean (float32) keeps its
    small deviations."""
    xd = _data(shape, np.float32) + 300
    dy = _data(shape, np.float32, seed=2)
    layer = _layer(len(shape), shape[1], np.float32)
    g, b = layer.weight.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)
    ry, xhat, var = ref_forward(xd.astype(np.float64), g, b)
    rdx, rdg, rdb = ref_backward(dy.astype(np.float64), xhat, var, g)
    for isa in ac.backend_info()["available_isas"]:
        ac.set_isa(isa)
        runs = []
        for threads in (1, 2):
            ac.set_num_threads(threads)
            layer.zero_grad()
            x = ac.tensor(xd, requires_grad=True)
            layer(x).backward(ac.tensor(dy))
            runs.append([x.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy(),
                         layer(ac.tensor(xd)).numpy()])
        for a, c in zip(*runs):
            assert np.array_equal(a, c), isa
        dx, dg, db, y = runs[0]
        np.testing.assert_allclose(y, ry, rtol=1e-4, atol=2e-4)
        np.testing.assert_allclose(dx, rdx, rtol=1e-3, atol=1e-4)
        # the float32 mean's rounding (~1e-5 at 300) times sum(dy) (~1e4 here) moves dgamma by
        # ~1e-3 relative, as in PyTorch (its mean is float32 too)
        np.testing.assert_allclose(dg, rdg, rtol=2e-3)
        np.testing.assert_allclose(db, rdb, rtol=1e-4, atol=1e-2)


# ----------------------------------------------------------------------------------- torch
@requires_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 3, 4, 5)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_matches_pytorch(shape, dtype, momentum):
    C = shape[1]
    ours = _layer(len(shape), C, dtype, momentum=momentum)
    tcls = torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d
    theirs = tcls(C, momentum=momentum, dtype=getattr(torch, np.dtype(dtype).name))
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    rtol = RTOL[np.dtype(dtype)]
    atol = 1e-12 if dtype == np.float64 else 1e-5
    for step in range(3):
        for mode in (True, False):
            ours.train(mode)
            theirs.train(mode)
            xd = _data(shape, dtype, seed=10 + step)
            dy = _data(shape, dtype, seed=20 + step)
            x = ac.tensor(xd, requires_grad=True)
            tx = torch.tensor(xd, requires_grad=True)
            y, ty = ours(x), theirs(tx)
            (y * ac.tensor(dy)).sum().backward()
            (ty * torch.from_numpy(dy)).sum().backward()
            np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol * 10)
            for p, tp in zip(ours.parameters(), theirs.parameters()):
                np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol,
                                           atol=atol * 10)
            ours.zero_grad()
            theirs.zero_grad()
    for k, v in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[k], v.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eval_without_a_graph_gives_the_same_bits(dtype):
    # in eval, a weight no graph reaches is multiplied as an array (nn/batchnorm.py); the values
    # must be those of the recorded path
    layer = _layer(3, 4, dtype)
    layer.running_mean.numpy()[...] = [0.5, -1, 2, 0]
    layer.running_var.numpy()[...] = [1, 4, 0.25, 2]
    layer.eval()
    x = ac.tensor(_data((3, 4, 5), dtype))
    recorded = layer(x)
    assert recorded.requires_grad
    with ac.no_grad():
        plain = layer(x)
    layer.weight.requires_grad_(False)
    frozen = layer(x)
    np.testing.assert_array_equal(plain.numpy(), recorded.numpy())
    np.testing.assert_array_equal(frozen.numpy(), recorded.numpy())
