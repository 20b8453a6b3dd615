"""gradcheck/gradgradcheck themselves: they must catch wrong gradients and say where."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd_cnn as ac


class WrongSquare(ac.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.numpy() ** 2

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x   # wrong: should be 2x


class WrongSecond(ac.Function):
    """Right first derivative (2x), but its backward uses a constant: wrong second derivative."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.numpy() ** 2

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ac.tensor(2 * x.numpy())


def test_gradcheck_reports_input_element_and_values():
    x = ac.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        ac.gradcheck(WrongSquare.apply, (x,))
    msg = str(info.value)
    assert "input 0" in msg and "element (0,)" in msg
    assert "analytic 3.0" in msg and "numeric 2.0" in msg
    assert ac.gradcheck(WrongSquare.apply, (x,), raise_exception=False) is False


def test_gradgradcheck_catches_non_differentiable_backward():
    x = ac.tensor(np.array([1.0, -0.5]), requires_grad=True)
    assert ac.gradcheck(WrongSecond.apply, (x,))
    assert ac.gradgradcheck(WrongSecond.apply, (x,), raise_exception=False) is False


def test_gradcheck_warns_on_float32():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        ac.gradcheck(lambda t: (t * t).double(), (x,), eps=1e-3, atol=1e-2, rtol=1e-2)
    assert any("float64" in str(w.message) for w in rec)


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="requires grad"):
        ac.gradcheck(lambda t: t * 2, (ac.tensor(np.ones(2)),))


shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


def _drop_dims(shape, draw):
    # a shape broadcastable to ``shape``: drop leading dims and set some to 1
    k = draw(st.integers(0, len(shape)))
    return tuple(1 if draw(st.booleans()) else s for s in shape[k:])


@settings(max_examples=30, deadline=None)
@given(st.data(), shapes, st.sampled_from(["add", "sub", "mul", "div", "maximum", "where"]))
def test_broadcasting_binary_ops_gradcheck(data, shape, op):
    other = _drop_dims(shape, data.draw)
    if data.draw(st.booleans()):
        shape, other = other, shape
    rng = np.random.default_rng(len(shape) * 7 + len(other))
    a = ac.tensor(rng.uniform(0.5, 2.0, shape), requires_grad=True)
    b = ac.tensor(rng.uniform(-2.0, -0.5, other) if op != "div" else rng.uniform(0.5, 2, other),
                  requires_grad=True)
    fns = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
           "div": lambda x, y: x / y, "maximum": ac.maximum,
           "where": lambda x, y: ac.where(x > 1.2, x, y)}
    fn = fns[op]
    assert ac.gradcheck(fn, (a, b))
    out = fn(a, b)
    out.sum().backward()
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
