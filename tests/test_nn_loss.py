"""Losses against NumPy references (values and closed-form gradients), gradcheck, PyTorch."""
import itertools

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import nn
from _support import requires_torch, torch


def _log_softmax(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def ref_cross_entropy(x, t, w=None, ignore_index=-100, reduction="mean", ls=0.0):
    """Cross-entropy as -sum_c w_c q_c log p_c with q the smoothed one-hot target; returns the
    loss and its gradient with respect to x (for an upstream gradient of ones)."""
    C = x.shape[1]
    xm = np.moveaxis(x, 1, -1).reshape(-1, C)
    tt = t.reshape(-1)
    w = np.ones(C) if w is None else w
    valid = tt != ignore_index
    safe = np.where(valid, tt, 0)
    q = (1 - ls) * np.eye(C)[safe] + ls / C
    logp = _log_softmax(xm)
    per = -(w * q * logp).sum(1) * valid
    grad = ((w * q).sum(1, keepdims=True) * np.exp(logp) - w * q) * valid[:, None]
    if reduction == "none":
        loss = per.reshape(t.shape)
    elif reduction == "sum":
        loss = per.sum()
    else:
        den = (w[safe] * valid).sum()
        loss, grad = per.sum() / den, grad / den
    grad = np.moveaxis(grad.reshape(t.shape + (C,)), -1, 1)
    return loss, grad


CASES = list(itertools.product([(6, 4), (3, 4, 5)], [False, True], [False, True], [0.0, 0.2],
                               ["mean", "sum", "none"]))


@pytest.mark.parametrize("shape,weighted,ignore,ls,reduction", CASES)
def test_cross_entropy_matches_reference(shape, weighted, ignore, ls, reduction):
    rng = np.random.default_rng(CASES.index((shape, weighted, ignore, ls, reduction)))
    xd = rng.standard_normal(shape) * 3
    C = shape[1]
    t = rng.integers(0, C, (shape[0],) + shape[2:])
    if ignore:
        t.flat[::3] = 2  # ignore_index=2 is also a class index
    w = rng.uniform(0.2, 2.0, C) if weighted else None
    kw = dict(weight=w, ignore_index=2 if ignore else -100, reduction=reduction,
              label_smoothing=ls)
    x = ac.tensor(xd, requires_grad=True)
    out = F.cross_entropy(x, t, **kw)
    ref, rgrad = ref_cross_entropy(xd, t, w, kw["ignore_index"], reduction, ls)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), rgrad, rtol=1e-9, atol=1e-12)
    module = nn.CrossEntropyLoss(**kw)
    np.testing.assert_allclose(module(ac.tensor(xd), t).numpy(), ref, rtol=1e-10, atol=1e-12)


def test_cross_entropy_float32_and_stability():
    x = ac.tensor(np.array([[1000.0, -1000.0, 0.0], [-500.0, 500.0, 499.0]], np.float32),
                  requires_grad=True)
    t = np.array([1, 2])
    loss = F.cross_entropy(x, t)
    assert loss.dtype == np.float32 and np.isfinite(loss.item())
    assert loss.item() == pytest.approx((2000.0 + (1 + np.log1p(np.exp(-1)))) / 2, rel=1e-5)
    loss.backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_cross_entropy_unbatched_and_probabilities():
    rng = np.random.default_rng(0)
    xd = rng.standard_normal(5)
    out = F.cross_entropy(ac.tensor(xd), np.array(3), reduction="none")
    assert out.shape == () and out.item() == pytest.approx(-_log_softmax(xd[None])[0, 3])
    probs = rng.dirichlet(np.ones(5), size=4)
    xd = rng.standard_normal((4, 5))
    x = ac.tensor(xd, requires_grad=True)
    loss = F.cross_entropy(x, probs, label_smoothing=0.1)
    q = probs * 0.9 + 0.1 / 5
    assert loss.item() == pytest.approx(-(q * _log_softmax(xd)).sum(1).mean(), rel=1e-12)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), (np.exp(_log_softmax(xd)) * q.sum(1, keepdims=True)
                                                - q) / 4, rtol=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss(reduction):
    rng = np.random.default_rng(1)
    logp = _log_softmax(rng.standard_normal((5, 3)))
    t = np.array([0, 2, 1, 1, -100])
    w = np.array([0.5, 1.0, 2.0])
    out = F.nll_loss(ac.tensor(logp), t, weight=w, reduction=reduction)
    picked = np.array([-w[c] * logp[i, c] if c >= 0 else 0 for i, c in enumerate(t)])
    ref = {"none": picked, "sum": picked.sum(),
           "mean": picked.sum() / w[t[:4]].sum()}[reduction]
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(nn.NLLLoss(weight=w, reduction=reduction)(ac.tensor(logp), t)
                               .numpy(), ref, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(reduction):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    red = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    x = ac.tensor(a, requires_grad=True)
    out = F.mse_loss(x, b, reduction=reduction)
    np.testing.assert_allclose(out.numpy(), red((a - b) ** 2), rtol=1e-12)
    out.sum().backward()
    scale = 1 / a.size if reduction == "mean" else 1
    np.testing.assert_allclose(x.grad.numpy(), 2 * (a - b) * scale, rtol=1e-12)
    x = ac.tensor(a, requires_grad=True)
    out = nn.L1Loss(reduction)(x, ac.tensor(b))
    np.testing.assert_allclose(out.numpy(), red(np.abs(a - b)), rtol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.sign(a - b) * scale, rtol=1e-12)
    np.testing.assert_allclose(nn.MSELoss(reduction)(ac.tensor(a), b).numpy(),
                               red((a - b) ** 2), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_pw,use_w", [(False, False), (True, False), (True, True)])
def test_bce_with_logits(reduction, use_pw, use_w):
    rng = np.random.default_rng(3)
    xd = rng.standard_normal((4, 3)) * 4
    xd[0, 0] = 0.0  # the kink of |x| must not show in the gradient
    xd[1, 1] = 80.0
    t = rng.uniform(0, 1, (4, 3))
    pw = rng.uniform(0.5, 3, 3) if use_pw else None
    w = rng.uniform(0.5, 2, (4, 1)) if use_w else None
    x = ac.tensor(xd, requires_grad=True)
    out = F.binary_cross_entropy_with_logits(x, t, weight=w, reduction=reduction, pos_weight=pw)
    p = 1.0 if pw is None else pw
    ww = 1.0 if w is None else w
    log_sig = -np.logaddexp(0, -xd)
    log_one_minus = -np.logaddexp(0, xd)
    per = -ww * (p * t * log_sig + (1 - t) * log_one_minus)
    red = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    np.testing.assert_allclose(out.numpy(), red(per), rtol=1e-12)
    out.sum().backward()
    sig = 1 / (1 + np.exp(-xd))
    grad = ww * (p * t * (sig - 1) + (1 - t) * sig)
    scale = 1 / xd.size if reduction == "mean" else 1
    np.testing.assert_allclose(x.grad.numpy(), grad * scale, rtol=1e-10, atol=1e-15)
    mod = nn.BCEWithLogitsLoss(weight=w, reduction=reduction, pos_weight=pw)
    np.testing.assert_allclose(mod(ac.tensor(xd), t).numpy(), red(per), rtol=1e-12)


def test_gradchecks():
    rng = np.random.default_rng(4)
    x = ac.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    t = rng.integers(0, 4, (3, 2))
    w = rng.uniform(0.5, 2, 4)
    assert ac.gradcheck(lambda x: F.cross_entropy(x, t, weight=w, label_smoothing=0.1), (x,))
    assert ac.gradgradcheck(lambda x: F.cross_entropy(x, t, weight=w), (x,))
    y = ac.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    target = ac.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert ac.gradcheck(lambda a, b: F.mse_loss(a, b), (y, target))
    assert ac.gradcheck(lambda a, b: F.l1_loss(a, b, reduction="sum"), (y, target))
    probs = ac.tensor(rng.uniform(0, 1, (3, 4)), requires_grad=True)
    assert ac.gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(
        a, b, pos_weight=np.array([1.0, 2.0, 0.5, 3.0])), (y, probs))
    assert ac.gradgradcheck(lambda a: F.binary_cross_entropy_with_logits(a, probs.detach()), (y,))
    assert ac.gradcheck(lambda a: F.nll_loss(a, t[:, 0]), (ac.tensor(
        rng.standard_normal((3, 4)), requires_grad=True),))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_is_one_node_differentiable_twice(reduction):
    # nll_loss / cross_entropy pick log p at the targets in one node (functional/loss.py
    # _NllLoss); its gradient is a scatter that is differentiable again
    rng = np.random.default_rng(7)
    x = ac.tensor(rng.standard_normal((4, 3, 2)), requires_grad=True)
    t = rng.integers(0, 3, (4, 2))
    t[0, 0] = -1
    w = rng.uniform(0.5, 2, 3)
    out = F.nll_loss(x, t, weight=w, ignore_index=-1, reduction=reduction)
    assert out.grad_fn.name() == "_NllLossBackward"
    assert ac.gradcheck(lambda a: F.nll_loss(a, t, weight=w, ignore_index=-1,
                                             reduction=reduction), (x,))
    assert ac.gradgradcheck(lambda a: F.cross_entropy(a, t, weight=w, ignore_index=-1,
                                                      reduction=reduction), (x,))
    # every target ignored: 'mean' is 0 / 0 = NaN, as PyTorch
    if reduction == "mean":
        assert np.isnan(F.nll_loss(x, np.full((4, 2), -1), ignore_index=-1).item())


def test_errors():
    x = ac.tensor(np.zeros((4, 3), np.float32))
    with pytest.raises(TypeError, match="integer class indices"):
        F.nll_loss(x, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        F.cross_entropy(x, np.zeros((4, 1), np.int64))
    with pytest.raises(ValueError, match="class index 3"):
        F.cross_entropy(x, np.array([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="class index -1"):
        F.cross_entropy(x, np.array([0, 1, -1, 0]))
    with pytest.raises(ValueError, match="reduction"):
        F.cross_entropy(x, np.array([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="3 class weights"):
        F.cross_entropy(x, np.array([0, 1, 2, 0]), weight=np.ones(4))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(x, np.array([0, 1, 2, 0]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="probability targets"):
        F.cross_entropy(x, np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match="target shape"):
        F.mse_loss(x, np.zeros((4, 1)))
    with pytest.raises(TypeError, match="Tensor"):
        F.mse_loss(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="pos_weight"):
        F.binary_cross_entropy_with_logits(x, np.zeros((4, 3)), pos_weight=np.ones(2))
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="avg")
    # all targets ignored: PyTorch's 0/0 = nan
    assert np.isnan(F.cross_entropy(x, np.full(4, -100)).item())


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_match_pytorch(dtype):
    rng = np.random.default_rng(5)
    tol = dict(rtol=1e-4, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-13)
    xd = (rng.standard_normal((6, 5, 3)) * 3).astype(dtype)
    t = rng.integers(0, 5, (6, 3))
    t[0, 0] = 1
    w = rng.uniform(0.2, 2, 5).astype(dtype)
    for kw in (dict(), dict(weight=w), dict(weight=w, ignore_index=1, label_smoothing=0.15),
               dict(label_smoothing=0.3, reduction="sum"), dict(ignore_index=1, reduction="none")):
        x = ac.tensor(xd, requires_grad=True)
        tx = torch.tensor(xd, requires_grad=True)
        tkw = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        out = F.cross_entropy(x, t, **kw)
        tout = torch.nn.functional.cross_entropy(tx, torch.from_numpy(t), **tkw)
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **tol)
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)
    a = (rng.standard_normal((4, 3)) * 3).astype(dtype)
    b = rng.uniform(0, 1, (4, 3)).astype(dtype)
    pw = rng.uniform(0.5, 2, 3).astype(dtype)
    pairs = [
        (lambda x: F.binary_cross_entropy_with_logits(x, b, pos_weight=pw),
         lambda x: torch.nn.functional.binary_cross_entropy_with_logits(
             x, torch.from_numpy(b), pos_weight=torch.from_numpy(pw))),
        (lambda x: F.mse_loss(x, b, reduction="sum"),
         lambda x: torch.nn.functional.mse_loss(x, torch.from_numpy(b), reduction="sum")),
        (lambda x: F.l1_loss(x, b), lambda x: torch.nn.functional.l1_loss(x, torch.from_numpy(b))),
        (lambda x: F.nll_loss(x, np.array([0, 2, 1, 1])),
         lambda x: torch.nn.functional.nll_loss(x, torch.tensor([0, 2, 1, 1]))),
    ]
    for ours, theirs in pairs:
        x = ac.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        out, tout = ours(x), theirs(tx)
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), **tol)
        out.backward()
        tout.backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)


@requires_torch
def test_probability_targets_and_unbatched_match_pytorch():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 5, 3))
    p = np.ascontiguousarray(rng.dirichlet(np.ones(5), size=(4, 3)).transpose(0, 2, 1))
    w = rng.uniform(0.5, 2, 5)
    for red in ("mean", "sum", "none"):
        ours = F.cross_entropy(ac.tensor(x), p, weight=w, label_smoothing=0.2, reduction=red)
        theirs = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(p),
                                                   weight=torch.tensor(w), label_smoothing=0.2,
                                                   reduction=red)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-14)
    xv = rng.standard_normal(5)
    np.testing.assert_allclose(
        F.cross_entropy(ac.tensor(xv), np.array(2), label_smoothing=0.1).item(),
        torch.nn.functional.cross_entropy(torch.tensor(xv), torch.tensor(2),
                                          label_smoothing=0.1).item(), rtol=1e-12)
