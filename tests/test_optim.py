"""Optimizers: update rules against NumPy re-derivations (textbook forms) and PyTorch."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.optim import SGD, Adam, AdamW, RMSprop

from _support import requires_torch, torch


def _grad_fn(p):
    """A deterministic, parameter-dependent 'gradient' (a smooth non-quadratic objective)."""
    return np.sin(3.0 * p) + 0.5 * p


def _make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in [(3, 4), (5,), (2, 1, 3)]]


def _run_ours(cls, kwargs, arrays, steps):
    params = [ac.tensor(a.copy(), requires_grad=True) for a in arrays]
    opt = cls(params, **kwargs)
    for _ in range(steps):
        for p in params:
            p.grad = ac.tensor(_grad_fn(p.numpy()).astype(p.numpy().dtype))
        opt.step()
    return [p.numpy().copy() for p in params], opt


# ---------------------------------------------------------------- NumPy references (textbook forms)
def _ref_sgd(p, steps, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0,
             maximize=False):
    p = p.astype(np.float64).copy()
    v = None
    for _ in range(steps):
        g = _grad_fn(p) * (-1 if maximize else 1) + weight_decay * p
        if momentum:
            v = g.copy() if v is None else momentum * v + (1 - dampening) * g
            d = g + momentum * v if nesterov else v
        else:
            d = g
        p = p - lr * d
    return p


def _ref_adam(p, steps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
              decoupled=False, maximize=False):
    b1, b2 = betas
    p = p.astype(np.float64).copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    for t in range(1, steps + 1):
        g = _grad_fn(p) * (-1 if maximize else 1)
        if decoupled:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        mhat = m / (1 - b1 ** t)
        vhat = (vmax if amsgrad else v) / (1 - b2 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def _ref_rmsprop(p, steps, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
    p = p.astype(np.float64).copy()
    s = np.zeros_like(p)
    a = np.zeros_like(p)
    b = np.zeros_like(p)
    for _ in range(steps):
        g = _grad_fn(p) + weight_decay * p
        s = alpha * s + (1 - alpha) * g * g
        a = alpha * a + (1 - alpha) * g
        denom = np.sqrt(s - a * a if centered else s) + eps
        if momentum > 0:
            b = momentum * b + g / denom
            p = p - lr * b
        else:
            p = p - lr * g / denom
    return p


CASES = [
    (SGD, dict(lr=0.1), _ref_sgd),
    (SGD, dict(lr=0.05, momentum=0.9), _ref_sgd),
    (SGD, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01), _ref_sgd),
    (SGD, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1), _ref_sgd),
    (SGD, dict(lr=0.05, momentum=0.5, maximize=True), _ref_sgd),
    (Adam, dict(lr=0.01), _ref_adam),
    (Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05), _ref_adam),
    (Adam, dict(lr=0.05, amsgrad=True), _ref_adam),
    (Adam, dict(lr=0.01, maximize=True), _ref_adam),
    (AdamW, dict(lr=0.01), lambda p, n, **k: _ref_adam(p, n, decoupled=True,
                                                       **{"weight_decay": 1e-2, **k})),
    (AdamW, dict(lr=0.03, weight_decay=0.2, amsgrad=True),
     lambda p, n, **k: _ref_adam(p, n, decoupled=True, **k)),
    (RMSprop, dict(lr=0.01), _ref_rmsprop),
    (RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.9, weight_decay=0.01), _ref_rmsprop),
    (RMSprop, dict(lr=0.005, centered=True, eps=1e-6), _ref_rmsprop),
    (RMSprop, dict(lr=0.005, centered=True, momentum=0.5), _ref_rmsprop),
]
IDS = [f"{c.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for c, kw, _ in CASES]


@pytest.mark.parametrize("cls,kwargs,ref", CASES, ids=IDS)
def test_matches_numpy_reference_float64(cls, kwargs, ref):
    arrays = _make_params(np.float64)
    ours, _ = _run_ours(cls, kwargs, arrays, steps=7)
    for a, o in zip(arrays, ours):
        np.testing.assert_allclose(o, ref(a, 7, **kwargs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cls,kwargs,ref", CASES, ids=IDS)
def test_float32_stays_float32_and_close(cls, kwargs, ref):
    arrays = _make_params(np.float32)
    ours, _ = _run_ours(cls, kwargs, arrays, steps=5)
    for a, o in zip(arrays, ours):
        assert o.dtype == np.float32
        np.testing.assert_allclose(o, ref(a, 5, **kwargs), rtol=1e-4, atol=1e-5)


@requires_torch
@pytest.mark.parametrize("cls,kwargs,ref", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(cls, kwargs, ref, dtype):
    arrays = _make_params(dtype)
    steps = 6
    ours, _ = _run_ours(cls, kwargs, arrays, steps)
    tparams = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    topt = getattr(torch.optim, cls.__name__)(tparams, **kwargs)
    for _ in range(steps):
        for p in tparams:
            p.grad = torch.tensor(_grad_fn(p.detach().numpy()).astype(dtype))
        topt.step()
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for o, t in zip(ours, tparams):
        np.testing.assert_allclose(o, t.detach().numpy(), rtol=tol, atol=tol)


def test_param_groups_use_their_own_options():
    a, b = _make_params(np.float64)[:2]
    pa, pb = ac.tensor(a.copy(), requires_grad=True), ac.tensor(b.copy(), requires_grad=True)
    opt = SGD([{"params": [pa]}, {"params": [pb], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0.0
    assert opt.param_groups[1]["lr"] == 0.5
    for _ in range(3):
        pa.grad = ac.tensor(_grad_fn(pa.numpy()))
        pb.grad = ac.tensor(_grad_fn(pb.numpy()))
        opt.step()
    np.testing.assert_allclose(pa.numpy(), _ref_sgd(a, 3, lr=0.1), rtol=1e-12)
    np.testing.assert_allclose(pb.numpy(), _ref_sgd(b, 3, lr=0.5, momentum=0.9), rtol=1e-12)


def test_parameters_without_grad_are_skipped():
    a, b = _make_params(np.float64)[:2]
    pa, pb = ac.tensor(a.copy(), requires_grad=True), ac.tensor(b.copy(), requires_grad=True)
    opt = Adam([pa, pb], lr=0.1)
    pa.grad = ac.tensor(np.ones_like(a))
    opt.step()
    np.testing.assert_array_equal(pb.numpy(), b)
    assert not np.array_equal(pa.numpy(), a)
    assert opt.state_dict()["state"].keys() == {0}


def test_zero_grad():
    p = ac.tensor(np.ones(3), requires_grad=True)
    opt = SGD([p], lr=0.1)
    p.grad = ac.tensor(np.ones(3))
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and np.all(p.grad.numpy() == 0)
    opt.zero_grad()
    assert p.grad is None


def test_step_updates_in_place_and_real_backward():
    x = ac.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    before = x.numpy()
    opt = SGD([x], lr=0.25)
    (x * x).sum().backward()
    opt.step()
    assert x.numpy() is before  # same buffer, updated in place
    np.testing.assert_allclose(x.numpy(), [0.5, -1.0, 1.5])


def test_closure_returns_loss():
    x = ac.tensor(np.array([2.0]), requires_grad=True)
    opt = SGD([x], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss.item()) == 4.0
    np.testing.assert_allclose(x.numpy(), [1.6])


@pytest.mark.parametrize("cls,kwargs", [(SGD, dict(lr=0.05, momentum=0.9)),
                                        (Adam, dict(lr=0.01, amsgrad=True)),
                                        (RMSprop, dict(lr=0.01, centered=True, momentum=0.3))])
def test_state_dict_resume_is_exact(cls, kwargs, tmp_path):
    arrays = _make_params(np.float32)
    full, _ = _run_ours(cls, kwargs, arrays, steps=6)
    half, opt = _run_ours(cls, kwargs, arrays, steps=3)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0, 1, 2]
    if hasattr(ac, "save"):  # through a checkpoint file when serialization is there
        ac.save({"opt": sd}, tmp_path / "opt.npz")
        sd = ac.load(tmp_path / "opt.npz")["opt"]
    params = [ac.tensor(a, requires_grad=True) for a in half]
    opt2 = cls(params, **{**kwargs, "lr": 123.0})  # lr restored from the state dict
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    for _ in range(3):
        for p in params:
            p.grad = ac.tensor(_grad_fn(p.numpy()).astype(p.numpy().dtype))
        opt2.step()
    for f, p in zip(full, params):
        np.testing.assert_array_equal(f, p.numpy())


@requires_torch
def test_state_dict_structure_like_torch():
    arrays = _make_params(np.float64)
    _, opt = _run_ours(Adam, dict(lr=0.01), arrays, steps=2)
    tparams = [torch.tensor(a, requires_grad=True) for a in arrays]
    topt = torch.optim.Adam(tparams, lr=0.01)
    for p in tparams:
        p.grad = torch.ones_like(p)
    topt.step()
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert set(ours["state"]) == set(theirs["state"])
    assert set(ours["state"][0]) == set(theirs["state"][0])
    assert ours["param_groups"][0]["params"] == theirs["param_groups"][0]["params"]
    for k in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
        assert ours["param_groups"][0][k] == theirs["param_groups"][0][k]


@pytest.mark.parametrize("make,match", [
    (lambda p: SGD(p, lr=-1.0), "lr"),
    (lambda p: SGD(p, lr="x"), "lr"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.5), "momentum"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov"),
    (lambda p: Adam(p, betas=(0.9, 1.0)), "betas"),
    (lambda p: Adam(p, eps=-1), "eps"),
    (lambda p: RMSprop(p, alpha=-0.1), "alpha"),
    (lambda p: SGD([], lr=0.1), "empty"),
    (lambda p: SGD(p + p, lr=0.1), "more than once"),
    (lambda p: SGD([np.zeros(3)], lr=0.1), "Tensor"),
])
def test_bad_arguments(make, match):
    params = [ac.tensor(np.zeros(3), requires_grad=True)]
    with pytest.raises((ValueError, TypeError), match=match):
        make(params)


def test_step_bumps_version_so_stale_graphs_fail():
    x = ac.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()  # saves x for backward
    opt = SGD([x], lr=0.1)
    x.grad = ac.tensor(np.ones(2))
    v = x._version
    opt.step()
    assert x._version > v
    with pytest.raises(RuntimeError):
        y.backward()


def test_add_param_group_and_repr():
    a = ac.tensor(np.zeros(2), requires_grad=True)
    b = ac.tensor(np.zeros(3), requires_grad=True)
    opt = Adam([a], lr=0.01)
    opt.add_param_group({"params": [b], "lr": 0.1, "betas": [0.8, 0.9]})
    assert opt.param_groups[1]["betas"] == (0.8, 0.9) and opt.param_groups[1]["eps"] == 1e-8
    assert "Parameter Group 1" in repr(opt)
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})


def test_sgd_learning_rate_defaults_to_pytorchs():
    p = ac.nn.Parameter(ac.zeros(2))
    assert SGD([p]).param_groups[0]["lr"] == 1e-3
