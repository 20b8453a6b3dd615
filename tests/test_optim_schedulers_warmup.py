"""The warm-up, polynomial, restart and chaining schedulers (ConstantLR, LinearLR, PolynomialLR,
CosineAnnealingWarmRestarts, SequentialLR): lr sequences against closed forms written here and
against PyTorch step by step, state_dict round trips, and bad arguments."""
import math
import warnings

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.optim import SGD, lr_scheduler as S

from _support import requires_torch, torch

STEPS = 30
BASES = (0.1, 0.3)


def _opt(lib=None):
    if lib is None:
        ps = [ac.tensor(np.zeros(2), requires_grad=True) for _ in BASES]
        return SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, BASES)], lr=BASES[0])
    ps = [torch.zeros(2, requires_grad=True) for _ in BASES]
    return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(ps, BASES)], lr=BASES[0])


def _lrs(make, opt, M, steps=STEPS, epochs=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's order and epoch-deprecation warnings
        sched = make(opt, M)
        out = [[g["lr"] for g in opt.param_groups]]
        for i in range(steps):
            sched.step() if epochs is None else sched.step(epochs[i])
            out.append([g["lr"] for g in opt.param_groups])
    assert sched.get_last_lr() == out[-1]
    return np.array(out)


def _linear(s, e, n):
    return lambda t: s + (e - s) * min(t, n) / n


def _cawr(T0, mult, eta, b, t):
    """SGDR by counting the runs: the run i spans T0 * mult**i epochs."""
    Ti, start = T0, 0
    while t >= start + Ti:
        start, Ti = start + Ti, Ti * mult
    return eta + (b - eta) * (1 + math.cos(math.pi * (t - start) / Ti)) / 2


# name: (make(optimizer, module), closed form lr(base, t) or None)
CASES = {
    "constant": (lambda o, M: M.ConstantLR(o), lambda b, t: b * (1 / 3 if t < 5 else 1)),
    "constant_half_7": (lambda o, M: M.ConstantLR(o, factor=0.5, total_iters=7),
                        lambda b, t: b * (0.5 if t < 7 else 1)),
    "linear": (lambda o, M: M.LinearLR(o), lambda b, t: b * _linear(1 / 3, 1.0, 5)(t)),
    "linear_decay": (lambda o, M: M.LinearLR(o, start_factor=1.0, end_factor=0.05,
                                             total_iters=12),
                     lambda b, t: b * _linear(1.0, 0.05, 12)(t)),
    "polynomial": (lambda o, M: M.PolynomialLR(o), lambda b, t: b * (1 - min(t, 5) / 5)),
    "polynomial_square": (lambda o, M: M.PolynomialLR(o, total_iters=20, power=2.0),
                          lambda b, t: b * (1 - min(t, 20) / 20) ** 2),
    "warm_restarts": (lambda o, M: M.CosineAnnealingWarmRestarts(o, 5),
                      lambda b, t: _cawr(5, 1, 0.0, b, t)),
    "warm_restarts_mult": (lambda o, M: M.CosineAnnealingWarmRestarts(o, 3, T_mult=2,
                                                                      eta_min=0.01),
                           lambda b, t: _cawr(3, 2, 0.01, b, t)),
    "sequential_warmup_cosine": (
        lambda o, M: M.SequentialLR(o, [M.LinearLR(o, 0.1, total_iters=5),
                                        M.CosineAnnealingLR(o, 10, eta_min=0.001)], [5]),
        lambda b, t: (b * _linear(0.1, 1.0, 5)(t) if t < 5 else
                      0.001 + (b - 0.001) * (1 + math.cos(math.pi * (t - 5) / 10)) / 2)),
    "sequential_four": (
        lambda o, M: M.SequentialLR(o, [M.ConstantLR(o, 0.2, total_iters=3),
                                        M.ExponentialLR(o, 0.9), M.StepLR(o, 4, 0.5),
                                        M.MultiStepLR(o, [2, 5], 0.3)], [4, 10, 18]),
        lambda b, t: (b * (0.2 if t < 3 else 1) if t < 4 else b * 0.9 ** (t - 4) if t < 10
                      else b * 0.5 ** ((t - 10) // 4) if t < 18
                      else b * 0.3 ** sum(t - 18 >= m for m in (2, 5)))),
    "sequential_poly_restarts": (
        lambda o, M: M.SequentialLR(o, [M.PolynomialLR(o, 6, 2.0),
                                        M.CosineAnnealingWarmRestarts(o, 4, 2)], [8]),
        lambda b, t: b * (1 - min(t, 6) / 6) ** 2 if t < 8 else _cawr(4, 2, 0.0, b, t - 8)),
    "sequential_nested": (
        lambda o, M: M.SequentialLR(o, [M.SequentialLR(o, [M.ConstantLR(o, 0.5, 2),
                                                           M.LinearLR(o, 0.2, total_iters=3)],
                                                       [2]),
                                        M.ExponentialLR(o, 0.8)], [6]),
        None),  # PyTorch's own sequence (the inner chain restarts oddly); compared with it
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_closed_form(name):
    make, closed = CASES[name]
    if closed is None:
        pytest.skip("no closed form: compared with PyTorch only")
    lrs = _lrs(make, _opt(), S)
    expected = [[closed(b, t) for b in BASES] for t in range(STEPS + 1)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-9, atol=1e-12)


@requires_torch
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_step_by_step(name):
    make, _ = CASES[name]
    np.testing.assert_array_equal(_lrs(make, _opt(), S),
                                  _lrs(make, _opt(torch), torch.optim.lr_scheduler))


FRACTIONAL = [0.5 * i for i in range(STEPS)]
JUMPS = [3, 1, 7, 20, 2, 0, 15, 4.25, 11, 0.75]


@pytest.mark.parametrize("name", ["warm_restarts", "warm_restarts_mult"])
def test_warm_restarts_with_fractional_epochs(name):
    make, closed = CASES[name]
    lrs = _lrs(make, _opt(), S, epochs=FRACTIONAL)
    expected = [[closed(b, t) for b in BASES] for t in [0] + FRACTIONAL]
    np.testing.assert_allclose(lrs, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["constant_half_7", "linear_decay", "polynomial_square",
                                  "warm_restarts_mult"])
def test_step_with_epoch_uses_the_closed_form(name):
    make, closed = CASES[name]
    if "restarts" not in name:  # CosineAnnealingWarmRestarts.step(epoch) is not deprecated
        with pytest.warns(UserWarning, match="deprecated"):
            make(_opt(), S).step(3)
    lrs = _lrs(make, _opt(), S, steps=len(JUMPS), epochs=JUMPS)
    expected = [[closed(b, t) for b in BASES] for t in [0] + JUMPS]
    np.testing.assert_allclose(lrs, expected, rtol=1e-9, atol=1e-12)


@requires_torch
@pytest.mark.parametrize("name", ["constant_half_7", "linear_decay", "polynomial_square",
                                  "warm_restarts", "warm_restarts_mult"])
def test_epoch_jumps_match_torch(name):
    make, _ = CASES[name]
    for epochs in (FRACTIONAL, JUMPS):
        if "restarts" not in name and epochs is FRACTIONAL:
            continue
        np.testing.assert_array_equal(
            _lrs(make, _opt(), S, steps=len(epochs), epochs=epochs),
            _lrs(make, _opt(torch), torch.optim.lr_scheduler, steps=len(epochs), epochs=epochs))


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_resume(name, tmp_path):
    make, _ = CASES[name]
    full = _lrs(make, _opt(), S, steps=16)
    opt = _opt()
    sched = make(opt, S)
    for _ in range(7):
        sched.step()
    sd = sched.state_dict()
    assert "optimizer" not in sd
    ac.save({"s": sd, "o": opt.state_dict()}, tmp_path / "s.npz")
    loaded = ac.load(tmp_path / "s.npz")
    opt2 = _opt()
    sched2 = make(opt2, S)
    opt2.load_state_dict(loaded["o"])
    sched2.load_state_dict(loaded["s"])
    rest = []
    for _ in range(9):
        sched2.step()
        rest.append([g["lr"] for g in opt2.param_groups])
    np.testing.assert_allclose(rest, full[8:], rtol=1e-12)


def test_sequential_state_dict_holds_each_scheduler():
    opt = _opt()
    sched = CASES["sequential_warmup_cosine"][0](opt, S)
    sd = sched.state_dict()
    assert [set(s) >= {"last_epoch", "base_lrs"} for s in sd["_schedulers"]] == [True, True]
    assert sd["_milestones"] == [5]


def test_bad_arguments():
    opt = _opt()
    cases = [
        (lambda: S.ConstantLR(opt, factor=1.5), ValueError, "factor"),
        (lambda: S.ConstantLR(opt, total_iters=-1), ValueError, "total_iters"),
        (lambda: S.LinearLR(opt, start_factor=0), ValueError, "start_factor"),
        (lambda: S.LinearLR(opt, end_factor=2), ValueError, "end_factor"),
        (lambda: S.LinearLR(opt, total_iters=2.5), ValueError, "total_iters"),
        (lambda: S.PolynomialLR(opt, power="2"), TypeError, "power"),
        (lambda: S.CosineAnnealingWarmRestarts(opt, 0), ValueError, "T_0"),
        (lambda: S.CosineAnnealingWarmRestarts(opt, 2, T_mult=0), ValueError, "T_mult"),
        (lambda: S.CosineAnnealingWarmRestarts(opt, 2, eta_min="0"), ValueError, "eta_min"),
        (lambda: S.CosineAnnealingWarmRestarts(opt, 2).step(-1), ValueError, "epoch"),
        (lambda: S.SequentialLR(opt, [], []), ValueError, "schedulers"),
        (lambda: S.SequentialLR(opt, [S.ConstantLR(opt)], [3]), ValueError, "milestones"),
        (lambda: S.SequentialLR(opt, [S.ConstantLR(opt), S.ReduceLROnPlateau(opt)], [3]),
         ValueError, "ReduceLROnPlateau"),
        (lambda: S.SequentialLR(opt, [S.ConstantLR(opt), S.ConstantLR(_opt())], [3]),
         ValueError, "optimizer"),
        (lambda: S.SequentialLR(opt, [S.ConstantLR(opt), "cosine"], [3]), TypeError,
         "schedulers[1]"),
        (lambda: S.LinearLR(object()), TypeError, "optimizer"),
    ]
    for call, exc, word in cases:
        with pytest.raises(exc, match=word.replace("[", r"\[").replace("]", r"\]")):
            call()
