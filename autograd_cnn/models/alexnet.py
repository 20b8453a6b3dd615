"""AlexNet (Krizhevsky et al., 2012) in torchvision's single-tower layout, for 3x224x224 inputs:

    features:   Conv2d(3, 64, 11, s4, p2) -> ReLU -> MaxPool(3, 2)
                Conv2d(64, 192, 5, p2) -> ReLU -> MaxPool(3, 2)
                Conv2d(192, 384, 3, p1) -> ReLU -> Conv2d(384, 256, 3, p1) -> ReLU
                Conv2d(256, 256, 3, p1) -> ReLU -> MaxPool(3, 2)          (256 x 6 x 6)
    avgpool:    AdaptiveAvgPool2d((6, 6))
    classifier: Dropout -> Linear(9216, 4096) -> ReLU -> Dropout -> Linear(4096, 4096) -> ReLU
                -> Linear(4096, num_classes)

61,100,840 parameters for 1000 classes; parameter names match torchvision's, so its weights load
with ``load_state_dict``. (The paper's two-GPU version had 96/256/384/384/256 channels and local
response normalisation; torchvision's variant is the one people actually use.)
"""
from .. import nn

__all__ = ["AlexNet"]


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000, dropout=0.5, dtype=None):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2, dtype=dtype), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 192, 5, padding=2, dtype=dtype), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(192, 384, 3, padding=1, dtype=dtype), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1, dtype=dtype), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1, dtype=dtype), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * 6 * 6, 4096, dtype=dtype), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(4096, 4096, dtype=dtype), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes, dtype=dtype))

    def forward(self, x):
        x = self.avgpool(self.features(x))
        x = x.reshape((x.shape[0], x.numel() // x.shape[0]))  # flatten(x, 1)
        return self.classifier(x)
