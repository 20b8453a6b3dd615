"""ResNet for CIFAR-sized images (He et al., 2016, "Deep residual learning for image
recognition", section 4.2): ``6n + 2`` layers in three stages of 16, 32 and 64 channels on 3x32x32
inputs; ResNet-20 is ``n = 3``::

    stem:    Conv2d(3, 16, 3, p1) -> BatchNorm2d -> ReLU                          (16 x 32 x 32)
    layer1:  n BasicBlocks, 16 channels                                           (16 x 32 x 32)
    layer2:  n BasicBlocks, 32 channels, the first with stride 2                  (32 x 16 x 16)
    layer3:  n BasicBlocks, 64 channels, the first with stride 2                  (64 x  8 x  8)
    head:    AdaptiveAvgPool2d(1) -> Flatten -> Linear(64, num_classes)

A BasicBlock is ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` with 3x3 convolutions;
where a block changes the shape, its shortcut is a 1x1 stride-2 convolution with batch norm (the
paper's option B; its CIFAR models used option A, zero-padded identity shortcuts). Parameter names
follow torchvision's ResNet (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``,
``fc``), so a PyTorch model written the same way shares its state dict. ResNet-20 has 272,474
parameters for 10 classes.
"""
from .. import nn
from ..functional import relu

__all__ = ["BasicBlock", "CifarResNet"]


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a residual connection."""

    def __init__(self, in_channels, channels, stride=1, dtype=None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False,
                               dtype=dtype)
        self.bn1 = nn.BatchNorm2d(channels, dtype=dtype)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False, dtype=dtype)
        self.bn2 = nn.BatchNorm2d(channels, dtype=dtype)
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False, dtype=dtype),
                nn.BatchNorm2d(channels, dtype=dtype))
        else:
            self.downsample = None

    def forward(self, x):
        out = relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return relu(out + shortcut)


class CifarResNet(nn.Module):
    """ResNet of ``depth = 6n + 2`` layers (20, 32, 44, 56, 110 in the paper) for 3x32x32 inputs;
    ``widths`` are the three stages' channel counts."""

    def __init__(self, depth=20, num_classes=10, in_channels=3, widths=(16, 32, 64), dtype=None):
        super().__init__()
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 with n >= 1 (8, 14, 20, 32, "
                             f"...), got {depth!r}")
        if len(widths) != 3:
            raise ValueError(f"CifarResNet: widths must give 3 stage widths, got {widths!r}")
        blocks = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False, dtype=dtype)
        self.bn1 = nn.BatchNorm2d(widths[0], dtype=dtype)
        stages, c_in = [], widths[0]
        for i, width in enumerate(widths):
            stage = []
            for b in range(blocks):
                stride = 2 if i > 0 and b == 0 else 1
                stage.append(BasicBlock(c_in, width, stride, dtype=dtype))
                c_in = width
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], num_classes, dtype=dtype)

    def forward(self, x):
        x = relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.avgpool(x)
        return self.fc(x.reshape((x.shape[0], x.shape[1])))
