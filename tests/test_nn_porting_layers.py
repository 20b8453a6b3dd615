"""The activations (ReLU6, Hardtanh, Hardsigmoid, Hardswish, ELU, PReLU, Mish, Softplus),
one_hot, SmoothL1Loss / HuberLoss, ModuleDict and InstanceNorm1d/2d added for porting PyTorch scripts: NumPy
references written here, gradcheck and gradgradcheck in float64, both worlds of the backward,
PyTorch where installed (values and gradients, float32 and float64, modules' reprs and keys)."""
import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F

from _support import RTOL, assert_array_and_tensor_backward_agree, requires_torch, torch

DTYPES = [np.float32, np.float64]
# the kinks themselves (-3, 0, 3, 6, the hardtanh bounds) and values around them
KINKS = np.array([-7.0, -3.0, -2.5, -1.5, -1.0, -0.5, 0.0, 0.25, 1.0, 1.5, 2.9, 3.0, 3.5,
                  5.9, 6.0, 7.5, 30.0, -30.0])


def _softplus_np(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(np.minimum(x * beta, 50))) / beta)


def _sigmoid_np(x):
    return 1 / (1 + np.exp(-x))


# name: (ours(x), torch's(x) or None, NumPy value(x), NumPy derivative(x))
ACTIVATIONS = {
    "relu6": (F.relu6, lambda t: torch.nn.functional.relu6(t),
              lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)) * 1.0),
    "hardtanh": (lambda t: F.hardtanh(t, -1.5, 3.0),
                 lambda t: torch.nn.functional.hardtanh(t, -1.5, 3.0),
                 lambda x: np.clip(x, -1.5, 3.0), lambda x: ((x > -1.5) & (x < 3.0)) * 1.0),
    "hardsigmoid": (F.hardsigmoid, lambda t: torch.nn.functional.hardsigmoid(t),
                    lambda x: np.clip(x / 6 + 0.5, 0, 1), lambda x: ((x > -3) & (x < 3)) / 6),
    "hardswish": (F.hardswish, lambda t: torch.nn.functional.hardswish(t),
                  lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda x: np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1))),
    "elu": (lambda t: F.elu(t, 0.7), lambda t: torch.nn.functional.elu(t, 0.7),
            lambda x: np.where(x > 0, x, 0.7 * (np.exp(np.minimum(x, 0)) - 1)),
            lambda x: np.where(x > 0, 1, 0.7 * np.exp(np.minimum(x, 0)))),
    "softplus": (F.softplus, lambda t: torch.nn.functional.softplus(t),
                 _softplus_np, lambda x: np.where(x > 20, 1, _sigmoid_np(x))),
    "softplus_beta": (lambda t: F.softplus(t, beta=2.0, threshold=5.0),
                      lambda t: torch.nn.functional.softplus(t, beta=2.0, threshold=5.0),
                      lambda x: _softplus_np(x, 2.0, 5.0),
                      lambda x: np.where(2 * x > 5, 1, _sigmoid_np(2 * x))),
    "mish": (F.mish, lambda t: torch.nn.functional.mish(t),
             lambda x: x * np.tanh(_softplus_np(x, threshold=np.inf)),
             lambda x: (np.tanh(_softplus_np(x, threshold=np.inf)) + x * _sigmoid_np(x)
                        * (1 - np.tanh(_softplus_np(x, threshold=np.inf)) ** 2))),
}
SMOOTH = ["elu", "softplus", "softplus_beta", "mish"]  # gradgradcheck away from the kinks only


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_against_numpy(name, dtype):
    ours, _, value, derivative = ACTIVATIONS[name]
    x = np.concatenate([KINKS, np.random.default_rng(0).standard_normal(20) * 4]).astype(dtype)
    X = ac.tensor(x, requires_grad=True)
    y = ours(X)
    assert y.dtype == dtype and y.shape == x.shape
    tol = RTOL[np.dtype(dtype)]
    xd = x.astype(np.float64)
    np.testing.assert_allclose(y.numpy(), value(xd), rtol=tol, atol=tol)
    y.sum().backward()
    np.testing.assert_allclose(X.grad.numpy(), derivative(xd), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(name):
    ours = ACTIVATIONS[name][0]
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 0.9, 24) * rng.choice([-1, 1], 24) * 8  # off the kinks
    x = x[np.min(np.abs(x[:, None] - np.array([-3, 0, 3, 6, -1.5])), axis=1) > 0.05]
    X = ac.tensor(x.reshape(2, -1)[:, :8], requires_grad=True)
    assert ac.gradcheck(ours, (X,))
    assert ac.gradgradcheck(ours, (X,))
    assert_array_and_tensor_backward_agree(ours, [X])


def test_prelu_against_numpy_and_gradcheck():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 4, 5))
    w = np.array([0.1, -0.4, 1.3])
    X, W = ac.tensor(x, requires_grad=True), ac.tensor(w, requires_grad=True)
    y = F.prelu(X, W)
    wb = w.reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y.numpy(), np.where(x > 0, x, wb * x), rtol=1e-15)
    g = rng.standard_normal(x.shape)
    y.backward(ac.tensor(g))
    np.testing.assert_allclose(X.grad.numpy(), np.where(x > 0, g, wb * g), rtol=1e-15)
    np.testing.assert_allclose(W.grad.numpy(), np.where(x > 0, 0, g * x).sum((0, 2, 3)),
                               rtol=1e-12)
    small = ac.tensor(x[:, :, :2, :2], requires_grad=True)
    assert ac.gradcheck(F.prelu, (small, W))
    assert ac.gradgradcheck(F.prelu, (small, W))
    one = ac.tensor(np.array([0.25]), requires_grad=True)
    np.testing.assert_allclose(F.prelu(X, one).numpy(), np.where(x > 0, x, 0.25 * x))
    assert F.prelu(ac.tensor(-2.0, dtype=np.float64), one).shape == ()


def test_prelu_module_learns_its_slopes():
    m = nn.PReLU(3, init=0.1, dtype=np.float64)
    assert m.weight.shape == (3,) and np.all(m.weight.numpy() == 0.1)
    assert list(m.state_dict()) == ["weight"] and m.weight.requires_grad
    x = ac.tensor(-np.ones((4, 3, 2)))
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [-8.0, -8.0, -8.0])
    assert nn.PReLU()(ac.tensor(np.array([-2.0, 2.0], np.float32))).numpy().tolist() == \
        [-0.5, 2.0]


def test_activation_modules():
    x = ac.tensor(KINKS)
    for module, fn in ((nn.ReLU6(), F.relu6), (nn.Hardtanh(-2, 2), lambda t: F.hardtanh(t, -2, 2)),
                       (nn.Hardsigmoid(), F.hardsigmoid), (nn.Hardswish(), F.hardswish),
                       (nn.ELU(0.3), lambda t: F.elu(t, 0.3)), (nn.Mish(), F.mish),
                       (nn.Softplus(3, 4), lambda t: F.softplus(t, 3, 4))):
        np.testing.assert_array_equal(module(x).numpy(), fn(x).numpy())
    assert isinstance(nn.ReLU6(), nn.Hardtanh)
    for inplace in (nn.ReLU6(inplace=True), nn.Hardswish(True), nn.ELU(inplace=True),
                    nn.Hardtanh(inplace=True), nn.Mish(inplace=True), nn.Hardsigmoid(True)):
        before = x.numpy().copy()
        inplace(x)
        np.testing.assert_array_equal(x.numpy(), before)  # accepted, the input kept
    with pytest.warns(DeprecationWarning):
        assert nn.Hardtanh(min_value=-0.5).min_val == -0.5
    np.testing.assert_array_equal(F.hardtanh(x, 1.0, 1.0).numpy(), np.ones(len(KINKS)))
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(x, 1.0, 0.5)
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, 1.0)
    with pytest.raises(TypeError, match="alpha"):
        F.elu(x, alpha="1")
    with pytest.raises(TypeError, match="float32 or float64"):
        F.hardswish(ac.tensor(np.arange(3)))
    with pytest.raises(ValueError, match="channels"):
        F.prelu(ac.randn(2, 3, 4), ac.randn(4))
    with pytest.raises(ValueError, match="num_parameters"):
        nn.PReLU(0)


# ------------------------------------------------------------------------------- one_hot
def test_one_hot_against_numpy():
    idx = np.array([[0, 3, 1], [2, 2, 0]])
    out = F.one_hot(ac.tensor(idx))
    assert out.dtype == np.int64 and out.shape == (2, 3, 4) and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.eye(4, dtype=np.int64)[idx])
    np.testing.assert_array_equal(F.one_hot(ac.tensor(idx), num_classes=6).numpy(),
                                  np.eye(6, dtype=np.int64)[idx])
    np.testing.assert_array_equal(F.one_hot(ac.tensor(np.array(2)), 3).numpy(), [0, 0, 1])
    assert F.one_hot(ac.tensor(np.zeros(0, np.int64)), 5).shape == (0, 5)
    assert F.one_hot(ac.tensor(np.array([1, 0], np.int32))).numpy().tolist() == [[0, 1], [1, 0]]
    assert ac.functional.one_hot is F.one_hot


def test_one_hot_errors():
    cases = [
        (lambda: F.one_hot(ac.tensor(np.array([1, -1]))), ValueError, "non-negative"),
        (lambda: F.one_hot(ac.tensor(np.array([1, 5])), 3), ValueError, "smaller than"),
        (lambda: F.one_hot(ac.tensor(np.array([1])), -2), ValueError, "smaller than"),
        (lambda: F.one_hot(ac.tensor(np.zeros(0, np.int64))), ValueError, "empty"),
        (lambda: F.one_hot(ac.tensor(np.zeros(0, np.int64)), -3), ValueError, "num_classes"),
        (lambda: F.one_hot(ac.tensor([1.0, 2.0])), TypeError, "integer"),
        (lambda: F.one_hot(ac.tensor(np.array([True]))), TypeError, "integer"),
        (lambda: F.one_hot(np.array([1, 2])), TypeError, "Tensor"),
        (lambda: F.one_hot(ac.tensor(np.array([1])), 2.0), TypeError, "num_classes"),
    ]
    for call, exc, word in cases:
        with pytest.raises(exc, match=word):
            call()


# -------------------------------------------------------------------------------- losses
def _smooth_l1_np(d, beta):
    z = np.abs(d)
    return np.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)


def _huber_np(d, delta):
    z = np.abs(d)
    return np.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))


def _reduce_np(loss, reduction):
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_smooth_l1_and_huber_against_numpy(dtype, reduction):
    rng = np.random.default_rng(3)
    x, y = (rng.standard_normal((3, 5)) * 2).astype(dtype), rng.standard_normal((3, 5)).astype(dtype)
    w = rng.uniform(0.5, 2, (3, 5)).astype(dtype)
    tol = RTOL[np.dtype(dtype)]
    d = x.astype(np.float64) - y
    for beta in (1.0, 0.3, 0.0):
        X = ac.tensor(x, requires_grad=True)
        loss = F.smooth_l1_loss(X, ac.tensor(y), reduction=reduction, beta=beta)
        want = _reduce_np(np.abs(d) if beta == 0 else _smooth_l1_np(d, beta), reduction)
        np.testing.assert_allclose(loss.numpy(), want, rtol=tol)
        assert loss.dtype == dtype
        loss.sum().backward()
        dg = np.sign(d) if beta == 0 else np.clip(d / beta, -1, 1)
        scale = 1 / d.size if reduction == "mean" else 1
        np.testing.assert_allclose(X.grad.numpy(), dg * scale, rtol=tol, atol=tol)
        np.testing.assert_allclose(nn.SmoothL1Loss(reduction=reduction, beta=beta)(
            ac.tensor(x), ac.tensor(y)).numpy(), want, rtol=tol)
    for delta in (1.0, 0.4, 2.5):
        X = ac.tensor(x, requires_grad=True)
        loss = F.huber_loss(X, ac.tensor(y), reduction, delta)
        np.testing.assert_allclose(loss.numpy(), _reduce_np(_huber_np(d, delta), reduction),
                                   rtol=tol)
        loss.sum().backward()
        scale = 1 / d.size if reduction == "mean" else 1
        np.testing.assert_allclose(X.grad.numpy(), np.clip(d, -delta, delta) * scale,
                                   rtol=tol, atol=tol)
        np.testing.assert_allclose(nn.HuberLoss(reduction, delta)(ac.tensor(x),
                                                                   ac.tensor(y)).numpy(),
                                   _reduce_np(_huber_np(d, delta), reduction), rtol=tol)
        weighted = F.huber_loss(ac.tensor(x), ac.tensor(y), reduction, delta, weight=ac.tensor(w))
        np.testing.assert_allclose(weighted.numpy(),
                                   _reduce_np(_huber_np(d, delta) * w, reduction), rtol=tol)


def test_smooth_l1_and_huber_gradchecks_and_legacy_reduction():
    rng = np.random.default_rng(4)
    x = ac.tensor(rng.standard_normal((2, 4)) * 2, requires_grad=True)
    y = ac.tensor(rng.standard_normal((2, 4)), requires_grad=True)
    for fn in (lambda a, b: F.smooth_l1_loss(a, b, beta=0.5),
               lambda a, b: F.huber_loss(a, b, "sum", 0.8)):
        assert ac.gradcheck(fn, (x, y))
        assert ac.gradgradcheck(fn, (x, y))
    with pytest.warns(UserWarning, match="reduction='sum'"):
        summed = nn.SmoothL1Loss(size_average=False)
    assert summed.reduction == "sum"
    with pytest.warns(UserWarning):
        assert F.smooth_l1_loss(x, y, reduce=False).shape == (2, 4)


# ---------------------------------------------------------------------------- ModuleDict
class _TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 4)
        self.heads = nn.ModuleDict({"cls": nn.Linear(4, 2), "box": nn.Linear(4, 5)})

    def forward(self, x):
        h = self.body(x)
        return {k: head(h) for k, head in self.heads.items()}


def test_module_dict():
    model = _TwoHeads()
    assert list(model.state_dict()) == ["body.weight", "body.bias", "heads.cls.weight",
                                        "heads.cls.bias", "heads.box.weight", "heads.box.bias"]
    heads = model.heads
    assert len(heads) == 2 and "cls" in heads and "act" not in heads
    assert list(heads) == list(heads.keys()) == ["cls", "box"]
    assert [type(m).__name__ for m in heads.values()] == ["Linear", "Linear"]
    heads["act"] = nn.ReLU()
    heads.update([("extra", nn.Identity()), ("cls", nn.Linear(4, 3))])  # replaces in place
    assert list(heads) == ["cls", "box", "act", "extra"] and heads["cls"].out_features == 3
    assert isinstance(heads.pop("act"), nn.ReLU) and "act" not in heads
    del heads["extra"]
    assert heads.cls is heads["cls"]  # attribute access, as a registered child
    out = model(ac.randn(2, 3))
    assert out["cls"].shape == (2, 3) and out["box"].shape == (2, 5)
    assert len(list(model.parameters())) == 6
    other = nn.ModuleDict(heads)
    assert list(other) == ["cls", "box"] and other["box"] is heads["box"]
    heads.clear()
    assert len(heads) == 0 and len(list(model.parameters())) == 2


def test_module_dict_errors():
    d = nn.ModuleDict()
    cases = [
        (lambda: d.update(3), TypeError, "modules"),
        (lambda: d.update([nn.ReLU()]), TypeError, "#0"),
        (lambda: d.update([("a", nn.ReLU(), 1)]), ValueError, "length 3"),
        (lambda: d.__setitem__("a.b", nn.ReLU()), ValueError, "'.'"),
        (lambda: d.__setitem__(1, nn.ReLU()), TypeError, "str"),
        (lambda: d.__setitem__("a", 3), TypeError, "Module"),
        (lambda: d.__setitem__("update", nn.ReLU()), KeyError, "attribute"),
        (lambda: d["missing"], KeyError, "missing"),
        (lambda: d(ac.randn(2)), NotImplementedError, "forward"),
    ]
    for call, exc, word in cases:
        with pytest.raises(exc, match=word):
            call()


# -------------------------------------------------------------------------- InstanceNorm
def _instance_norm_np(x, eps=1e-5):
    axes = tuple(range(2, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_instance_norm_against_numpy(dtype):
    rng = np.random.default_rng(8)
    tol = RTOL[np.dtype(dtype)]
    for cls, shape in ((nn.InstanceNorm1d, (3, 4, 6)), (nn.InstanceNorm2d, (2, 4, 3, 5))):
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        m = cls(4, dtype=dtype)
        assert m.weight is None and m.running_mean is None and not list(m.state_dict())
        np.testing.assert_allclose(m(ac.tensor(x)).numpy(), _instance_norm_np(x.astype(float)),
                                   rtol=tol, atol=10 * tol)
        np.testing.assert_allclose(m.eval()(ac.tensor(x)).numpy(),  # no running stats: the same
                                   _instance_norm_np(x.astype(float)), rtol=tol, atol=10 * tol)
        unbatched = m(ac.tensor(x[0]))
        np.testing.assert_allclose(unbatched.numpy(), _instance_norm_np(x[:1].astype(float))[0],
                                   rtol=tol, atol=10 * tol)
        # affine, with running statistics (train: updated; eval: used)
        m = cls(4, momentum=0.3, affine=True, track_running_stats=True, dtype=dtype)
        w, b = rng.standard_normal(4).astype(dtype), rng.standard_normal(4).astype(dtype)
        m.weight.numpy()[...], m.bias.numpy()[...] = w, b
        view = (1, 4) + (1,) * (len(shape) - 2)
        y = m(ac.tensor(x))
        np.testing.assert_allclose(y.numpy(), _instance_norm_np(x.astype(float)) * w.reshape(view)
                                   + b.reshape(view), rtol=tol, atol=10 * tol)
        axes = tuple(range(2, len(shape)))
        mean = x.astype(float).mean(axis=axes).mean(axis=0)
        var = x.astype(float).var(axis=axes, ddof=1).mean(axis=0)
        np.testing.assert_allclose(m.running_mean.numpy(), 0.7 * 0 + 0.3 * mean, rtol=tol)
        np.testing.assert_allclose(m.running_var.numpy(), 0.7 * 1 + 0.3 * var, rtol=tol)
        assert m.num_batches_tracked.item() == 0  # as PyTorch: instance norm does not count
        m.eval()
        rm, rv = m.running_mean.numpy().reshape(view), m.running_var.numpy().reshape(view)
        np.testing.assert_allclose(m(ac.tensor(x)).numpy(),
                                   (x - rm) / np.sqrt(rv + 1e-5) * w.reshape(view)
                                   + b.reshape(view), rtol=tol, atol=10 * tol)


def test_instance_norm_gradchecks_and_errors():
    rng = np.random.default_rng(9)
    x = ac.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = ac.tensor(rng.standard_normal(3), requires_grad=True)
    b = ac.tensor(rng.standard_normal(3), requires_grad=True)
    fn = lambda x, w, b: F.instance_norm(x, weight=w, bias=b)  # noqa: E731
    assert ac.gradcheck(fn, (x, w, b))
    assert ac.gradgradcheck(fn, (x, w, b))
    assert_array_and_tensor_backward_agree(fn, [x, w, b])
    cases = [
        (lambda: nn.InstanceNorm1d(3)(ac.randn(2, 3, 4, 5)), ValueError, "2D or 3D"),
        (lambda: nn.InstanceNorm2d(3, affine=True)(ac.randn(2, 4, 3, 3)), ValueError,
         "channels"),
        (lambda: nn.InstanceNorm1d(3)(ac.randn(2, 3, 1)), ValueError, "spatial"),
        (lambda: F.instance_norm(ac.randn(2, 3, 4), use_input_stats=False), ValueError,
         "running_mean"),
        (lambda: F.instance_norm(np.zeros((2, 3, 4))), TypeError, "Tensor"),
        (lambda: nn.InstanceNorm2d(0), ValueError, "num_features"),
        (lambda: nn.InstanceNorm2d(2, device="cuda"), RuntimeError, "CPU"),
    ]
    for call, exc, word in cases:
        with pytest.raises(exc, match=word):
            call()
    with pytest.warns(UserWarning, match="num_features"):
        nn.InstanceNorm1d(3)(ac.randn(2, 4, 5))


# --------------------------------------------------------------------------------- torch
@requires_torch
@pytest.mark.parametrize("dtype", DTYPES)
def test_match_pytorch(dtype):
    tol = RTOL[np.dtype(dtype)]
    tdtype = getattr(torch, np.dtype(dtype).name)
    x = np.concatenate([KINKS, np.random.default_rng(5).standard_normal(30) * 4]).astype(dtype)
    for name, (ours, theirs, _, _) in sorted(ACTIVATIONS.items()):
        X, tX = ac.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        y, ty = ours(X), theirs(tX)
        y.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol,
                                   err_msg=name)
        # PyTorch's float64 hardsigmoid gradient is float32's 1/6 (its kernel's constant)
        gtol = 1e-7 if name == "hardsigmoid" else tol
        np.testing.assert_allclose(X.grad.numpy(), tX.grad.numpy(), rtol=gtol, atol=tol,
                                   err_msg=name)
    xs = np.random.default_rng(6).standard_normal((2, 3, 4)).astype(dtype)
    w = np.array([0.2, -0.1, 0.7], dtype)
    X, W = ac.tensor(xs, requires_grad=True), ac.tensor(w, requires_grad=True)
    tX, tW = torch.tensor(xs, requires_grad=True), torch.tensor(w, requires_grad=True)
    F.prelu(X, W).sum().backward()
    torch.nn.functional.prelu(tX, tW).sum().backward()
    np.testing.assert_allclose(W.grad.numpy(), tW.grad.numpy(), rtol=tol)
    np.testing.assert_allclose(X.grad.numpy(), tX.grad.numpy(), rtol=tol)
    y = np.random.default_rng(7).standard_normal(xs.shape).astype(dtype)
    for red in ("none", "mean", "sum"):
        for ours, theirs in ((lambda a, b: F.smooth_l1_loss(a, b, reduction=red, beta=0.6),
                              lambda a, b: torch.nn.functional.smooth_l1_loss(
                                  a, b, reduction=red, beta=0.6)),
                             (lambda a, b: F.huber_loss(a, b, red, 0.9),
                              lambda a, b: torch.nn.functional.huber_loss(a, b, red, 0.9))):
            X, tX = ac.tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)
            out, tout = ours(X, ac.tensor(y)), theirs(tX, torch.tensor(y))
            out.sum().backward()
            tout.sum().backward()
            np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
            np.testing.assert_allclose(X.grad.numpy(), tX.grad.numpy(), rtol=tol, atol=tol)
    idx = np.array([[3, 0], [1, 1]])
    np.testing.assert_array_equal(F.one_hot(ac.tensor(idx), 5).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(idx), 5).numpy())
    pairs = [(nn.ReLU6(), torch.nn.ReLU6()), (nn.ReLU6(True), torch.nn.ReLU6(True)),
             (nn.Hardtanh(-2.0, 2.0), torch.nn.Hardtanh(-2.0, 2.0)),
             (nn.Hardtanh(inplace=True), torch.nn.Hardtanh(inplace=True)),
             (nn.Hardsigmoid(), torch.nn.Hardsigmoid()), (nn.Hardswish(), torch.nn.Hardswish()),
             (nn.ELU(0.5, True), torch.nn.ELU(0.5, True)), (nn.Mish(), torch.nn.Mish()),
             (nn.Softplus(2.0, 10.0), torch.nn.Softplus(2.0, 10.0)),
             (nn.PReLU(4, dtype=dtype), torch.nn.PReLU(4, dtype=tdtype)),
             (nn.SmoothL1Loss(beta=0.5), torch.nn.SmoothL1Loss(beta=0.5)),
             (nn.HuberLoss("sum", 2.0), torch.nn.HuberLoss("sum", 2.0)),
             (nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.ReLU6()}),
              torch.nn.ModuleDict({"a": torch.nn.Linear(2, 3), "b": torch.nn.ReLU6()}))]
    for ours, theirs in pairs:
        assert list(ours.state_dict()) == list(theirs.state_dict())
        if not isinstance(ours, (nn.SmoothL1Loss, nn.HuberLoss)):
            assert repr(ours) == repr(theirs)
    for cls, tcls, shape in ((nn.InstanceNorm1d, torch.nn.InstanceNorm1d, (3, 4, 7)),
                             (nn.InstanceNorm2d, torch.nn.InstanceNorm2d, (2, 4, 3, 5)),
                             (nn.InstanceNorm2d, torch.nn.InstanceNorm2d, (4, 3, 5))):
        for kw in ({}, dict(affine=True, track_running_stats=True, momentum=0.3)):
            m, tm = cls(4, dtype=dtype, **kw), tcls(4, dtype=tdtype, **kw)
            assert list(m.state_dict()) == list(tm.state_dict()) and repr(m) == repr(tm)
            for mode in ("train", "eval"):
                getattr(m, mode)(), getattr(tm, mode)()
                x = (np.random.default_rng(9).standard_normal(shape) * 2 + 1).astype(dtype)
                X, tX = ac.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
                y, ty = m(X), tm(tX)
                (y * y).sum().backward()
                (ty * ty).sum().backward()
                np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=tol, atol=tol)
                np.testing.assert_allclose(X.grad.numpy(), tX.grad.numpy(), rtol=tol,
                                           atol=10 * tol)
                for k, v in tm.state_dict().items():
                    np.testing.assert_allclose(m.state_dict()[k].numpy(), v.numpy(), rtol=tol)
    np.testing.assert_array_equal(nn.PReLU(4, dtype=dtype).weight.numpy(),
                                  torch.nn.PReLU(4, dtype=tdtype).weight.detach().numpy())
