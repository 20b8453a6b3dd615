"""Adadelta and Adagrad against NumPy transcriptions of their published rules (as PyTorch writes
them), their state-dict format, LambdaLR and OneCycleLR sequences against closed forms; and,
where PyTorch is installed, every one step by step against torch.optim."""
import math

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.optim import SGD, Adadelta, Adagrad, Adam, lr_scheduler as S

from _support import requires_torch, torch


def _grads(n, shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(n)]


def _run(opt_cls, kwargs, w0, grads):
    p = ac.tensor(w0.copy(), requires_grad=True)
    opt = opt_cls([p], **kwargs)
    for g in grads:
        p.grad = ac.tensor(g.astype(w0.dtype))
        opt.step()
    return p.numpy(), opt


def test_adadelta_rule():
    w0, grads = np.linspace(-1, 1, 6), _grads(5, (6,))
    lr, rho, eps, wd = 0.7, 0.8, 1e-6, 0.1
    w, s, u = w0.copy(), np.zeros(6), np.zeros(6)
    for g in grads:
        g = g + wd * w
        s = rho * s + (1 - rho) * g * g
        d = np.sqrt(u + eps) / np.sqrt(s + eps) * g
        u = rho * u + (1 - rho) * d * d
        w = w - lr * d
    ours, opt = _run(Adadelta, dict(lr=lr, rho=rho, eps=eps, weight_decay=wd), w0, grads)
    np.testing.assert_allclose(ours, w, rtol=1e-12)
    state = opt.state_dict()
    assert sorted(state["state"][0]) == ["acc_delta", "square_avg", "step"]
    assert state["state"][0]["step"] == 5
    assert Adadelta([ac.tensor(w0, requires_grad=True)]).defaults["lr"] == 1.0


def test_adagrad_rule_and_state_from_construction():
    w0, grads = np.linspace(-1, 1, 6), _grads(5, (6,), seed=1)
    lr, decay, wd, init, eps = 0.1, 0.05, 0.01, 0.3, 1e-10
    w, s = w0.copy(), np.full(6, init)
    for step, g in enumerate(grads, 1):
        g = g + wd * w
        s = s + g * g
        w = w - lr / (1 + (step - 1) * decay) * g / (np.sqrt(s) + eps)
    ours, opt = _run(Adagrad, dict(lr=lr, lr_decay=decay, weight_decay=wd,
                                   initial_accumulator_value=init, eps=eps), w0, grads)
    np.testing.assert_allclose(ours, w, rtol=1e-12)
    fresh = Adagrad([ac.tensor(w0, requires_grad=True)], initial_accumulator_value=0.5)
    assert fresh.state_dict()["state"][0]["step"] == 0  # state exists before any step
    np.testing.assert_array_equal(fresh.state_dict()["state"][0]["sum"], np.full(6, 0.5))
    # a saved state resumes the same trajectory
    p = ac.tensor(w0.copy(), requires_grad=True)
    other = Adagrad([p], lr=lr, lr_decay=decay)
    other.load_state_dict(opt.state_dict())
    assert other.state[id(p)]["step"] == 5
    with pytest.raises(ValueError, match="lr_decay"):
        Adagrad([p], lr_decay=-1)
    with pytest.raises(ValueError, match="rho"):
        Adadelta([p], rho=1.5)


def _opt(kind="sgd", lr=0.1):
    p = ac.tensor(np.zeros(2), requires_grad=True)
    return SGD([p], lr=lr, momentum=0.9) if kind == "sgd" else Adam([p], lr=lr)


def test_lambda_lr():
    opt = _opt()
    sched = S.LambdaLR(opt, lambda e: 0.5 ** e)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(4):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(lrs, [0.1 * 0.5 ** e for e in range(5)])
    assert sched.state_dict()["lr_lambdas"] == [None]  # a function is not saved
    with pytest.raises(ValueError, match="lr_lambdas"):
        S.LambdaLR(opt, [lambda e: 1, lambda e: 2])


def _one_cycle_closed_form(t, total, max_lr, pct, div, final_div, cos=True):
    lo, hi, end_lr = max_lr / div, max_lr, max_lr / div / final_div
    up = pct * total - 1
    f = ((lambda a, b, x: b + (a - b) / 2 * (math.cos(math.pi * x) + 1)) if cos
         else (lambda a, b, x: a + (b - a) * x))
    if t <= up:
        return f(lo, hi, t / up)
    return f(hi, end_lr, (t - up) / (total - 1 - up))


@pytest.mark.parametrize("cos", [True, False])
def test_one_cycle_closed_form_and_momentum(cos):
    opt = _opt("sgd")
    total = 20
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=total,
                         anneal_strategy="cos" if cos else "linear")
    lrs, moms = [], []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        sched.step()
    want = [_one_cycle_closed_form(t, total, 1.0, 0.3, 25.0, 1e4, cos) for t in range(total)]
    np.testing.assert_allclose(lrs, want, rtol=1e-12)
    assert moms[0] == pytest.approx(0.95) and min(moms) == pytest.approx(0.85)
    assert moms[int(np.argmax(lrs))] == pytest.approx(0.85)  # momentum moves against the lr
    with pytest.raises(ValueError, match="total steps"):
        sched.step()


def test_one_cycle_adam_betas_three_phase_and_errors():
    opt = _opt("adam")
    sched = S.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=5, three_phase=True)
    betas, lrs = [], []
    for _ in range(10):
        betas.append(opt.param_groups[0]["betas"])
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert betas[0] == (0.95, 0.999) and all(b[1] == 0.999 for b in betas)
    assert lrs[0] == pytest.approx(0.5 / 25) and max(lrs) == pytest.approx(0.5)
    assert lrs[-1] == pytest.approx(0.5 / 25 / 1e4)  # the last of total_steps: the minimum
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycleLR(_opt(), max_lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        S.OneCycleLR(_opt(), max_lr=1.0, total_steps=5, anneal_strategy="step")
    p = ac.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="momentum"):
        S.OneCycleLR(ac.optim.Adagrad([p]), max_lr=1.0, total_steps=5)


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizers_match_pytorch(dtype):
    for cls, kwargs in [(Adadelta, {}), (Adadelta, dict(lr=0.5, rho=0.8, weight_decay=0.1,
                                                        maximize=True)),
                        (Adagrad, {}), (Adagrad, dict(lr=0.1, lr_decay=0.01, weight_decay=0.05,
                                                      initial_accumulator_value=0.3))]:
        w0 = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
        grads = _grads(8, (3, 4), seed=2)
        ours, _ = _run(cls, kwargs, w0, grads)
        tp = torch.tensor(w0.copy(), requires_grad=True)
        topt = getattr(torch.optim, cls.__name__)([tp], **kwargs)
        for g in grads:
            tp.grad = torch.tensor(g.astype(dtype))
            topt.step()
        np.testing.assert_allclose(ours, tp.detach().numpy(),
                                   rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


@requires_torch
@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("kwargs", [
    dict(max_lr=0.5, total_steps=30),
    dict(max_lr=0.5, epochs=3, steps_per_epoch=7, anneal_strategy="linear"),
    dict(max_lr=1.0, total_steps=40, three_phase=True),
    dict(max_lr=1.0, total_steps=23, pct_start=0.25, div_factor=10, final_div_factor=100,
         cycle_momentum=False)])
def test_one_cycle_matches_pytorch_step_by_step(kind, kwargs):
    opt = _opt(kind)
    tp = torch.zeros(2, requires_grad=True)
    topt = (torch.optim.SGD([tp], lr=0.1, momentum=0.9) if kind == "sgd"
            else torch.optim.Adam([tp], lr=0.1))
    sched = S.OneCycleLR(opt, **kwargs)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, **kwargs)
    total = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    for step in range(total):
        for g, tg in zip(opt.param_groups, topt.param_groups):
            assert g["lr"] == tg["lr"], step
            assert g.get("momentum") == tg.get("momentum"), step
            assert g.get("betas") == tg.get("betas"), step
        topt.step()
        sched.step()
        tsched.step()


@requires_torch
def test_lambda_lr_matches_pytorch():
    opt, tp = _opt(), torch.zeros(2, requires_grad=True)
    topt = torch.optim.SGD([tp], lr=0.1, momentum=0.9)
    fn = lambda e: 0.95 ** e + e % 3  # noqa: E731
    sched, tsched = S.LambdaLR(opt, fn), torch.optim.lr_scheduler.LambdaLR(topt, fn)
    for _ in range(12):
        assert opt.param_groups[0]["lr"] == topt.param_groups[0]["lr"]
        topt.step()
        sched.step()
        tsched.step()
