"""LeNet family: ``LeNet5`` (LeCun et al., 1998) and ``LeNet1989`` (LeCun et al., 1989,
"Backpropagation applied to handwritten zip code recognition")."""
from .. import nn
from ._common import make_activation, make_pool

__all__ = ["LeNet5", "LeNet1989"]


class LeNet5(nn.Module):
    """LeNet-5 for 1x28x28 (MNIST; the first conv pads by 2 so the maps match the 32x32 original)
    or 1x32x32 inputs::

        features:   Conv2d(C, 6, 5) -> act -> pool 2x2 -> Conv2d(6, 16, 5) -> act -> pool 2x2
        classifier: Flatten -> Linear(400, 120) -> act -> Linear(120, 84) -> act
                    -> Linear(84, num_classes)

    ``activation='relu', pooling='max'`` (default) is the modern variant; ``activation='tanh',
    pooling='avg'`` the classic one (with full connections between the conv layers rather than
    the 1998 paper's hand-chosen partial table, and a plain linear output layer instead of RBF
    units). 61,706 parameters for 10 classes.
    """

    def __init__(self, num_classes=10, in_channels=1, input_size=28, activation="relu",
                 pooling="max", dtype=None):
        super().__init__()
        if input_size not in (28, 32):
            raise ValueError(f"LeNet5: input_size must be 28 or 32, got {input_size!r}")
        pad = 2 if input_size == 28 else 0
        self.input_size = input_size
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=pad, dtype=dtype), make_activation(activation),
            make_pool(pooling, 2),
            nn.Conv2d(6, 16, 5, dtype=dtype), make_activation(activation),
            make_pool(pooling, 2))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120, dtype=dtype), make_activation(activation),
            nn.Linear(120, 84, dtype=dtype), make_activation(activation),
            nn.Linear(84, num_classes, dtype=dtype))

    def forward(self, x):
        return self.classifier(self.features(x))


class LeNet1989(nn.Module):
    """The small 1989 zip-code network for 1x16x16 inputs, in the modern reading (as in Karpathy's
    reproduction): two 5x5 stride-2 convolutions with padding 2 (16x16 -> 8x8 -> 4x4, 12 maps
    each), a 30-unit hidden layer and ``num_classes`` outputs, tanh throughout::

        features:   Conv2d(1, 12, 5, s2, p2) -> tanh -> Conv2d(12, 12, 5, s2, p2) -> tanh
        classifier: Flatten -> Linear(192, 30) -> tanh -> Linear(30, num_classes)

    (The paper connected H2 to 8 of H1's 12 maps and gave every unit its own bias; here the
    connections are full and biases per channel.) 10,024 parameters for 10 classes.
    """

    def __init__(self, num_classes=10, in_channels=1, activation="tanh", dtype=None):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 12, 5, stride=2, padding=2, dtype=dtype),
            make_activation(activation),
            nn.Conv2d(12, 12, 5, stride=2, padding=2, dtype=dtype), make_activation(activation))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(12 * 4 * 4, 30, dtype=dtype), make_activation(activation),
            nn.Linear(30, num_classes, dtype=dtype))

    def forward(self, x):
        return self.classifier(self.features(x))
