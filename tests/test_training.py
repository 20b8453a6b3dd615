"""The training loop: History, evaluate, early stopping, progress output, checkpoints/resume."""
import io
import os

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import nn
from autograd_cnn.data import DataLoader, TensorDataset
from autograd_cnn.optim import SGD
from autograd_cnn.optim.lr_scheduler import StepLR
from autograd_cnn.training import EarlyStopping, History, evaluate, fit


def _blobs(n=240, seed=0):
    """Three Gaussian blobs in 4-D: an easy, learnable classification problem."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, 4)) * 3
    y = rng.integers(0, 3, n)
    x = (centers[y] + rng.standard_normal((n, 4))).astype(np.float32)
    return x, y.astype(np.int64)


def _setup(seed=0, lr=0.05, batch=16):
    ac.manual_seed(seed)
    x, y = _blobs()
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = SGD(model.parameters(), lr=lr, momentum=0.9)
    train = DataLoader(TensorDataset(x[:200], y[:200]), batch_size=batch, shuffle=True, seed=seed)
    val = DataLoader(TensorDataset(x[200:], y[200:]), batch_size=64)
    return model, opt, train, val


def _params(model):
    return [p.numpy().copy() for p in model.parameters()]


def test_fit_learns_and_records_history():
    model, opt, train, val = _setup()
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=5, verbose=False)
    assert isinstance(h, History) and h.epochs_run == 5
    for k in ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time", "lr"):
        assert len(getattr(h, k)) == 5
    assert h.train_loss[-1] < h.train_loss[0]
    assert h.val_acc[-1] > 0.9
    assert 1 <= h.best_epoch <= 5 and h.val_loss[h.best_epoch - 1] == min(h.val_loss)
    loss, acc = evaluate(model, val, nn.CrossEntropyLoss())
    assert acc == pytest.approx(h.val_acc[-1]) and loss == pytest.approx(h.val_loss[-1])


def test_evaluate_matches_numpy():
    model, _, _, val = _setup()
    x, y = _blobs()
    with ac.no_grad():
        logits = model(ac.tensor(x[200:])).numpy().astype(np.float64)
    z = logits - logits.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    ref_loss = -logp[np.arange(len(z)), y[200:]].mean()
    ref_acc = np.mean(logits.argmax(1) == y[200:])
    loss, acc = evaluate(model, DataLoader(TensorDataset(x[200:], y[200:]), batch_size=7),
                         nn.CrossEntropyLoss())
    assert loss == pytest.approx(ref_loss, rel=1e-5) and acc == pytest.approx(ref_acc)


class _Fake:
    """A stand-in model with a state dict, to test early stopping alone."""

    def __init__(self):
        self.w = np.zeros(2)

    def state_dict(self):
        return {"w": self.w}

    def load_state_dict(self, d):
        self.w[...] = d["w"]


def test_early_stopping_rule_and_restore():
    es = EarlyStopping(patience=2, min_delta=0.05)
    m = _Fake()
    values = [1.0, 0.8, 0.78, 0.9, 0.79]
    stops = []
    for epoch, v in enumerate(values, 1):
        m.w += 1  # weights change every epoch, in place
        stops.append(es.step(v, epoch, m))
    # 0.78 is not better than 0.8 by min_delta; three bad epochs in a row exceed patience 2
    assert stops == [False, False, False, False, True]
    assert es.best_epoch == 2 and es.best == 0.8
    es.restore(m)
    np.testing.assert_array_equal(m.w, [2, 2])  # a deep copy, not the live array
    es2 = EarlyStopping(patience=0, monitor="val_acc", mode="max")
    assert es2.step(0.5, 1) is False and es2.step(0.5, 2) is True
    with pytest.raises(ValueError, match="monitor"):
        EarlyStopping(monitor="accuracy")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)


def test_fit_early_stopping_restores_best():
    model, opt, train, val = _setup(lr=0.5)  # a large lr: noisy validation loss
    es = EarlyStopping(patience=1)
    seen = []
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=30, early_stopping=es,
            callbacks=[lambda e, logs: seen.append(_params(model))], verbose=False)
    assert h.stopped_early and h.epochs_run < 30
    assert h.best_epoch == es.best_epoch and h.epochs_run - h.best_epoch == 2
    for a, b in zip(_params(model), seen[h.best_epoch - 1]):
        np.testing.assert_array_equal(a, b)


def test_callback_can_stop():
    model, opt, train, val = _setup()
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=10,
            callbacks=[lambda e, logs: e >= 2], verbose=False)
    assert h.epochs_run == 2


def test_progress_output(capsys):
    model, opt, train, val = _setup()
    fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=2, verbose=False)
    assert capsys.readouterr().out == ""
    buf = io.StringIO()
    fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=3, stream=buf)
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3 and all("val_acc" in ln and "img/s" in ln for ln in lines)
    assert "\r" not in buf.getvalue()

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=1, stream=tty)
    assert "\r" in tty.getvalue() and "img/s" in tty.getvalue() and "13/13" in tty.getvalue()


def test_scheduler_steps_per_epoch():
    model, opt, train, val = _setup()
    sched = StepLR(opt, step_size=2, gamma=0.5)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=5, scheduler=sched,
            verbose=False)
    assert h.lr == [0.05, 0.05, 0.025, 0.025, 0.0125]


def test_resume_equals_uninterrupted(tmp_path):
    ck = str(tmp_path / "ck.npz")
    model, opt, train, val = _setup(seed=3)
    sched = StepLR(opt, step_size=2, gamma=0.7)
    full = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=6, scheduler=sched,
               early_stopping=EarlyStopping(patience=50), verbose=False)
    want = _params(model)

    model, opt, train, val = _setup(seed=3)
    sched = StepLR(opt, step_size=2, gamma=0.7)
    fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=3, scheduler=sched,
        early_stopping=EarlyStopping(patience=50), checkpoint=ck, verbose=False)
    assert os.path.exists(ck)

    model, opt, train, val = _setup(seed=99)  # fresh objects, different seed: all from ck
    sched = StepLR(opt, step_size=2, gamma=0.7)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=6, scheduler=sched,
            early_stopping=EarlyStopping(patience=50), checkpoint=ck, resume=True,
            verbose=False)
    assert h.epochs_run == 6 and h.best_epoch == full.best_epoch
    np.testing.assert_array_equal(h.train_loss, full.train_loss)
    for a, b in zip(_params(model), want):
        np.testing.assert_array_equal(a, b)


def test_keyboard_interrupt_saves_and_resumes(tmp_path):
    ck = str(tmp_path / "ck.npz")
    model, opt, train, val = _setup(seed=5)
    fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=4, verbose=False)
    want = _params(model)

    model, opt, train, val = _setup(seed=5)

    def interrupt(epoch, logs):
        if epoch == 2:
            raise KeyboardInterrupt

    buf = io.StringIO()
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=4, callbacks=[interrupt],
            checkpoint=ck, stream=buf)
    assert h.interrupted and "Interrupted" in buf.getvalue() and os.path.exists(ck)
    assert ac.load(ck)["epoch"] == 1  # the last completed, consistent state

    model, opt, train, val = _setup(seed=5)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=4, checkpoint=ck,
            resume=True, verbose=False)
    assert h.epochs_run == 4 and not h.interrupted
    for a, b in zip(_params(model), want):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments():
    model, opt, train, val = _setup()
    with pytest.raises(ValueError, match="epochs"):
        fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=-1)
    with pytest.raises(ValueError, match="val_loader"):
        fit(model, nn.CrossEntropyLoss(), opt, train, None, epochs=1,
            early_stopping=EarlyStopping())


def test_history_state_roundtrip_without_validation(tmp_path):
    model, opt, train, _ = _setup()
    h = fit(model, nn.CrossEntropyLoss(), opt, train, None, epochs=2, verbose=False)
    assert h.val_loss == [None, None] and h.best_epoch == int(np.argmin(h.train_loss)) + 1
    ac.save(h.state_dict(), tmp_path / "h.npz")
    h2 = History()
    h2.load_state_dict(ac.load(tmp_path / "h.npz"))
    assert h2.as_dict() == h.as_dict()
