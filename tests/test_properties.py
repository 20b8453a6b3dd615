"""Property suite: random valid geometries, dtypes, memory layouts, thread counts and
instruction-set paths, through the public autograd API (forward and both gradients), against the
small NumPy references in tests/. Examples are bounded so the suite stays fast."""
import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

import autograd_cnn as ac
import autograd_cnn.functional as F
import _pool_reference as pool_ref
from _support import RTOL, restore_backend  # noqa: F401  (fixture)
from conv_reference import out_size, ref_conv2d, ref_conv2d_grads

ISAS = ac.backend_info()["available_isas"]
SETTINGS = dict(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _laid_out(array, layout):
    """The same values in another memory layout: C order, Fortran order, or a strided view."""
    if layout == "fortran":
        return np.asfortranarray(array)
    if layout == "strided":  # every other element of a buffer twice as wide
        wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],), array.dtype)
        wide[..., ::2] = array
        return wide[..., ::2]
    return array


def _backend(data):
    ac.set_isa(data.draw(st.sampled_from(ISAS), label="isa"))
    ac.set_num_threads(data.draw(st.sampled_from([1, 2, 3]), label="threads"))


@settings(**SETTINGS)
@given(data=st.data())
def test_conv2d_forward_and_gradients(data, restore_backend):
    _backend(data)
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    groups = data.draw(st.sampled_from([1, 2]))
    cig, cog = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 4))
    k = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    d = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    p = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    size = tuple(data.draw(st.integers(max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i]), 19))
                 for i in range(2))
    n = data.draw(st.integers(1, 3))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((n, cig * groups) + size).astype(dtype)
    w = rng.standard_normal((cog * groups, cig) + k).astype(dtype)
    b = rng.standard_normal(cog * groups).astype(dtype)
    layout = data.draw(st.sampled_from(["c", "fortran", "strided"]))
    tx = ac.tensor(_laid_out(x, layout), requires_grad=True)
    tw = ac.tensor(_laid_out(w, layout), requires_grad=True)
    tb = ac.tensor(b, requires_grad=True)
    y = F.conv2d(tx, tw, tb, stride=s, padding=p, dilation=d, groups=groups)
    pads = ((p[0], p[0]), (p[1], p[1]))
    rtol = RTOL[np.dtype(dtype)] * 10
    np.testing.assert_allclose(y.numpy(), ref_conv2d(x, w, b, s, pads, d, groups),
                               rtol=rtol, atol=rtol)
    dy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(ac.tensor(dy))
    dx, dw = ref_conv2d_grads(x, w, dy, s, pads, d, groups)
    np.testing.assert_allclose(tx.grad.numpy(), dx, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(tw.grad.numpy(), dw, rtol=rtol, atol=rtol * 10)
    np.testing.assert_allclose(tb.grad.numpy(), dy.astype(np.float64).sum(axis=(0, 2, 3)),
                               rtol=rtol, atol=rtol * 10)


@settings(**SETTINGS)
@given(data=st.data())
def test_conv1d_is_conv2d_of_height_one(data, restore_backend):
    _backend(data)
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    k, s, d = data.draw(st.integers(1, 7)), data.draw(st.integers(1, 3)), data.draw(
        st.integers(1, 3))
    p = data.draw(st.integers(0, 3))
    length = data.draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 80))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    x = rng.standard_normal((2, 3, length)).astype(dtype)
    w = rng.standard_normal((4, 3, k)).astype(dtype)
    y = F.conv1d(ac.tensor(_laid_out(x, data.draw(st.sampled_from(["c", "strided"])))),
                 ac.tensor(w), stride=s, padding=p, dilation=d)
    ref = ref_conv2d(x[:, :, None], w[:, :, None], None, (1, s), ((0, 0), (p, p)), (1, d), 1)
    assert y.shape == (2, 4, out_size(length, k, s, p, p, d))
    rtol = RTOL[np.dtype(dtype)] * 10
    np.testing.assert_allclose(y.numpy(), ref[:, :, 0], rtol=rtol, atol=rtol)


@settings(**SETTINGS)
@given(data=st.data())
def test_pooling_forward_and_gradients(data, restore_backend):
    _backend(data)
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    k = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    p = (data.draw(st.integers(0, k[0] // 2)), data.draw(st.integers(0, k[1] // 2)))
    ceil = data.draw(st.booleans())
    size = tuple(data.draw(st.integers(max(1, k[i] - 2 * p[i]), 21)) for i in range(2))
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    # distinct values: the max of a window (and so its gradient) is unambiguous
    x = rng.permutation(2 * 3 * size[0] * size[1]).reshape((2, 3) + size).astype(dtype)
    layout = data.draw(st.sampled_from(["c", "fortran", "strided"]))
    kind = data.draw(st.sampled_from(["max", "avg"]))
    tx = ac.tensor(_laid_out(x, layout), requires_grad=True)
    if kind == "max":
        y = F.max_pool2d(tx, k, s, p, ceil_mode=ceil)
        ref_y, ref_idx = pool_ref.max_pool(x, k, s, p, 1, ceil)
        np.testing.assert_array_equal(y.numpy(), ref_y)
        dy = rng.standard_normal(y.shape).astype(dtype)
        y.backward(ac.tensor(dy))
        np.testing.assert_allclose(tx.grad.numpy(), pool_ref.scatter(dy, ref_idx, x.shape),
                                   rtol=RTOL[np.dtype(dtype)])
    else:
        include_pad = data.draw(st.booleans())
        y = F.avg_pool2d(tx, k, s, p, ceil_mode=ceil, count_include_pad=include_pad)
        rtol = RTOL[np.dtype(dtype)]
        np.testing.assert_allclose(
            y.numpy(), pool_ref.avg_pool(x, k, s, p, 1, ceil, include_pad), rtol=rtol)
        dy = rng.standard_normal(y.shape).astype(dtype)
        y.backward(ac.tensor(dy))
        np.testing.assert_allclose(
            tx.grad.numpy(), pool_ref.avg_pool_grad(dy, x.shape, kernel=k, stride=s, padding=p,
                                                    ceil_mode=ceil,
                                                    count_include_pad=include_pad),
            rtol=rtol * 10, atol=rtol)
