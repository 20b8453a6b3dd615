"""Activation functions in ``torch.nn.functional`` style (dim arguments like PyTorch).
The ops themselves live in ``autograd_cnn/ops/activation.py``."""
from ..ops.activation import relu, leaky_relu, sigmoid, tanh, softmax, log_softmax

__all__ = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "log_softmax"]
