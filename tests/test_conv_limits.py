"""Arguments at the edge of what fits: they give the right answer or a Python exception, never a
crash of the process."""
import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F


@pytest.mark.parametrize("stride", [7, 2**20, 2**40, 2**62])
def test_stride_larger_than_the_input_takes_the_first_window(stride):
    x = ac.randn(2, 3, 5, 6, requires_grad=True)
    w = ac.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, stride=stride, padding=1)
    first = F.conv2d(x, w, padding=1)[:, :, :1, :1]
    np.testing.assert_allclose(y.numpy(), first.numpy(), rtol=1e-6)
    y.sum().backward()
    gx, gw = x.grad.numpy().copy(), w.grad.numpy().copy()
    x.grad = w.grad = None
    first.sum().backward()
    np.testing.assert_allclose(gx, x.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gw, w.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("padding", [2**20, 2**40])
def test_padding_too_large_to_allocate_raises(padding):
    with pytest.raises((ValueError, MemoryError)):
        F.conv2d(ac.randn(1, 1, 3, 3), ac.randn(1, 1, 3, 3), padding=padding)
