"""Models: parameter counts (hand-computed), shapes, registry, checkpoints, PyTorch twins."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import models, nn
from autograd_cnn.models import torch_twins
from _support import RTOL, requires_torch, torch


def count(model):
    return sum(p.numpy().size for p in model.parameters())


# hand-computed: conv C_in*C_out*k*k + C_out, linear in*out + out
LENET5 = ((1 * 6 * 25 + 6) + (6 * 16 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84)
          + (84 * 10 + 10))
LENET1989 = (1 * 12 * 25 + 12) + (12 * 12 * 25 + 12) + (192 * 30 + 30) + (30 * 10 + 10)
CONV1D = (1 * 32 * 5 + 32) + 2 * (32 * 32 * 3 + 32) + (32 * 5 * 10 + 10)
MLP = (40 * 100 + 100) + (100 * 100 + 100) + (100 * 10 + 10)
ALEXNET = ((3 * 64 * 121 + 64) + (64 * 192 * 25 + 192) + (192 * 384 * 9 + 384)
           + (384 * 256 * 9 + 256) + (256 * 256 * 9 + 256) + (9216 * 4096 + 4096)
           + (4096 * 4096 + 4096) + (4096 * 1000 + 1000))


def test_parameter_counts():
    assert LENET5 == 61706 and ALEXNET == 61100840
    assert count(models.LeNet5()) == LENET5
    assert count(models.LeNet5(input_size=32, activation="tanh", pooling="avg")) == LENET5
    assert count(models.LeNet1989()) == LENET1989 == 10024
    assert count(models.Conv1DNet()) == CONV1D
    assert count(models.Conv1DNet(batch_norm=True)) == CONV1D + 3 * 64
    assert count(models.MLP()) == MLP
    assert count(models.LeNet5(num_classes=26)) == LENET5 + 16 * 85


def test_alexnet_count_and_keys():
    net = models.AlexNet()
    assert count(net) == ALEXNET
    keys = list(net.state_dict())
    assert keys[:2] == ["features.0.weight", "features.0.bias"]
    assert keys[-2:] == ["classifier.6.weight", "classifier.6.bias"]
    assert [k for k in keys if k.endswith("weight")] == [
        "features.0.weight", "features.3.weight", "features.6.weight", "features.8.weight",
        "features.10.weight", "classifier.1.weight", "classifier.4.weight", "classifier.6.weight"]
    assert count(models.AlexNet(num_classes=10)) == ALEXNET - 4097 * 990


def test_forward_shapes_and_variants():
    rng = np.random.default_rng(0)
    cases = [(models.LeNet5(), (2, 1, 28, 28)), (models.LeNet5(input_size=32), (2, 1, 32, 32)),
             (models.LeNet5(activation="tanh", pooling="avg"), (2, 1, 28, 28)),
             (models.LeNet1989(), (2, 1, 16, 16)), (models.Conv1DNet(), (2, 1, 40)),
             (models.Conv1DNet(batch_norm=True), (3, 40)), (models.MLP(), (2, 40)),
             (models.MLP(), (2, 1, 40))]
    for model, shape in cases:
        y = model(ac.tensor(rng.standard_normal(shape).astype(np.float32)))
        assert y.shape == (shape[0], 10) and y.dtype == np.float32
    classic = models.LeNet5(activation="tanh", pooling="avg")
    assert isinstance(classic.features[1], nn.Tanh) and isinstance(classic.features[2],
                                                                   nn.AvgPool2d)
    modern = models.LeNet5()
    assert isinstance(modern.features[1], nn.ReLU) and isinstance(modern.features[2],
                                                                  nn.MaxPool2d)
    assert modern.features[0].padding == (2, 2)
    assert models.LeNet5(input_size=32).features[0].padding == (0, 0)
    with pytest.raises(ValueError, match="input_size"):
        models.LeNet5(input_size=30)
    with pytest.raises(ValueError, match="activation"):
        models.LeNet5(activation="gelu")
    with pytest.raises(ValueError, match="pooling"):
        models.LeNet5(pooling="median")
    assert models.LeNet5(dtype=np.float64).features[0].weight.numpy().dtype == np.float64


def test_registry():
    assert set(models.available_models()) >= {"lenet5", "lenet1989", "conv1dnet", "mlp",
                                              "alexnet", "resnet20", "vgg_cifar"}
    assert models.default_input_shape("lenet5") == (1, 28, 28)
    assert models.default_input_shape("LeNet1989") == (1, 16, 16)
    assert models.default_input_shape("conv1dnet") == (1, 40)
    assert models.default_input_shape("alexnet") == (3, 224, 224)
    m = models.get_model("lenet5", input_shape=(3, 32, 32), num_classes=5)
    assert m.features[0].weight.shape == (6, 3, 5, 5) and m.classifier[-1].out_features == 5
    assert isinstance(models.get_model("lenet5_classic").features[1], nn.Tanh)
    assert isinstance(models.get_model("mlp", input_shape=(1, 40)), models.MLP)
    with pytest.raises(ValueError, match="available"):
        models.get_model("resnet")


def test_checkpoint_round_trip(tmp_path):
    ac.manual_seed(0)
    a = models.Conv1DNet(batch_norm=True)
    x = ac.tensor(np.random.default_rng(1).standard_normal((4, 1, 40)).astype(np.float32))
    a(x)  # moves the running statistics
    a.eval()
    path = tmp_path / "conv1d.npz"
    ac.save({"model": a.state_dict(), "epoch": 3}, path)
    b = models.Conv1DNet(batch_norm=True)
    ckpt = ac.load(path)
    b.load_state_dict(ckpt["model"])
    b.eval()
    assert ckpt["epoch"] == 3
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    wrong = models.Conv1DNet(channels=16, batch_norm=True)
    with pytest.raises(ValueError, match="shape mismatch for 'features.0.weight'"):
        wrong.load_state_dict(ckpt["model"])
    with pytest.raises(ValueError, match="missing key"):
        models.Conv1DNet(batch_norm=False).load_state_dict(ckpt["model"])
    with pytest.raises(ValueError, match="dtype mismatch"):
        models.Conv1DNet(batch_norm=True, dtype=np.float64).load_state_dict(ckpt["model"])


# ------------------------------------------------------------------------ PyTorch twins

def _compare_with_torch(ours, theirs, shape, rtol, atol, train=False):
    sd = theirs.state_dict()
    assert list(ours.state_dict()) == list(sd)
    assert count(ours) == sum(p.numel() for p in theirs.parameters())
    ours.load_state_dict(sd)  # PyTorch tensors load directly
    ours.train(train)
    theirs.train(train)
    dtype = next(iter(ours.parameters())).numpy().dtype
    xd = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    x = ac.tensor(xd, requires_grad=True)
    tx = torch.tensor(xd, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=rtol, atol=atol)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)
    for (name, b), tb in zip(ours.named_buffers(), theirs.buffers()):
        np.testing.assert_allclose(b.numpy(), tb.numpy(), rtol=rtol, atol=atol, err_msg=name)


@requires_torch
@pytest.mark.parametrize("activation,pooling", [("relu", "max"), ("tanh", "avg")])
def test_lenet5_matches_pytorch(activation, pooling):
    torch.manual_seed(0)
    theirs = torch_twins.lenet5(activation, pooling).double()
    ours = models.LeNet5(activation=activation, pooling=pooling, dtype=np.float64)
    _compare_with_torch(ours, theirs, (3, 1, 28, 28), 1e-10, 1e-12)
    theirs32 = torch_twins.lenet5(activation, pooling, input_size=32)
    ours32 = models.LeNet5(input_size=32, activation=activation, pooling=pooling)
    _compare_with_torch(ours32, theirs32, (2, 1, 32, 32), 1e-4, 1e-5)


@requires_torch
def test_conv1dnet_with_bn_matches_pytorch_in_training():
    torch.manual_seed(0)
    twin = torch_twins.conv1dnet(batch_norm=True).double()
    _compare_with_torch(models.Conv1DNet(batch_norm=True, dtype=np.float64), twin,
                        (8, 1, 40), 1e-9, 1e-11, train=True)


@requires_torch
@pytest.mark.parametrize("train", [True, False])
def test_cifar_resnet_matches_pytorch(train):
    torch.manual_seed(0)
    theirs = torch_twins.cifar_resnet(20).double()
    _compare_with_torch(models.CifarResNet(20, dtype=np.float64), theirs, (4, 3, 32, 32), 1e-9,
                        1e-11, train=train)


@requires_torch
def test_cifar_vgg_matches_pytorch_in_training():
    torch.manual_seed(0)
    theirs = torch_twins.cifar_vgg().double()
    _compare_with_torch(models.CifarVGG(dtype=np.float64), theirs, (4, 3, 32, 32), 1e-9, 1e-11,
                        train=True)


@requires_torch
def test_small_nets_keys_match_pytorch():
    for ours, theirs in [(models.LeNet1989(), torch_twins.lenet1989()),
                         (models.MLP(), torch_twins.mlp())]:
        ref = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert {k: v.shape for k, v in ours.state_dict().items()} == ref
        assert count(ours) == sum(p.numel() for p in theirs.parameters())


@requires_torch
def test_alexnet_matches_torchvision_layout():
    theirs = torch_twins.alexnet(num_classes=10)
    ours = models.AlexNet(num_classes=10)
    ref = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == ref
    assert list(ours.state_dict()) == list(ref)
    ours.load_state_dict(theirs.state_dict())
    ours.eval()
    theirs.eval()
    xd = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        ty = theirs(torch.from_numpy(xd)).numpy()
    with ac.no_grad():
        y = ours(ac.tensor(xd)).numpy()
    np.testing.assert_allclose(y, ty, rtol=1e-3, atol=1e-5)


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_copy_state_gives_the_twin_our_weights(dtype):
    """The direction the bench command uses: our weights (and dtype) into the PyTorch twin."""
    model = models.LeNet5(dtype=dtype)
    twin = torch_twins.copy_state(model.state_dict(), torch_twins.lenet5())
    assert all(p.dtype == getattr(torch, np.dtype(dtype).name) for p in twin.parameters())
    x = np.random.default_rng(1).standard_normal((3, 1, 28, 28)).astype(dtype)
    with ac.no_grad():
        ours = model(ac.tensor(x)).numpy()
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=RTOL[np.dtype(dtype)], atol=1e-5)
    with pytest.raises(RuntimeError):  # a twin of another shape refuses the weights
        torch_twins.copy_state(models.LeNet5(num_classes=26).state_dict(), torch_twins.lenet5())


def test_package_twins_and_bench_do_not_import_torch():
    import os
    import subprocess
    import sys

    code = ("import sys, autograd_cnn, autograd_cnn.bench, autograd_cnn.benchmarking, "
            "autograd_cnn.models.torch_twins; print('torch' in sys.modules)")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root).stdout
    assert out.strip() == "False"


def test_conv1dnet_learns_a_toy_problem():
    """A few plain SGD steps on two kinds of 1-D signals (sine vs square wave)."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4 * np.pi, 40)
    phase = rng.uniform(0, 2 * np.pi, (128, 1))
    y = rng.integers(0, 2, 128)
    x = np.where(y[:, None] == 0, np.sin(t + phase), np.sign(np.sin(t + phase)))
    x = (x + 0.1 * rng.standard_normal(x.shape)).astype(np.float32)[:, None, :]
    ac.manual_seed(0)
    model = models.Conv1DNet(num_classes=2, channels=8, batch_norm=True)
    threads = ac.get_num_threads()
    ac.set_num_threads(1)  # tiny convolutions: threads only add overhead on a busy machine
    try:
        _sgd_steps(model, x, y, rng)
    finally:
        ac.set_num_threads(threads)
    model.eval()
    with ac.no_grad():
        acc = (model(ac.tensor(x)).numpy().argmax(1) == y).mean()
    assert acc > 0.9


def _sgd_steps(model, x, y, rng):
    import autograd_cnn.functional as F
    first = None
    for step in range(40):
        idx = rng.choice(128, 32, replace=False)
        loss = F.cross_entropy(model(ac.tensor(x[idx])), y[idx])
        first = loss.item() if first is None else first
        model.zero_grad()
        loss.backward()
        with ac.no_grad():
            for p in model.parameters():
                p.data.sub_(0.1 * p.grad.data)
    assert first > 0.5
