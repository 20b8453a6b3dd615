"""Arguments at the edge of what fits: they give the right answer or a Python exception, never a
crash of the process."""
import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from _support import torch
from conv_reference import ref_conv2d, ref_conv2d_grads


@pytest.mark.parametrize("stride", [7, 2**20, 2**31 - 1])
def test_stride_larger_than_the_input_takes_the_first_window(stride):
    x = ac.randn(2, 3, 5, 6, requires_grad=True)
    w = ac.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, stride=stride, padding=1)
    first = F.conv2d(x, w, padding=1)[:, :, :1, :1]
    np.testing.assert_allclose(y.numpy(), first.numpy(), rtol=1e-6)
    y.sum().backward()
    gx, gw = x.grad.numpy().copy(), w.grad.numpy().copy()
    x.grad = w.grad = None
    first.sum().backward()
    np.testing.assert_allclose(gx, x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gw, w.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("padding", [2**20, 2**40])
def test_padding_too_large_to_allocate_raises(padding):
    with pytest.raises((ValueError, MemoryError)):
        F.conv2d(ac.randn(1, 1, 3, 3), ac.randn(1, 1, 3, 3), padding=padding)


@pytest.mark.parametrize("kwargs", [
    dict(padding=(2**31, 2**31 - 1), stride=2**33),
    dict(dilation=2**63),
    dict(stride=(2**62, 1)),
    dict(padding=2**30),
])
def test_window_arguments_beyond_range_raise_naming_the_argument(kwargs):
    x = np.ones((1, 1, 2, 2), np.float32)
    with pytest.raises(ValueError, match="conv2d: (padding|stride|dilation)"):
        F.conv2d(x, x[:, :, :1, :1], **kwargs)


@pytest.mark.parametrize("call", [
    lambda x: F.avg_pool2d(x, 2**32 + 2, padding=2**31 + 1),
    lambda x: F.max_pool2d(x, 3, stride=2**63),
    lambda x: F.max_pool2d(x, 1, dilation=2**63),
    lambda x: F.avg_pool2d(x, 2, divisor_override=2**63),
    lambda x: F.adaptive_avg_pool2d(x, (2**22, 2**42 + 1)),
])
def test_pooling_arguments_beyond_range_raise_value_errors(call):
    with pytest.raises(ValueError):
        call(ac.tensor(np.ones((1, 1, 5, 5), np.float32)))


# ------------------------------------------------- padding wider than the window (any size)
FAR = [
    ((2, 3, 6, 7), (4, 3, 3, 2), dict(padding=5)),
    ((2, 3, 6, 7), (4, 3, 3, 2), dict(padding=(7, 1), stride=3)),
    ((1, 2, 5, 9), (3, 2, 2, 3), dict(padding=9, stride=4, dilation=2)),
    ((1, 2, 5, 9), (2, 1, 3, 3), dict(padding=(0, 6), stride=(1, 5), groups=2)),
    ((2, 2, 4, 4), (3, 2, 3, 3), dict(padding=8, stride=20)),  # no window meets the input
    ((3, 2, 9), (4, 2, 3), dict(padding=6, stride=2)),            # conv1d
]


@pytest.mark.parametrize("xs,ws,kw", FAR)
def test_padding_wider_than_the_window_matches_the_reference(xs, ws, kw):
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal(s) for s in (xs, ws, ws[:1]))
    leaves = [ac.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = (F.conv2d if len(xs) == 4 else F.conv1d)(*leaves, **kw)
    four = (lambda a: a) if len(xs) == 4 else (lambda a: a[:, :, None])
    stride = kw.get("stride", 1)
    pad = kw["padding"]
    stride, dilation = ((stride,) * 2 if isinstance(stride, int) else stride,
                        (kw.get("dilation", 1),) * 2)
    pads = ((pad, pad),) * 2 if isinstance(pad, int) else tuple((p, p) for p in pad)
    if len(xs) == 3:
        stride, dilation, pads = (1, stride[1]), (1, dilation[1]), ((0, 0), pads[1])
    groups = kw.get("groups", 1)
    ref = ref_conv2d(four(x), four(w), b, stride, pads, dilation, groups)
    np.testing.assert_allclose(four(y.numpy()), ref, rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(ac.tensor(g))
    dx, dw = ref_conv2d_grads(four(x), four(w), four(g), stride, pads, dilation, groups)
    np.testing.assert_allclose(four(leaves[0].grad.numpy()), dx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(four(leaves[1].grad.numpy()), dw, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(leaves[2].grad.numpy(), g.sum(axis=tuple(
        i for i in range(g.ndim) if i != 1)), rtol=1e-10)
    if torch is not None:
        fn = torch.nn.functional.conv2d if len(xs) == 4 else torch.nn.functional.conv1d
        ty = fn(*(torch.from_numpy(a) for a in (x, w, b)), **kw)
        np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-10, atol=1e-12)


def _peak_growth_mib(run):
    """Peak resident memory growth while run() runs (Linux), or None."""
    from autograd_cnn import benchmarking
    grown = benchmarking.peak_memory_growth(run)
    return None if grown is None else grown / 2**20


@pytest.mark.parametrize("kw, out", [
    (dict(padding=8192, stride=100000), (1, 1)),
    (dict(padding=2**20, stride=2**21), (2, 2)),
    (dict(padding=2**16, stride=2**20), (1, 1)),
])
def test_absurd_padding_costs_what_the_windows_read(kw, out):
    """One output pixel of a 1x1x8x9 input padded by thousands: the answer is the bias (every
    window lies in the padding), in bounded memory (the padded input used to be built: 4 GiB)."""
    x, w, b = np.ones((1, 1, 8, 9), "f4"), np.ones((1, 1, 3, 3), "f4"), np.array([0.5], "f4")
    result = []
    grown = _peak_growth_mib(lambda: result.append(F.conv2d(x, w, b, **kw)))
    if grown is None:
        result.append(F.conv2d(x, w, b, **kw))
    else:
        assert grown < 64
    assert result[0].shape == (1, 1) + out
    np.testing.assert_array_equal(result[0].numpy(), 0.5)


def test_padding_at_the_argument_limit_is_computed():
    """Padding 2**31 - 1 with stride 2**30: four windows per axis, one of which (the third) meets
    the input's last pixel; the padded input (2**32 pixels a side) is never built."""
    x = np.arange(1, 5, dtype=np.float32).reshape(1, 1, 2, 2)
    y = F.conv2d(x, np.ones((1, 1, 1, 1), np.float32), padding=2**31 - 1, stride=2**30).numpy()
    expected = np.zeros((1, 1, 4, 4), np.float32)
    expected[0, 0, 2, 2] = x[0, 0, 1, 1]
    np.testing.assert_array_equal(y, expected)


def test_output_too_large_to_hold_is_refused_naming_the_arguments():
    with pytest.raises(ValueError, match="conv2d: padding=8388608.*output of shape"):
        F.conv2d(ac.randn(1, 1, 3, 3), ac.randn(1, 1, 3, 3), padding=2**23)
