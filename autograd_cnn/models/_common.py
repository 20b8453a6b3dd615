"""Choosing activations and pooling layers by name, shared by the model definitions."""
from .. import nn

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                "leaky_relu": nn.LeakyReLU}


def make_activation(activation):
    """A fresh activation module from a name ('relu', 'tanh', 'sigmoid', 'leaky_relu') or a
    Module subclass."""
    if isinstance(activation, type) and issubclass(activation, nn.Module):
        return activation()
    if activation in _ACTIVATIONS:
        return _ACTIVATIONS[activation]()
    raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)} or an nn.Module "
                     f"subclass, got {activation!r}")


def make_pool(pooling, size):
    if pooling == "max":
        return nn.MaxPool2d(size, size)
    if pooling == "avg":
        return nn.AvgPool2d(size, size)
    raise ValueError(f"pooling must be 'max' or 'avg', got {pooling!r}")
