"""The compiled pooling kernels on NumPy arrays (autograd_cnn/functional/pooling.py's array layer),
against the NumPy reference in _pool_reference.py and, where installed, PyTorch: values, arg-max
indices, backward passes, every instruction-set path, thread counts and the int64 index path."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import _pool_reference as ref
from _support import RTOL, requires_torch, torch
from autograd_cnn import backend
from autograd_cnn.functional import pooling as P

DTYPES = [np.float32, np.float64]

# (H, W, kernel, stride, padding, dilation, ceil_mode): square and non-square windows, odd sizes,
# overlapping windows, windows hanging over the edge, strides 1 and 2 (the vector paths) and 3.
WINDOWS = [
    (28, 28, 2, 2, 0, 1, False),
    (29, 31, 3, 2, 1, 1, False),
    (29, 31, 3, 2, 1, 1, True),
    (8, 41, (2, 3), (1, 2), (1, 1), (1, 2), True),
    (9, 50, 3, 1, 1, 1, False),
    (7, 37, (1, 4), (2, 3), (0, 2), 1, True),
    (5, 5, 5, 1, 2, 1, False),
    (6, 70, 3, 2, 1, 2, False),
    (3, 4, 3, 3, 0, 1, True),
    (11, 13, (4, 2), (3, 1), (2, 1), (1, 3), True),
    # disjoint windows (the input-centric backward), with padding, ceil_mode and a dilated axis
    (9, 75, 2, 2, 1, 1, True),
    (10, 45, 2, (3, 2), (1, 1), (2, 1), True),
    (7, 66, 2, 2, 0, 1, False),
]


def rand(shape, dtype, seed=0):
    """Distinct values (no ties), so arg-max and gradients are unambiguous."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / n - 0.5).astype(dtype)


def call_max(x, k, s, p, d, c):
    call = P._window_call("max_pool2d", x, 2, k, s, p, d, c)
    y, ind = P._max_forward(x, call)
    return y, ind.reshape(y.shape), call


def call_avg(x, k, s, p, d, c, cip=True, div=None):
    call = P._window_call("avg_pool2d", x, 2, k, s, p, d, c, cip, div)
    return P._avg_forward(x, call), call


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", WINDOWS)
def test_max_pool_matches_reference(cfg, dtype):
    H, W, k, s, p, d, c = cfg
    x = rand((2, 3, H, W), dtype)
    y, ind, call = call_max(x, k, s, p, d, c)
    ry, rind = ref.max_pool(x, k, s, p, d, c)
    assert y.dtype == dtype and ind.dtype == np.int32
    values_only, none = P._max_forward(x, call, with_indices=False)
    assert none is None
    np.testing.assert_array_equal(values_only, ry)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(ind, rind)
    g = rand(y.shape, dtype, seed=1)
    np.testing.assert_allclose(P._scatter(g, ind.reshape(call.out_planes), call),
                               ref.scatter(g, rind, x.shape), rtol=RTOL[np.dtype(dtype)])
    np.testing.assert_array_equal(P._gather(x, ind.reshape(call.out_planes), call), y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", WINDOWS)
@pytest.mark.parametrize("cip,div", [(True, None), (False, None), (True, 7)])
def test_avg_pool_matches_reference(cfg, dtype, cip, div):
    H, W, k, s, p, d, c = cfg
    x = rand((2, 3, H, W), dtype)
    y, call = call_avg(x, k, s, p, d, c, cip, div)
    kw = dict(kernel=k, stride=s, padding=p, dilation=d, ceil_mode=c, count_include_pad=cip,
              divisor_override=div)
    np.testing.assert_allclose(y, ref.avg_pool(x, **kw), rtol=RTOL[np.dtype(dtype)])
    g = rand(y.shape, dtype, seed=1)
    gx = P._avg_backward(g, call)
    np.testing.assert_allclose(gx, ref.avg_pool_grad(g, x.shape, **kw),
                               rtol=RTOL[np.dtype(dtype)], atol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("in_hw,out_hw", [((7, 7), (1, 1)), ((10, 9), (3, 4)), ((5, 13), (5, 2)),
                                          ((4, 4), (6, 7)), ((12, 30), (6, 15))])
def test_adaptive_matches_reference(in_hw, out_hw, dtype):
    x = rand((2, 3) + in_hw, dtype)
    call = P._adaptive_call("adaptive_max_pool2d", x, 2, out_hw)
    y, ind = P._max_forward(x, call)
    ry, rind = ref.adaptive_max_pool(x, out_hw)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(ind.reshape(y.shape), rind)
    ya = P._avg_forward(x, call)
    np.testing.assert_allclose(ya, ref.adaptive_avg_pool(x, out_hw), rtol=RTOL[np.dtype(dtype)])


def test_nan_and_ties_follow_pytorch_rule():
    x = np.array([[[[1.0, np.nan, 2.0, np.nan, 3.0, 3.0, -np.inf, -np.inf],
                    [0.0, -0.0, 5.0, 5.0, np.nan, 1.0, -np.inf, -np.inf]]]], np.float32)
    for k, s in [((2, 2), (2, 2)), ((1, 2), (1, 2)), ((2, 3), (1, 1)), ((1, 4), (1, 2))]:
        y, ind, _ = call_max(x, k, s, 0, 1, False)
        ry, rind = ref.max_pool(x, k, s, 0, 1, False)
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(ind, rind)
        if torch is not None:
            ty, ti = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, return_indices=True)
            np.testing.assert_array_equal(y, ty.numpy())
            np.testing.assert_array_equal(ind, ti.numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_ties_and_infinities_on_every_isa(dtype):
    """Values from a small set (many ties), NaNs and -inf, rows wide enough for every vector
    width: every ISA path must follow the scalar scan-order rule exactly."""
    rng = np.random.default_rng(7)
    x = rng.integers(-2, 3, size=(2, 3, 9, 70)).astype(dtype)
    x[rng.random(x.shape) < 0.05] = np.nan
    x[rng.random(x.shape) < 0.05] = -np.inf
    x[:, :, :, 10:16] = -np.inf  # whole windows of -inf keep their first tap's index
    x[:, 1, :, 30:] = np.where(np.isnan(x[:, 1, :, 30:]), np.inf, x[:, 1, :, 30:])  # inf, no NaN
    before = backend.get_isa()
    try:
        for isa in backend.backend_info()["available_isas"]:
            backend.set_isa(isa)
            for k, s, p in [(2, 2, 0), (3, 2, 1), (3, 1, 1), ((2, 3), (1, 2), (1, 1))]:
                y, ind, _ = call_max(x, k, s, p, 1, False)
                ry, rind = ref.max_pool(x, k, s, p, 1, False)
                np.testing.assert_array_equal(y, ry, err_msg=isa)
                np.testing.assert_array_equal(ind, rind, err_msg=isa)
                if torch is not None:
                    ty, ti = torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, p,
                                                            return_indices=True)
                    np.testing.assert_array_equal(y, ty.numpy(), err_msg=isa)
                    np.testing.assert_array_equal(ind, ti.numpy(), err_msg=isa)
    finally:
        backend.set_isa(before)


# Overlapping windows, whose backward zeroes the input rows just ahead of the scatter's adds
# (csrc/pool/max_pool_kernels.h): odd and even widths, padding, ceil_mode, dilation, stride 1,
# kernels wider than the padding, rows that no window reaches, and adaptive windows whose rows
# overlap irregularly.
OVERLAPPING = [
    (13, 113, 3, 2, 1, 1, False),
    (12, 112, 3, 2, 0, 1, True),
    (9, 77, 4, 2, 2, 1, True),
    (7, 90, 3, 2, 1, 2, False),
    (7, 91, (2, 3), (1, 2), (0, 1), (1, 3), True),
    (6, 61, (3, 2), (2, 1), 1, 1, False),
    (5, 40, (1, 3), 1, (0, 1), 1, False),
    (4, 9, 3, 2, 1, 1, True),
    (3, 20, 5, 1, 2, 1, False),
    (5, 34, 3, 2, 1, 1, True),
    (8, 40, 3, 2, 0, 1, False),  # the last row in no window
]
BIG_OVERLAPPING = ((4, 64, 64, 64), 3, 2, 1)  # enough work for several threads
ADAPTIVE_OVERLAPPING = [((7, 40), (5, 20)), ((7, 40), (5, 40)), ((9, 37), (4, 37))]


def overlapping_backward_cases(dtype):
    """(our scatter, the reference's) for every OVERLAPPING and ADAPTIVE_OVERLAPPING case, with
    few distinct input values (ties: one input is often the arg-max of several windows) and
    output gradients whose sums depend on the order of the terms."""
    rng = np.random.default_rng(11)
    out = []
    for cfg in OVERLAPPING + ADAPTIVE_OVERLAPPING:
        if len(cfg) == 7:
            H, W, k, s, p, d, c = cfg
            x = rng.integers(0, 3, (2, 3, H, W)).astype(dtype)
            _, ind, call = call_max(x, k, s, p, d, c)
        else:
            (H, W), size = cfg
            x = rng.integers(0, 3, (2, 3, H, W)).astype(dtype)
            call = P._adaptive_call("adaptive_max_pool2d", x, 2, size)
            ind = P._max_forward(x, call)[1].reshape(call.out_shape)
        g = rng.standard_normal(ind.shape).astype(dtype)
        out.append((P._scatter(g, ind.reshape(call.out_planes), call),
                    ref.scatter(g, ind, x.shape)))
    shape, k, s, p = BIG_OVERLAPPING
    x = rng.integers(0, 3, shape).astype(dtype)
    _, ind, call = call_max(x, k, s, p, 1, False)
    g = rng.standard_normal(ind.shape).astype(dtype)
    out.append((P._scatter(g, ind.reshape(call.out_planes), call), ref.scatter(g, ind, shape)))
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_overlapping_backward_is_the_scatter_bit_for_bit(dtype):
    """Every ISA path and thread count gives the reference scatter's sums, added in its order."""
    isa_before, threads_before = backend.get_isa(), backend.get_num_threads()
    try:
        for isa in backend.backend_info()["available_isas"]:
            backend.set_isa(isa)
            for threads in (1, 3):
                backend.set_num_threads(threads)
                for got, want in overlapping_backward_cases(dtype):
                    np.testing.assert_array_equal(got, want, err_msg=f"{isa} {threads}")
                    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    finally:
        backend.set_isa(isa_before)
        backend.set_num_threads(threads_before)


def test_adjoint_pairs():
    """<avg(x), g> = <x, avg_backward(g)> and <scatter(g), x> = <g, gather(x)>."""
    x = rand((2, 2, 13, 17), np.float64)
    _, ind, call = call_max(x, 3, 2, 1, 1, True)
    g = rand(ind.shape, np.float64, seed=3)
    ind_p = ind.reshape(call.out_planes)
    assert np.isclose(np.vdot(P._scatter(g, ind_p, call), x), np.vdot(g, P._gather(x, ind_p, call)))
    y, call = call_avg(x, 3, 2, 1, 2, True, False)
    g = rand(y.shape, np.float64, seed=4)
    assert np.isclose(np.vdot(y, g), np.vdot(x, P._avg_backward(g, call)))


def run_all(x):
    """Every kernel on x with a few geometries; a flat list of outputs."""
    outs = []
    for H, W, k, s, p, d, c in WINDOWS[:6]:
        xs = np.ascontiguousarray(x[..., :H, :W])
        y, ind, call = call_max(xs, k, s, p, d, c)
        outs += [y, ind, P._scatter(y, ind.reshape(call.out_planes), call),
                 P._max_forward(xs, call, with_indices=False)[0]]
        ya, call = call_avg(xs, k, s, p, d, c, False)
        outs += [ya, P._avg_backward(ya, call)]
    for out in [(16, 36), (5, 7), (32, 72)]:  # regular (vector) and irregular adaptive windows
        call = P._adaptive_call("adaptive_max_pool2d", x, 2, out)
        y, ind = P._max_forward(x, call)
        ya = P._avg_forward(x, call)
        outs += [y, ind, ya, P._avg_backward(ya, call)]
    return outs


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_isa_path_gives_identical_results(dtype):
    x = rand((2, 3, 32, 72), dtype)
    isas = backend.backend_info()["available_isas"]
    before = backend.get_isa()
    try:
        results = {}
        for isa in isas:
            backend.set_isa(isa)
            results[isa] = run_all(x)
    finally:
        backend.set_isa(before)
    for isa in isas:
        for a, b in zip(results["baseline"], results[isa]):
            np.testing.assert_array_equal(a, b, err_msg=isa)


def test_thread_count_independence():
    x = rand((4, 5, 32, 72), np.float32)
    before = backend.get_num_threads()
    try:
        backend.set_num_threads(1)
        one = run_all(x)
        backend.set_num_threads(3)
        three = run_all(x)
    finally:
        backend.set_num_threads(before)
    for a, b in zip(one, three):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_int64_index_path_matches_int32(dtype):
    """Planes of >= 2**31 elements store int64 arg-max; the same kernels run here on small ones."""
    x = rand((2, 3, 29, 31), dtype)
    y32, ind32, call = call_max(x, 3, 2, 1, 1, True)
    xp = x.reshape(call.in_planes)
    y64 = np.empty(call.out_planes, dtype)
    ind64 = np.empty(call.out_planes, np.int64)
    P._C.pool_max_forward(xp, y64, ind64, call.geom)
    np.testing.assert_array_equal(y64.reshape(y32.shape), y32)
    np.testing.assert_array_equal(ind64.reshape(ind32.shape), ind32)
    g = np.empty(call.in_planes, dtype)
    P._C.pool_max_scatter(y64, ind64, g, call.geom)
    expected = P._scatter(y32, ind32.reshape(call.out_planes), call)
    np.testing.assert_array_equal(g.reshape(x.shape), expected)


def test_index_dtype_is_the_smallest_that_fits():
    geom = (2, 2, 2, 2, 0, 0, 1, 1, 0, 1, 0)
    small = P._PoolCall((1, 1, 2 ** 15, 2 ** 16 - 1), (2 ** 14, 2 ** 15 - 1), geom)
    assert small.index_dtype == np.int32
    assert P._PoolCall((1, 1, 2 ** 15, 2 ** 16), (2 ** 14, 2 ** 15), geom).index_dtype == np.int64


def test_one_dimensional_is_height_one():
    x = rand((3, 4, 37), np.float64)
    call = P._window_call("max_pool1d", x, 1, 3, 2, 1, 1, True)
    y, ind = P._max_forward(x, call)
    ry, rind = ref.max_pool(x[:, :, None, :], (1, 3), (1, 2), (0, 1), 1, True)
    np.testing.assert_array_equal(y, ry[:, :, 0])
    np.testing.assert_array_equal(ind.reshape(y.shape), rind[:, :, 0])


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_hypothesis_configurations(data):
    k = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    p = (data.draw(st.integers(0, k[0] // 2)), data.draw(st.integers(0, k[1] // 2)))
    d = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    c = data.draw(st.booleans())
    cip = data.draw(st.booleans())
    span = [d[i] * (k[i] - 1) + 1 for i in range(2)]
    H = data.draw(st.integers(max(1, span[0] - 2 * p[0]), 12))
    W = data.draw(st.integers(max(1, span[1] - 2 * p[1]), 40))
    dtype = data.draw(st.sampled_from(DTYPES))
    x = rand((2, 2, H, W), dtype, seed=data.draw(st.integers(0, 100)))
    try:
        y, ind, _ = call_max(x, k, s, p, d, c)
    except ValueError as e:  # a dilated window with no tap inside the input
        assert "no tap inside the input" in str(e)
        return
    ry, rind = ref.max_pool(x, k, s, p, d, c)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(ind, rind)
    ya, _ = call_avg(x, k, s, p, d, c, cip)
    np.testing.assert_allclose(ya, ref.avg_pool(x, k, s, p, d, c, cip), rtol=RTOL[np.dtype(dtype)])


@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("cfg", WINDOWS)
def test_matches_pytorch(cfg, dtype):
    H, W, k, s, p, d, c = cfg
    F = torch.nn.functional
    x = rand((2, 3, H, W), dtype)
    tx = torch.from_numpy(x)
    y, ind, _ = call_max(x, k, s, p, d, c)
    ty, ti = F.max_pool2d(tx, k, s, p, d, c, return_indices=True)
    np.testing.assert_array_equal(y, ty.numpy())
    np.testing.assert_array_equal(ind, ti.numpy())
    if d == 1:
        for cip, div in [(True, None), (False, None), (True, 5)]:
            ya, _ = call_avg(x, k, s, p, 1, c, cip, div)
            np.testing.assert_allclose(ya, F.avg_pool2d(tx, k, s, p, c, cip, div).numpy(),
                                       rtol=RTOL[np.dtype(dtype)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_special_values_on_every_isa(dtype):
    """Output gradients with -0, NaN and infinities, on disjoint (input-centric backward) and
    overlapping windows: every ISA path gives the scatter's 0 + g bit for bit (so -0 becomes +0)
    and average pooling's backward never leaves a -0."""
    rng = np.random.default_rng(3)
    x = rand((2, 3, 10, 75), dtype)
    cases = [(2, 2, 0, False), (2, 2, 1, True), (3, 3, 0, True), (3, 2, 1, False)]
    before = backend.get_isa()
    try:
        for isa in backend.backend_info()["available_isas"]:
            backend.set_isa(isa)
            for k, s, p, c in cases:
                y, ind, call = call_max(x, k, s, p, 1, c)
                g = rng.choice(np.array([-0.0, 0.0, 1.5, -2.0, np.nan, np.inf, -np.inf], dtype),
                               size=y.shape)
                got = P._scatter(g, ind.reshape(call.out_planes), call)
                with np.errstate(invalid="ignore"):  # inf + -inf where windows overlap
                    want = ref.scatter(g, ind, x.shape)
                np.testing.assert_array_equal(got, want, err_msg=isa)
                np.testing.assert_array_equal(np.signbit(got), np.signbit(want), err_msg=isa)
                _, acall = call_avg(x, k, s, p, 1, c)
                g = np.where(np.isfinite(g), g, dtype(0.25))  # the matrix reference spreads NaN
                ga = P._avg_backward(g, acall)
                want = ref.avg_pool_grad(g, x.shape, kernel=k, stride=s, padding=p, ceil_mode=c)
                np.testing.assert_allclose(ga, want, rtol=1e-5, atol=1e-6, err_msg=isa)
                assert not np.any((ga == 0) & np.signbit(ga)), isa
    finally:
        backend.set_isa(before)
