"""Every differentiable op: gradcheck and gradgradcheck in float64, forward values against a
NumPy reference, forward values and gradients against PyTorch where it is installed, and the
one backward run on ndarrays and on Tensors agreeing (first and second order)."""
import numpy as np
import pytest

import autograd_cnn as ac
from _support import assert_array_and_tensor_backward_agree, torch, requires_torch


def _softmax_np(x, d):
    e = np.exp(x - x.max(axis=d, keepdims=True))
    return e / e.sum(axis=d, keepdims=True)


def _tpad(m, a, p):
    return ac.pad(a, p) if m is ac else torch.nn.functional.pad(a, p)


# name: (function of (module, *tensors), NumPy reference, input shapes, domain)
# domain "any": standard normal; "pos": in [0.5, 2]; module is autograd_cnn or torch.
CASES = {
    "add_broadcast": (lambda m, a, b: a + b, lambda a, b: a + b, [(2, 3), (3,)], "any"),
    "sub_broadcast": (lambda m, a, b: a - b, lambda a, b: a - b, [(2, 1, 3), (4, 1)], "any"),
    "mul_broadcast": (lambda m, a, b: a * b, lambda a, b: a * b, [(2, 3), (2, 1)], "any"),
    "div_broadcast": (lambda m, a, b: a / b, lambda a, b: a / b, [(2, 3), (3,)], "pos"),
    "pow_tensor": (lambda m, a, b: a ** b, lambda a, b: a ** b, [(2, 3), (2, 3)], "pos"),
    "pow_scalar": (lambda m, a: a ** 3, lambda a: a ** 3, [(2, 3)], "any"),
    "pow_half": (lambda m, a: a ** 0.5, lambda a: a ** 0.5, [(4,)], "pos"),
    "rpow": (lambda m, a: 2.0 ** a, lambda a: 2.0 ** a, [(4,)], "any"),
    "scalar_arith": (lambda m, a: (3 - a) * 2 / 5 + 1, lambda a: (3 - a) * 2 / 5 + 1,
                     [(2, 3)], "any"),
    "rdiv": (lambda m, a: 1.5 / a, lambda a: 1.5 / a, [(2, 3)], "pos"),
    "neg": (lambda m, a: -a, lambda a: -a, [(3,)], "any"),
    "matmul_2d": (lambda m, a, b: a @ b, lambda a, b: a @ b, [(2, 3), (3, 4)], "any"),
    "matmul_batched_broadcast": (lambda m, a, b: a @ b, lambda a, b: a @ b,
                                 [(2, 1, 2, 3), (3, 3, 2)], "any"),
    "matmul_vec_mat": (lambda m, a, b: a @ b, lambda a, b: a @ b, [(3,), (2, 3, 4)], "any"),
    "matmul_mat_vec": (lambda m, a, b: a @ b, lambda a, b: a @ b, [(2, 4, 3), (3,)], "any"),
    "matmul_dot": (lambda m, a, b: a @ b, lambda a, b: a @ b, [(3,), (3,)], "any"),
    "exp": (lambda m, a: m.exp(a), np.exp, [(2, 3)], "any"),
    "log": (lambda m, a: m.log(a), np.log, [(2, 3)], "pos"),
    "sqrt": (lambda m, a: m.sqrt(a), np.sqrt, [(2, 3)], "pos"),
    "abs": (lambda m, a: m.abs(a), np.abs, [(2, 3)], "any"),
    "clamp": (lambda m, a: m.clamp(a, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7), [(3, 4)], "any"),
    "clamp_min": (lambda m, a: m.clamp(a, min=0.1), lambda a: np.maximum(a, 0.1), [(3, 4)], "any"),
    "maximum": (lambda m, a, b: m.maximum(a, b), np.maximum, [(2, 3), (3,)], "any"),
    "minimum": (lambda m, a, b: m.minimum(a, b), np.minimum, [(2, 3), (2, 3)], "any"),
    "where": (lambda m, a, b: m.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
              [(2, 3), (3,)], "any"),
    "relu": (lambda m, a: m.relu(a), lambda a: np.maximum(a, 0), [(2, 5)], "any"),
    "leaky_relu": (lambda m, a: (ac.functional if m is ac else torch.nn.functional).leaky_relu(a, 0.1),
                   lambda a: np.where(a > 0, a, 0.1 * a), [(2, 5)], "any"),
    "sigmoid": (lambda m, a: m.sigmoid(a), lambda a: 1 / (1 + np.exp(-a)), [(2, 5)], "any"),
    "tanh": (lambda m, a: m.tanh(a), np.tanh, [(2, 5)], "any"),
    "softmax": (lambda m, a: m.softmax(a, 1), lambda a: _softmax_np(a, 1), [(2, 4)], "any"),
    "softmax_dim0": (lambda m, a: m.softmax(a, dim=0), lambda a: _softmax_np(a, 0), [(3, 2)], "any"),
    "log_softmax": (lambda m, a: m.log_softmax(a, -1), lambda a: np.log(_softmax_np(a, -1)),
                    [(2, 4)], "any"),
    "sum_all": (lambda m, a: a.sum(), np.sum, [(2, 3)], "any"),
    "sum_dim": (lambda m, a: a.sum(1), lambda a: a.sum(1), [(2, 3, 2)], "any"),
    "sum_dims_keepdim": (lambda m, a: a.sum((0, 2), keepdim=True),
                         lambda a: a.sum((0, 2), keepdims=True), [(2, 3, 2)], "any"),
    "mean_dim": (lambda m, a: a.mean(-1), lambda a: a.mean(-1), [(2, 3)], "any"),
    "mean_all": (lambda m, a: a.mean(), np.mean, [(2, 3)], "any"),
    "max_all": (lambda m, a: a.max(), np.max, [(2, 3)], "any"),
    "min_all": (lambda m, a: a.min(), np.min, [(2, 3)], "any"),
    "max_dim": (lambda m, a: a.max(1).values, lambda a: a.max(1), [(3, 4)], "any"),
    "min_dim_keepdim": (lambda m, a: a.min(0, keepdim=True)[0], lambda a: a.min(0, keepdims=True),
                        [(3, 4)], "any"),
    "amax": (lambda m, a: m.amax(a, (0, 2)), lambda a: a.max((0, 2)), [(2, 3, 2)], "any"),
    "var_unbiased": (lambda m, a: a.var(1), lambda a: a.var(1, ddof=1), [(2, 4)], "any"),
    "var_correction0_keepdim": (lambda m, a: a.var(0, correction=0, keepdim=True),
                                lambda a: a.var(0, keepdims=True), [(3, 2)], "any"),
    "var_all": (lambda m, a: a.var(), lambda a: a.var(ddof=1), [(2, 3)], "any"),
    "std": (lambda m, a: a.std(1), lambda a: a.std(1, ddof=1), [(2, 4)], "any"),
    "std_biased": (lambda m, a: a.std(unbiased=False), lambda a: a.std(), [(2, 3)], "any"),
    "reshape": (lambda m, a: a.reshape(3, -1), lambda a: a.reshape(3, -1), [(2, 3, 2)], "any"),
    "view": (lambda m, a: a.view(6), lambda a: a.reshape(6), [(2, 3)], "any"),
    "transpose": (lambda m, a: a.transpose(0, 2), lambda a: a.swapaxes(0, 2), [(2, 3, 4)], "any"),
    "permute": (lambda m, a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), [(2, 3, 4)], "any"),
    "flatten": (lambda m, a: a.flatten(1), lambda a: a.reshape(2, -1), [(2, 3, 2)], "any"),
    "squeeze": (lambda m, a: a.squeeze(1), lambda a: a.squeeze(1), [(2, 1, 3)], "any"),
    "unsqueeze": (lambda m, a: a.unsqueeze(-1), lambda a: a[..., None], [(2, 3)], "any"),
    "expand": (lambda m, a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)),
               [(3, 1)], "any"),
    "getitem_slice": (lambda m, a: a[1:, ::2], lambda a: a[1:, ::2], [(3, 5)], "any"),
    "getitem_int_none": (lambda m, a: a[1, None, :, 0], lambda a: a[1, None, :, 0],
                         [(2, 3, 4)], "any"),
    "getitem_repeated": (lambda m, a: a[[0, 2, 0, 0]], lambda a: a[[0, 2, 0, 0]], [(3, 2)], "any"),
    "getitem_2d_arrays": (lambda m, a: a[[0, 1, 1], [2, 0, 2]], lambda a: a[[0, 1, 1], [2, 0, 2]],
                          [(2, 3)], "any"),
    "getitem_mask": (lambda m, a: a[a > 0], lambda a: a[a > 0], [(3, 3)], "any"),
    "cat": (lambda m, a, b: m.cat([a, b, a], 1), lambda a, b: np.concatenate([a, b, a], 1),
            [(2, 3), (2, 1)], "any"),
    "stack": (lambda m, a, b: m.stack([a, b], -1), lambda a, b: np.stack([a, b], -1),
              [(2, 3), (2, 3)], "any"),
    "pad": (lambda m, a: _tpad(m, a, (1, 2, 0, 1)), lambda a: np.pad(a, ((0, 0), (0, 1), (1, 2))),
            [(2, 2, 3)], "any"),
    "cast_chain": (lambda m, a: (a.float() * 2).double(), lambda a: a.astype(np.float32) * 2,
                   [(3,)], "any"),
}


def _inputs(shapes, domain, seed=0):
    rng = np.random.default_rng(seed)
    if domain == "pos":
        return [rng.uniform(0.5, 2.0, s) for s in shapes]
    return [rng.standard_normal(s) for s in shapes]


def _ours(arrays):
    return [ac.tensor(a, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_matches_numpy(name):
    fn, ref, shapes, domain = CASES[name]
    arrays = _inputs(shapes, domain)
    out = fn(ac, *_ours(arrays))
    expected = ref(*arrays)
    tol = 1e-6 if name == "cast_chain" else 1e-12
    np.testing.assert_allclose(out.numpy(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(name):
    fn, _, shapes, domain = CASES[name]
    if name == "cast_chain":
        pytest.skip("passes through float32 on purpose")
    assert ac.gradcheck(lambda *t: fn(ac, *t), tuple(_ours(_inputs(shapes, domain))))


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradgradcheck(name):
    fn, _, shapes, domain = CASES[name]
    if name == "cast_chain":
        pytest.skip("passes through float32 on purpose")
    assert ac.gradgradcheck(lambda *t: fn(ac, *t), tuple(_ours(_inputs(shapes, domain))))


@pytest.mark.parametrize("name", sorted(CASES))
def test_array_and_tensor_backward_agree(name):
    fn, _, shapes, domain = CASES[name]
    xs = _ours(_inputs(shapes, domain))
    assert_array_and_tensor_backward_agree(lambda *t: fn(ac, *t), xs)


@pytest.mark.parametrize("f", [ac.exp, ac.log, ac.sqrt, ac.abs, ac.relu, ac.sigmoid, ac.tanh])
def test_public_functions_take_tensors_not_ndarrays(f):
    # as torch.exp(ndarray): a TypeError naming the argument, never an ndarray result
    with pytest.raises(TypeError, match="must be a Tensor"):
        f(np.ones(3))


def test_where_needs_a_tensor_argument():
    with pytest.raises(TypeError, match="where"):
        ac.where(np.ones(3) > 0, np.ones(3), np.zeros(3))
    out = ac.where(ac.tensor([True, False]), 1.0, 0.0)  # a Tensor condition is enough
    assert isinstance(out, ac.Tensor) and out.tolist() == [1.0, 0.0]


@requires_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name, dtype):
    fn, _, shapes, domain = CASES[name]
    arrays = [a.astype(dtype) for a in _inputs(shapes, domain)]
    xs = _ours(arrays)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = fn(ac, *xs), fn(torch, *ts)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    assert out.dtype == tout.detach().numpy().dtype
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=rtol, atol=rtol)
    v = np.random.default_rng(5).standard_normal(out.shape).astype(out.dtype)
    out.backward(ac.tensor(v))
    tout.backward(torch.tensor(v))
    for x, t in zip(xs, ts):
        assert x.grad.shape == tuple(t.grad.shape) and x.grad.dtype == t.grad.numpy().dtype
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=rtol)
