"""Transposed convolution (functional/conv_transpose.py, nn/conv_transpose.py): values and
gradients against an independent NumPy reference (a scatter per kernel tap) and PyTorch,
gradcheck / gradgradcheck in float64, output sizes, output_size=, and bad arguments."""
import itertools

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
import autograd_cnn.nn as nn
from autograd_cnn._geometry import transposed_output_size

from _support import RTOL, requires_torch, torch


def ref_conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation):
    """Each input pixel scatters weight * value into the output: position i of the input and
    tap k of the kernel land on output position i * stride - padding + k * dilation."""
    n, cin, h, wd = x.shape
    _, cog, kh, kw = w.shape
    (sh, sw), (ph, pw), (oh_, ow_), (dh, dw) = stride, padding, output_padding, dilation
    full = ((h - 1) * sh + dh * (kh - 1) + 1 + oh_, (wd - 1) * sw + dw * (kw - 1) + 1 + ow_)
    out = np.zeros((n, cog * groups) + full)
    cig = cin // groups
    for g in range(groups):
        xs = x[:, g * cig:(g + 1) * cig].astype(np.float64)
        for i, j in itertools.product(range(kh), range(kw)):
            ws = w[g * cig:(g + 1) * cig, :, i, j].astype(np.float64)
            contrib = np.einsum("nchw,co->nohw", xs, ws)
            out[:, g * cog:(g + 1) * cog, i * dh:i * dh + (h - 1) * sh + 1:sh,
                j * dw:j * dw + (wd - 1) * sw + 1:sw] += contrib
    H = (h - 1) * sh - 2 * ph + dh * (kh - 1) + 1 + oh_
    W = (wd - 1) * sw - 2 * pw + dw * (kw - 1) + 1 + ow_
    out = np.pad(out, ((0, 0), (0, 0), (0, ph), (0, pw)))  # room when output_padding > padding
    out = out[:, :, ph:ph + H, pw:pw + W]
    if b is not None:
        out = out + b.astype(np.float64)[None, :, None, None]
    return out


# (N, C_in, C_out, groups, (H, W), kernel, stride, padding, output_padding, dilation)
CASES = [
    (2, 3, 4, 1, (5, 4), (3, 3), (1, 1), (0, 0), (0, 0), (1, 1)),
    (2, 4, 6, 2, (4, 5), (3, 2), (2, 3), (1, 0), (1, 2), (1, 1)),
    (1, 2, 2, 1, (3, 3), (2, 2), (2, 2), (0, 1), (0, 1), (2, 1)),
    (2, 3, 3, 3, (4, 4), (3, 3), (1, 2), (2, 3), (0, 1), (2, 2)),   # output_padding < dilation
    (1, 2, 3, 1, (2, 3), (1, 3), (3, 1), (1, 1), (2, 0), (1, 1)),   # output_padding > padding
    (2, 2, 4, 2, (5, 6), (2, 3), (3, 2), (3, 5), (1, 0), (1, 2)),   # padding wider than a window
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_transpose2d_matches_reference(case, dtype):
    n, cin, cout, g, hw, k, s, p, o, d = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, cin) + hw).astype(dtype)
    w = rng.standard_normal((cin, cout // g) + k).astype(dtype)
    b = rng.standard_normal(cout).astype(dtype)
    X, W, B = (ac.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv_transpose2d(X, W, B, s, p, o, g, d)
    ref = ref_conv_transpose2d(x, w, b, s, p, o, g, d)
    assert y.shape == ref.shape and y.dtype == dtype
    assert y.shape[2:] == tuple(transposed_output_size(*a) for a in zip(hw, k, s, p, o, d))
    np.testing.assert_allclose(y.numpy(), ref, rtol=RTOL[np.dtype(dtype)], atol=1e-4)
    # gradients: the reference is linear, so its adjoint is checked through <y, gy>
    gy = rng.standard_normal(y.shape).astype(dtype)
    y.backward(ac.tensor(gy))
    eps = 1e-3
    for arr, T in ((x, X), (w, W)):
        idx = tuple(rng.integers(0, m) for m in arr.shape)
        e = np.zeros_like(arr, dtype=np.float64)
        e[idx] = 1
        args = [x, w]
        args[0 if arr is x else 1] = e
        lin = ref_conv_transpose2d(*args, None, s, p, o, g, d)  # d(<y, gy>)/d(arr[idx])
        np.testing.assert_allclose(T.grad.numpy()[idx], (lin * gy).sum(), rtol=eps, atol=eps)
    np.testing.assert_allclose(B.grad.numpy(), gy.sum(axis=(0, 2, 3)), rtol=1e-4)


@pytest.mark.parametrize("case", CASES[:3] + CASES[4:])
def test_conv_transpose2d_gradcheck(case):
    n, cin, cout, g, hw, k, s, p, o, d = case
    rng = np.random.default_rng(1)
    x = ac.tensor(rng.standard_normal((1, cin) + hw), requires_grad=True)
    w = ac.tensor(rng.standard_normal((cin, cout // g) + k), requires_grad=True)
    b = ac.tensor(rng.standard_normal(cout), requires_grad=True)
    fn = lambda x, w, b: F.conv_transpose2d(x, w, b, s, p, o, g, d)  # noqa: E731
    assert ac.gradcheck(fn, (x, w, b))
    assert ac.gradgradcheck(fn, (x, w, b))


def test_conv_transpose1d_and_unbatched():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 7))
    w = rng.standard_normal((4, 3, 3))
    y = F.conv_transpose1d(ac.tensor(x), ac.tensor(w), None, 2, 1, 1, 2, 1)
    ref = ref_conv_transpose2d(x[:, :, None], w[:, :, None], None, (1, 2), (0, 1), (0, 1), 2,
                               (1, 1))[:, :, 0]
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12, atol=1e-12)
    single = F.conv_transpose1d(ac.tensor(x[0]), ac.tensor(w), None, 2, 1, 1, 2, 1)
    np.testing.assert_allclose(single.numpy(), ref[0], rtol=1e-12, atol=1e-12)
    xx = ac.tensor(x[:1], requires_grad=True)
    ww = ac.tensor(w, requires_grad=True)
    assert ac.gradgradcheck(lambda a, b: F.conv_transpose1d(a, b, None, 2, 1, 1, 2, 1), (xx, ww))


def test_transposed_convolution_is_the_adjoint_of_convolution():
    """<conv(a, w), b> == <a, conv_transpose(b, w)> for every a, b: the defining property."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 3))
    y = F.conv2d(ac.tensor(a), ac.tensor(w), stride=2, padding=1, dilation=1, groups=2)
    b = rng.standard_normal(y.shape)
    out_pad = (9 - ((y.shape[2] - 1) * 2 - 2 + 3), 8 - ((y.shape[3] - 1) * 2 - 2 + 3))
    t = F.conv_transpose2d(ac.tensor(b), ac.tensor(w), None, 2, 1, out_pad, 2, 1)
    assert t.shape == a.shape
    np.testing.assert_allclose((y.numpy() * b).sum(), (a * t.numpy()).sum(), rtol=1e-12)


def test_module_layout_init_and_output_size():
    ac.manual_seed(0)
    m = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    assert m.weight.shape == (4, 3, 3, 3) and m.bias.shape == (6,)
    assert list(m.state_dict()) == ["weight", "bias"]
    bound = 1 / np.sqrt(3 * 9)  # fan_in from the weight's layout: (C_out / groups) * k * k
    assert np.abs(m.weight.numpy()).max() <= bound and np.abs(m.bias.numpy()).max() <= bound
    assert np.abs(m.weight.numpy()).max() > 0.8 * bound
    x = ac.randn(1, 4, 5, 5)
    assert m(x).shape == (1, 6, 9, 9)
    assert m(x, output_size=(10, 10)).shape == (1, 6, 10, 10)
    assert m(x, output_size=[1, 6, 10, 9]).shape == (1, 6, 10, 9)
    with pytest.raises(ValueError, match="output_size"):
        m(x, output_size=(11, 10))
    assert "output_padding" not in repr(m) and "groups=2" in repr(m)
    m1 = nn.ConvTranspose1d(2, 3, 4, bias=False, dtype=np.float64)
    assert m1.bias is None and m1(ac.randn(1, 2, 5, dtype=np.float64)).shape == (1, 3, 8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(output_padding=2, stride=2), "output_padding"),
    (dict(padding="same"), "padding"),
    (dict(padding=-1), "padding"),
    (dict(stride=0), "stride"),
    (dict(groups=3), "divisible"),
])
def test_bad_module_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nn.ConvTranspose2d(4, 6, 3, **kwargs)


def test_bad_call_arguments():
    x, w = ac.randn(1, 4, 3, 3), ac.randn(4, 2, 3, 3)
    with pytest.raises(ValueError, match="input channels"):
        F.conv_transpose2d(ac.randn(1, 5, 3, 3), w)
    with pytest.raises(ValueError, match="bias"):
        F.conv_transpose2d(x, w, ac.randn(4))
    with pytest.raises(TypeError, match="dtype"):
        F.conv_transpose2d(x, ac.randn(4, 2, 3, 3, dtype=np.float64))
    with pytest.raises(ValueError, match="output size"):
        F.conv_transpose2d(ac.randn(1, 4, 1, 1), w, padding=2)
    with pytest.raises(ValueError, match="4-D"):
        F.conv_transpose2d(ac.randn(4, 3), w)


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_pytorch(dtype):
    rng = np.random.default_rng(4)
    for n, cin, cout, g, hw, k, s, p, o, d in CASES:
        x = rng.standard_normal((n, cin) + hw).astype(dtype)
        w = rng.standard_normal((cin, cout // g) + k).astype(dtype)
        b = rng.standard_normal(cout).astype(dtype)
        X, W, B = (ac.tensor(a, requires_grad=True) for a in (x, w, b))
        tX, tW, tB = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        y = F.conv_transpose2d(X, W, B, s, p, o, g, d)
        ty = torch.nn.functional.conv_transpose2d(tX, tW, tB, s, p, o, g, d)
        gy = rng.standard_normal(y.shape).astype(dtype)
        y.backward(ac.tensor(gy))
        ty.backward(torch.tensor(gy))
        tol = RTOL[np.dtype(dtype)]
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
        for ours, theirs in ((X, tX), (W, tW), (B, tB)):
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=tol,
                                       atol=10 * tol)
    m = nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                           dtype=dtype)
    tm = torch.nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2,
                                  dtype=getattr(torch, np.dtype(dtype).name))
    assert {k: tuple(v.shape) for k, v in tm.state_dict().items()} == \
        {k: tuple(np.shape(v)) for k, v in m.state_dict().items()}
    tm.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in m.state_dict().items()})
    x = rng.standard_normal((2, 4, 6)).astype(dtype)
    np.testing.assert_allclose(m(ac.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=RTOL[np.dtype(dtype)], atol=1e-5)


def test_summary_counts_transposed_multiply_adds():
    net = nn.Sequential(nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2), nn.ReLU())
    rows = ac.summary(net, (4, 5, 5)).rows
    assert rows[0].output_shape == (6, 11, 11)
    assert rows[0].macs == 4 * 25 * 3 * 9  # every input value times its group's 3x3x3 window
