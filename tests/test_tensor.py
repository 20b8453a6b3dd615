"""Tensor construction, dtypes, metadata, NumPy interop, factories, operators with scalars,
comparisons and in-place helpers."""
import numpy as np
import pytest

import autograd_cnn as ac
from _support import torch, requires_torch


def test_dtype_inference():
    assert ac.tensor(1.5).dtype == np.float32
    assert ac.tensor([1.0, 2.0]).dtype == np.float32
    assert ac.tensor([[1, 2]]).dtype == np.int64
    assert ac.tensor([True, False]).dtype == np.bool_
    assert ac.tensor(np.zeros(3)).dtype == np.float64
    assert ac.tensor(np.zeros(3, np.float32)).dtype == np.float32
    assert ac.tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert ac.Tensor([1.0]).dtype == np.float32
    assert ac.tensor(np.float64(2.0)).dtype == np.float64


def test_tensor_copies_but_Tensor_wraps():
    a = np.zeros(3, np.float32)
    ac.tensor(a).numpy()[0] = 1
    assert a[0] == 0
    t = ac.Tensor(a)
    assert t.numpy() is a
    assert ac.from_numpy(a).numpy() is a


def test_metadata_and_conversions():
    t = ac.tensor(np.arange(6.0).reshape(2, 3))
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6
    assert t.size() == (2, 3) and t.size(1) == 3 and t.numel() == 6 and t.dim() == 2
    assert isinstance(t.numpy(), np.ndarray) and np.asarray(t) is t.numpy()
    assert np.asarray(t, dtype=np.float32).dtype == np.float32
    assert ac.tensor([[3.5]]).item() == 3.5
    with pytest.raises(ValueError):
        t.item()
    assert len(t) == 2 and [r.shape for r in t] == [(3,), (3,)]
    assert float(ac.tensor(2.0)) == 2.0 and int(ac.tensor(3)) == 3
    assert t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_requires_grad_rules():
    with pytest.raises(TypeError, match="floating point"):
        ac.tensor([1, 2], requires_grad=True)
    x = ac.tensor([1.0]).requires_grad_()
    assert x.requires_grad and x.is_leaf
    y = x * 2
    assert not y.is_leaf and y.grad_fn is not None
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.numpy() is y.numpy()
    assert ac.tensor([1.0]).requires_grad is False


def test_repr():
    assert repr(ac.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert "requires_grad=True" in repr(ac.tensor([1.0], requires_grad=True))
    x = ac.tensor([1.0], requires_grad=True)
    assert "grad_fn=<MulBackward>" in repr(x * x)
    assert "dtype=float64" in repr(ac.tensor(np.ones(2)))


def test_scalar_and_ndarray_operands_keep_dtype():
    x = ac.tensor([1.0, 2.0])
    for y in (2 * x, x * np.float64(2), np.float64(2) * x, x + 1, 1 - x, x / 2, 2 / x,
              x ** 2, 2 ** x, -x):
        assert isinstance(y, ac.Tensor) and y.dtype == np.float32
    z = np.array([1.0, 1.0]) + x       # ndarray operand: a float64 constant
    assert isinstance(z, ac.Tensor) and z.dtype == np.float64
    np.testing.assert_allclose((np.ones(2) * x).numpy(), [1.0, 2.0])
    np.testing.assert_allclose((np.ones((2, 2)) @ x).numpy(), [3.0, 3.0])


def test_comparisons_are_boolean_and_not_differentiable():
    x = ac.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for c in (x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2, x > ac.tensor([0.0, 5.0, 1.0])):
        assert c.dtype == np.bool_ and not c.requires_grad
    np.testing.assert_array_equal((x == 2).numpy(), [False, True, False])
    assert (x == None) is False  # noqa: E711 - unsupported operand: identity comparison
    assert len({x, x, ac.tensor(1.0)}) == 2   # hashable by identity, like torch


def test_inplace_helpers_bump_version_and_respect_grad_mode():
    w = ac.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="in place"):
        w.add_(1.0)
    with ac.no_grad():
        v = w._version
        w.add_(ac.tensor([1.0, 1.0]), alpha=2).mul_(2).sub_(1.0)
        np.testing.assert_allclose(w.numpy(), [(1 + 2) * 2 - 1, (2 + 2) * 2 - 1])
        w.zero_()
        w.copy_(ac.tensor([5.0, 6.0]))
        w.fill_(3.0)
        assert w._version == v + 6
    g = ac.zeros(2)
    g.add_(np.ones(2)).div_(2)
    np.testing.assert_allclose(g.numpy(), [0.5, 0.5])


def test_inplace_operators_change_the_tensor_itself():
    # the manual SGD step of PyTorch tutorials: the parameters themselves must change
    w = ac.tensor([1.0, 2.0], requires_grad=True)
    (w * ac.tensor([3.0, 4.0])).sum().backward()
    alias, v = w, w._version
    with ac.no_grad():
        w -= 0.5 * w.grad
    assert w is alias and w._version == v + 1
    np.testing.assert_allclose(w.numpy(), [1.0 - 1.5, 2.0 - 2.0])
    x = ac.tensor([1.0, 2.0, 4.0])
    data = x.numpy()
    x += 1
    x *= ac.tensor([2.0, 2.0, 0.5])
    x -= np.array([1.0, 1.0, 1.0], np.float32)
    x /= 2
    x **= 2
    assert x.numpy() is data and x.dtype == np.float32
    np.testing.assert_allclose(data, (((np.array([1, 2, 4]) + 1) * [2, 2, 0.5] - 1) / 2) ** 2)
    x += ac.tensor([1.0], dtype=np.float64)  # broadcast other; the result is cast back
    assert x.dtype == np.float32 and x.numpy() is data
    i = ac.tensor([1, 2])
    i *= 3
    np.testing.assert_array_equal(i.numpy(), [3, 6])
    b = ac.tensor([True, False])
    b |= ac.tensor([False, True])
    b &= ac.tensor([True, False])
    np.testing.assert_array_equal(b.numpy(), [True, False])


def test_inplace_operators_follow_pytorch_rules():
    i = ac.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i += 0.5  # a float result does not go into an integer tensor
    with pytest.raises(RuntimeError, match="can't be cast"):
        i /= 2
    with pytest.raises(RuntimeError, match=r"shape \[2\] doesn't match the broadcast shape"):
        i += ac.tensor([[1], [2], [3]])
    np.testing.assert_array_equal(i.numpy(), [1, 2])  # nothing was written
    leaf = ac.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        leaf += 1
    # recorded (grad mode on): a new node under the name, the gradient flows through it
    a = ac.tensor([1.0, 2.0], requires_grad=True)
    h = a * 2
    h += 1
    acc = ac.zeros(2)
    acc += h * a  # acc requires no grad itself, but the value added does
    assert acc.requires_grad
    acc.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 4 * np.array([1.0, 2.0]) + 1)
    # a saved tensor changed in place is caught at backward
    s = ac.tensor([1.0, 2.0])
    y = (a * s).sum()
    s += 1
    with pytest.raises(RuntimeError, match="modified"):
        y.backward()
    with pytest.raises(TypeError):
        i += "a"


@requires_torch
def test_inplace_operators_match_pytorch():
    ours, theirs = ac.tensor([1.0, -2.0, 3.5]), torch.tensor([1.0, -2.0, 3.5])
    for step in (lambda t, o: t.__iadd__(o), lambda t, o: t.__imul__(o),
                 lambda t, o: t.__isub__(o), lambda t, o: t.__itruediv__(o)):
        step(ours, 1.5)
        step(theirs, 1.5)
        step(ours, ac.tensor([2.0, 3.0, 4.0], dtype=np.float64))
        step(theirs, torch.tensor([2.0, 3.0, 4.0], dtype=torch.float64))
    assert ours.dtype == np.float32 and theirs.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_factories_and_seed():
    assert ac.zeros(2, 3).shape == (2, 3) and ac.zeros((2, 3)).dtype == np.float32
    assert ac.ones(4).numpy().sum() == 4
    assert ac.full((2,), 7).dtype == np.int64 and ac.full((2,), 7.0).dtype == np.float32
    assert ac.arange(5).dtype == np.int64 and ac.arange(0, 1, 0.5).dtype == np.float32
    np.testing.assert_array_equal(ac.arange(1, 7, 2).numpy(), [1, 3, 5])
    x = ac.randn(2, 3, dtype=np.float64, requires_grad=True)
    assert x.dtype == np.float64 and x.requires_grad
    assert ac.zeros_like(x).dtype == np.float64 and ac.ones_like(x).shape == (2, 3)
    ac.manual_seed(123)
    a, r = ac.randn(5), ac.rand(5)
    ac.manual_seed(123)
    np.testing.assert_array_equal(a.numpy(), ac.randn(5).numpy())
    np.testing.assert_array_equal(r.numpy(), ac.rand(5).numpy())
    assert isinstance(ac.random.default_generator(), np.random.Generator)
    assert ((r.numpy() >= 0) & (r.numpy() < 1)).all()
    with pytest.raises(TypeError):
        ac.zeros(2.5)
    with pytest.raises(ValueError):
        ac.ones(-1)


def test_max_min_with_dim_return_namedtuple():
    x = ac.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    out = x.max(1)
    np.testing.assert_array_equal(out.values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(out.indices.numpy(), [1, 0])
    assert out.indices.dtype == np.int64
    values, indices = x.min(dim=0, keepdim=True)
    assert values.shape == (1, 3) and indices.shape == (1, 3)


def test_softmax_extreme_logits_are_exact():
    x = ac.tensor([[1000.0, -1000.0, 0.0]], dtype=np.float64)
    np.testing.assert_array_equal(ac.softmax(x, 1).numpy(), [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(ac.log_softmax(x, 1).numpy(), [[0.0, -2000.0, -1000.0]])
    s = ac.sigmoid(ac.tensor([1000.0, -1000.0]))
    np.testing.assert_array_equal(s.numpy(), [1.0, 0.0])


def test_module_level_functions():
    x = ac.tensor([[1.0, -2.0]])
    assert ac.exp(x).shape == (1, 2) and ac.relu(x).numpy().tolist() == [[1.0, 0.0]]
    assert ac.cat([x, x], 0).shape == (2, 2) and ac.stack([x, x]).shape == (2, 1, 2)
    assert ac.where(x > 0, x, 0.0).numpy().tolist() == [[1.0, 0.0]]
    assert ac.functional.softmax(x, dim=1).shape == (1, 2)
    assert ac.functional.leaky_relu(x, 0.5).numpy().tolist() == [[1.0, -1.0]]


def test_bad_arguments_raise_clear_errors():
    x = ac.ones(2, 3)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.sum(2)
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        x @ x
    with pytest.raises(RuntimeError, match="invalid for input of size"):
        x.reshape(4)
    with pytest.raises(RuntimeError, match="must match"):
        ac.cat([x, ac.ones(3, 3)], 1)
    with pytest.raises(ValueError, match="even length"):
        ac.pad(x, (1,))
    with pytest.raises(TypeError, match="must be a Tensor"):
        ac.exp(np.ones(2).tolist())
    with pytest.raises(ValueError, match="correction"):
        x.var(unbiased=True, correction=0)


@requires_torch
def test_tie_and_kink_gradients_match_torch():
    vals = np.array([0.0, 1.0, 1.0, -1.0, 0.5])
    cases = [
        lambda m, a: a.max(),
        lambda m, a: m.relu(a),
        lambda m, a: a.abs(),
        lambda m, a: a.clamp(0.0, 0.5),
        lambda m, a: m.maximum(a, m.zeros_like(a) + 1.0),
        lambda m, a: m.minimum(a, m.zeros_like(a)),
    ]
    for fn in cases:
        x = ac.tensor(vals, requires_grad=True)
        t = torch.tensor(vals, requires_grad=True)
        fn(ac, x).sum().backward()
        fn(torch, t).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=0, atol=0)


@pytest.mark.parametrize("op", [lambda t: t / 255.0, lambda t: t * 1.5, lambda t: t * np.float64(1.5),
                                lambda t: t / 2, lambda t: 2 / t, lambda t: t - 0.5])
def test_integer_tensors_meeting_floats_give_float32_like_pytorch(op):
    images = ac.tensor(np.arange(1, 7, dtype=np.uint8).reshape(2, 3))
    out = op(images)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), op(images.numpy().astype(np.float64)), rtol=1e-6)
    if torch is not None:
        assert str(op(torch.from_numpy(images.numpy())).dtype) == "torch.float32"


def test_integer_tensors_with_integers_stay_integer():
    t = ac.tensor(np.arange(3, dtype=np.int32))
    assert (t * 2).dtype == np.int32 and (t + 1).dtype == np.int32


def test_std_of_one_element_has_nan_gradient_not_an_exception():
    x = ac.tensor(np.ones((2, 1), np.float32), requires_grad=True)
    x.std(1).sum().backward()
    assert np.isnan(x.grad.numpy()).all()


@pytest.mark.parametrize("big, small, expected", [
    (np.float32, np.float64, np.float32),
    (np.int32, np.int64, np.int32),
    (np.float16, np.float32, np.float16),
    (np.int64, np.float64, np.float64),  # a different kind promotes as usual
])
def test_zero_dim_tensors_promote_like_python_numbers(big, small, expected):
    a = ac.tensor(np.ones(3, big))
    s = ac.tensor(np.array(2, small))
    for out in (a * s, s * a, a + s, a - s, s - a):
        assert out.dtype == expected
    if torch is not None:
        t = torch.from_numpy(np.ones(3, big)) * torch.from_numpy(np.array(2, small))
        assert str(t.dtype) == "torch." + np.dtype(expected).name


def test_zero_dim_weight_gets_a_gradient_of_its_own_dtype():
    x = ac.tensor(np.ones(3, np.float32), requires_grad=True)
    w = ac.tensor(np.array(2.0), requires_grad=True)
    (x * w).sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float64
    assert w.grad.item() == 3.0
