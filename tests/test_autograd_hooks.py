"""Post-accumulate-grad hooks (``Tensor.register_post_accumulate_grad_hook``) and
``autograd.engine.queue_callback``: PyTorch's semantics, which data-parallel training uses to
send each gradient while backward is still running."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.autograd import engine

from _support import torch, requires_torch


def test_hook_sees_the_whole_accumulated_gradient_once():
    w = ac.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.numpy().copy()))
    (w * 3 + w * w).sum().backward()          # two paths into w: one call, with their sum
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 3 + 2 * np.array([1.0, 2.0]))
    (w * 3).sum().backward()                  # accumulates into .grad: the hook sees the total
    np.testing.assert_allclose(seen[1], seen[0] + 3)


def test_hook_runs_while_the_rest_of_backward_is_still_to_come():
    w1 = ac.tensor(np.ones((3, 3)), requires_grad=True)
    w2 = ac.tensor(np.ones((3, 3)), requires_grad=True)
    x = ac.tensor(np.ones((2, 3)))
    state = {}
    w2.register_post_accumulate_grad_hook(lambda t: state.setdefault("w1", w1.grad))
    ((x @ w1).relu() @ w2).sum().backward()
    assert state["w1"] is None and w1.grad is not None   # w2's gradient was out first


def test_removed_hooks_and_autograd_grad_do_not_run():
    w = ac.tensor([1.0], requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    ac.autograd.grad((w * 2).sum(), [w])      # no accumulation, no hook (as in PyTorch)
    assert calls == []
    handle.remove()
    handle.remove()                           # twice is fine
    (w * 2).sum().backward()
    assert calls == []


def test_hook_with_create_graph_and_on_a_root_leaf():
    w = ac.tensor([2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad))
    (w * w).sum().backward(create_graph=True)
    assert len(seen) == 1 and seen[0].requires_grad   # the gradient is differentiable
    w.grad = None
    w.backward(ac.tensor([1.0]))               # the leaf itself as the root
    assert len(seen) == 2 and seen[1].item() == 1.0


def test_hook_errors():
    w = ac.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ac.tensor([1.0]).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match="callable"):
        w.register_post_accumulate_grad_hook(3)
    w.register_post_accumulate_grad_hook(lambda t: t.grad)
    with pytest.raises(RuntimeError, match="must return None"):
        (w * 2).sum().backward()


def test_queue_callback_runs_after_every_hook():
    a = ac.tensor([1.0], requires_grad=True)
    b = ac.tensor([1.0], requires_grad=True)
    order = []

    def hook(t):
        order.append("hook")
        if len(order) == 1:
            engine.queue_callback(lambda: order.append(("end", a.grad.item(), b.grad.item())))

    a.register_post_accumulate_grad_hook(hook)
    b.register_post_accumulate_grad_hook(hook)
    (a * 2 + b * 3).sum().backward()
    assert order == ["hook", "hook", ("end", 2.0, 3.0)]
    with pytest.raises(RuntimeError, match="no backward"):
        engine.queue_callback(lambda: None)


@requires_torch
def test_hooks_match_pytorch():
    rng = np.random.default_rng(0)
    x, w1, w2 = (rng.standard_normal(s) for s in ((4, 3), (3, 5), (5, 2)))
    ours, theirs = [], []
    tw1, tw2 = (torch.tensor(w, requires_grad=True) for w in (w1, w2))
    aw1, aw2 = (ac.tensor(w, requires_grad=True) for w in (w1, w2))
    for name, t in (("w1", tw1), ("w2", tw2)):
        t.register_post_accumulate_grad_hook(
            lambda t, name=name: theirs.append((name, t.grad.numpy().copy())))
    for name, t in (("w1", aw1), ("w2", aw2)):
        t.register_post_accumulate_grad_hook(
            lambda t, name=name: ours.append((name, t.grad.numpy().copy())))
    for _ in range(2):
        ((torch.tensor(x) @ tw1).tanh() @ tw2 + tw2.sum()).sum().backward()
        ((ac.tensor(x) @ aw1).tanh() @ aw2 + aw2.sum()).sum().backward()
    assert [n for n, _ in ours] == [n for n, _ in theirs] == ["w2", "w1"] * 2
    for (_, a), (_, b) in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)
