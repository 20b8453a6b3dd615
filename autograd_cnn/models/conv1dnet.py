"""Small networks for 1-D signals such as MNIST-1D (Greydanus, 2020: 40-sample signals,
10 classes): ``Conv1DNet`` and the ``MLP`` baseline it is compared with."""
from .. import _geometry
from .. import nn
from ._common import make_activation

__all__ = ["Conv1DNet", "MLP"]


class Conv1DNet(nn.Module):
    """Three 1-D convolutions and a linear head (the layout of the MNIST-1D paper's CNN)::

        features:   Conv1d(C, ch, 5, s2, p1) -> act -> Conv1d(ch, ch, 3, s2, p1) -> act
                    -> Conv1d(ch, ch, 3, s2, p1) -> act           (40 -> 19 -> 10 -> 5 samples)
        classifier: Flatten -> Linear(ch * 5, num_classes)

    With ``batch_norm=True`` a BatchNorm1d follows each convolution. The paper reports about 94%
    test accuracy on MNIST-1D for this layout (an MLP reaches about 68%).
    """

    def __init__(self, num_classes=10, in_channels=1, input_length=40, channels=32,
                 activation="relu", batch_norm=False, dtype=None):
        super().__init__()
        specs = [(in_channels, 5), (channels, 3), (channels, 3)]
        layers = []
        length = input_length
        for c_in, k in specs:
            layers.append(nn.Conv1d(c_in, channels, k, stride=2, padding=1, dtype=dtype))
            if batch_norm:
                layers.append(nn.BatchNorm1d(channels, dtype=dtype))
            layers.append(make_activation(activation))
            length = _geometry.window_output_size(length, k, 2, 1)
            if length < 1:
                raise ValueError(f"Conv1DNet: input_length={input_length} is too short for "
                                 "three stride-2 convolutions")
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Flatten(),
                                        nn.Linear(channels * length, num_classes, dtype=dtype))

    def forward(self, x):
        if x.ndim == 2:  # (N, L) signals: add the channel axis
            x = x.reshape((x.shape[0], 1, x.shape[1]))
        return self.classifier(self.features(x))


class MLP(nn.Module):
    """Multilayer perceptron baseline: Flatten -> [Linear -> act] per hidden size -> Linear."""

    def __init__(self, input_size=40, hidden_sizes=(100, 100), num_classes=10,
                 activation="relu", dtype=None):
        super().__init__()
        layers = [nn.Flatten()]
        width = input_size
        for h in hidden_sizes:
            layers += [nn.Linear(width, h, dtype=dtype), make_activation(activation)]
            width = h
        layers.append(nn.Linear(width, num_classes, dtype=dtype))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
