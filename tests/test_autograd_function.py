"""Custom Functions: the public PyTorch-style contract other modules build on."""
import numpy as np
import pytest

import autograd_cnn as ac


class Cube(ac.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return scale * x.numpy() ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * ctx.scale * x * x, None


def test_custom_function_forward_backward_and_double_backward():
    x = ac.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert isinstance(y, ac.Tensor) and y.requires_grad
    assert y.grad_fn.name() == "CubeBackward"
    (g,) = ac.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 6 * np.array([1.0, 4.0]))
    (h,) = ac.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 12 * np.array([1.0, 2.0]))
    assert ac.gradcheck(lambda t: Cube.apply(t, 2.0), (x,))


def test_needs_input_grad_and_grad_mode_inside_forward():
    seen = {}

    class Probe(ac.Function):
        @staticmethod
        def forward(ctx, a, b):
            seen["needs"] = ctx.needs_input_grad
            seen["mode"] = ac.is_grad_enabled()
            return a.numpy() + b.numpy()

        @staticmethod
        def backward(ctx, g):
            return g, g

    a = ac.tensor([1.0], requires_grad=True)
    Probe.apply(a, ac.tensor([2.0]))
    assert seen == {"needs": (True, False), "mode": False}


def test_multiple_outputs_and_non_differentiable():
    class SplitMax(ac.Function):
        @staticmethod
        def forward(ctx, x):
            idx = np.argmax(x.numpy())
            out = x.numpy() * 2
            ctx.mark_non_differentiable(idx)
            return out, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g * 2

    x = ac.tensor([1.0, 5.0], requires_grad=True)
    out, idx = SplitMax.apply(x)
    assert out.requires_grad and not idx.requires_grad
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_broadcast_gradient_reduced_by_engine():
    class AddB(ac.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a.numpy() + b.numpy()

        @staticmethod
        def backward(ctx, g):
            return g, g   # no manual reduction: the engine sums to each input's shape

    a = ac.tensor(np.ones((2, 3)), requires_grad=True)
    b = ac.tensor(np.ones((3,)), requires_grad=True)
    AddB.apply(a, b).sum().backward()
    assert b.grad.shape == (3,)
    np.testing.assert_allclose(b.grad.numpy(), [2.0, 2.0, 2.0])


def test_wrong_number_of_gradients():
    class Bad(ac.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a.numpy() * b.numpy()

        @staticmethod
        def backward(ctx, g):
            return g

    a = ac.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(a, ac.tensor([2.0])).sum().backward()


def test_saved_tensor_version_check_names_op():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = Cube.apply(x, 1.0)
    with ac.no_grad():
        x.mul_(2)
    with pytest.raises(RuntimeError, match="CubeBackward"):
        y.sum().backward()


class KernelSquare(ac.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.numpy() ** 2

    @staticmethod
    @ac.autograd.once_differentiable
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        assert not ac.is_grad_enabled()
        return ac.tensor(2 * x.numpy() * g.numpy())


def test_once_differentiable_first_order_ok_second_order_raises():
    x = ac.tensor(np.array([1.0, 3.0]), requires_grad=True)
    KernelSquare.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 6.0])
    x.grad = None
    (g,) = ac.autograd.grad(KernelSquare.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), [2.0, 6.0])
    assert g.requires_grad
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()
