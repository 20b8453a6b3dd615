"""Arguments at the edge of what fits: they give the right answer or a Python exception, never a
crash of the process."""
import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F


@pytest.mark.parametrize("stride", [7, 2**20, 2**31 - 1])
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


@pytest.mark.parametrize("kwargs", [
    dict(padding=(2**31, 2**31 - 1), stride=2**33),
    dict(padding=2**31 - 1, stride=2**30),
    dict(dilation=2**63),
    dict(stride=(2**62, 1)),
    dict(padding=2**30),
])
def test_window_arguments_beyond_range_raise_naming_the_argument(kwargs):
    x = np.ones((1, 1, 2, 2), np.float32)
    with pytest.raises(ValueError, match="conv2d: (padding|stride|dilation)"):
        F.conv2d(x, x[:, :, :1, :1], **kwargs)


@pytest.mark.parametrize("call", [
    lambda x: F.avg_pool2d(x, 2**32 + 2, padding=2**31 + 1),
    lambda x: F.max_pool2d(x, 3, stride=2**63),
    lambda x: F.max_pool2d(x, 1, dilation=2**63),
    lambda x: F.avg_pool2d(x, 2, divisor_override=2**63),
    lambda x: F.adaptive_avg_pool2d(x, (2**22, 2**42 + 1)),
])
def test_pooling_arguments_beyond_range_raise_value_errors(call):
    with pytest.raises(ValueError):
        call(ac.tensor(np.ones((1, 1, 5, 5), np.float32)))
