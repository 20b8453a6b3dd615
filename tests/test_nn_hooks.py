"""Forward hooks and forward pre-hooks on Module, with PyTorch's semantics: called around every
forward with (module, args[, output]); a non-None result replaces the inputs / the output; the
returned handle removes the hook."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import nn
from _support import requires_torch, torch


def test_forward_hook_sees_module_inputs_and_output_and_can_be_removed():
    lin = nn.Linear(3, 2)
    calls = []
    handle = lin.register_forward_hook(lambda m, args, out: calls.append((m, args, out)))
    x = ac.randn(4, 3)
    y = lin(x)
    assert len(calls) == 1 and calls[0][0] is lin and calls[0][1][0] is x and calls[0][2] is y
    handle.remove()
    lin(x)
    assert len(calls) == 1
    handle.remove()  # removing twice is harmless, as in PyTorch


def test_hook_results_replace_output_and_inputs_in_registration_order():
    net = nn.Sequential(nn.Identity(), nn.ReLU())
    x = ac.tensor([[-1.0, 2.0]])
    with net[0].register_forward_hook(lambda m, a, out: out * 10):
        with net[0].register_forward_hook(lambda m, a, out: out + 1):  # sees the *10 output
            np.testing.assert_allclose(net(x).numpy(), [[0.0, 21.0]])
        np.testing.assert_allclose(net(x).numpy(), [[0.0, 20.0]])
    pre = net[1].register_forward_pre_hook(lambda m, args: (-args[0],))
    np.testing.assert_allclose(net(x).numpy(), [[1.0, 0.0]])
    pre.remove()
    np.testing.assert_allclose(net(x).numpy(), [[0.0, 2.0]])


def test_hooked_output_keeps_its_graph():
    conv = nn.Conv2d(1, 2, 3)
    seen = {}
    conv.register_forward_hook(lambda m, a, out: seen.setdefault("out", out))
    x = ac.randn(1, 1, 5, 5, requires_grad=True)
    conv(x).sum().backward()
    assert seen["out"].requires_grad and x.grad is not None


def test_non_callable_hook_is_refused():
    with pytest.raises(TypeError, match="hook must be callable"):
        nn.ReLU().register_forward_hook(3)


@requires_torch
def test_same_order_of_calls_as_pytorch():
    def record(log):
        return (lambda m, args: log.append("pre"), lambda m, args, out: log.append("post"))
    ours, theirs = [], []
    m, t = nn.ReLU(), torch.nn.ReLU()
    for mod, log in ((m, ours), (t, theirs)):
        pre, post = record(log)
        mod.register_forward_pre_hook(pre)
        mod.register_forward_hook(post)
        mod.register_forward_hook(post)
    m(ac.randn(2))
    t(torch.randn(2))
    assert ours == theirs == ["pre", "post", "post"]
