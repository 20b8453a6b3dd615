"""The backward engine: accumulation, reuse of nodes, freeing, deep graphs, double backward."""
import numpy as np
import pytest

import autograd_cnn as ac
from _support import torch, requires_torch


def test_simple_graph_gradients():
    a = ac.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = ac.tensor([4.0, 5.0, 6.0], requires_grad=True)
    y = (a * b + a).sum()
    y.backward()
    np.testing.assert_allclose(a.grad.numpy(), [5.0, 6.0, 7.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 2.0, 3.0])
    assert a.grad.dtype == np.float32 and a.grad.is_leaf


def test_grad_accumulates_across_calls():
    x = ac.tensor([1.0, -2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 - 4])


def test_node_used_many_times():
    a = ac.tensor(3.0, requires_grad=True)
    b = a + a
    c = b * b          # c = 4 a^2, dc/da = 8 a
    c.backward()
    assert a.grad.item() == pytest.approx(24.0)


def test_diamond_and_broadcast_reduction():
    x = ac.tensor(np.arange(3.0), requires_grad=True)          # (3,)
    m = ac.tensor(np.ones((2, 3)), requires_grad=True)          # (2, 3)
    y = (x * m + x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 4.0, 4.0])  # 2 rows x (m + 1)
    np.testing.assert_allclose(m.grad.numpy(), np.tile(np.arange(3.0), (2, 1)))


def test_long_chain_has_no_recursion_limit():
    x = ac.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_second_backward_through_freed_graph_raises():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_non_scalar_backward_needs_gradient():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="scalar outputs"):
        y.backward()
    y.backward(ac.tensor([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 20.0])


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ac.tensor([1.0]).sum().backward()


def test_version_counter_detects_inplace_change():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    w = ac.tensor([3.0, 4.0])
    y = (x * w).sum()
    w.add_(1.0)
    with pytest.raises(RuntimeError, match="MulBackward"):
        y.backward()


def test_data_assignment_bumps_version():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    v = x._version
    x.data = np.array([5.0, 6.0], dtype=np.float32)
    assert x._version == v + 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_no_grad_context_and_decorator():
    x = ac.tensor([1.0], requires_grad=True)
    with ac.no_grad():
        assert not ac.is_grad_enabled()
        y = x * 2
        with ac.enable_grad():
            assert ac.is_grad_enabled()
            z = x * 2
    assert ac.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @ac.no_grad()
    def f(t):
        return t * 3

    @ac.no_grad
    def g(t):
        return t * 3

    assert not f(x).requires_grad and not g(x).requires_grad
    assert ac.is_grad_enabled()


def test_double_backward_power():
    x = ac.tensor(2.0, dtype=np.float64, requires_grad=True)
    (g,) = ac.autograd.grad(x ** 4, x, create_graph=True)
    assert g.item() == pytest.approx(32.0)
    (h,) = ac.autograd.grad(g, x)
    assert h.item() == pytest.approx(48.0)


def test_backward_create_graph_into_grad():
    x = ac.tensor(2.0, dtype=np.float64, requires_grad=True)
    (x ** 4).backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    x.grad = None
    g.backward()
    assert x.grad.item() == pytest.approx(48.0)


def _mlp(params, x):
    w1, b1, w2, b2 = params
    return ((x @ w1 + b1).tanh() @ w2 + b2).sigmoid().sum()


def test_hessian_vector_product_matches_finite_differences():
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4,), (4, 2), (2,)]
    vals = [rng.standard_normal(s) for s in shapes]
    vecs = [rng.standard_normal(s) for s in shapes]
    x = ac.tensor(rng.standard_normal((5, 3)))
    params = [ac.tensor(v, requires_grad=True) for v in vals]
    grads = ac.autograd.grad(_mlp(params, x), params, create_graph=True)
    dot = sum((g * ac.tensor(v)).sum() for g, v in zip(grads, vecs))
    hvp = ac.autograd.grad(dot, params)

    def grad_at(shift):
        ps = [ac.tensor(v + shift * d, requires_grad=True) for v, d in zip(vals, vecs)]
        return [g.numpy() for g in ac.autograd.grad(_mlp(ps, x), ps)]

    eps = 1e-6
    plus, minus = grad_at(eps), grad_at(-eps)
    for h, p, m in zip(hvp, plus, minus):
        np.testing.assert_allclose(h.numpy(), (p - m) / (2 * eps), rtol=1e-5, atol=1e-7)


def test_autograd_grad_does_not_touch_dot_grad_and_allow_unused():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    u = ac.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    (g,) = ac.autograd.grad(y, x, retain_graph=True)
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])
    assert x.grad is None
    with pytest.raises(RuntimeError, match="not used"):
        ac.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = ac.autograd.grad(y, [x, u], allow_unused=True)
    assert gu is None


def test_grad_with_respect_to_intermediate():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = (h * h).sum()
    (gh,) = ac.autograd.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), [6.0, 12.0])


@requires_torch
def test_matches_torch_on_small_graph():
    rng = np.random.default_rng(1)
    a_np, b_np = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    a, b = ac.tensor(a_np, requires_grad=True), ac.tensor(b_np, requires_grad=True)
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    ((a * b).exp() / (1 + a * a)).log().mean().backward()
    ((ta * tb).exp() / (1 + ta * ta)).log().mean().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10)


def test_graph_has_no_reference_cycles_and_is_freed():
    import gc
    import weakref
    gc.collect()
    gc.disable()
    try:
        x = ac.tensor(np.ones((4, 4)), requires_grad=True)
        h = (x * 2).relu()
        ref = weakref.ref(h)
        loss = (h.exp() * h.log() * x).sum()  # exp saves its output, log its input h
        del h
        assert ref() is not None          # kept by the graph
        loss.backward()
        del loss
        assert ref() is None              # freed by reference counting alone
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_autograd_grad_twice_without_retain_raises():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    ac.autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        ac.autograd.grad(y, x)


def test_multiple_roots_and_grad_tensors():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    a, b = x * 2, x * x
    ac.autograd.backward([a, b], [ac.ones(2), ac.tensor([1.0, 0.5])])
    np.testing.assert_allclose(x.grad.numpy(), [2 + 2 * 1.0, 2 + 0.5 * 4.0])


def test_leaf_used_directly_as_root():
    x = ac.tensor(3.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_grad_dtype_matches_leaf_when_mixing_precisions():
    w = ac.tensor([1.0, 2.0], requires_grad=True)           # float32
    d = ac.tensor(np.array([0.5, 0.25]))                     # float64 constant
    (w * d).sum().backward()
    assert w.grad.dtype == np.float32
    np.testing.assert_allclose(w.grad.numpy(), [0.5, 0.25])


def test_retain_grad_on_intermediate():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    assert h.retains_grad
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(x.grad.numpy(), [18.0, 36.0])


def _classifier(m, x, w1, b1, w2, b2, target):
    h = (x @ w1 + b1).relu()
    logp = (h @ w2 + b2).log_softmax(1)
    n = x.shape[0]
    idx = m.arange(n)
    return -logp[idx, target].mean() + 1e-3 * (w1 * w1).sum()


def test_small_classifier_gradients_match_finite_differences_and_torch():
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s) for s in [(6, 5), (5, 4), (4,), (4, 3), (3,)]]
    target = np.array([0, 2, 1, 1, 0, 2])
    x, *params = [ac.tensor(a, requires_grad=i > 0) for i, a in enumerate(arrays)]
    t = ac.tensor(target)
    assert ac.gradcheck(lambda *p: _classifier(ac, x, *p, t), tuple(params))
    _classifier(ac, x, *params, t).backward()
    if torch is not None:
        tx, *tparams = [torch.tensor(a, requires_grad=i > 0) for i, a in enumerate(arrays)]
        _classifier(torch, tx, *tparams, torch.tensor(target)).backward()
        for p, tp in zip(params, tparams):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_grad_mode_is_per_thread():
    import threading
    seen = []
    with ac.no_grad():
        t = threading.Thread(target=lambda: seen.append(ac.is_grad_enabled()))
        t.start()
        t.join()
        assert not ac.is_grad_enabled()
    assert seen == [True]


def test_set_grad_enabled_forms():
    ac.set_grad_enabled(False)
    assert not ac.is_grad_enabled()
    ac.set_grad_enabled(True)
    with ac.set_grad_enabled(False):
        assert not ac.is_grad_enabled()
    assert ac.is_grad_enabled()
    with ac.no_grad():
        with ac.set_grad_enabled(True):
            assert ac.is_grad_enabled()
        assert not ac.is_grad_enabled()


def test_broadcast_gradients_are_reduced_before_they_are_accumulated():
    # s reaches the loss twice: broadcast inside x / s (a (3, 4) gradient) and directly (a
    # (1, 4) one). Adding the two before reducing would count the direct path three times.
    s = ac.tensor(np.full((1, 4), 2.0), requires_grad=True)
    x = ac.tensor(np.arange(12.0).reshape(3, 4))
    t = s * 1.0  # the same through an interior node
    ((x / s).sum() + s.sum() + (x / t).sum() + t.sum()).backward()
    expected = 2 * (-(x.numpy() / 4.0).sum(0, keepdims=True) + 1.0)
    np.testing.assert_allclose(s.grad.numpy(), expected, rtol=1e-12)


def test_second_derivative_through_a_broadcast_denominator():
    x = ac.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    assert ac.gradgradcheck(lambda v: v / (v * v).sum(0, keepdim=True), (x,))
    assert ac.gradgradcheck(lambda v: v / (v.sum(0, keepdim=True) + 10), (x,))


def test_leaf_gradients_never_alias_other_arrays():
    # the engine hands a freshly computed gradient to .grad without a copy only when nothing
    # else can reach it: a seed passed to backward(), a gradient shared by two leaves, or a view
    # of either, must be copied
    x = ac.randn(3, 4, requires_grad=True)
    z = ac.randn(3, 4, requires_grad=True)
    (x + z).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), z.grad.numpy())
    x.grad = None
    seed = ac.ones(3, 4)
    x.backward(seed)
    assert not np.shares_memory(x.grad.numpy(), seed.numpy())
    x.grad = None
    seed = ac.ones(12)
    x.reshape(12).backward(seed)
    assert not np.shares_memory(x.grad.numpy(), seed.numpy())
    x.grad.numpy()[...] = 5.0  # a user writing into .grad changes nothing else
    assert np.all(seed.numpy() == 1.0) and np.all(z.grad.numpy() == 1.0)


def test_the_engine_adds_in_place_only_into_buffers_it_allocated():
    # x reaches the output three times through Add nodes that pass the seed on unchanged: the
    # first contribution is the user's seed itself, the sum of two is the engine's own buffer,
    # and only that buffer takes the third one in place
    x = ac.randn(3, requires_grad=True)
    seed = ac.ones(3)
    (x + x + x).backward(seed)
    np.testing.assert_array_equal(seed.numpy(), np.ones(3))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 3.0))
    assert not np.shares_memory(x.grad.numpy(), seed.numpy())
    # the same for a gradient an op hands to two leaves and keeps passing on
    a, b = ac.randn(3, requires_grad=True), ac.randn(3, requires_grad=True)
    (a + b + a + b).backward(seed)
    np.testing.assert_array_equal(seed.numpy(), np.ones(3))
    np.testing.assert_array_equal(a.grad.numpy(), np.full(3, 2.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(3, 2.0))
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())


def test_grad_of_one_input_listed_twice_gives_two_arrays():
    x = ac.randn(3, requires_grad=True)
    g1, g2 = ac.autograd.grad((x * 2 + x * 3).sum(), [x, x])
    np.testing.assert_array_equal(g1.numpy(), np.full(3, 5.0))
    np.testing.assert_array_equal(g2.numpy(), np.full(3, 5.0))
    assert not np.shares_memory(g1.numpy(), g2.numpy())
