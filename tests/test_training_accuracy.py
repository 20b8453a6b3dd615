"""End-to-end accuracy with fixed seeds: convolution and pooling must learn real data.

* a small CNN on the UCI 8x8 digits (80/20 split): >= 97 % test accuracy in a few seconds;
* Conv1DNet on MNIST-1D: >= 90 % test accuracy, while an MLP of similar size stays < 75 %
  (the spatial structure is what the convolution exploits).
The LeNet-5 / MNIST target runs through the train command in tests/test_cli.py.
"""
import pytest

import autograd_cnn as ac
from autograd_cnn import models, nn
from autograd_cnn.backend import set_blas_threads
from autograd_cnn.cli import _small_cnn, prepare_data
from autograd_cnn.data import DataLoader, TensorDataset
from autograd_cnn.optim import Adam
from autograd_cnn.optim.lr_scheduler import CosineAnnealingLR
from autograd_cnn.training import EarlyStopping, evaluate, fit


@pytest.fixture(autouse=True)
def _one_thread():
    """These small models gain nothing from threads, and on a shared 2-core machine idle OpenMP /
    OpenBLAS workers spinning against each other slow a step down many times; results do not
    depend on the thread count."""
    old = ac.get_num_threads()
    ac.set_num_threads(1)
    set_blas_threads(1)
    yield
    ac.set_num_threads(old)


def _train(model, xtr, ytr, xva, yva, xte, yte, epochs, lr, batch, patience, seed,
           cosine=False):
    opt = Adam(model.parameters(), lr=lr)
    sched = CosineAnnealingLR(opt, T_max=epochs) if cosine else None
    train = DataLoader(TensorDataset(xtr, ytr), batch_size=batch, shuffle=True, seed=seed)
    val = DataLoader(TensorDataset(xva, yva), batch_size=1000)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=epochs, scheduler=sched,
            early_stopping=EarlyStopping(patience=patience), verbose=False)
    _, acc = evaluate(model, DataLoader(TensorDataset(xte, yte), batch_size=1000))
    return acc, h


def test_digits_cnn_reaches_97_percent():
    xtr, ytr, xva, yva, xte, yte = prepare_data("digits", seed=0)
    assert len(yte) == 359 and len(ytr) + len(yva) == 1438  # 80 / 20, then 10 % validation
    ac.manual_seed(0)
    acc, h = _train(_small_cnn(), xtr, ytr, xva, yva, xte, yte, epochs=20, lr=3e-3, batch=32,
                    patience=5, seed=0)
    print(f"digits CNN: test accuracy {acc:.4f} after {h.epochs_run} epochs")
    assert acc >= 0.97


def _n_params(model):
    return sum(p.numpy().size for p in model.parameters())


def test_mnist1d_conv_beats_mlp():
    xtr, ytr, xva, yva, xte, yte = prepare_data("mnist1d", seed=0)
    recipe = dict(epochs=20, lr=1e-2, batch=64, patience=20, seed=0, cosine=True)
    ac.manual_seed(0)
    conv = models.Conv1DNet(batch_norm=True)
    conv_acc, hc = _train(conv, xtr, ytr, xva, yva, xte, yte, **recipe)
    ac.manual_seed(0)
    mlp = models.MLP(input_size=40, hidden_sizes=(64, 64))
    assert 0.5 < _n_params(mlp) / _n_params(conv) < 2  # similar capacity
    mlp_acc, hm = _train(mlp, xtr, ytr, xva, yva, xte, yte, **recipe)
    print(f"MNIST-1D: Conv1DNet {conv_acc:.4f} ({_n_params(conv)} parameters), "
          f"MLP {mlp_acc:.4f} ({_n_params(mlp)} parameters)")
    assert conv_acc >= 0.90
    assert mlp_acc < 0.75
