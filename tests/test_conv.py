"""autograd_cnn.functional.conv1d / conv2d through the public API: values and gradients against
the NumPy reference (tests/conv_reference.py) and PyTorch where installed, higher derivatives
(gradcheck / gradgradcheck), random configurations (hypothesis), thread-count independence,
and the argument checks."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autograd_cnn as ac
from autograd_cnn import functional as F
from autograd_cnn.functional import conv1d, conv2d

from _support import RTOL, assert_array_and_tensor_backward_agree, torch
from conv_reference import ref_conv2d, ref_conv2d_grads

# PyTorch warns that it copies the input for 'same' with an even kernel; not our concern here
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def _pads(padding, kernel, dilation, stride):
    """Per-axis (lo, hi) the way PyTorch reads `padding` (independent of autograd_cnn._geometry)."""
    if padding == "valid":
        return tuple((0, 0) for _ in kernel)
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    if isinstance(padding, int):
        padding = (padding,) * len(kernel)
    return tuple((p, p) for p in padding)


def _tup(v, n):
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def check_conv(x, w, b, stride=1, padding=0, dilation=1, groups=1, seed=0):
    """Forward and all three gradients of conv{1,2}d against the reference and PyTorch."""
    nd = w.ndim - 2
    fn = conv1d if nd == 1 else conv2d
    dtype = x.dtype.type
    tx = ac.tensor(x, requires_grad=True)
    tw = ac.tensor(w, requires_grad=True)
    tb = None if b is None else ac.tensor(b, requires_grad=True)
    y = fn(tx, tw, tb, stride=stride, padding=padding, dilation=dilation, groups=groups)
    dy = np.random.default_rng(seed).standard_normal(y.shape).astype(dtype)
    y.backward(ac.tensor(dy))
    ours = [y.numpy(), tx.grad.numpy(), tw.grad.numpy()] + ([] if b is None else [tb.grad.numpy()])
    for o in ours:
        assert o.dtype == dtype
    # reference, on 4-D batched arrays
    st, dl = _tup(stride, nd), _tup(dilation, nd)
    pads = _pads(padding, w.shape[2:], dl, st)
    xb, yb = (x, dy) if x.ndim == nd + 2 else (x[None], dy[None])
    if nd == 1:
        xb, yb, wb = xb[:, :, None], yb[:, :, None], w[:, :, None]
        st, dl, pads = (1,) + st, (1,) + dl, ((0, 0),) + pads
    else:
        wb = w
    ry = ref_conv2d(xb, wb, b, st, pads, dl, groups)
    rdx, rdw = ref_conv2d_grads(xb, wb, yb, st, pads, dl, groups)
    refs = [ry.reshape(y.shape), rdx.reshape(x.shape), rdw.reshape(w.shape)]
    if b is not None:
        refs.append(yb.sum(axis=(0, 2, 3)))
    rtol = RTOL[np.dtype(dtype)]
    for o, r, what in zip(ours, refs, ("y", "dx", "dw", "db")):
        np.testing.assert_allclose(o, r, rtol=rtol, atol=rtol * max(1.0, np.abs(r).max()), err_msg=what)
    if torch is not None:
        px = torch.tensor(x, requires_grad=True)
        pw = torch.tensor(w, requires_grad=True)
        pb = None if b is None else torch.tensor(b, requires_grad=True)
        pfn = torch.nn.functional.conv1d if nd == 1 else torch.nn.functional.conv2d
        py = pfn(px, pw, pb, stride=stride, padding=padding, dilation=dilation, groups=groups)
        py.backward(torch.tensor(dy))
        theirs = [py.detach().numpy(), px.grad.numpy(), pw.grad.numpy()] + ([] if b is None else [pb.grad.numpy()])
        for o, t, what in zip(ours, theirs, ("y", "dx", "dw", "db")):
            np.testing.assert_allclose(o, t, rtol=rtol, atol=rtol * max(1.0, np.abs(t).max()),
                                       err_msg=what + " vs torch")
    return ours


def make(shape_x, shape_w, dtype=np.float64, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape_x).astype(dtype)
    w = rng.standard_normal(shape_w).astype(dtype)
    b = rng.standard_normal(shape_w[0]).astype(dtype) if bias else None
    return x, w, b


# ---------------------------------------------------------------------------------------------
# configurations


@pytest.mark.parametrize("stride,padding,dilation", [
    c for c in itertools.product([1, 2, 3], [0, 1, 2, "same"], [1, 2, 3]) if not (c[1] == "same" and c[0] != 1)])
def test_conv2d_stride_padding_dilation(stride, padding, dilation):
    check_conv(*make((2, 3, 10, 9), (4, 3, 3, 2)), stride=stride, padding=padding, dilation=dilation)


@pytest.mark.parametrize("stride,padding,dilation", [
    c for c in itertools.product([1, 2, 3], [0, 1, 2, "same"], [1, 2, 3]) if not (c[1] == "same" and c[0] != 1)])
def test_conv1d_stride_padding_dilation(stride, padding, dilation):
    check_conv(*make((2, 3, 17), (4, 3, 4)), stride=stride, padding=padding, dilation=dilation)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("xs,ws,kw", [
    ((1, 1, 6, 6), (1, 1, 3, 3), {}),                                       # batch 1, single channels
    ((2, 5, 7, 6), (3, 5, 1, 1), {}),                                       # 1x1
    ((2, 4, 7, 6), (6, 2, 1, 1), dict(stride=2, groups=2)),                 # 1x1 strided, groups
    ((2, 3, 5, 4), (2, 3, 7, 6), dict(padding=1)),                          # kernel == padded input
    ((2, 4, 9, 11), (6, 2, 2, 5), dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)),
    ((2, 6, 9, 8), (6, 1, 3, 3), dict(padding="same", groups=6)),           # depthwise
    ((2, 3, 9, 8), (9, 1, 4, 2), dict(padding="same", groups=3)),           # even kernel 'same'
    ((3, 2, 13, 11), (5, 2, 5, 3), dict(stride=3, padding="valid")),        # odd sizes
    ((2, 3, 12), (4, 3, 5), dict(padding="same", dilation=2)),              # conv1d
    ((3, 8, 8), (4, 3, 3, 3), dict(padding=1)),                             # unbatched
    ((3, 16), (4, 3, 3), dict(stride=2)),                                   # unbatched conv1d
])
def test_conv_configurations(xs, ws, kw, dtype):
    check_conv(*make(xs, ws, dtype), **kw)


def test_no_bias_and_ndarray_inputs():
    x, w, _ = make((2, 3, 6, 6), (4, 3, 3, 3), bias=False)
    check_conv(x, w, None, padding=1)
    y = conv2d(x, w, padding=1)  # plain arrays are accepted
    assert isinstance(y, ac.Tensor)
    np.testing.assert_allclose(y.numpy(), ref_conv2d(x, w, None, (1, 1), ((1, 1), (1, 1)), (1, 1), 1), rtol=1e-12)


def test_non_contiguous_inputs():
    x, w, b = make((2, 3, 7, 6), (4, 3, 3, 2))
    xt = np.ascontiguousarray(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)  # a transposed view
    wt = w[:, ::-1][:, ::-1]
    assert not xt.flags.c_contiguous
    y = conv2d(ac.tensor(xt), ac.tensor(wt), ac.tensor(b), stride=2)
    np.testing.assert_allclose(y.numpy(), ref_conv2d(x, w, b, (2, 2), ((0, 0), (0, 0)), (1, 1), 1), rtol=1e-12)


def test_empty_batch():
    x = ac.tensor(np.zeros((0, 3, 6, 6)), requires_grad=True)
    w = ac.tensor(np.ones((4, 3, 3, 3)), requires_grad=True)
    y = conv2d(x, w, padding=1)
    assert y.shape == (0, 4, 6, 6)
    y.sum().backward()
    assert x.grad.shape == (0, 3, 6, 6) and np.all(w.grad.numpy() == 0)


def test_nan_and_inf_propagate_like_torch():
    x, w, b = make((1, 2, 6, 6), (3, 2, 3, 3))
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 4, 4] = np.inf
    y = conv2d(x, w, b, padding=1).numpy()
    ref = ref_conv2d(x, w, b, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    np.testing.assert_array_equal(np.isinf(y), np.isinf(ref))
    if torch is not None:
        t = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), torch.tensor(b), padding=1).numpy()
        np.testing.assert_array_equal(np.isnan(y), np.isnan(t))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_configurations(data):
    nd = data.draw(st.sampled_from([1, 2]))
    groups = data.draw(st.sampled_from([1, 2, 3]))
    cig = data.draw(st.integers(1, 3))
    cog = data.draw(st.integers(1, 3))
    kernel = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    dilation = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    use_same = data.draw(st.booleans())
    stride = (1,) * nd if use_same else tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    padding = "same" if use_same else tuple(data.draw(st.integers(0, 2)) for _ in range(nd))
    pads = _pads(padding, kernel, dilation, stride)
    size = tuple(data.draw(st.integers(max(1, d * (k - 1) + 1 - lo - hi), 12))
                 for k, d, (lo, hi) in zip(kernel, dilation, pads))
    n = data.draw(st.integers(1, 3))
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    bias = data.draw(st.booleans())
    x, w, b = make((n, cig * groups) + size, (cog * groups, cig) + kernel, dtype, bias, seed=n)
    check_conv(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)


# ---------------------------------------------------------------------------------------------
# higher derivatives (float64 central differences)


HIGHER_ORDER_CASES = [
    ((1, 2, 5, 4), (3, 2, 2, 3), dict(stride=(2, 1), padding=1, dilation=(1, 2)), True),
    ((2, 2, 4, 4), (2, 1, 3, 3), dict(padding="same", groups=2), True),   # depthwise
    ((1, 4, 4, 5), (2, 2, 2, 2), dict(padding="same", groups=2), False),  # even 'same', groups
    ((1, 2, 6, 5), (2, 2, 3, 2), dict(stride=3, padding=(2, 0)), True),   # stride > kernel
    ((2, 2, 7), (3, 2, 3), dict(stride=2, padding=1, dilation=2), True),  # conv1d
    ((2, 4, 4), (3, 2, 2, 2), dict(padding=1), True),                     # unbatched
]


def _leaves(xs, ws, bias):
    x, w, b = make(xs, ws, np.float64, bias)
    args = [ac.tensor(x, requires_grad=True), ac.tensor(w, requires_grad=True)]
    return args + [ac.tensor(b, requires_grad=True)] if bias else args


@pytest.mark.parametrize("xs,ws,kw,bias", HIGHER_ORDER_CASES)
def test_gradcheck_and_gradgradcheck(xs, ws, kw, bias):
    fn = conv1d if len(ws) == 3 else conv2d
    args = _leaves(xs, ws, bias)
    f = lambda *a: fn(*a, **kw)  # noqa: E731
    assert ac.gradcheck(f, tuple(args))
    assert ac.gradgradcheck(f, tuple(args))


@pytest.mark.parametrize("xs,ws,kw,bias", HIGHER_ORDER_CASES)
def test_array_and_tensor_backward_agree(xs, ws, kw, bias):
    fn = conv1d if len(ws) == 3 else conv2d
    assert_array_and_tensor_backward_agree(lambda *a: fn(*a, **kw), _leaves(xs, ws, bias))


def test_only_needed_gradients_are_computed():
    x, w, b = make((2, 3, 6, 6), (4, 3, 3, 3))
    tx, tw = ac.tensor(x), ac.tensor(w, requires_grad=True)
    conv2d(tx, tw, ac.tensor(b), padding=1).sum().backward()
    assert tx.grad is None and tw.grad is not None


def test_leaf_gradients_are_the_kernels_own_buffers():
    """The conv backward's arrays become the leaves' .grad without a copy (backward_fresh): no
    .grad may alias another, an input or the output gradient, and a weight used twice, a second
    contribution and a second backward all add into them correctly."""
    x, w, b = make((2, 3, 6, 6), (4, 3, 3, 3), dtype=np.float64)
    gy = np.random.default_rng(4).standard_normal((2, 4, 6, 6))
    tx, tw, tb = (ac.tensor(a.copy(), requires_grad=True) for a in (x, w, b))
    tg = ac.tensor(gy)
    conv2d(tx, tw, tb, padding=1).backward(tg)
    dx, dw = ref_conv2d_grads(x, w, gy, (1, 1), ((1, 1), (1, 1)), (1, 1), 1)
    db = gy.sum(axis=(0, 2, 3))
    grads = [t.grad.numpy() for t in (tx, tw, tb)]
    for got, want in zip(grads, (dx, dw, db)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    for i, a in enumerate(grads):
        for other in grads[i + 1:] + [x, w, b, gy, tx.numpy(), tw.numpy(), tg.numpy()]:
            assert not np.shares_memory(a, other)
    # the weight used by two convolutions in one backward, then the same backward once more
    for _ in range(2):
        (conv2d(tx, tw, tb, padding=1) * tg + conv2d(tx, tw, None, padding=1) * tg).sum().backward()
    np.testing.assert_allclose(tx.grad.numpy(), 5 * dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tw.grad.numpy(), 5 * dw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(tb.grad.numpy(), 3 * db, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# threads


def test_same_training_on_one_and_two_threads():
    """Same seed, same model on 1 and 2 threads: bitwise equal after a few SGD steps."""
    before = ac.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            ac.set_num_threads(threads)
            rng = np.random.default_rng(7)
            # sizes above the kernels' serial threshold (1M multiply-adds), so 2 threads split work
            x = rng.standard_normal((8, 8, 32, 32)).astype(np.float32)
            w1 = rng.standard_normal((32, 8, 3, 3)).astype(np.float32) * 0.2
            w2 = rng.standard_normal((16, 8, 5, 3)).astype(np.float32) * 0.2
            b1 = np.zeros(32, np.float32)
            for _ in range(3):
                t1, t2, tb = (ac.tensor(a, requires_grad=True) for a in (w1, w2, b1))
                h = conv2d(ac.tensor(x), t1, tb, stride=2, padding=1)
                y = conv2d(h, t2, None, padding="same", groups=4, dilation=(2, 1))
                (y * y).sum().backward()
                w1, w2, b1 = (a - 1e-3 * t.grad.numpy() for a, t in ((w1, t1), (w2, t2), (b1, tb)))
            results.append((w1, w2, b1, y.numpy()))
    finally:
        ac.set_num_threads(before)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# argument checks: each raises before any kernel runs, naming the argument


X = np.zeros((2, 4, 8, 8), np.float32)
W = np.zeros((6, 4, 3, 3), np.float32)


@pytest.mark.parametrize("kwargs,exc,words", [
    (dict(input=X[0, 0]), ValueError, "input"),                                   # 2-D input
    (dict(input=X[None]), ValueError, "input"),                                   # 5-D input
    (dict(weight=W[0]), ValueError, "weight"),
    (dict(input=np.zeros((2, 5, 8, 8), np.float32)), ValueError, "input channels"),
    (dict(groups=3), ValueError, "divisible by groups"),
    (dict(weight=np.zeros((5, 2, 3, 3), np.float32), groups=2), ValueError, "out channels"),
    (dict(groups=0), ValueError, "groups"),
    (dict(groups=1.5), TypeError, "groups"),
    (dict(weight=np.zeros((6, 4, 11, 3), np.float32)), ValueError, "too small"),
    (dict(weight=np.zeros((6, 4, 3, 3), np.float32), dilation=5), ValueError, "too small"),
    (dict(stride=0), ValueError, "stride"),
    (dict(stride=(1, -1)), ValueError, "stride"),
    (dict(stride=(1, 2, 3)), ValueError, "stride"),
    (dict(stride=1.0), TypeError, "stride"),
    (dict(dilation=0), ValueError, "dilation"),
    (dict(padding=-1), ValueError, "padding"),
    (dict(padding="full"), ValueError, "padding"),
    (dict(padding="same", stride=2), ValueError, "same"),
    (dict(padding=None), TypeError, "padding"),
    (dict(weight=W.astype(np.float64)), TypeError, "dtype"),
    (dict(input=X.astype(np.int64), weight=W.astype(np.int64)), TypeError, "int64"),
    (dict(input=X.astype(bool)), TypeError, "bool"),
    (dict(input=X.astype(object)), TypeError, "object"),
    (dict(input=X.astype(np.float16), weight=W.astype(np.float16)), TypeError, "float16"),
    (dict(bias=np.zeros(5, np.float32)), ValueError, "bias"),
    (dict(bias=np.zeros((6, 1), np.float32)), ValueError, "bias"),
    (dict(bias=np.zeros(6, np.float64)), TypeError, "bias"),
    (dict(bias=[0.0] * 6), TypeError, "bias"),
    (dict(input=[[1.0]]), TypeError, "input"),
    (dict(input="x"), TypeError, "input"),
    (dict(input=np.zeros((2, 4, 0, 8), np.float32)), ValueError, "empty"),
    (dict(weight=np.zeros((0, 4, 3, 3), np.float32)), ValueError, "empty"),
])
def test_invalid_arguments(kwargs, exc, words):
    args = dict(input=X, weight=W, bias=None)
    args.update(kwargs)
    with pytest.raises(exc, match=words):
        conv2d(**args)


def test_invalid_conv1d_arguments():
    x = np.zeros((2, 3, 10), np.float32)
    with pytest.raises(ValueError, match="weight"):
        conv1d(x, np.zeros((4, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="stride"):
        conv1d(x, np.zeros((4, 3, 3), np.float32), stride=(1, 1))
    with pytest.raises(ValueError, match="too small"):
        conv1d(x, np.zeros((4, 3, 12), np.float32))


@settings(max_examples=40, deadline=None)
@given(st.fixed_dictionaries({
    "shape": st.lists(st.integers(-1, 5), min_size=0, max_size=5),
    "wshape": st.lists(st.integers(-1, 5), min_size=0, max_size=5),
    "stride": st.one_of(st.integers(-2, 3), st.tuples(st.integers(-1, 3), st.integers(-1, 3)), st.none()),
    "padding": st.one_of(st.integers(-2, 3), st.sampled_from(["same", "valid", "nope"]), st.floats(0, 1)),
    "dilation": st.one_of(st.integers(-1, 3), st.tuples(st.integers(0, 2))),
    "groups": st.integers(-1, 4),
}))
def test_fuzz_never_crashes(args):
    """Any argument combination either works or raises TypeError / ValueError."""
    shape = [abs(s) for s in args["shape"]]
    wshape = [abs(s) for s in args["wshape"]]
    x = np.ones(shape, np.float32)
    w = np.ones(wshape, np.float32)
    try:
        y = conv2d(x, w, stride=args["stride"], padding=args["padding"], dilation=args["dilation"],
                   groups=args["groups"])
    except (TypeError, ValueError):
        return
    assert np.all(np.isfinite(y.numpy()))


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("kw", [dict(stride=2, padding=1), dict(padding="same", dilation=(2, 1), groups=2)])
def test_second_order_gradients_match_torch(kw):
    """A gradient penalty: d/d(x, w, b) of |d(sum(y * r))/dx|^2 + |d/dw|^2, as in PyTorch."""
    x, w, b = make((2, 4, 7, 6), (6, 4 // kw.get("groups", 1), 3, 2))
    r = np.random.default_rng(3).standard_normal(conv2d(x, w, b, **kw).shape)

    def ours():
        tx, tw, tb = (ac.tensor(a, requires_grad=True) for a in (x, w, b))
        y = conv2d(tx, tw, tb, **kw)
        gx, gw = ac.autograd.grad((y * ac.tensor(r)).sum(), (tx, tw), create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum() + (y * y).sum()).backward()
        return tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()

    def theirs():
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        y = torch.nn.functional.conv2d(tx, tw, tb, **kw)
        gx, gw = torch.autograd.grad((y * torch.tensor(r)).sum(), (tx, tw), create_graph=True)
        ((gx * gx).sum() + (gw * gw).sum() + (y * y).sum()).backward()
        return tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()

    for a, t in zip(ours(), theirs()):
        np.testing.assert_allclose(a, t, rtol=1e-10, atol=1e-10 * np.abs(t).max())


def test_spec_cache_never_changes_validation_or_results():
    # functional/conv.py caches the checked geometry of a call by shapes, dtypes and arguments;
    # a cached entry must never let a bad argument through or reuse another call's geometry
    from autograd_cnn.functional import conv as C
    rng = np.random.default_rng(5)
    x32 = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    w32 = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b32 = rng.standard_normal(4).astype(np.float32)
    C._SPEC_CACHE.clear()
    y1 = F.conv2d(ac.tensor(x32), ac.tensor(w32), stride=1)
    assert len(C._SPEC_CACHE) == 1
    with pytest.raises(TypeError):  # True == 1 and hashes alike; it must not hit the cache
        F.conv2d(ac.tensor(x32), ac.tensor(w32), stride=True)
    with pytest.raises(TypeError):
        F.conv2d(ac.tensor(x32), ac.tensor(w32), stride=(1, True))
    # a bias, another dtype, another padding: other entries, right results
    yb = F.conv2d(ac.tensor(x32), ac.tensor(w32), ac.tensor(b32), stride=1)
    np.testing.assert_allclose(yb.numpy(), y1.numpy() + b32[:, None, None], rtol=1e-6, atol=1e-6)
    y64 = F.conv2d(ac.tensor(x32.astype(np.float64)), ac.tensor(w32.astype(np.float64)), stride=1)
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y64.numpy(), y1.numpy(), rtol=1e-5, atol=1e-5)
    yp = F.conv2d(ac.tensor(x32), ac.tensor(w32), stride=1, padding=1)
    assert yp.shape == (2, 4, 8, 8) and y1.shape == (2, 4, 6, 6)
    with pytest.raises(TypeError):  # dtype mismatch is still caught with a cached geometry
        F.conv2d(ac.tensor(x32), ac.tensor(w32.astype(np.float64)), stride=1)
    # lists and numpy integers are not cached but work
    n = len(C._SPEC_CACHE)
    yl = F.conv2d(ac.tensor(x32), ac.tensor(w32), stride=[1, 1], padding=np.int64(0))
    np.testing.assert_array_equal(yl.numpy(), y1.numpy())
    assert len(C._SPEC_CACHE) == n
