"""Shape and indexing ops: argument handling, errors and gradients of the less common forms."""
import numpy as np
import pytest

import autograd_cnn as ac
from _support import torch, requires_torch


def _x(*shape, seed=0):
    return ac.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def test_reshape_view_forms():
    x = _x(2, 3, 4)
    assert x.reshape(6, 4).shape == (6, 4) and x.reshape((4, -1)).shape == (4, 6)
    assert x.view(-1).shape == (24,) and x.flatten().shape == (24,)
    assert x.flatten(0, 1).shape == (6, 4) and x.flatten(-2).shape == (2, 12)
    assert ac.tensor(3.0).flatten().shape == (1,)


def test_squeeze_unsqueeze():
    x = _x(1, 3, 1)
    assert x.squeeze().shape == (3,) and x.squeeze(0).shape == (3, 1)
    assert x.squeeze(1).shape == (1, 3, 1)        # size != 1: unchanged, like torch
    assert x.squeeze((0, 2)).shape == (3,)
    assert x.unsqueeze(0).shape == (1, 1, 3, 1) and x.unsqueeze(-1).shape == (1, 3, 1, 1)
    with pytest.raises(IndexError):
        x.unsqueeze(5)


def test_expand_rules():
    x = _x(3, 1)
    assert x.expand(2, 3, 4).shape == (2, 3, 4) and x.expand(-1, 5).shape == (3, 5)
    with pytest.raises(RuntimeError, match="must match"):
        x.expand(4, 4)
    y = x.expand(3, 4)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 1), 4.0))


def test_permute_and_T():
    x = _x(2, 3, 4)
    assert x.permute(1, 2, 0).shape == (3, 4, 2) and x.permute((2, 0, 1)).shape == (4, 2, 3)
    assert x.T.shape == (4, 3, 2) and _x(2, 5).T.shape == (5, 2) and x.mT.shape == (2, 4, 3)
    with pytest.raises(RuntimeError, match="number of dims"):
        x.permute(0, 1)
    with pytest.raises(RuntimeError, match="repeated"):
        x.permute(0, 0, 1)


def test_pad_with_value_and_gradient():
    x = _x(1, 2, 2)
    y = ac.pad(x, (1, 1), value=5.0)
    assert y.shape == (1, 2, 4)
    np.testing.assert_array_equal(y.numpy()[..., 0], np.full((1, 2), 5.0))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((1, 2, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        ac.pad(x, (-1, 0))
    with pytest.raises(ValueError, match="too large"):
        ac.pad(x, (1, 1) * 4)


def test_cat_stack_dims_and_errors():
    a, b = _x(2, 3), _x(2, 3, seed=1)
    assert ac.cat([a, b], -1).shape == (2, 6) and ac.cat((a,), 0).shape == (2, 3)
    assert ac.stack([a, b], 2).shape == (2, 3, 2)
    with pytest.raises(RuntimeError, match="equal size"):
        ac.stack([a, _x(3, 2)])
    with pytest.raises(TypeError, match="list or tuple"):
        ac.cat(a)
    with pytest.raises(ValueError, match="non-empty"):
        ac.cat([])
    c = ac.tensor(np.ones((2, 1)))                 # a constant among differentiable pieces
    ac.cat([a, c, b], 1).sum().backward()
    assert a.grad.shape == (2, 3) and b.grad.shape == (2, 3) and c.grad is None


def test_getitem_forms_and_scatter_add():
    x = _x(4, 3)
    idx = ac.tensor([3, 3, 0])
    y = x[idx, 1:]
    assert y.shape == (3, 2)
    y.sum().backward()
    expected = np.zeros((4, 3))
    expected[3, 1:] = 2
    expected[0, 1:] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    assert x[..., 0].shape == (4,) and x[None].shape == (1, 4, 3) and x[-1].shape == (3,)
    assert x[ac.tensor([True, False, True, False])].shape == (2, 3)
    with pytest.raises(IndexError):
        x[ac.tensor([0.5])]
    with pytest.raises(IndexError):
        x[10]


def test_setitem_is_an_inplace_data_change():
    x = ac.zeros(3)
    x[1] = 5.0
    assert x.tolist() == [0.0, 5.0, 0.0] and x._version == 1
    w = ac.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="in place"):
        w[0] = 1.0


def test_max_min_ties_and_argmax():
    x = ac.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [0, 0, 0]])
    assert x.argmax().item() == 1 and x.argmax(1).tolist() == [1, 0]
    assert x.argmin(dim=1, keepdim=True).shape == (2, 1)
    assert ac.amax(x, 1).tolist() == [3.0, 2.0]


@requires_torch
def test_var_std_argument_forms_match_torch():
    a = np.random.default_rng(0).standard_normal((3, 4, 2))
    x, t = ac.tensor(a), torch.tensor(a)
    forms = [
        lambda m: m.var(), lambda m: m.var(1), lambda m: m.var((0, 2), keepdim=True),
        lambda m: m.var(1, unbiased=False), lambda m: m.var(dim=2, correction=0),
        lambda m: m.std(0, keepdim=True), lambda m: m.std(correction=2),
    ]
    for f in forms:
        np.testing.assert_allclose(f(x).numpy(), f(t).numpy(), rtol=1e-12)
