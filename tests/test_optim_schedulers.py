"""Learning-rate schedulers: sequences against closed forms and against PyTorch."""
import math

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.optim import SGD, lr_scheduler as S

from _support import requires_torch, torch

EPOCHS = 25


def _opt(lr=0.1, groups=1):
    params = [ac.tensor(np.zeros(2), requires_grad=True) for _ in range(groups)]
    return SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr)


def _sequence(make, opt, epochs=EPOCHS, metrics=None):
    sched = make(opt)
    lrs = [[g["lr"] for g in opt.param_groups]]
    for e in range(epochs):
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[e])
        lrs.append([g["lr"] for g in opt.param_groups])
    return np.array(lrs)


CASES = {
    "step": (lambda o: S.StepLR(o, step_size=4, gamma=0.5),
             lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
             lambda b, t: b * 0.5 ** (t // 4)),
    "multistep": (lambda o: S.MultiStepLR(o, milestones=[3, 7, 7, 15], gamma=0.3),
                  lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [3, 7, 7, 15], gamma=0.3),
                  lambda b, t: b * 0.3 ** sum(t >= m for m in [3, 7, 7, 15])),
    "exponential": (lambda o: S.ExponentialLR(o, gamma=0.9),
                    lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
                    lambda b, t: b * 0.9 ** t),
    "cosine": (lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
               lambda b, t: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * t / 10)) / 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_closed_form(name):
    ours, _, closed = CASES[name]
    lrs = _sequence(ours, _opt(groups=2))
    for t in range(EPOCHS + 1):
        for gi, base in enumerate([0.1, 0.2]):
            assert lrs[t, gi] == pytest.approx(closed(base, t), rel=1e-9, abs=1e-12)


@requires_torch
@pytest.mark.filterwarnings("ignore:Detected call")
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    ours, theirs, _ = CASES[name]
    a = _sequence(ours, _opt(groups=2))
    params = [torch.zeros(2, requires_grad=True) for _ in range(2)]
    topt = torch.optim.SGD([{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(params)],
                           lr=0.1)
    b = _sequence(theirs, topt)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.89, 0.8999, 0.95, 0.97, 0.7, 0.7, 0.7,
                   0.71, 0.72, 0.73, 0.74, 0.75, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]


@pytest.mark.parametrize("kw", [dict(), dict(patience=2, factor=0.5),
                                dict(patience=1, cooldown=2, min_lr=0.02),
                                dict(mode="max", patience=1, threshold=0.05, threshold_mode="abs")])
def test_plateau_against_numpy_rule(kw):
    opt = _opt()
    lrs = _sequence(lambda o: S.ReduceLROnPlateau(o, **kw), opt, metrics=PLATEAU_METRICS)[:, 0]
    # independent re-statement of the rule
    mode, factor = kw.get("mode", "min"), kw.get("factor", 0.1)
    patience, cooldown, min_lr = kw.get("patience", 10), kw.get("cooldown", 0), kw.get("min_lr", 0)
    thr, tmode = kw.get("threshold", 1e-4), kw.get("threshold_mode", "rel")
    best, bad, cd, lr, expect = (math.inf if mode == "min" else -math.inf), 0, 0, 0.1, [0.1]
    for m in PLATEAU_METRICS:
        sign = 1 if mode == "min" else -1
        margin = 0.0 if math.isinf(best) else (abs(best) * thr if tmode == "rel" else thr)
        if sign * m < sign * best - margin:
            best, bad = m, 0
        else:
            bad += 1
        if cd > 0:
            cd, bad = cd - 1, 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            lr = new if lr - new > 1e-8 else lr  # changes below eps are skipped
            cd, bad = cooldown, 0
        expect.append(lr)
    np.testing.assert_allclose(lrs, expect, rtol=1e-12)


@requires_torch
@pytest.mark.parametrize("kw", [dict(patience=2, factor=0.5),
                                dict(patience=1, cooldown=2, min_lr=0.02),
                                dict(mode="max", patience=1, threshold=0.05, threshold_mode="abs")])
def test_plateau_matches_torch(kw):
    a = _sequence(lambda o: S.ReduceLROnPlateau(o, **kw), _opt(), metrics=PLATEAU_METRICS)
    topt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
    b = _sequence(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kw), topt,
                  metrics=PLATEAU_METRICS)
    np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_resume(name, tmp_path):
    make = CASES[name][0]
    full = _sequence(make, _opt(), epochs=12)
    opt = _opt()
    sched = make(opt)
    for _ in range(5):
        sched.step()
    sd = sched.state_dict()
    assert "optimizer" not in sd
    if hasattr(ac, "save"):
        ac.save({"s": sd, "o": opt.state_dict()}, tmp_path / "s.npz")
        loaded = ac.load(tmp_path / "s.npz")
        sd, osd = loaded["s"], loaded["o"]
    else:
        osd = opt.state_dict()
    opt2 = _opt(lr=0.7)
    opt2.load_state_dict(osd)
    sched2 = make(opt2)
    sched2.load_state_dict(sd)
    rest = []
    for _ in range(7):
        sched2.step()
        rest.append(opt2.param_groups[0]["lr"])
    np.testing.assert_allclose(rest, full[6:, 0], rtol=1e-12)


def test_bad_arguments():
    opt = _opt()
    with pytest.raises(ValueError, match="step_size"):
        S.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max"):
        S.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="factor"):
        S.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode"):
        S.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(TypeError, match="optimizer"):
        S.StepLR(object(), step_size=2)
