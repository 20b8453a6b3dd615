"""A small PyTorch-style script (an autoencoder in the style of the DCGAN and VAE examples)
written against ``torch`` names and run with only its imports switched to autograd_cnn: lazy
layers, transposed convolutions, GroupNorm, GELU, Dropout2d, BCELoss, Adagrad and OneCycleLR
together, and it must learn."""
import numpy as np

import autograd_cnn as torch  # the one changed line per import
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn.optim.lr_scheduler import OneCycleLR


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.LazyConv2d(8, 3, stride=2, padding=1), nn.GroupNorm(2, 8),
                                 nn.GELU(), nn.Dropout2d(0.1),
                                 nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.SiLU())
        self.dec = nn.Sequential(nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1,
                                                    output_padding=1), nn.LayerNorm([8, 4, 4]),
                                 nn.GELU(approximate="tanh"),
                                 nn.LazyConvTranspose2d(1, 4, stride=2, padding=1))

    def forward(self, x):
        return torch.sigmoid(self.dec(self.enc(F.pad(x, (0, 0, 0, 0), "constant"))))


def _blobs(n, rng):
    """8x8 images of one bright square each, in [0, 1]."""
    imgs = np.zeros((n, 1, 8, 8), np.float32)
    rows, cols = rng.integers(0, 5, n), rng.integers(0, 5, n)
    for i in range(n):  # data preparation, not the model
        imgs[i, 0, rows[i]:rows[i] + 4, cols[i]:cols[i] + 4] = 1.0
    return imgs


def test_pytorch_style_autoencoder_learns():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    data = torch.tensor(_blobs(64, rng))
    model = AutoEncoder()
    model(data[:2])  # dry run: the lazy layers read their input sizes
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.05)
    epochs, steps = 30, 4
    scheduler = OneCycleLR(optimizer, max_lr=0.2, epochs=epochs, steps_per_epoch=steps,
                           cycle_momentum=False)
    criterion = nn.BCELoss()
    losses = []
    for epoch in range(epochs):
        model.train()
        for b in range(steps):
            x = data[b * 16:(b + 1) * 16]
            optimizer.zero_grad()
            loss = criterion(model(x), x)
            loss.backward()
            optimizer.step()
            scheduler.step()
        model.eval()
        with torch.no_grad():
            losses.append(F.binary_cross_entropy(model(data), data).item())
    assert losses[-1] < 0.6 * losses[0], losses
    assert np.isfinite(losses).all()
