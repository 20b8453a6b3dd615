"""LayerNorm, GroupNorm, GELU, SiLU, pad's four modes, channel dropout, BCELoss, PixelShuffle
and init.orthogonal_: NumPy references written here, gradcheck in float64, PyTorch where
installed (values and gradients, float32 and float64)."""
import math

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
import autograd_cnn.nn as nn

from _support import RTOL, requires_torch, torch

DTYPES = [np.float32, np.float64]


def _x(shape, dtype=np.float64, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def _t(a, grad=True):
    return ac.tensor(a, requires_grad=grad)


# ----------------------------------------------------------------------- normalization
def ref_norm(x, axes, eps):
    m = x.mean(axis=axes, keepdims=True)
    v = ((x - m) ** 2).mean(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_against_numpy(dtype):
    x = _x((3, 4, 5), dtype, scale=3) + 10  # an offset mean: no cancellation in float32
    w, b = _x((4, 5), dtype, 1), _x((4, 5), dtype, 2)
    y = F.layer_norm(_t(x), (4, 5), _t(w), _t(b), eps=1e-5)
    ref = ref_norm(x.astype(np.float64), (1, 2), 1e-5) * w + b
    np.testing.assert_allclose(y.numpy(), ref, rtol=RTOL[np.dtype(dtype)], atol=1e-5)
    m = nn.LayerNorm(5, dtype=dtype)
    assert list(m.state_dict()) == ["weight", "bias"] and m.weight.shape == (5,)
    np.testing.assert_allclose(m(_t(x)).numpy(), ref_norm(x.astype(np.float64), (2,), 1e-5),
                               rtol=RTOL[np.dtype(dtype)], atol=1e-5)
    assert nn.LayerNorm([4, 5], elementwise_affine=False).weight is None
    assert nn.LayerNorm(5, bias=False).bias is None


@pytest.mark.parametrize("dtype", DTYPES)
def test_group_norm_against_numpy(dtype):
    x = _x((2, 6, 3, 4), dtype, scale=2)
    w, b = _x(6, dtype, 1), _x(6, dtype, 2)
    y = F.group_norm(_t(x), 3, _t(w), _t(b), eps=1e-5)
    g = ref_norm(x.astype(np.float64).reshape(2, 3, -1), (2,), 1e-5).reshape(x.shape)
    ref = g * w[None, :, None, None] + b[None, :, None, None]
    np.testing.assert_allclose(y.numpy(), ref, rtol=RTOL[np.dtype(dtype)], atol=1e-5)
    m = nn.GroupNorm(2, 6, dtype=dtype)
    assert list(m.state_dict()) == ["weight", "bias"]
    np.testing.assert_allclose(m(_t(x)).numpy(), ref_norm(
        x.astype(np.float64).reshape(2, 2, -1), (2,), 1e-5).reshape(x.shape),
        rtol=RTOL[np.dtype(dtype)], atol=1e-5)
    m.eval()  # no running statistics: the same in eval()
    np.testing.assert_allclose(m(_t(x)).numpy(), ref_norm(
        x.astype(np.float64).reshape(2, 2, -1), (2,), 1e-5).reshape(x.shape),
        rtol=RTOL[np.dtype(dtype)], atol=1e-5)


def test_norm_gradchecks():
    x, w, b = _t(_x((2, 4, 3))), _t(_x(3, seed=1)), _t(_x(3, seed=2))
    assert ac.gradgradcheck(lambda x, w, b: F.layer_norm(x, 3, w, b), (x, w, b))
    w, b = _t(_x(4, seed=1)), _t(_x(4, seed=2))
    assert ac.gradgradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), (x, w, b))


def test_device_argument_is_the_cpu():
    assert nn.LayerNorm(3, device="cpu").weight.shape == (3,)
    assert nn.GroupNorm(1, 2, device="cpu:0", bias=False).bias is None
    assert nn.ConvTranspose1d(1, 1, 1, device="cpu").weight.shape == (1, 1, 1)
    assert nn.LazyBatchNorm2d(device="cpu", bias=False).bias is None
    # PyTorch's factory arguments of the everyday layers: device before dtype, positionally too
    assert nn.Linear(3, 2, True, "cpu", np.float64).weight.dtype == np.float64
    assert nn.Conv2d(1, 2, 3, device=ac.device("cpu")).weight.shape == (2, 1, 3, 3)
    assert nn.Conv1d(1, 2, 3, 1, 0, 1, 1, True, "zeros", "cpu", np.float64).bias.dtype == np.float64
    assert nn.BatchNorm2d(4, 1e-5, 0.1, True, True, "cpu", np.float64).running_var.dtype == np.float64
    assert nn.BatchNorm1d(4, device="cpu:0").weight.shape == (4,)
    for make in (lambda: nn.LayerNorm(3, device="cuda"), lambda: nn.LazyLinear(2, device="mps"),
                 lambda: nn.ConvTranspose2d(1, 1, 1, device="cuda:0"),
                 lambda: nn.Linear(2, 2, device="cuda"), lambda: nn.Conv2d(1, 1, 1, device="mps"),
                 lambda: nn.BatchNorm2d(2, device="cuda:1")):
        with pytest.raises(RuntimeError, match="CPUs"):
            make()


def test_norm_bad_arguments():
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(ac.randn(2, 3), (4,))
    with pytest.raises(ValueError, match="normalized_shape"):
        nn.LayerNorm(0)
    with pytest.raises(ValueError, match="divisible"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="channels"):
        nn.GroupNorm(2, 6)(ac.randn(2, 4, 3))
    with pytest.raises(ValueError, match="weight"):
        F.layer_norm(ac.randn(2, 3), 3, ac.randn(4))


# ------------------------------------------------------------------------- activations
@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_silu_against_numpy(dtype):
    x = _x(200, dtype, scale=4)
    xd = x.astype(np.float64)
    cdf = 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in xd]))
    tanh = 0.5 * xd * (1 + np.tanh(math.sqrt(2 / math.pi) * (xd + 0.044715 * xd ** 3)))
    tol = RTOL[np.dtype(dtype)]
    X = _t(x)
    y = nn.GELU()(X)
    np.testing.assert_allclose(y.numpy(), xd * cdf, rtol=tol, atol=tol)
    y.sum().backward()
    pdf = np.exp(-xd * xd / 2) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(X.grad.numpy(), cdf + xd * pdf, rtol=tol, atol=tol)
    np.testing.assert_allclose(F.gelu(_t(x), approximate="tanh").numpy(), tanh, rtol=tol,
                               atol=tol)
    np.testing.assert_allclose(nn.SiLU()(_t(x)).numpy(), xd / (1 + np.exp(-xd)), rtol=tol,
                               atol=tol)
    assert y.dtype == dtype


def test_erf_kernel_accuracy():
    """float32: the rational approximation of csrc/activation/erf.h, within 6 ulp of 1
    absolutely and 3e-7 relatively near 0; float64: the C library's erf."""
    from autograd_cnn.functional.smooth_activation import _erf_np
    x = np.concatenate([np.linspace(-6, 6, 20001), [1e-30, -1e-8, 1e-3]])
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(_erf_np(x), ref, rtol=1e-15, atol=1e-16)
    got = _erf_np(x.astype(np.float32)).astype(np.float64)
    ref32 = np.array([math.erf(v) for v in x.astype(np.float32).astype(np.float64)])
    assert np.abs(got - ref32).max() <= 4e-7
    small = np.abs(x) < 0.5
    assert np.abs((got - ref32)[small] / ref32[small]).max() <= 4e-7
    special = _erf_np(np.array([np.nan, np.inf, -np.inf, 0.0], np.float32))
    assert np.isnan(special[0]) and special[1:].tolist() == [1.0, -1.0, 0.0]


def test_activation_gradchecks_and_errors():
    x = _t(_x(7, scale=2))
    for fn in (F.gelu, lambda t: F.gelu(t, "tanh"), F.silu):
        assert ac.gradgradcheck(fn, (x,))
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")
    with pytest.raises(TypeError, match="float32 or float64"):
        F.gelu(ac.tensor(np.arange(3)))


# --------------------------------------------------------------------------------- pad
def ref_pad(x, pad, mode, value=0.0):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    np_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}[mode]
    kw = {"constant_values": value} if mode == "constant" else {}
    return np.pad(x, widths, mode=np_mode, **kw)


PADS = [((2, 3, 5), (1, 2)), ((2, 3, 4, 5), (2, 1, 0, 3)), ((3, 4, 5), (3, 3, 2, 1)),
        ((1, 2, 3, 4, 5), (1, 2, 2, 1, 0, 2))]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes_against_numpy(mode):
    for shape, pad in PADS:
        x = _x(shape)
        y = F.pad(_t(x), pad, mode) if mode != "constant" else F.pad(_t(x), pad, value=1.5)
        np.testing.assert_array_equal(y.numpy(), ref_pad(x, pad, mode, 1.5))
    # the widest widths each mode allows (reflect < size, circular <= size), values and the
    # gradient's fold against NumPy's pad of the transposed map
    n = 4
    widest = (n - 1, n - 1) if mode == "reflect" else (n, n)
    x = _x((2, n))
    X = _t(x)
    y = F.pad(X, widest, mode)
    np.testing.assert_array_equal(y.numpy(), ref_pad(x, widest, mode))
    g = _x(y.shape, seed=5)
    y.backward(ac.tensor(g))
    jac = np.stack([ref_pad(e[None], widest, mode)[0] for e in np.eye(n)])  # (n, padded)
    np.testing.assert_allclose(X.grad.numpy(), g @ jac.T, rtol=1e-12)
    x = _t(_x((1, 2, 4, 3)))
    assert ac.gradgradcheck(lambda t: F.pad(t, (2, 1, 3, 2), mode), (x,))


def test_pad_negative_and_errors():
    x = ac.tensor(np.arange(6.0))
    np.testing.assert_array_equal(F.pad(x, (-1, 2), value=7.0).numpy(), [1, 2, 3, 4, 5, 7, 7])
    with pytest.raises(ValueError, match="smaller than"):
        F.pad(ac.randn(1, 2, 3), (3, 0), "reflect")
    with pytest.raises(NotImplementedError, match="last 1, 2 or 3"):
        F.pad(ac.randn(2, 3, 4, 5), (1, 1), "replicate")
    with pytest.raises(ValueError, match="even length"):
        F.pad(ac.randn(2, 3), (1,))
    with pytest.raises(ValueError, match="mode"):
        F.pad(ac.randn(2, 3), (1, 1), "mirror")


# ------------------------------------------------------------------------------ dropout
def test_channel_dropout_zeroes_whole_channels():
    x = ac.tensor(np.ones((8, 16, 3, 3)))
    y = F.dropout2d(x, 0.5, generator=np.random.default_rng(0)).numpy()
    per_channel = y.reshape(8, 16, -1)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # all-or-nothing
    assert set(np.unique(y)) == {0.0, 2.0} and 0.3 < (y == 0).mean() < 0.7
    y1 = nn.Dropout1d(0.25, generator=np.random.default_rng(1))(ac.tensor(np.ones((4, 6, 5))))
    rows = y1.numpy()
    assert np.all(rows.min(axis=2) == rows.max(axis=2)) and set(np.unique(rows)) <= {0, 4 / 3}
    m = nn.Dropout2d(0.5).eval()
    assert m(x) is x
    with pytest.warns(UserWarning, match="3-D"):
        F.dropout2d(ac.randn(2, 3, 4), 0.5)
    with pytest.raises(ValueError, match="4-D"):
        F.dropout2d(ac.randn(2, 3), 0.5)
    d = F.dropout(ac.tensor(np.ones(1000)), 0.2, generator=np.random.default_rng(2)).numpy()
    assert set(np.unique(d)) == {0.0, 1.25}
    assert F.dropout(x, 0.5, training=False) is x
    fn = lambda t: F.dropout2d(t, 0.4, generator=np.random.default_rng(3))  # noqa: E731
    assert ac.gradcheck(fn, (_t(_x((2, 3, 2, 2))),))


# ---------------------------------------------------------------------------------- BCE
def test_bce_against_numpy_and_clamps():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.99, (4, 3))
    t = rng.uniform(0, 1, (4, 3))
    w = rng.uniform(0.5, 2, (3,))
    ref = -w * (t * np.log(p) + (1 - t) * np.log(1 - p))
    P = _t(p)
    loss = nn.BCELoss(weight=w)(P, ac.tensor(t))
    np.testing.assert_allclose(loss.item(), ref.mean(), rtol=1e-12)
    loss.backward()
    np.testing.assert_allclose(P.grad.numpy(), w * (p - t) / (p * (1 - p)) / p.size, rtol=1e-10)
    np.testing.assert_allclose(F.binary_cross_entropy(_t(p), ac.tensor(t), reduction="sum")
                               .item(), (ref / w).sum(), rtol=1e-12)
    # log clamped at -100: p = 0 against t = 1 costs 100, and the gradient stays finite
    edge = _t(np.array([0.0, 1.0, 1.0]))
    out = F.binary_cross_entropy(edge, ac.tensor(np.array([1.0, 0.0, 1.0])), reduction="none")
    np.testing.assert_allclose(out.numpy(), [100, 100, 0])
    out.sum().backward()
    np.testing.assert_allclose(edge.grad.numpy(), [-1e12, 1e12, 0])
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(ac.tensor([1.5]), ac.tensor([1.0]))
    with pytest.raises(ValueError, match="shape"):
        F.binary_cross_entropy(ac.tensor([0.5]), ac.tensor([1.0, 0.0]))
    pt = (_t(rng.uniform(0.1, 0.9, 5)), _t(rng.uniform(0, 1, 5)))
    assert ac.gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b), pt)


# ------------------------------------------------------------------------- pixel shuffle
def test_pixel_shuffle_definition_and_inverse():
    x = _x((2, 3 * 4, 2, 3))
    y = nn.PixelShuffle(2)(_t(x)).numpy()
    assert y.shape == (2, 3, 4, 6)
    for c, i, j, h, w in [(0, 0, 0, 0, 0), (1, 1, 0, 1, 2), (2, 1, 1, 0, 1)]:
        assert y[:, c, h * 2 + i, w * 2 + j].tolist() == x[:, c * 4 + i * 2 + j, h, w].tolist()
    back = nn.PixelUnshuffle(2)(ac.tensor(y)).numpy()
    np.testing.assert_array_equal(back, x)
    assert ac.gradcheck(lambda t: F.pixel_shuffle(t, 2), (_t(x[:1, :, :1]),))
    with pytest.raises(ValueError, match="divisible"):
        F.pixel_shuffle(ac.randn(1, 6, 2, 2), 2)


# ------------------------------------------------------------------------------ orthogonal
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 3, 3)])
def test_orthogonal_init(shape):
    w = ac.tensor(np.zeros(shape, np.float32))
    nn.init.orthogonal_(w, gain=2.0, generator=np.random.default_rng(0))
    m = w.numpy().reshape(shape[0], -1).astype(np.float64)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more"):
        nn.init.orthogonal_(ac.tensor(np.zeros(3)))


# ------------------------------------------------------------------------------- torch
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_match_pytorch(dtype):
    tol = RTOL[np.dtype(dtype)]
    cases = [
        (lambda t: F.layer_norm(t, (3, 4)), lambda t: torch.nn.functional.layer_norm(t, (3, 4)),
         (2, 3, 4)),
        (lambda t: F.group_norm(t, 3), lambda t: torch.nn.functional.group_norm(t, 3),
         (2, 6, 2, 3)),
        (F.gelu, torch.nn.functional.gelu, (50,)),
        (lambda t: F.gelu(t, approximate="tanh"),
         lambda t: torch.nn.functional.gelu(t, approximate="tanh"), (50,)),
        (F.silu, torch.nn.functional.silu, (50,)),
        (lambda t: F.pad(t, (1, 2, 2, 1), "reflect"),
         lambda t: torch.nn.functional.pad(t, (1, 2, 2, 1), "reflect"), (2, 3, 4, 5)),
        (lambda t: F.pad(t, (3, 1), "circular"),
         lambda t: torch.nn.functional.pad(t, (3, 1), "circular"), (2, 3, 4)),
        (lambda t: F.pad(t, (1, 2, 0, 1, 2, 0), "replicate"),
         lambda t: torch.nn.functional.pad(t, (1, 2, 0, 1, 2, 0), "replicate"), (1, 2, 3, 4, 5)),
        (lambda t: F.pixel_unshuffle(t, 2), lambda t: torch.nn.functional.pixel_unshuffle(t, 2),
         (2, 3, 4, 6)),
    ]
    for i, (ours, theirs, shape) in enumerate(cases):
        x = _x(shape, dtype, seed=i, scale=2)
        X, tX = _t(x), torch.tensor(x, requires_grad=True)
        y, ty = ours(X), theirs(tX)
        g = _x(tuple(ty.shape), dtype, seed=100 + i)
        y.backward(ac.tensor(g))
        ty.backward(torch.tensor(g))
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(X.grad.numpy(), tX.grad.numpy(), rtol=tol, atol=10 * tol)
    # BCE with weight, every reduction
    rng = np.random.default_rng(5)
    p, t, w = (rng.uniform(0.001, 0.999, (3, 4)).astype(dtype) for _ in range(3))
    for red in ("mean", "sum", "none"):
        P, tP = _t(p), torch.tensor(p, requires_grad=True)
        ours = F.binary_cross_entropy(P, ac.tensor(t), ac.tensor(w), red)
        theirs = torch.nn.functional.binary_cross_entropy(tP, torch.tensor(t), torch.tensor(w),
                                                          reduction=red)
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=tol)
        np.testing.assert_allclose(P.grad.numpy(), tP.grad.numpy(), rtol=tol)
    # module state-dict keys and reprs
    for ours, theirs in ((nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4))),
                         (nn.LayerNorm(4, bias=False), torch.nn.LayerNorm(4, bias=False)),
                         (nn.GroupNorm(2, 6), torch.nn.GroupNorm(2, 6)),
                         (nn.GroupNorm(2, 6, bias=False), torch.nn.GroupNorm(2, 6, bias=False)),
                         (nn.GroupNorm(2, 6, affine=False), torch.nn.GroupNorm(2, 6, affine=False)),
                         (nn.LayerNorm(2, elementwise_affine=False),
                          torch.nn.LayerNorm(2, elementwise_affine=False)),
                         (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.SiLU(), torch.nn.SiLU()),
                         (nn.PixelShuffle(3), torch.nn.PixelShuffle(3)),
                         (nn.Dropout1d(0.2), torch.nn.Dropout1d(0.2)),
                         (nn.ConvTranspose2d(2, 4, 3, 2, 1, 1, bias=False),
                          torch.nn.ConvTranspose2d(2, 4, 3, 2, 1, 1, bias=False))):
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)
