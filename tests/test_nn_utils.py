"""``autograd_cnn.nn.utils``: gradient clipping and parameters <-> vector, against NumPy
references written here and against torch.nn.utils where PyTorch is installed."""
import math

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import nn
from autograd_cnn.nn.utils import (clip_grad_norm_, clip_grad_value_, parameters_to_vector,
                                   vector_to_parameters)

from _support import RTOL, requires_torch, torch

SHAPES = [(3, 4), (5,), (2, 2, 2)]
NORMS = [2.0, 1.0, math.inf, 3.0, 0.5]


def _params(dtype, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in SHAPES]
    params = [ac.tensor(np.zeros(s, dtype), requires_grad=True) for s in SHAPES]
    for p, g in zip(params, grads):
        p.grad = ac.tensor(g.copy())
    return params, grads


def _norm_np(grads, p):
    flat = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
    if p == math.inf:
        return np.abs(flat).max()
    return (np.abs(flat) ** p).sum() ** (1 / p)


def test_nn_utils_paths():
    import autograd_cnn.nn.utils as U
    assert nn.utils is U and nn.utils.clip_grad_norm_ is clip_grad_norm_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", NORMS)
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_against_numpy(dtype, norm_type, max_norm):
    params, grads = _params(dtype)
    total = clip_grad_norm_(params, max_norm, norm_type)
    want = _norm_np(grads, norm_type)
    assert isinstance(total, ac.Tensor) and total.shape == () and total.dtype == dtype
    np.testing.assert_allclose(total.item(), want, rtol=RTOL[np.dtype(dtype)])
    coef = min(max_norm / (want + 1e-6), 1.0)
    for p, g in zip(params, grads):
        assert p.grad.dtype == dtype
        np.testing.assert_allclose(p.grad.numpy(), g * coef, rtol=RTOL[np.dtype(dtype)])
    if max_norm < want:  # clipped: the new norm is max_norm (up to the 1e-6)
        new = _norm_np([p.grad.numpy() for p in params], norm_type)
        assert new == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_inputs():
    params, grads = _params(np.float64)
    extra = ac.tensor(np.ones(3), requires_grad=True)  # no .grad: skipped
    total = clip_grad_norm_((p for p in params + [extra]), 1.0)  # a generator
    assert total.item() == pytest.approx(_norm_np(grads, 2))
    assert extra.grad is None
    one = ac.tensor(np.zeros(2), requires_grad=True)
    one.grad = ac.tensor([3.0, 4.0])
    # a single Tensor; norm_type through float(), as PyTorch
    assert clip_grad_norm_(one, 2.0, norm_type="inf").item() == 4.0
    np.testing.assert_allclose(one.grad.numpy(), [1.5, 2.0], rtol=1e-6)
    empty = clip_grad_norm_([extra], 1.0)
    assert empty.item() == 0.0 and empty.dtype == np.float32
    grad_object = params[0].grad
    clip_grad_norm_(params, 0.1)
    assert params[0].grad is grad_object  # in place


def test_clip_grad_norm_mixed_dtypes_and_nonfinite():
    a = ac.tensor(np.zeros(2), requires_grad=True)
    b = ac.tensor(np.zeros(2, np.float32), requires_grad=True)
    a.grad, b.grad = ac.tensor(np.ones(2)), ac.tensor(np.ones(2, np.float32))
    total = clip_grad_norm_([a, b], 1.0)
    assert total.dtype == np.float64 and total.item() == pytest.approx(2.0)
    assert b.grad.dtype == np.float32
    np.testing.assert_allclose(b.grad.numpy(), 0.5, rtol=1e-6)
    a.grad = ac.tensor([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([a, b], 1.0, error_if_nonfinite=True)
    assert np.isnan(clip_grad_norm_([a, b], 1.0).item())  # scaled by NaN, as PyTorch


def test_clip_grad_norm_in_a_training_step():
    ac.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x, y = ac.randn(16, 4), ac.tensor(np.arange(16) % 2)
    nn.functional.cross_entropy(model(x) * 50.0, y).backward()
    before = _norm_np([p.grad.numpy() for p in model.parameters()], 2)
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.1)
    assert total.item() == pytest.approx(before, rel=1e-5)
    after = _norm_np([p.grad.numpy() for p in model.parameters()], 2)
    assert after == pytest.approx(0.1, rel=1e-4)


def test_clip_grad_norm_of_graph_gradients():
    # gradients made with create_graph require grad; clipping still changes them, untracked
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    (x * x * x).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    clip_grad_norm_([x], 1.0)
    assert x.grad.numpy() == pytest.approx(np.array([3.0, 12.0]) / math.hypot(3, 12), rel=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_value(dtype):
    params, grads = _params(dtype, scale=2.0)
    assert clip_grad_value_(params, 1.5) is None
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(g, -1.5, 1.5))
        assert p.grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parameters_to_vector_and_back(dtype):
    model = nn.Sequential(nn.Linear(3, 4, dtype=dtype), nn.Linear(4, 2, dtype=dtype))
    params = list(model.parameters())
    vec = parameters_to_vector(params)
    want = np.concatenate([p.numpy().ravel() for p in params])
    np.testing.assert_array_equal(vec.numpy(), want)
    assert vec.dtype == dtype and vec.requires_grad
    new = ac.tensor(np.arange(want.size + 3, dtype=dtype))  # longer than needed: allowed
    ids = [id(p) for p in model.parameters()]
    assert vector_to_parameters(new, model.parameters()) is None
    assert [id(p) for p in model.parameters()] == ids
    np.testing.assert_array_equal(parameters_to_vector(model.parameters()).numpy(),
                                  np.arange(want.size, dtype=dtype))
    assert np.shares_memory(params[0].numpy(), new.numpy())  # views of vec, as PyTorch


def test_parameters_to_vector_gradients():
    a = ac.tensor(np.random.default_rng(1).standard_normal((2, 3)), requires_grad=True)
    b = ac.tensor(np.random.default_rng(2).standard_normal(4), requires_grad=True)
    w = ac.tensor(np.arange(10.0))
    assert ac.gradcheck(lambda a, b: (parameters_to_vector([a, b]) ** 2 * w).sum(), [a, b])
    (parameters_to_vector([a, b]) * w).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(b.grad.numpy(), np.arange(6.0, 10.0))


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", NORMS + [0.0])
def test_clip_grad_norm_matches_torch(dtype, norm_type):
    params, grads = _params(dtype, seed=5)
    tparams = [torch.zeros(g.shape, dtype=getattr(torch, np.dtype(dtype).name),
                           requires_grad=True) for g in grads]
    for p, g in zip(tparams, grads):
        p.grad = torch.from_numpy(g.copy())
    ours = clip_grad_norm_(params, 0.7, norm_type)
    theirs = torch.nn.utils.clip_grad_norm_(tparams, 0.7, norm_type)
    rtol = RTOL[np.dtype(dtype)]
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=rtol)
    for p, t in zip(params, tparams):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol)
    clip_grad_value_(params, 0.01)
    torch.nn.utils.clip_grad_value_(tparams, 0.01)
    for p, t in zip(params, tparams):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())


def test_bad_arguments():
    params, _ = _params(np.float64)
    cases = [
        (lambda: clip_grad_norm_(params, "big"), ValueError, "max_norm"),
        (lambda: clip_grad_norm_(params, 1.0, norm_type=None), TypeError, "norm_type"),
        (lambda: clip_grad_norm_(3, 1.0), TypeError, "parameters"),
        (lambda: clip_grad_norm_([params[0], "w"], 1.0), TypeError, "parameters[1]"),
        (lambda: clip_grad_value_(params, None), TypeError, "clip_value"),
        (lambda: parameters_to_vector([]), ValueError, "parameters"),
        (lambda: vector_to_parameters([1.0, 2.0], params), TypeError, "vec"),
        (lambda: vector_to_parameters(ac.tensor(np.zeros(5)), params), ValueError, "vec"),
        (lambda: vector_to_parameters(ac.tensor(np.zeros((2, 30))), params), ValueError,
         "1-D"),
    ]
    for call, exc, word in cases:
        with pytest.raises(exc) as info:
            call()
        assert word in str(info.value), str(info.value)


def _training_run(lib, nn_, sched, clip, weights, x, y, steps=12):
    """The same script for either library: a two-head model in a ModuleDict, PReLU, a warm-up
    then cosine schedule, gradient clipping by norm and by value, float64."""

    class Net(nn_.Module):
        def __init__(self):
            super().__init__()
            self.body = nn_.Linear(4, 6, dtype=lib.float64)
            self.act = nn_.PReLU(dtype=lib.float64)
            self.heads = nn_.ModuleDict({"a": nn_.Linear(6, 3, dtype=lib.float64),
                                         "b": nn_.Linear(6, 3, dtype=lib.float64)})

        def forward(self, x):
            h = self.act(self.body(x))
            return self.heads["a"](h) + nn_.functional.hardswish(self.heads["b"](h))

    model = Net()
    model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
    opt = lib.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    scheduler = sched.SequentialLR(opt, [sched.LinearLR(opt, 0.2, total_iters=4),
                                         sched.CosineAnnealingLR(opt, T_max=8)], [4])
    norms = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn_.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
        loss.backward()
        norms.append(float(clip.clip_grad_norm_(model.parameters(), 0.5)))
        clip.clip_grad_value_(model.parameters(), 0.1)
        opt.step()
        scheduler.step()
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}, norms


@requires_torch
def test_training_loop_matches_torch():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
    shapes = {"body.weight": (6, 4), "body.bias": (6,), "act.weight": (1,),
              "heads.a.weight": (3, 6), "heads.a.bias": (3,), "heads.b.weight": (3, 6),
              "heads.b.bias": (3,)}
    weights = {k: rng.standard_normal(s) * 0.5 for k, s in shapes.items()}
    ours = _training_run(ac, nn, ac.optim.lr_scheduler, nn.utils, weights, x, y)
    theirs = _training_run(torch, torch.nn, torch.optim.lr_scheduler, torch.nn.utils,
                           weights, x, y)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10)
    assert list(ours[0]) == list(theirs[0])
    for k in ours[0]:
        np.testing.assert_allclose(ours[0][k], theirs[0][k], rtol=1e-9, atol=1e-12, err_msg=k)
