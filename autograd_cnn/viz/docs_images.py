"""Regenerate the pictures shown in the README (needs matplotlib)::

    python -m autograd_cnn.viz.docs_images [OUT_DIR]      # default docs/images

Writes ``conv_arithmetic.png`` (a 3x3 convolution with stride 2 and padding 1 on a 5x5 input),
``receptive_field.png`` and ``grad_cam.png`` (LeNet-5 after 3 epochs on the bundled 5,000 MNIST
images, seeded: about 15 s on 2 cores). Every file stays well under 100 KB.
"""
import os
import sys

import numpy as np

__all__ = ["make_images"]


def _train_lenet(epochs=3, seed=0):
    import autograd_cnn as ac
    from autograd_cnn import cli, nn, optim
    from autograd_cnn.data import DataLoader, TensorDataset
    xtr, ytr, xva, yva, xte, yte = cli.prepare_data("mnist5k", seed=seed)
    ac.manual_seed(seed)
    model = cli.build_model("lenet5", xtr.shape[1:], 10)
    loader = DataLoader(TensorDataset(xtr, ytr), batch_size=64, shuffle=True, seed=seed)
    ac.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=2e-3), loader,
           epochs=epochs, verbose=False)
    return model, xte, yte


def make_images(out_dir="docs/images", dpi=80):
    """Write the README's pictures into ``out_dir``; returns their paths."""
    from . import conv_arithmetic, plot_attribution, plot_receptive_field, plot_window
    os.makedirs(out_dir, exist_ok=True)
    paths = []

    def save(fig, name):
        path = os.path.join(out_dir, name)
        fig.savefig(path, dpi=dpi)
        paths.append(path)

    save(plot_window(conv_arithmetic((5, 5), 3, stride=2, padding=1), (0, 1)),
         "conv_arithmetic.png")
    model, x, y = _train_lenet()
    save(plot_receptive_field(model, x[:256], "features.3", figsize=(7, 3.5)),
         "receptive_field.png")
    pick = np.array([0, 1, 2])
    save(plot_attribution(model, x[pick], "features.3", labels=y[pick], figsize=(6.0, 4.5)),
         "grad_cam.png")
    return paths


if __name__ == "__main__":
    for p in make_images(*sys.argv[1:2]):
        print(f"{p}: {os.path.getsize(p) / 1024:.0f} KB")
