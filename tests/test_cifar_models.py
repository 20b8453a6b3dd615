"""CIFAR-sized networks (models/resnet.py, models/vgg.py): parameter counts from the papers'
layer lists, shapes through every stage, torchvision's parameter names, the residual identity."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.models.resnet import BasicBlock, CifarResNet
from autograd_cnn.models.vgg import CifarVGG


def _count(model):
    return sum(p.numpy().size for p in model.parameters())


def _conv(c_in, c_out, k):
    return c_in * c_out * k * k


def test_resnet20_parameter_count_by_hand():
    bn = lambda c: 2 * c  # noqa: E731  (weight and bias)
    stem = _conv(3, 16, 3) + bn(16)
    plain = lambda c: 2 * _conv(c, c, 3) + 2 * bn(c)  # noqa: E731
    down = lambda a, b: _conv(a, b, 3) + _conv(b, b, 3) + 2 * bn(b) + _conv(a, b, 1) + bn(b)  # noqa: E731
    stages = 3 * plain(16) + down(16, 32) + 2 * plain(32) + down(32, 64) + 2 * plain(64)
    assert _count(CifarResNet(20)) == stem + stages + 64 * 10 + 10


def test_small_vgg_parameter_count_by_hand():
    convs = (_conv(3, 32, 3) + _conv(32, 32, 3) + _conv(32, 64, 3) + _conv(64, 64, 3)
             + _conv(64, 128, 3) + _conv(128, 128, 3))
    bns = 2 * (32 + 32 + 64 + 64 + 128 + 128)
    assert _count(CifarVGG()) == convs + bns + 128 * 4 * 4 * 10 + 10


@pytest.mark.parametrize("depth", [8, 20])
def test_resnet_shapes_and_gradients(depth):
    model = CifarResNet(depth)
    x = ac.randn(2, 3, 32, 32)
    h = model.layer1(ac.functional.relu(model.bn1(model.conv1(x))))
    assert h.shape == (2, 16, 32, 32)
    h = model.layer2(h)
    assert h.shape == (2, 32, 16, 16)
    assert model.layer3(h).shape == (2, 64, 8, 8)
    y = model(x)
    assert y.shape == (2, 10)
    y.sum().backward()
    assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all() for p in model.parameters())


def test_resnet_state_dict_names_follow_torchvision():
    keys = set(CifarResNet(20).state_dict())
    for k in ("conv1.weight", "bn1.running_mean", "bn1.num_batches_tracked",
              "layer1.0.conv1.weight", "layer1.2.bn2.bias", "layer2.0.downsample.0.weight",
              "layer2.0.downsample.1.running_var", "layer3.2.conv2.weight", "fc.weight", "fc.bias"):
        assert k in keys
    assert not any(k.startswith("layer1.0.downsample") or k.startswith("layer2.1.downsample")
                   for k in keys)


def test_basic_block_is_identity_plus_relu_when_its_branch_is_silenced():
    """With the second BN's scale and shift at zero the branch adds nothing: out = relu(x)."""
    block = BasicBlock(4, 4)
    block.bn2.weight.numpy()[...] = 0
    x = ac.randn(3, 4, 5, 5)
    np.testing.assert_array_equal(block(x).numpy(), np.maximum(x.numpy(), 0))


def test_downsampling_block_shortcut_is_a_strided_1x1_conv():
    block = BasicBlock(4, 8, stride=2)
    block.bn2.weight.numpy()[...] = 0
    block.eval()  # running statistics 0 / 1: BN is x / sqrt(1 + eps)
    x = ac.randn(2, 4, 6, 6)
    w = block.downsample[0].weight.numpy()[:, :, 0, 0]
    shortcut = np.einsum("oc,nchw->nohw", w, x.numpy()[:, :, ::2, ::2]) / np.sqrt(1 + 1e-5)
    np.testing.assert_allclose(block(x).numpy(), np.maximum(shortcut, 0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [7, 21, "20", 2])
def test_resnet_depth_must_be_6n_plus_2(bad):
    with pytest.raises(ValueError, match="depth"):
        CifarResNet(bad)


def test_vgg_config_checked():
    with pytest.raises(ValueError, match="config"):
        CifarVGG(config=(32, "X"))
    with pytest.raises(ValueError, match="input_size"):
        CifarVGG(config=(8, "M") * 6)
    assert CifarVGG(config=(8, "M", 16, "M"), input_size=8)(ac.randn(1, 3, 8, 8)).shape == (1, 10)
