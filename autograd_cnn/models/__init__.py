"""Ready-made networks and a small registry used by the command line::

    model = autograd_cnn.models.get_model("lenet5", num_classes=10)
    shape = autograd_cnn.models.default_input_shape("lenet5")      # (1, 28, 28)

Registry names: 'lenet5' (ReLU/max), 'lenet5_classic' (tanh/avg), 'lenet1989', 'conv1dnet',
'mlp', 'alexnet', 'resnet20' (CIFAR ResNet-20), 'vgg_cifar' (a small VGG with batch norm).
"""
from .alexnet import AlexNet
from .conv1dnet import MLP, Conv1DNet
from .lenet import LeNet1989, LeNet5
from .resnet import CifarResNet
from .vgg import CifarVGG

__all__ = ["LeNet5", "LeNet1989", "Conv1DNet", "MLP", "AlexNet", "CifarResNet", "CifarVGG",
           "get_model",
           "available_models", "default_input_shape"]


def _lenet5(input_shape=None, **kw):
    if input_shape is not None:
        kw.setdefault("in_channels", input_shape[0])
        kw.setdefault("input_size", input_shape[-1])
    return LeNet5(**kw)


def _lenet5_classic(input_shape=None, **kw):
    kw.setdefault("activation", "tanh")
    kw.setdefault("pooling", "avg")
    return _lenet5(input_shape, **kw)


def _lenet1989(input_shape=None, **kw):
    if input_shape is not None:
        kw.setdefault("in_channels", input_shape[0])
    return LeNet1989(**kw)


def _conv1dnet(input_shape=None, **kw):
    if input_shape is not None:
        kw.setdefault("in_channels", input_shape[0] if len(input_shape) == 2 else 1)
        kw.setdefault("input_length", input_shape[-1])
    return Conv1DNet(**kw)


def _mlp(input_shape=None, **kw):
    if input_shape is not None:
        size = 1
        for s in input_shape:
            size *= s
        kw.setdefault("input_size", size)
    return MLP(**kw)


def _alexnet(input_shape=None, **kw):
    return AlexNet(**kw)


def _resnet20(input_shape=None, **kw):
    if input_shape is not None:
        kw.setdefault("in_channels", input_shape[0])
    return CifarResNet(20, **kw)


def _vgg_cifar(input_shape=None, **kw):
    if input_shape is not None:
        kw.setdefault("in_channels", input_shape[0])
        kw.setdefault("input_size", input_shape[-1])
    return CifarVGG(**kw)


# name -> (builder, default input shape of one sample)
_REGISTRY = {
    "lenet5": (_lenet5, (1, 28, 28)),
    "lenet5_classic": (_lenet5_classic, (1, 28, 28)),
    "lenet1989": (_lenet1989, (1, 16, 16)),
    "conv1dnet": (_conv1dnet, (1, 40)),
    "mlp": (_mlp, (1, 40)),
    "alexnet": (_alexnet, (3, 224, 224)),
    "resnet20": (_resnet20, (3, 32, 32)),
    "vgg_cifar": (_vgg_cifar, (3, 32, 32)),
}


def available_models():
    """Names accepted by :func:`get_model`."""
    return sorted(_REGISTRY)


def _entry(name):
    key = str(name).lower().replace("-", "_")
    if key not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    return _REGISTRY[key]


def get_model(name, input_shape=None, **kwargs):
    """Build the model ``name`` (case-insensitive); ``input_shape`` (one sample, no batch axis)
    adapts input channels/size where the model allows it; other keyword arguments go to the
    model's constructor (e.g. ``num_classes``, ``dtype``)."""
    builder, _ = _entry(name)
    return builder(tuple(input_shape) if input_shape is not None else None, **kwargs)


def default_input_shape(name):
    """The usual input shape of one sample for model ``name``, e.g. (1, 28, 28) for 'lenet5'."""
    return _entry(name)[1]
