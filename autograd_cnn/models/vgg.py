"""VGG-style networks for CIFAR-sized images (Simonyan and Zisserman, 2015, with batch norm after
every convolution as is now usual): stacks of 3x3 convolutions, each followed by BatchNorm2d and
ReLU, with 2x2 max pooling between stages, and one linear layer on the flattened maps.

The default ``config`` is the small VGG that CIFAR tutorials train (six convolutions)::

    32, 32, M, 64, 64, M, 128, 128, M   on 3x32x32  ->  128 x 4 x 4  ->  Linear(2048, num_classes)

A number is a convolution with that many output channels, ``'M'`` a max pool. The convolutions
have no bias (batch norm's shift follows each one). 307,946 parameters for 10 classes.
"""
from .. import nn

__all__ = ["CifarVGG"]

SMALL_VGG = (32, 32, "M", 64, 64, "M", 128, 128, "M")


class CifarVGG(nn.Module):
    def __init__(self, config=SMALL_VGG, num_classes=10, in_channels=3, input_size=32,
                 dtype=None):
        super().__init__()
        layers, c_in, size = [], in_channels, input_size
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
                size //= 2
            elif isinstance(item, int) and item > 0:
                layers += [nn.Conv2d(c_in, item, 3, padding=1, bias=False, dtype=dtype),
                           nn.BatchNorm2d(item, dtype=dtype), nn.ReLU()]
                c_in = item
            else:
                raise ValueError(f"CifarVGG: config entries must be positive channel counts or "
                                 f"'M', got {item!r}")
        if size < 1:
            raise ValueError(f"CifarVGG: input_size={input_size} is too small for "
                             f"{config.count('M')} 2x2 poolings")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(),
                                        nn.Linear(c_in * size * size, num_classes, dtype=dtype))

    def forward(self, x):
        return self.classifier(self.features(x))
