"""Neural-network layers, in PyTorch's ``torch.nn`` style: :class:`Module` and
:class:`Parameter`, containers, layers, losses, and :mod:`~autograd_cnn.nn.init`."""
from . import init
from .activation import LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .containers import ModuleList, Sequential
from .conv import Conv1d, Conv2d
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .parameter import Parameter
from .pooling import (AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d,
                      AvgPool2d, MaxPool1d, MaxPool2d)

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Conv1d", "Conv2d",
           "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "BatchNorm1d", "BatchNorm2d", "ReLU",
           "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Flatten", "Dropout",
           "Identity", "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "BCEWithLogitsLoss",
           "init"]

# issue 15 (PyTorch porting): more layers, each in its own file
from .activation import (ELU, GELU, Hardsigmoid, Hardswish, Hardtanh, Mish, PReLU, ReLU6, SiLU,
                         Softplus)
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .dropout import Dropout1d, Dropout2d
from .lazy import (LazyBatchNorm1d, LazyBatchNorm2d, LazyConv1d, LazyConv2d, LazyConvTranspose1d,
                   LazyConvTranspose2d, LazyLinear, LazyModuleMixin, UninitializedBuffer,
                   UninitializedParameter)
from .loss import BCELoss, HuberLoss, SmoothL1Loss
from .normalization import GroupNorm, LayerNorm
from .pixelshuffle import PixelShuffle, PixelUnshuffle
from .containers import ModuleDict
from .instancenorm import InstanceNorm1d, InstanceNorm2d
from . import functional  # torch.nn.functional's path (after the layers it gathers from)
from . import utils  # torch.nn.utils's path: gradient clipping, parameters <-> vector

__all__ += ["GELU", "SiLU", "ConvTranspose1d", "ConvTranspose2d", "Dropout1d", "Dropout2d",
            "LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConvTranspose1d",
            "LazyConvTranspose2d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyModuleMixin",
            "UninitializedParameter", "UninitializedBuffer", "BCELoss", "LayerNorm",
            "GroupNorm", "PixelShuffle", "PixelUnshuffle", "utils", "Hardtanh", "ReLU6",
            "Hardsigmoid", "Hardswish", "ELU", "PReLU", "Mish", "Softplus",
            "SmoothL1Loss", "HuberLoss", "ModuleDict", "InstanceNorm1d", "InstanceNorm2d"]
