"""autograd_cnn.functional pooling on Tensors: values and gradients against the NumPy reference
(_pool_reference.py) and PyTorch where installed, return_indices, gradcheck and second
derivatives, unbatched and non-contiguous inputs, and the argument errors."""
import numpy as np
import pytest

import _pool_reference as ref
import autograd_cnn as ac
import autograd_cnn.functional as F
from _support import RTOL, assert_array_and_tensor_backward_agree, requires_torch, torch
from autograd_cnn.autograd import grad

DTYPES = [np.float32, np.float64]


def distinct(shape, dtype=np.float64, seed=0):
    """Distinct values (no ties) so max pooling's gradient is unambiguous."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n).reshape(shape) / n - 0.5).astype(dtype)


def leaf(a):
    return ac.tensor(a, requires_grad=True)


def value_and_grad(fn, a, seed=1):
    """fn(x) and d<fn(x), g>/dx for a random g."""
    x = leaf(a)
    y = fn(x)
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(a.dtype)
    (y * ac.tensor(g)).sum().backward()
    return y.numpy(), x.grad.numpy(), g


# ---- values and gradients against the NumPy reference -------------------------------------

MAX_CASES = [  # kernel, stride, padding, dilation, ceil_mode
    (2, None, 0, 1, False), (3, 2, 1, 1, True), ((2, 3), (1, 2), (1, 1), (2, 1), False),
    (3, 1, 1, 1, False), ((3, 1), (3, 2), (1, 0), 1, True),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MAX_CASES)
def test_max_pool2d_values_and_grad(case, dtype):
    k, s, p, d, c = case
    a = distinct((2, 3, 11, 14), dtype)
    y, gx, g = value_and_grad(lambda x: F.max_pool2d(x, k, s, p, d, c), a)
    ry, rind = ref.max_pool(a, k, s, p, d, c)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_allclose(gx, ref.scatter(g, rind, a.shape), rtol=RTOL[np.dtype(dtype)])
    assert gx.dtype == dtype


AVG_CASES = [  # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, dilation
    (2, None, 0, False, True, None, 1), (3, 2, 1, True, True, None, 1),
    (3, 2, 1, True, False, None, 1), ((2, 3), (1, 2), (1, 1), False, True, 5, 1),
    (3, 2, 1, True, True, None, 2), ((3, 2), (2, 3), (1, 1), True, False, None, (1, 2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", AVG_CASES)
def test_avg_pool2d_values_and_grad(case, dtype):
    k, s, p, c, cip, div, d = case
    a = distinct((2, 3, 11, 14), dtype)
    y, gx, g = value_and_grad(lambda x: F.avg_pool2d(x, k, s, p, c, cip, div, dilation=d), a)
    kw = dict(kernel=k, stride=s, padding=p, dilation=d, ceil_mode=c, count_include_pad=cip,
              divisor_override=div)
    rtol = RTOL[np.dtype(dtype)]
    np.testing.assert_allclose(y, ref.avg_pool(a, **kw), rtol=rtol)
    np.testing.assert_allclose(gx, ref.avg_pool_grad(g, a.shape, **kw), rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("out", [1, (3, 5), (None, 4), (6, None), (13, 16)])
def test_adaptive_pool2d_values_and_grad(out):
    a = distinct((2, 3, 9, 11))
    full = tuple(a.shape[2 + i] if o is None else o
                 for i, o in enumerate(out if isinstance(out, tuple) else (out, out)))
    y, gx, g = value_and_grad(lambda x: F.adaptive_max_pool2d(x, out), a)
    ry, rind = ref.adaptive_max_pool(a, full)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_allclose(gx, ref.scatter(g, rind, a.shape))
    y, gx, g = value_and_grad(lambda x: F.adaptive_avg_pool2d(x, out), a)
    np.testing.assert_allclose(y, ref.adaptive_avg_pool(a, full), rtol=1e-12)


def test_one_dimensional_functions():
    a = distinct((2, 3, 17))
    y, i = F.max_pool1d(ac.tensor(a), 3, 2, 1, 2, True, return_indices=True)
    ry, rind = ref.max_pool(a[:, :, None], (1, 3), (1, 2), (0, 1), (1, 2), True)
    np.testing.assert_array_equal(y.numpy(), ry[:, :, 0])
    np.testing.assert_array_equal(i.numpy(), rind[:, :, 0])
    y = F.avg_pool1d(ac.tensor(a), 4, 3, 2, True, False)
    expected = ref.avg_pool(a[:, :, None], (1, 4), (1, 3), (0, 2), ceil_mode=True,
                            count_include_pad=False)
    np.testing.assert_allclose(y.numpy(), expected[:, :, 0])
    y, i = F.adaptive_max_pool1d(ac.tensor(a), 5, return_indices=True)
    ry, rind = ref.adaptive_max_pool(a[:, :, None], (1, 5))
    np.testing.assert_array_equal(y.numpy(), ry[:, :, 0])
    np.testing.assert_array_equal(i.numpy(), rind[:, :, 0])
    np.testing.assert_allclose(F.adaptive_avg_pool1d(ac.tensor(a), (4,)).numpy(),
                               ref.adaptive_avg_pool(a[:, :, None], (1, 4))[:, :, 0])


def test_return_indices_and_output_types():
    a = distinct((2, 3, 8, 8), np.float32)
    y, i = F.max_pool2d(leaf(a), 2, return_indices=True)
    assert isinstance(y, ac.Tensor) and isinstance(i, ac.Tensor)
    assert y.dtype == np.float32 and y.requires_grad
    assert i.dtype == np.int64 and not i.requires_grad and i.shape == y.shape
    _, rind = ref.max_pool(a, 2)
    np.testing.assert_array_equal(i.numpy(), rind)


def test_indices_are_computed_only_when_needed():
    a = distinct((2, 3, 8, 8))
    with ac.no_grad():
        y = F.max_pool2d(leaf(a), 2)
    assert not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), ref.max_pool(a, 2)[0])
    y, i = F.max_pool2d(ac.tensor(a), 2, return_indices=True)  # no grad, but indices wanted
    np.testing.assert_array_equal(i.numpy(), ref.max_pool(a, 2)[1])


def test_unbatched_and_non_contiguous_inputs():
    a = distinct((3, 10, 12))
    y = F.max_pool2d(ac.tensor(a), 3, 2, 1)
    np.testing.assert_array_equal(y.numpy(), F.max_pool2d(ac.tensor(a[None]), 3, 2, 1).numpy()[0])
    b = distinct((2, 12, 10, 3)).transpose(0, 3, 2, 1)[:, :, ::2, 1:]  # strided view
    assert not b.flags.c_contiguous
    for fn in (lambda x: F.max_pool2d(x, 2), lambda x: F.avg_pool2d(x, 3, 1, 1),
               lambda x: F.adaptive_avg_pool2d(x, 3)):
        y, gx, g = value_and_grad(fn, b)
        y2, gx2, _ = value_and_grad(fn, np.ascontiguousarray(b))
        np.testing.assert_array_equal(y, y2)
        np.testing.assert_array_equal(gx, gx2)


def test_windows_much_wider_than_the_input():
    a = distinct((1, 2, 5))
    kw = dict(kernel_size=201, stride=1, padding=100, count_include_pad=False)
    y, gx, g = value_and_grad(lambda x: F.avg_pool1d(x, **kw), a)
    k = dict(kernel=(1, 201), stride=1, padding=(0, 100), count_include_pad=False)
    np.testing.assert_allclose(y, ref.avg_pool(a[:, :, None], **k)[:, :, 0])
    expected = ref.avg_pool_grad(g[:, :, None], a[:, :, None].shape, **k)
    np.testing.assert_allclose(gx, expected[:, :, 0])
    y = F.avg_pool1d(ac.tensor(a), 10 ** 9, 1, 5 * 10 ** 8)  # six windows of five taps each
    assert y.shape == (1, 2, 6)
    y, gx, g = value_and_grad(lambda x: F.max_pool1d(x, 10 ** 9, 1, 5 * 10 ** 8), a)
    np.testing.assert_allclose(gx.sum(-1), g.sum(-1))  # every window's max is the global one


def test_empty_batch():
    x = leaf(np.zeros((0, 3, 8, 8)))
    y = F.max_pool2d(x, 2)
    assert y.shape == (0, 3, 4, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 8, 8)


# ---- gradcheck and second derivatives (float64) -------------------------------------------

FUNCTIONS = [
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1, 1, True), (2, 2, 7, 8)),
    ("max_pool2d_dilated", lambda x: F.max_pool2d(x, 2, 1, 1, 2), (1, 2, 6, 7)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), (2, 2, 7, 8)),
    ("avg_pool2d_override", lambda x: F.avg_pool2d(x, 2, 1, 1, divisor_override=3), (1, 2, 5, 6)),
    ("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), (2, 3, 9)),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, 1, True), (2, 3, 9)),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (3, 4)), (2, 2, 7, 6)),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, None)), (2, 2, 7, 6)),
    ("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 4), (2, 3, 9)),
    ("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 4), (2, 3, 9)),
]


@pytest.mark.parametrize("name,fn,shape", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_gradcheck(name, fn, shape):
    assert ac.gradcheck(fn, (leaf(distinct(shape)),))


@pytest.mark.parametrize("name,fn,shape", FUNCTIONS[::2] + FUNCTIONS[1::4],
                         ids=[f[0] for f in FUNCTIONS[::2] + FUNCTIONS[1::4]])
def test_gradgradcheck(name, fn, shape):
    assert ac.gradgradcheck(fn, (leaf(distinct(shape)),))


@pytest.mark.parametrize("name,fn,shape", FUNCTIONS, ids=[f[0] for f in FUNCTIONS])
def test_array_and_tensor_backward_agree(name, fn, shape):
    assert_array_and_tensor_backward_agree(fn, [leaf(distinct(shape))])


def test_double_backward_of_max_pool_is_gather():
    """d/dv of <scatter(v), w> is gather(w): checks create_graph through the scatter."""
    a = distinct((1, 2, 6, 6))
    x = leaf(a)
    y, i = F.max_pool2d(x, 2, return_indices=True)
    v = leaf(np.ones(y.shape))
    (gx,) = grad([y], [x], [v], create_graph=True)
    w = distinct(a.shape, seed=5)
    (gx * ac.tensor(w)).sum().backward()
    expected = np.take_along_axis(w.reshape(1, 2, -1), i.numpy().reshape(1, 2, -1), 2)
    np.testing.assert_allclose(v.grad.numpy(), expected.reshape(y.shape))


def test_leaf_gradients_are_the_kernels_own_buffers():
    """A leaf's .grad is the pooling backward's new array, kept without a copy (backward_fresh):
    it must alias nothing else, and later contributions and later backward calls add into it."""
    a = distinct((2, 3, 8, 10))
    x, z = leaf(a), leaf(a.copy())
    gy = np.random.default_rng(2).standard_normal((2, 3, 4, 5))
    F.max_pool2d(x, 2).backward(ac.tensor(gy))
    F.max_pool2d(z, 2).backward(ac.tensor(gy))
    want = ref.scatter(gy, ref.max_pool(a, 2, 2, 0, 1, False)[1], a.shape)
    np.testing.assert_array_equal(x.grad.numpy(), want)
    assert not np.shares_memory(x.grad.numpy(), z.grad.numpy())
    first = x.grad.numpy().copy()
    # two pooling contributions in one backward, then one more backward into the same .grad
    g3 = np.random.default_rng(3).standard_normal((2, 3, 8, 10))
    ((F.max_pool2d(x, 2) * ac.tensor(gy)).sum()
     + (F.avg_pool2d(x, 3, 1, 1) * ac.tensor(g3)).sum()).backward()
    avg = ref.avg_pool_grad(g3, a.shape, kernel=3, stride=1, padding=1)
    np.testing.assert_allclose(x.grad.numpy(), first + want + avg, rtol=1e-12)
    np.testing.assert_array_equal(z.grad.numpy(), want)
    assert not np.shares_memory(x.grad.numpy(), z.grad.numpy())


# ---- PyTorch ------------------------------------------------------------------------------

def torch_pair(fn_ours, fn_torch, a):
    """Our (y, grad) and PyTorch's for the same input and output gradient."""
    y, gx, g = value_and_grad(fn_ours, a)
    tx = torch.from_numpy(a.copy()).requires_grad_(True)
    ty = fn_torch(tx)
    ty.backward(torch.from_numpy(g))
    return y, gx, ty.detach().numpy(), tx.grad.numpy()


TORCH_CASES = [
    ("max_pool2d", dict(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=True)),
    ("max_pool2d", dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ("avg_pool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", dict(kernel_size=(3, 2), stride=(2, 3), padding=1, ceil_mode=True,
                        count_include_pad=False)),
    ("avg_pool2d", dict(kernel_size=2, stride=1, padding=1, divisor_override=3)),
    ("max_pool1d", dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    ("avg_pool1d", dict(kernel_size=4, stride=3, padding=2, ceil_mode=True)),
    ("adaptive_max_pool2d", dict(output_size=(4, None))),
    ("adaptive_avg_pool2d", dict(output_size=(5, 3))),
    ("adaptive_max_pool1d", dict(output_size=6)),
    ("adaptive_avg_pool1d", dict(output_size=4)),
]


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kw", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_pytorch(name, kw, dtype):
    shape = (2, 3, 10, 13) if name.endswith("2d") else (2, 3, 13)
    a = distinct(shape, dtype)
    y, gx, ty, tgx = torch_pair(lambda x: getattr(F, name)(x, **kw),
                                lambda x: getattr(torch.nn.functional, name)(x, **kw), a)
    rtol = RTOL[np.dtype(dtype)]
    np.testing.assert_allclose(y, ty, rtol=rtol)
    np.testing.assert_allclose(gx, tgx, rtol=rtol, atol=1e-7)
    if "max" in name:
        _, i = getattr(F, name)(ac.tensor(a), **kw, return_indices=True)
        _, ti = getattr(torch.nn.functional, name)(torch.from_numpy(a), **kw, return_indices=True)
        np.testing.assert_array_equal(i.numpy(), ti.numpy())


@requires_torch
def test_nan_and_ties_gradients_match_pytorch():
    a = np.array([[[[1.0, np.nan, 2.0, np.nan, 3.0, 3.0],
                    [3.0, 0.0, np.nan, 2.0, 3.0, 3.0],
                    [-np.inf, -np.inf, 1.0, 1.0, 0.5, 0.5]]]])
    for kw in [dict(kernel_size=2, stride=1), dict(kernel_size=3, stride=2, padding=1),
               dict(kernel_size=(1, 3), stride=1, ceil_mode=True)]:
        y, gx, ty, tgx = torch_pair(lambda x: F.max_pool2d(x, **kw),
                                    lambda x: torch.nn.functional.max_pool2d(x, **kw), a)
        np.testing.assert_array_equal(y, ty)
        np.testing.assert_array_equal(gx, tgx)


# ---- argument errors ----------------------------------------------------------------------

X4 = ac.tensor(np.zeros((1, 2, 6, 6), np.float32))


@pytest.mark.parametrize("call,exc,words", [
    (lambda: F.max_pool2d(ac.tensor(np.zeros((6, 6), np.float32)), 2), ValueError,
     ["3-d or 4-d", "(6, 6)"]),
    (lambda: F.max_pool1d(X4, 2), ValueError, ["2-d or 3-d"]),
    (lambda: F.max_pool2d(X4, 0), ValueError, ["kernel_size", ">= 1"]),
    (lambda: F.max_pool2d(X4, 2, stride=0), ValueError, ["stride", ">= 1"]),
    (lambda: F.avg_pool2d(X4, 2, padding=-1), ValueError, ["padding", ">= 0"]),
    (lambda: F.max_pool2d(X4, 3, padding=2), ValueError, ["padding", "half", "kernel_size"]),
    (lambda: F.max_pool2d(X4, (2, 2, 2)), ValueError, ["kernel_size", "tuple of 2"]),
    (lambda: F.max_pool2d(X4, 2.5), TypeError, ["kernel_size"]),
    (lambda: F.max_pool2d(X4, 7), ValueError, ["too small", "kernel_size"]),
    (lambda: F.max_pool2d(X4, 2, dilation=0), ValueError, ["dilation"]),
    (lambda: F.max_pool2d(ac.tensor(np.zeros((1, 1, 2, 2))), 2, 1, 1, 3), ValueError,
     ["no tap inside the input"]),
    (lambda: F.max_pool2d(X4, 2, return_indices=1), TypeError, ["return_indices", "bool"]),
    (lambda: F.avg_pool2d(X4, 2, ceil_mode="yes"), TypeError, ["ceil_mode", "bool"]),
    (lambda: F.avg_pool2d(X4, 2, divisor_override=0), ValueError, ["divisor_override", ">= 1"]),
    (lambda: F.avg_pool2d(X4, 2, divisor_override=1.5), TypeError, ["divisor_override"]),
    (lambda: F.max_pool2d(ac.tensor(np.zeros((1, 2, 6, 6), np.int64)), 2), TypeError,
     ["float32 or float64", "int64"]),
    (lambda: F.max_pool2d(np.zeros((1, 2, 6, 6), np.float16), 2), TypeError, ["float16"]),
    (lambda: F.max_pool2d([[1.0]], 2), TypeError, ["Tensor", "list"]),
    (lambda: F.max_pool2d(ac.tensor(np.zeros((1, 2, 0, 6), np.float32)), 2), ValueError,
     ["spatial sizes", ">= 1"]),
    (lambda: F.adaptive_avg_pool2d(X4, (2, 2, 2)), ValueError, ["output_size", "tuple of 2"]),
    (lambda: F.adaptive_avg_pool2d(X4, 0), ValueError, ["output_size", ">= 1"]),
    (lambda: F.adaptive_max_pool1d(ac.tensor(np.zeros((2, 5), np.float32)), None), TypeError,
     ["output_size"]),
])
def test_argument_errors(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_resolved_calls_are_cached_without_skipping_checks():
    x = ac.tensor(np.zeros((1, 2, 6, 6), np.float32))
    F.max_pool2d(x, 1)
    with pytest.raises(TypeError, match="kernel_size"):
        F.max_pool2d(x, True)  # equal to 1, but not an int
    with pytest.raises(TypeError, match="float32 or float64"):
        F.max_pool2d(ac.tensor(np.zeros((1, 2, 6, 6), np.int32)), 1)
