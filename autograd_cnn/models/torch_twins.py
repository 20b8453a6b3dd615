"""PyTorch twins of the models in this folder: the same layers, parameter names and shapes, built
with ``torch.nn`` so our results can be checked against PyTorch's and our speed compared with it.

One set, shared by the tests (tests/test_models.py), the benchmark suites (benchmarks/) and the
``bench`` command. PyTorch is optional: this module imports it only when a twin is built, so
``import autograd_cnn`` never loads torch; ``import_torch()`` says whether it is installed::

    torch = import_torch()                    # None without PyTorch
    twin = lenet5()                           # random weights, like ours at construction
    copy_state(model.state_dict(), twin)      # ... or exactly our model's weights and dtype
"""
import numpy as np

__all__ = ["import_torch", "copy_state", "lenet5", "lenet1989", "conv1dnet", "mlp", "alexnet",
           "cifar_resnet", "cifar_vgg"]


def import_torch():
    """The ``torch`` module, or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _nn():
    import torch.nn

    return torch.nn


def _activation(tn, name):
    return {"relu": tn.ReLU, "tanh": tn.Tanh}[name]()


def _sequential_model(flatten_before=None, **parts):
    """A torch Module whose children are ``parts`` and whose forward runs them in order (our
    models' ``features`` / ``avgpool`` / ``classifier`` layout), flattening all but the batch
    axis before the part named ``flatten_before``."""
    import torch

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for name, part in parts.items():
                self.add_module(name, part)

        def forward(self, x):
            for name, part in self.named_children():
                x = part(torch.flatten(x, 1) if name == flatten_before else x)
            return x

    return Twin()


def copy_state(state, twin):
    """Load ``state`` (our model's ``state_dict()``: parameters and buffers, Tensors or arrays) into
    its PyTorch ``twin``, converted to our dtype first; returns the twin. PyTorch raises
    RuntimeError when names or shapes differ."""
    import torch

    state = {name: np.asarray(a) for name, a in state.items()}  # Tensors or ndarrays
    dtypes = {a.dtype for a in state.values() if a.dtype.kind == "f"}
    if len(dtypes) == 1:
        twin.to(getattr(torch, dtypes.pop().name))
    twin.load_state_dict({name: torch.from_numpy(a) for name, a in state.items()})
    return twin


def lenet5(activation="relu", pooling="max", input_size=28, num_classes=10):
    """Twin of ``models.LeNet5`` (the first convolution pads by 2 for 28x28 inputs, 0 for 32x32)."""
    tn = _nn()
    pool = {"max": tn.MaxPool2d, "avg": tn.AvgPool2d}[pooling]
    pad = 2 if input_size == 28 else 0
    return _sequential_model(
        features=tn.Sequential(
            tn.Conv2d(1, 6, 5, padding=pad), _activation(tn, activation), pool(2, 2),
            tn.Conv2d(6, 16, 5), _activation(tn, activation), pool(2, 2)),
        classifier=tn.Sequential(
            tn.Flatten(), tn.Linear(400, 120), _activation(tn, activation),
            tn.Linear(120, 84), _activation(tn, activation), tn.Linear(84, num_classes)))


def lenet1989(num_classes=10):
    """Twin of ``models.LeNet1989``."""
    tn = _nn()
    return _sequential_model(
        features=tn.Sequential(tn.Conv2d(1, 12, 5, 2, 2), tn.Tanh(),
                               tn.Conv2d(12, 12, 5, 2, 2), tn.Tanh()),
        classifier=tn.Sequential(tn.Flatten(), tn.Linear(192, 30), tn.Tanh(),
                                 tn.Linear(30, num_classes)))


def conv1dnet(batch_norm=False, channels=32, num_classes=10):
    """Twin of ``models.Conv1DNet`` for 40-sample signals (40 -> 19 -> 10 -> 5)."""
    tn = _nn()
    layers = []
    for c_in, k in [(1, 5), (channels, 3), (channels, 3)]:
        layers.append(tn.Conv1d(c_in, channels, k, stride=2, padding=1))
        if batch_norm:
            layers.append(tn.BatchNorm1d(channels))
        layers.append(tn.ReLU())
    return _sequential_model(
        features=tn.Sequential(*layers),
        classifier=tn.Sequential(tn.Flatten(), tn.Linear(channels * 5, num_classes)))


def mlp(input_size=40, hidden_sizes=(100, 100), num_classes=10):
    """Twin of ``models.MLP``."""
    tn = _nn()
    layers, width = [tn.Flatten()], input_size
    for h in hidden_sizes:
        layers += [tn.Linear(width, h), tn.ReLU()]
        width = h
    return _sequential_model(layers=tn.Sequential(*layers, tn.Linear(width, num_classes)))


def alexnet(num_classes=1000):
    """Twin of ``models.AlexNet``: torchvision's ``alexnet`` layout."""
    tn = _nn()
    return _sequential_model(
        flatten_before="classifier",
        features=tn.Sequential(
            tn.Conv2d(3, 64, 11, 4, 2), tn.ReLU(True), tn.MaxPool2d(3, 2),
            tn.Conv2d(64, 192, 5, padding=2), tn.ReLU(True), tn.MaxPool2d(3, 2),
            tn.Conv2d(192, 384, 3, padding=1), tn.ReLU(True),
            tn.Conv2d(384, 256, 3, padding=1), tn.ReLU(True),
            tn.Conv2d(256, 256, 3, padding=1), tn.ReLU(True), tn.MaxPool2d(3, 2)),
        avgpool=tn.AdaptiveAvgPool2d((6, 6)),
        classifier=tn.Sequential(
            tn.Dropout(0.5), tn.Linear(9216, 4096), tn.ReLU(True),
            tn.Dropout(0.5), tn.Linear(4096, 4096), tn.ReLU(True),
            tn.Linear(4096, num_classes)))


def cifar_resnet(depth=20, num_classes=10, in_channels=3, widths=(16, 32, 64)):
    """Twin of ``models.CifarResNet`` (torchvision's names: conv1, bn1, layer1.0.conv1, ...,
    layer2.0.downsample.0, fc)."""
    import torch

    tn = torch.nn

    class BasicBlock(tn.Module):
        def __init__(self, c_in, c, stride):
            super().__init__()
            self.conv1 = tn.Conv2d(c_in, c, 3, stride, 1, bias=False)
            self.bn1 = tn.BatchNorm2d(c)
            self.conv2 = tn.Conv2d(c, c, 3, 1, 1, bias=False)
            self.bn2 = tn.BatchNorm2d(c)
            self.downsample = (tn.Sequential(tn.Conv2d(c_in, c, 1, stride, bias=False),
                                             tn.BatchNorm2d(c))
                               if stride != 1 or c_in != c else None)

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    class ResNet(tn.Module):
        def __init__(self):
            super().__init__()
            blocks = (depth - 2) // 6
            self.conv1 = tn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
            self.bn1 = tn.BatchNorm2d(widths[0])
            c_in = widths[0]
            for i, width in enumerate(widths):
                stage = []
                for b in range(blocks):
                    stage.append(BasicBlock(c_in, width, 2 if i > 0 and b == 0 else 1))
                    c_in = width
                self.add_module("layer%d" % (i + 1), tn.Sequential(*stage))
            self.avgpool = tn.AdaptiveAvgPool2d(1)
            self.fc = tn.Linear(widths[-1], num_classes)

        def forward(self, x):
            x = torch.relu(self.bn1(self.conv1(x)))
            x = self.avgpool(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(x, 1))

    return ResNet()


def cifar_vgg(config=(32, 32, "M", 64, 64, "M", 128, 128, "M"), num_classes=10, in_channels=3,
              input_size=32):
    """Twin of ``models.CifarVGG``."""
    tn = _nn()
    layers, c_in, size = [], in_channels, input_size
    for item in config:
        if item == "M":
            layers.append(tn.MaxPool2d(2))
            size //= 2
        else:
            layers += [tn.Conv2d(c_in, item, 3, padding=1, bias=False), tn.BatchNorm2d(item),
                       tn.ReLU()]
            c_in = item
    return _sequential_model(
        features=tn.Sequential(*layers),
        classifier=tn.Sequential(tn.Flatten(), tn.Linear(c_in * size * size, num_classes)))
