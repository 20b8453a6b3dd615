"""Layers: forward against NumPy references, gradcheck in float64, PyTorch twins where installed."""
import math

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import nn
from _support import RTOL, requires_torch, torch

sliding = np.lib.stride_tricks.sliding_window_view


# ------------------------------------------------------------------------ NumPy references
def _windows(x, kernel, stride, dilation):
    """(N, C, *out, *kernel) view of x's sliding windows over its spatial axes."""
    n = len(kernel)
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    v = sliding(x, spans, axis=tuple(range(2, 2 + n)))
    out_idx = (slice(None), slice(None)) + tuple(slice(None, None, s) for s in stride)
    k_idx = tuple(slice(None, None, d) for d in dilation)
    return v[out_idx + (Ellipsis,)][(Ellipsis,) + k_idx]


def ref_conv(x, w, b, stride, padding, dilation, groups):
    n = w.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + list(padding))
    win = _windows(xp, w.shape[2:], stride, dilation)  # N, C, *out, *k
    cg, og = x.shape[1] // groups, w.shape[0] // groups
    outs = []
    letters = "hw"[:n] if n == 2 else "l"
    klet = "ij"[:n] if n == 2 else "i"
    for g in range(groups):
        sub = win[:, g * cg:(g + 1) * cg]
        wg = w[g * og:(g + 1) * og]
        outs.append(np.einsum(f"nc{letters}{klet},oc{klet}->no{letters}", sub, wg))
    out = np.concatenate(outs, axis=1)
    if b is not None:
        out = out + b.reshape((1, -1) + (1,) * n)
    return out


def ref_pool(x, kernel, stride, padding, mode, dilation=None, count_include_pad=True):
    n = len(kernel)
    dilation = dilation or (1,) * n
    pads = [(0, 0), (0, 0)] + [(p, p) for p in padding]
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, pads, constant_values=fill)
    win = _windows(xp, kernel, stride, dilation)
    axes = tuple(range(-n, 0))
    if mode == "max":
        return win.max(axis=axes)
    if count_include_pad:
        return win.mean(axis=axes)
    ones = np.pad(np.ones(x.shape), pads)
    return win.sum(axis=axes) / _windows(ones, kernel, stride, dilation).sum(axis=axes)


def ref_adaptive(x, out_size, mode):
    n = len(out_size)
    in_size = x.shape[2:]
    out = np.empty(x.shape[:2] + tuple(out_size))
    for idx in np.ndindex(*out_size):
        sl = tuple(slice((i * s) // o, -(-((i + 1) * s) // o)) for i, s, o in
                   zip(idx, in_size, out_size))
        block = x[(slice(None), slice(None)) + sl]
        axes = tuple(range(2, 2 + n))
        out[(slice(None), slice(None)) + idx] = block.max(axes) if mode == "max" else \
            block.mean(axes)
    return out


def _x(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ----------------------------------------------------------------------------------- Linear
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear(dtype):
    lin = nn.Linear(5, 3, dtype=dtype)
    xd = _x((2, 4, 5), dtype)
    x = ac.tensor(xd, requires_grad=True)
    y = lin(x)
    W, b = lin.weight.numpy(), lin.bias.numpy()
    rtol = RTOL[np.dtype(dtype)]
    np.testing.assert_allclose(y.numpy(), xd @ W.T + b, rtol=rtol, atol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), np.ones((8, 3)).T @ xd.reshape(8, 5),
                               rtol=rtol, atol=1e-5)
    np.testing.assert_allclose(lin.bias.grad.numpy(), np.full(3, 8.0), rtol=rtol)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(W.sum(0), xd.shape), rtol=rtol,
                               atol=1e-6)
    with pytest.raises(ValueError, match="5"):
        lin(ac.tensor(np.zeros((2, 4), dtype)))
    assert nn.Linear(5, 3, bias=False).bias is None


def test_linear_gradcheck():
    lin = nn.Linear(4, 3, dtype=np.float64)
    x = ac.tensor(_x((2, 4)), requires_grad=True)
    assert ac.gradcheck(lambda x, w, b: nn.linear.linear(x, w, b), (x, lin.weight, lin.bias))


@pytest.mark.parametrize("shape", [(5,), (3, 5), (2, 3, 5), (0, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_one_node_matches_numpy_and_differentiates_twice(shape, bias):
    # nn.linear.linear is one ops.matmul.Linear node for Tensors of one dtype: values, all three
    # gradients and second derivatives (create_graph) against NumPy formulas
    rng = np.random.default_rng(3)
    xd, W = rng.standard_normal(shape), rng.standard_normal((4, 5))
    bd = rng.standard_normal(4)
    x, w = ac.tensor(xd, requires_grad=True), ac.tensor(W, requires_grad=True)
    b = ac.tensor(bd, requires_grad=True) if bias else None
    y = nn.linear.linear(x, w, b)
    assert y.grad_fn.name() == "LinearBackward"
    np.testing.assert_allclose(y.numpy(), xd @ W.T + (bd if bias else 0), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(y.shape)
    y.backward(ac.tensor(g))
    g2, x2 = g.reshape(-1, 4), xd.reshape(-1, 5)
    np.testing.assert_allclose(x.grad.numpy(), (g2 @ W).reshape(shape), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.grad.numpy(), g2.T @ x2, rtol=1e-12, atol=1e-12)
    if bias:
        np.testing.assert_allclose(b.grad.numpy(), g2.sum(0), rtol=1e-12, atol=1e-12)
    if shape[0]:
        args = (x, w) + ((b,) if bias else ())
        assert ac.gradgradcheck(lambda *a: nn.linear.linear(*a), args)


def test_linear_mixed_dtypes_and_broadcast_bias_take_the_general_ops():
    x = ac.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    w = ac.tensor(np.ones((4, 3), np.float64), requires_grad=True)
    y = nn.linear.linear(x, w, ac.tensor(np.ones((2, 1)), requires_grad=True))
    assert y.dtype == np.float64 and y.grad_fn.name() == "AddBackward"
    np.testing.assert_allclose(y.numpy(), np.full((2, 4), 4.0))
    assert nn.linear.linear(x, w).grad_fn.name() == "MatMulBackward"


# ------------------------------------------------------------------------------------- conv
CONV_CASES = [
    dict(n=1, cin=2, cout=4, k=3, stride=1, padding=0, dilation=1, groups=1),
    dict(n=1, cin=4, cout=4, k=3, stride=2, padding="same", dilation=1, groups=2),
    dict(n=1, cin=2, cout=3, k=4, stride=1, padding="same", dilation=2, groups=1),
    dict(n=2, cin=2, cout=3, k=3, stride=1, padding=1, dilation=1, groups=1),
    dict(n=2, cin=4, cout=6, k=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2),
    dict(n=2, cin=3, cout=3, k=2, stride=1, padding="same", dilation=1, groups=3),
    dict(n=2, cin=2, cout=2, k=3, stride=1, padding="valid", dilation=1, groups=1),
]


def _conv_module(c, dtype, bias=True):
    cls = nn.Conv1d if c["n"] == 1 else nn.Conv2d
    return cls(c["cin"], c["cout"], c["k"], stride=c["stride"], padding=c["padding"],
               dilation=c["dilation"], groups=c["groups"], bias=bias, dtype=dtype)


@pytest.mark.parametrize("c", CONV_CASES)
def test_conv_forward_and_gradcheck(c):
    if c["padding"] == "same" and c["stride"] != 1:
        with pytest.raises(ValueError, match="same"):
            _conv_module(c, np.float64)
        return
    conv = _conv_module(c, np.float64)
    shape = (2, c["cin"]) + ((9,) if c["n"] == 1 else (6, 7))
    xd = _x(shape)
    geom = conv._geometry(shape[2:])
    y = conv(ac.tensor(xd))
    ref = ref_conv(xd, conv.weight.numpy(), conv.bias.numpy(), geom.stride, geom.padding,
                   geom.dilation, c["groups"])
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-10, atol=1e-12)
    assert tuple(y.shape[2:]) == geom.out_size
    # gradcheck on a smaller input: the layer's wiring (the conv itself is checked in test_conv)
    small = ac.tensor(np.ascontiguousarray(xd[:1, ..., :5] if c["n"] == 1 else xd[:1, :, :5, :5]),
                      requires_grad=True)
    assert ac.gradcheck(lambda x, w, b: type(conv).forward(_with(conv, w, b), x),
                        (small, nn.Parameter(conv.weight.numpy().copy()),
                         nn.Parameter(conv.bias.numpy().copy())))


def _with(module, w, b):
    module.weight, module.bias = w, b
    return module


def test_conv_arguments():
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="kernel_size"):
        nn.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match="in_channels"):
        nn.Conv1d(0, 4, 3)
    conv = nn.Conv2d(4, 8, 3, groups=2, bias=False)
    assert conv.weight.shape == (8, 2, 3, 3) and conv.bias is None
    assert list(conv.state_dict()) == ["weight"]


# ---------------------------------------------------------------------------------- pooling
POOL_CASES = [
    (nn.MaxPool1d, dict(kernel_size=3, stride=2, padding=1), "max"),
    (nn.MaxPool1d, dict(kernel_size=2), "max"),
    (nn.MaxPool2d, dict(kernel_size=2), "max"),
    (nn.MaxPool2d, dict(kernel_size=3, stride=2, padding=1, dilation=1), "max"),
    (nn.MaxPool2d, dict(kernel_size=(2, 3), stride=1, dilation=(2, 1)), "max"),
    (nn.AvgPool1d, dict(kernel_size=3, stride=2, padding=1), "avg"),
    (nn.AvgPool2d, dict(kernel_size=2), "avg"),
    (nn.AvgPool2d, dict(kernel_size=3, stride=2, padding=1, count_include_pad=False), "avg"),
]


@pytest.mark.parametrize("cls,kw,mode", POOL_CASES)
def test_pool_layers(cls, kw, mode):
    layer = cls(**kw)
    n = 1 if cls.__name__.endswith("1d") else 2
    shape = (2, 3) + ((9,) if n == 1 else (6, 7))
    xd = _x(shape)
    y = layer(ac.tensor(xd))
    ref = ref_pool(xd, layer.kernel_size, layer.stride, layer.padding, mode,
                   getattr(layer, "dilation", None), getattr(layer, "count_include_pad", True))
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-12)
    assert tuple(y.shape[2:]) == layer._geometry(shape[2:]).out_size
    x = ac.tensor(_x((1, 2) + shape[2:], seed=3), requires_grad=True)
    assert ac.gradcheck(layer, (x,))


@pytest.mark.parametrize("cls,out,mode", [(nn.AdaptiveAvgPool1d, 4, "avg"),
                                          (nn.AdaptiveAvgPool2d, (3, 2), "avg"),
                                          (nn.AdaptiveAvgPool2d, 1, "avg"),
                                          (nn.AdaptiveMaxPool2d, (4, 3), "max")])
def test_adaptive_pool_layers(cls, out, mode):
    layer = cls(out)
    shape = (2, 3, 9) if cls is nn.AdaptiveAvgPool1d else (2, 3, 7, 5)
    xd = _x(shape)
    np.testing.assert_allclose(layer(ac.tensor(xd)).numpy(),
                               ref_adaptive(xd, layer.output_size, mode), rtol=1e-12)
    x = ac.tensor(xd[:1], requires_grad=True)
    assert ac.gradcheck(layer, (x,))


# ------------------------------------------------------------------------------ activations
def test_activations():
    xd = _x((3, 4))
    sig = 1 / (1 + np.exp(-xd))
    cases = [(nn.ReLU(), np.maximum(xd, 0)), (nn.LeakyReLU(0.2), np.where(xd > 0, xd, 0.2 * xd)),
             (nn.Sigmoid(), sig), (nn.Tanh(), np.tanh(xd)),
             (nn.Softmax(dim=1), np.exp(xd) / np.exp(xd).sum(1, keepdims=True)),
             (nn.LogSoftmax(dim=0), xd - np.log(np.exp(xd).sum(0, keepdims=True))),
             (nn.Identity(3, foo=1), xd)]
    for layer, ref in cases:
        np.testing.assert_allclose(layer(ac.tensor(xd)).numpy(), ref, rtol=1e-12,
                                   err_msg=repr(layer))
        x = ac.tensor(xd + 0.01, requires_grad=True)  # keep away from the ReLU kink
        assert ac.gradcheck(layer, (x,)), repr(layer)


def test_flatten():
    x = ac.tensor(_x((2, 3, 4, 5)), requires_grad=True)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(2)(x).shape == (2, 3, 20)
    assert nn.Flatten(-2, -1)(x).shape == (2, 3, 20)
    with pytest.raises(ValueError, match="start_dim"):
        nn.Flatten(3, 1)(x)
    assert ac.gradcheck(nn.Flatten(), (ac.tensor(_x((2, 3, 2)), requires_grad=True),))


# ---------------------------------------------------------------------------------- dropout
def test_dropout():
    x = ac.tensor(np.ones((200, 100)), requires_grad=True)
    ac.manual_seed(7)
    d = nn.Dropout(0.25)
    y1 = d(x).numpy()
    ac.manual_seed(7)
    y2 = d(x).numpy()
    np.testing.assert_array_equal(y1, y2)  # seeded by manual_seed
    assert set(np.unique(y1)) <= {0.0, 1 / 0.75}
    assert (y1 == 0).mean() == pytest.approx(0.25, abs=0.01)
    assert y1.mean() == pytest.approx(1.0, abs=0.02)
    out = d(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())  # gradient uses the same mask
    d.eval()
    assert d(x) is x
    g = nn.Dropout(0.5, generator=np.random.default_rng(1))
    h = nn.Dropout(0.5, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(g(x).numpy(), h(x).numpy())
    assert not nn.Dropout(1.0)(x).numpy().any()
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(1.5)
    assert nn.Dropout(0.5)(ac.tensor(np.ones(3, np.float32))).dtype == np.float32


def test_dropout_gradcheck():
    # the same mask on every evaluation: a freshly seeded generator per call
    fn = lambda x: nn.dropout.dropout(x, 0.4, True, generator=np.random.default_rng(3))  # noqa: E731
    assert ac.gradcheck(fn, (ac.tensor(_x((3, 4)), requires_grad=True),))


# ------------------------------------------------------------------------------------ torch
@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_match_pytorch(dtype):
    tdt = getattr(torch, np.dtype(dtype).name)
    rtol = RTOL[np.dtype(dtype)]
    atol = 1e-5 if dtype == np.float32 else 1e-12
    pairs = [
        (nn.Linear(6, 4, dtype=dtype), torch.nn.Linear(6, 4, dtype=tdt), (3, 6)),
        (nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2, dtype=dtype),
         torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2, dtype=tdt), (2, 4, 11)),
        (nn.Conv1d(2, 3, 4, padding="same", dilation=2, dtype=dtype),
         torch.nn.Conv1d(2, 3, 4, padding="same", dilation=2, dtype=tdt), (2, 2, 10)),
        (nn.Conv2d(3, 4, (3, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 1), dtype=dtype),
         torch.nn.Conv2d(3, 4, (3, 2), stride=(1, 2), padding=(1, 0), dilation=(2, 1),
                         dtype=tdt), (2, 3, 8, 7)),
        (nn.Conv2d(2, 4, 3, padding="same", bias=False, dtype=dtype),
         torch.nn.Conv2d(2, 4, 3, padding="same", bias=False, dtype=tdt), (1, 2, 5, 6)),
        (nn.MaxPool1d(3, 2, 1), torch.nn.MaxPool1d(3, 2, 1), (2, 3, 10)),
        (nn.MaxPool2d(3, 2, ceil_mode=True), torch.nn.MaxPool2d(3, 2, ceil_mode=True),
         (2, 3, 8, 7)),
        (nn.AvgPool1d(2), torch.nn.AvgPool1d(2), (2, 3, 9)),
        (nn.AvgPool2d(3, 2, 1, count_include_pad=False),
         torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 7, 6)),
        (nn.AdaptiveAvgPool1d(3), torch.nn.AdaptiveAvgPool1d(3), (2, 3, 8)),
        (nn.AdaptiveAvgPool2d((2, 3)), torch.nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 7, 8)),
        (nn.AdaptiveMaxPool2d(3), torch.nn.AdaptiveMaxPool2d(3), (2, 3, 7, 8)),
        (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1), (3, 4)),
        (nn.Softmax(1), torch.nn.Softmax(1), (3, 4)),
        (nn.LogSoftmax(1), torch.nn.LogSoftmax(1), (3, 4)),
        (nn.Tanh(), torch.nn.Tanh(), (3, 4)),
        (nn.Sigmoid(), torch.nn.Sigmoid(), (3, 4)),
        (nn.Flatten(), torch.nn.Flatten(), (2, 3, 2)),
    ]
    for ours, theirs, shape in pairs:
        sd = ours.state_dict()
        assert list(sd) == list(theirs.state_dict())
        theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in sd.items()})
        xd = _x(shape, dtype, seed=11)
        x = ac.tensor(xd, requires_grad=True)
        tx = torch.tensor(xd, requires_grad=True)
        y, ty = ours(x), theirs(tx)
        gd = _x(tuple(ty.shape), dtype, seed=12)
        (y * ac.tensor(gd)).sum().backward()
        (ty * torch.from_numpy(gd)).sum().backward()
        msg = repr(ours)
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol,
                                   err_msg=msg)
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=msg)
        for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol,
                                       atol=atol * 10, err_msg=msg + name)


@requires_torch
def test_default_init_distribution_matches_pytorch():
    """Same bounds as PyTorch's defaults (values differ: different generators)."""
    torch.manual_seed(0)
    for ours, theirs in [(nn.Conv2d(6, 16, 5), torch.nn.Conv2d(6, 16, 5)),
                         (nn.Linear(400, 120), torch.nn.Linear(400, 120)),
                         (nn.Conv1d(4, 8, 3, groups=4), torch.nn.Conv1d(4, 8, 3, groups=4))]:
        for p, tp in zip(ours.parameters(), theirs.parameters()):
            bound = tp.detach().abs().max().item()
            assert np.abs(p.numpy()).max() <= bound * 1.05 + 1e-7
            if p.numpy().size >= 100:
                assert np.abs(p.numpy()).max() >= bound * 0.8
            fan_in = math.prod(tp.shape[1:]) if tp.ndim > 1 else None
            if fan_in:
                assert bound <= 1 / math.sqrt(fan_in) + 1e-7


def test_adaptive_pool_layer_keeps_the_input_size_on_a_none_axis():
    x = ac.randn(1, 2, 7, 5)
    y = ac.nn.AdaptiveMaxPool2d((3, None))(x)
    assert y.shape == (1, 2, 3, 5)
    np.testing.assert_array_equal(y.numpy(), ac.functional.adaptive_max_pool2d(x, (3, 5)).numpy())
    with pytest.raises(TypeError, match="output_size"):
        ac.nn.AdaptiveAvgPool2d(None)
