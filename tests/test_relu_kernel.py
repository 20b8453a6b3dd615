"""The compiled ReLU kernels (csrc/activation) behind Tensor.relu / F.relu: values, mask and gradient
against NumPy (np.maximum, x > 0, np.where) on every instruction-set path and thread count,
including NaN, Inf and signed zeros, non-contiguous and odd-length arrays, and the fallbacks."""
import numpy as np
import pytest

import autograd_cnn as ac
from _support import requires_torch, restore_backend, torch  # noqa: F401 (fixture)
from autograd_cnn import _C
from autograd_cnn.ops.activation import _relu_grad_np, _relu_np

DTYPES = [np.float32, np.float64]
SPECIAL = [np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-30, -1e-30]




def _inputs(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    k = min(n, len(SPECIAL))
    x[:k] = SPECIAL[:k]
    g[:k] = [np.nan, np.inf, -np.inf, np.nan, 2.0, np.inf, np.nan][:k]
    return x, g


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 7, 15, 16, 17, 33, 1000, 70001, 600001])
def test_matches_numpy_on_every_isa_and_thread_count(dtype, n, restore_backend):
    # (600001 elements: enough work for the kernels' parallel loop)
    x, g = _inputs(n, dtype)
    ry, rpos = np.where(x < 0, 0, x).astype(dtype), x > 0  # -0.0 and NaN kept, as PyTorch
    rdx = np.where(rpos, g, 0)
    for isa in ac.backend_info()["available_isas"]:
        for threads in (1, 2):
            ac.set_isa(isa)
            ac.set_num_threads(threads)
            y, pos = _relu_np(x)
            dx = _relu_grad_np(pos, g)
            assert y.dtype == dtype and dx.dtype == dtype and pos.dtype == np.bool_
            np.testing.assert_array_equal(y, ry, err_msg=f"{isa}/{threads}")
            np.testing.assert_array_equal(np.signbit(y), np.signbit(ry), err_msg=f"{isa}/{threads}")
            np.testing.assert_array_equal(pos, rpos, err_msg=f"{isa}/{threads}")
            np.testing.assert_array_equal(dx, rdx, err_msg=f"{isa}/{threads}")
            # a masked-out NaN / Inf gradient is exactly +0, as np.where (and PyTorch) give
            assert not np.signbit(dx[~rpos]).any()
            assert np.isnan(y[np.isnan(x)]).all()
            # an inference forward writes no mask, and the same values
            y_only, none = _relu_np(x, with_mask=False)
            assert none is None
            np.testing.assert_array_equal(y_only, ry, err_msg=f"{isa}/{threads}")
            np.testing.assert_array_equal(np.signbit(y_only), np.signbit(ry))


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_and_shaped_inputs(dtype):
    x, g = _inputs(6 * 5 * 8, dtype, seed=1)
    x, g = x.reshape(6, 5, 8)[:, ::2, 1::3], g.reshape(6, 5, 8)[:, ::2, 1::3]
    y, pos = _relu_np(x)
    assert y.shape == x.shape and pos.shape == x.shape
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(_relu_grad_np(pos, g), np.where(x > 0, g, 0))
    # 0-d and empty arrays
    y0, p0 = _relu_np(np.array(-2.0, dtype))
    assert y0.shape == () and y0 == 0 and not p0
    ye, pe = _relu_np(np.empty((0, 3), dtype))
    assert ye.shape == (0, 3) and _relu_grad_np(pe, np.empty((0, 3), dtype)).shape == (0, 3)


def test_relu_keeps_its_mask_only_when_a_backward_needs_it():
    x = ac.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    with ac.no_grad():
        y = ac.relu(x)
    assert not y.requires_grad and y.tolist() == [[0.0, 2.0], [3.0, 0.0]]
    y = ac.relu(x)
    y.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    # create_graph: the backward's own graph still reads the mask
    x.grad = None
    # d/dx sum(relu(x) * x) = 2x where x > 0, else 0; its own derivative 2 where x > 0
    (g,) = ac.autograd.grad((ac.relu(x) * x).sum(), x, create_graph=True)
    assert g.tolist() == [[0.0, 4.0], [6.0, 0.0]]
    g.sum().backward()
    assert x.grad.tolist() == [[0.0, 2.0], [2.0, 0.0]]


def test_other_dtypes_fall_back_to_numpy():
    x = np.array([-3, 0, 4], np.int64)
    y, pos = _relu_np(x)
    assert y.dtype == np.int64 and list(y) == [0, 0, 4] and list(pos) == [False, False, True]
    # a gradient of another dtype or a broadcast shape also takes the NumPy path
    g = np.float32(2.0) * np.ones(1, np.float32)
    np.testing.assert_array_equal(_relu_grad_np(pos, g), np.where(pos, g, 0))


def test_binding_rejects_mismatched_lengths():
    x = np.zeros(5, np.float32)
    with pytest.raises(ValueError, match="one length"):
        _C.relu_forward_kernel(x, np.zeros(4, np.float32), np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match="one length"):
        _C.relu_backward_kernel(x, np.zeros(5, np.uint8), np.zeros(6, np.float32))
    with pytest.raises(ValueError):  # dtypes must agree
        _C.relu_forward_kernel(x, np.zeros(5, np.float64), np.zeros(5, np.uint8))


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_relu_forward_backward_and_double_backward(dtype):
    x0, g0 = _inputs(64, dtype, seed=2)
    x0[np.isnan(x0)] = 0.5
    x = ac.tensor(x0.reshape(4, 16), requires_grad=True)
    y = x.relu()
    y.backward(ac.tensor(g0.reshape(4, 16)))
    np.testing.assert_array_equal(x.grad.numpy(), np.where(x0 > 0, g0, 0).reshape(4, 16))
    # create_graph takes the differentiable path; its first derivative must agree
    x2 = ac.tensor(x0.reshape(4, 16), requires_grad=True)
    (gx,) = ac.autograd.grad(x2.relu().sum(), [x2], create_graph=True)
    np.testing.assert_array_equal(gx.numpy(), (x0 > 0).astype(dtype).reshape(4, 16))


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_torch(dtype):
    x0, g0 = _inputs(1000, dtype, seed=3)
    x = ac.tensor(x0, requires_grad=True)
    x.relu().backward(ac.tensor(g0))
    tx = torch.from_numpy(x0.copy()).requires_grad_(True)
    torch.relu(tx).backward(torch.from_numpy(g0.copy()))
    ours, theirs = x.relu().numpy(), torch.relu(torch.from_numpy(x0)).numpy()
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))  # relu(-0.0) is -0.0
    # PyTorch passes the gradient where x is NaN (x <= 0 is false); we follow x > 0 (documented)
    finite = ~np.isnan(x0)
    np.testing.assert_array_equal(x.grad.numpy()[finite], tx.grad.numpy()[finite])
