"""The training loop: ``fit`` (epochs of mini-batch updates with validation, early stopping,
checkpoints and progress output) and ``evaluate`` (loss and accuracy over a loader).

One epoch of ``fit``::

    model.train()
    for xb, yb in train_loader:            # a fresh random order each epoch if it shuffles
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)      # mean loss of the batch
        loss.backward()
        optimizer.step()
    val_loss, val_acc = evaluate(model, val_loader, loss_fn)   # model.eval(), no_grad
    scheduler.step()  (or scheduler.step(val_loss) for ReduceLROnPlateau)
    early_stopping.step(...)  -> stop?  (restores the best epoch's weights at the end)
    save checkpoint

Checkpoints hold everything a run depends on (model and optimizer state, scheduler, early
stopping, history, the epoch, the random state of the training loader and of the global generator),
so ``fit(..., checkpoint=path, resume=True)`` continues an interrupted run and ends with the same
weights as an uninterrupted one.  Ctrl-C (KeyboardInterrupt) stops training cleanly: the state at
the end of the last completed epoch is saved and the History is returned (``interrupted=True``).

As one rank of several (``autograd_cnn.distributed.init()`` under ``mpiexec``) ``fit`` keeps the
ranks in step (validation figures summed over the ranks' slices of the validation set): see
``autograd_cnn/distributed/training.py``. A sampler with ``set_epoch`` (a
``DistributedSampler``) is told each epoch's number.
"""
import copy
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import serialization
from .autograd import no_grad
from .data._rng import generator_state, set_generator_state
from .distributed import training as _distributed
from .optim.lr_scheduler import ReduceLROnPlateau
from .random import default_generator
from .tensor import Tensor, as_array

__all__ = ["fit", "evaluate", "History", "EarlyStopping"]


# ---------------------------------------------------------------------------------- helpers
def _copy_state(state):
    """A deep copy of a (nested) state dict whose arrays/Tensors become independent ndarrays."""
    if isinstance(state, dict):
        return type(state)((k, _copy_state(v)) for k, v in state.items())
    if isinstance(state, (list, tuple)):
        return type(state)(_copy_state(v) for v in state)
    if isinstance(state, np.ndarray):
        return state.copy()
    if isinstance(state, Tensor):
        return state.numpy().copy()
    return copy.deepcopy(state)


def _batch_stats(out, target):
    """(number of samples, number correct or None) for a batch of logits and integer targets."""
    out, target = as_array(out), as_array(target)
    n = out.shape[0] if out.ndim else 1
    if out.ndim == 2 and target.ndim == 1 and np.issubdtype(target.dtype, np.integer):
        return n, int(np.count_nonzero(out.argmax(axis=1) == target))
    return n, None


def _set_mode(model, training):
    fn = getattr(model, "train", None)
    if callable(fn):
        fn(training)


def _is_training(model):
    return bool(getattr(model, "training", True))


def evaluate(model, loader, loss_fn=None, sum_over_ranks=False):
    """Mean loss (``loss_fn`` averaged over samples, None without a loss) and accuracy (the
    fraction of argmax predictions equal to integer targets; None when not a classifier) of
    ``model`` over ``loader``, in eval mode and without building graphs.  Returns
    ``(loss, accuracy)``; the model's train/eval mode is restored afterwards.

    ``sum_over_ranks=True``, as one rank of a data-parallel job (a collective: every rank calls
    it): ``loader`` holds this rank's part of the data (a ``DistributedShardSampler``), and the
    sample counts, loss sums and correct counts are summed over the ranks before the means, so
    every rank returns the figures of the whole data set."""
    was_training = _is_training(model)
    _set_mode(model, False)
    total, loss_sum, correct, have_acc = 0, 0.0, 0, True
    try:
        with no_grad():
            for xb, yb in loader:
                out = model(xb)
                n, c = _batch_stats(out, yb)
                if loss_fn is not None:
                    loss_sum += float(as_array(loss_fn(out, yb))) * n
                total += n
                if c is None:
                    have_acc = False
                else:
                    correct += c
    finally:
        _set_mode(model, was_training)
    sync = _distributed.current() if sum_over_ranks else None
    if sync is not None:  # a rank with an empty slice still takes part
        total, loss_sum, correct, partial = sync.sum(total, loss_sum, correct, not have_acc)
        total, correct, have_acc = int(total), int(correct), partial == 0
    if total == 0:
        raise ValueError("evaluate: the loader produced no samples")
    return (loss_sum / total if loss_fn is not None else None,
            correct / total if have_acc else None)


# ---------------------------------------------------------------------------------- history
@dataclass
class History:
    """Per-epoch records of a ``fit`` run (lists indexed by epoch - 1)."""
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    epoch_time: list = field(default_factory=list)   # seconds: training + validation
    train_time: list = field(default_factory=list)   # seconds: the training batches only
    samples: list = field(default_factory=list)      # training samples seen
    images_per_second: list = field(default_factory=list)
    best_epoch: int = 0          # 1-based epoch with the best monitored value (0: none yet)
    epochs_run: int = 0
    stopped_early: bool = False
    interrupted: bool = False

    _LISTS = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time",
              "train_time", "samples", "images_per_second")

    def state_dict(self):
        # None (e.g. no validation loader) is stored as NaN: checkpoints hold plain floats
        d = {k: [(math.nan if v is None else float(v)) for v in getattr(self, k)]
             for k in self._LISTS}
        d.update(best_epoch=self.best_epoch, epochs_run=self.epochs_run,
                 stopped_early=self.stopped_early, interrupted=self.interrupted)
        return d

    def load_state_dict(self, d):
        for k in self._LISTS:
            setattr(self, k, [None if v != v else v for v in d[k]])  # NaN -> None
        for k in ("best_epoch", "epochs_run", "stopped_early", "interrupted"):
            setattr(self, k, type(getattr(self, k))(d[k]))

    def as_dict(self):
        d = {k: list(getattr(self, k)) for k in self._LISTS}
        d.update(best_epoch=self.best_epoch, epochs_run=self.epochs_run,
                 stopped_early=self.stopped_early, interrupted=self.interrupted)
        return d

    def plot(self, path):
        """Loss and accuracy curves as a PNG, the best epoch marked (needs matplotlib; the
        figure is :func:`autograd_cnn.viz.plot_history`)."""
        from .viz.figures import plot_history
        plot_history(self).savefig(path, dpi=100)


# ---------------------------------------------------------------------------------- early stop
class EarlyStopping:
    """Stop when the monitored value has not improved for ``patience`` epochs.

    ``monitor`` is one of 'val_loss', 'val_acc', 'train_loss', 'train_acc'; ``mode`` 'min' or
    'max' (improvement means ``value < best - min_delta`` resp. ``value > best + min_delta``).
    With ``restore_best`` the model's parameters and buffers of the best epoch (a deep copy of its
    ``state_dict()``) are loaded back when training ends."""

    MONITORS = ("val_loss", "val_acc", "train_loss", "train_acc")

    def __init__(self, patience=5, min_delta=0.0, monitor="val_loss", mode="min",
                 restore_best=True):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if not isinstance(min_delta, (int, float)) or min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta must be a number >= 0, got {min_delta!r}")
        if monitor not in self.MONITORS:
            raise ValueError(f"EarlyStopping: monitor must be one of {self.MONITORS}, "
                             f"got {monitor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.monitor, self.mode = patience, min_delta, monitor, mode
        self.restore_best = restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = 0
        self.num_bad_epochs = 0
        self.best_state = None

    def improved(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value, epoch, model=None):
        """Record epoch ``epoch``'s value; True when training should stop."""
        value = float(value)
        if self.improved(value):
            self.best, self.best_epoch, self.num_bad_epochs = value, epoch, 0
            if self.restore_best and model is not None:
                self.best_state = _copy_state(model.state_dict())
            return False
        self.num_bad_epochs += 1
        return self.num_bad_epochs > self.patience

    def restore(self, model):
        """Load the best epoch's weights into ``model`` (if they were kept)."""
        if self.restore_best and self.best_state is not None:
            model.load_state_dict(_copy_state(self.best_state))

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch,
                "num_bad_epochs": self.num_bad_epochs, "best_state": self.best_state}

    def load_state_dict(self, d):
        self.best, self.best_epoch = float(d["best"]), int(d["best_epoch"])
        self.num_bad_epochs = int(d["num_bad_epochs"])
        self.best_state = d["best_state"]


# ---------------------------------------------------------------------------------- progress
class _Progress:
    """A live bar per epoch on a terminal; one line per epoch otherwise; silent when off."""

    def __init__(self, verbose, stream=None):
        self.stream = stream if stream is not None else sys.stdout
        self.on = bool(verbose)
        isatty = getattr(self.stream, "isatty", None)
        self.live = self.on and callable(isatty) and isatty()
        self._last = 0.0

    def batch(self, epoch, epochs, done, total, seen, elapsed, loss):
        if not self.live:
            return
        now = time.perf_counter()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        width = 24
        filled = int(width * done / max(total, 1))
        bar = "=" * filled + (">" if filled < width else "") + "." * (width - filled - 1)
        rate = seen / elapsed if elapsed > 0 else 0.0
        self.stream.write(f"\rEpoch {epoch}/{epochs} [{bar[:width]}] {done}/{total} "
                          f"{rate:,.0f} img/s loss {loss:.4f}")
        self.stream.flush()

    def epoch_end(self, epoch, epochs, rec):
        if not self.on:
            return
        parts = [f"Epoch {epoch}/{epochs}", f"loss {rec['train_loss']:.4f}"]
        if rec["train_acc"] is not None:
            parts.append(f"acc {rec['train_acc']:.4f}")
        if rec["val_loss"] is not None:
            parts.append(f"val_loss {rec['val_loss']:.4f}")
        if rec["val_acc"] is not None:
            parts.append(f"val_acc {rec['val_acc']:.4f}")
        parts.append(f"{rec['epoch_time']:.2f}s ({rec['images_per_second']:,.0f} img/s)")
        line = " - ".join(parts)
        self.stream.write(("\r\x1b[2K" if self.live else "") + line + "\n")
        self.stream.flush()

    def message(self, text):
        if self.on:
            self.stream.write(text + "\n")
            self.stream.flush()


# ---------------------------------------------------------------------------------- fit
def _snapshot(model, optimizer, scheduler, early_stopping, history, train_loader, epoch, stop,
              metadata=None):
    """Everything needed to continue training after ``epoch`` completed epochs (copies), and the
    caller's ``metadata`` (what model and data these are, for tools that read the file)."""
    return {
        "format": "autograd_cnn-training", "epoch": epoch, "stopped": bool(stop),
        "model": _copy_state(model.state_dict()),
        "optimizer": _copy_state(optimizer.state_dict()),
        "scheduler": _copy_state(scheduler.state_dict()) if scheduler is not None else None,
        "early_stopping": (_copy_state(early_stopping.state_dict())
                           if early_stopping is not None else None),
        "history": history.state_dict(),
        "train_loader": (_copy_state(train_loader.state_dict())
                         if hasattr(train_loader, "state_dict") else None),
        "global_rng": generator_state(default_generator()),
        "metadata": copy.deepcopy(metadata),
    }


def _restore(ck, model, optimizer, scheduler, early_stopping, history, train_loader):
    if ck.get("format") != "autograd_cnn-training":
        raise ValueError("fit: the checkpoint is not a training checkpoint made by fit")
    model.load_state_dict(ck["model"])
    optimizer.load_state_dict(ck["optimizer"])
    if scheduler is not None and ck.get("scheduler") is not None:
        scheduler.load_state_dict(ck["scheduler"])
    if early_stopping is not None and ck.get("early_stopping") is not None:
        early_stopping.load_state_dict(ck["early_stopping"])
    history.load_state_dict(ck["history"])
    if ck.get("train_loader") is not None and hasattr(train_loader, "load_state_dict"):
        train_loader.load_state_dict(ck["train_loader"])
    if ck.get("global_rng") is not None:
        set_generator_state(default_generator(), ck["global_rng"])
    return int(ck["epoch"]), bool(ck.get("stopped", False))


def _batch_count(loader):
    """Batches per epoch, for the progress line; 0 when unknown (a stream without a length)."""
    try:
        return len(loader)
    except TypeError:
        return 0


def _call_callbacks(callbacks, epoch, logs, model):
    stop = False
    for cb in callbacks:
        fn = getattr(cb, "on_epoch_end", None)
        result = fn(epoch, logs, model) if fn is not None else cb(epoch, logs)
        stop = stop or result is True
    return stop


def fit(model, loss_fn, optimizer, train_loader, val_loader=None, epochs=10, scheduler=None,
        early_stopping=None, callbacks=(), checkpoint=None, resume=False, verbose=True,
        stream=None, metadata=None):
    """Train ``model`` for up to ``epochs`` epochs; returns a :class:`History`.

    ``scheduler`` steps once per epoch (``ReduceLROnPlateau`` gets the validation loss, or the
    training loss without a validation loader).  ``early_stopping`` (an :class:`EarlyStopping`)
    may end training early and restore the best weights.  ``callbacks``: callables
    ``cb(epoch, logs)`` or objects with ``on_epoch_end(epoch, logs, model)``; returning True stops
    training.  ``checkpoint``: a path written (atomically) after every epoch; with ``resume=True``
    an existing checkpoint there is loaded first and training continues after its epoch.
    ``verbose``: progress output to ``stream`` (default stdout).  ``metadata``: a dict of plain
    values saved in each checkpoint under "metadata" (the command line records the model and
    dataset names there, so ``report --checkpoint`` can rebuild both)."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    if early_stopping is not None and early_stopping.monitor.startswith("val") \
            and val_loader is None:
        raise ValueError(f"fit: early stopping monitors {early_stopping.monitor!r} but no "
                         "val_loader was given")
    history = History()
    sync = _distributed.current()  # None in a single process
    core = _distributed.unwrap(model)  # what checkpoints hold: never a DDP wrapper
    if sync is not None and not sync.is_main:
        verbose, checkpoint_writer = False, False
    else:
        checkpoint_writer = checkpoint is not None
    progress = _Progress(verbose, stream)
    start_epoch, stopped = 0, False
    if checkpoint is not None and resume and os.path.exists(checkpoint):
        start_epoch, stopped = _restore(serialization.load(checkpoint), core, optimizer,
                                        scheduler, early_stopping, history, train_loader)
        progress.message(f"Resumed from {checkpoint} after epoch {start_epoch}")
    set_epoch = getattr(getattr(train_loader, "sampler", None), "set_epoch", None)

    def save(snap):
        if checkpoint_writer:
            serialization.save(snap, checkpoint)

    last = _snapshot(core, optimizer, scheduler, early_stopping, history, train_loader,
                     start_epoch, stopped, metadata) if checkpoint_writer else None
    epoch = start_epoch
    try:
        while not stopped and epoch < epochs:
            epoch += 1
            if set_epoch is not None:
                set_epoch(epoch - 1)
            t0 = time.perf_counter()
            _set_mode(model, True)
            n_batches = _batch_count(train_loader)
            seen, loss_sum, correct, have_acc = 0, 0.0, 0, True
            for i, (xb, yb) in enumerate(train_loader, 1):
                optimizer.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                loss.backward()
                optimizer.step()
                n, c = _batch_stats(out, yb)
                loss_sum += float(as_array(loss)) * n
                seen += n
                if c is None:
                    have_acc = False
                else:
                    correct += c
                progress.batch(epoch, epochs, i, n_batches, seen, time.perf_counter() - t0,
                               loss_sum / seen)
            if sync is not None:  # the epoch's figures over all ranks
                seen, loss_sum, correct, partial = sync.sum(seen, loss_sum, correct, not have_acc)
                seen, correct, have_acc = int(seen), int(correct), partial == 0
            if seen == 0:
                raise ValueError("fit: the training loader produced no batches")
            train_time = time.perf_counter() - t0
            rec = {"train_loss": loss_sum / seen, "train_acc": correct / seen if have_acc else None,
                   "val_loss": None, "val_acc": None,
                   "lr": float(optimizer.param_groups[0]["lr"])}
            if val_loader is not None:
                rec["val_loss"], rec["val_acc"] = evaluate(model, val_loader, loss_fn,
                                                           sum_over_ranks=sync is not None)
            rec["epoch_time"] = time.perf_counter() - t0
            rec["train_time"], rec["samples"] = train_time, seen
            rec["images_per_second"] = seen / train_time if train_time > 0 else 0.0
            if sync is not None:  # rank 0's numbers drive every rank's decisions
                rec = sync.from_main(rec)
            for k, v in rec.items():
                getattr(history, k).append(v)
            history.epochs_run = epoch
            # the best epoch, by the early-stopping objective (else validation / training loss)
            if early_stopping is not None:
                value = rec[early_stopping.monitor]
                if value is None:
                    raise ValueError(f"fit: early stopping monitors {early_stopping.monitor!r}, "
                                     "which this model/loader does not produce")
                stopped = early_stopping.step(value, epoch, core)
                history.best_epoch = early_stopping.best_epoch
                if stopped:
                    history.stopped_early = True
            else:
                key = "val_loss" if val_loader is not None else "train_loss"
                values = getattr(history, key)
                history.best_epoch = int(np.argmin(values)) + 1
            if scheduler is not None:
                if isinstance(scheduler, ReduceLROnPlateau):
                    scheduler.step(rec["val_loss"] if rec["val_loss"] is not None
                                   else rec["train_loss"])
                else:
                    scheduler.step()
            progress.epoch_end(epoch, epochs, rec)
            if _call_callbacks(callbacks, epoch, dict(rec), model):
                stopped = True
            if sync is not None:
                stopped = sync.from_main(stopped)
                history.stopped_early = stopped and history.stopped_early
            if checkpoint_writer:
                last = _snapshot(core, optimizer, scheduler, early_stopping, history,
                                 train_loader, epoch, stopped, metadata)
                save(last)
        if history.stopped_early:
            progress.message(f"Early stopping after epoch {epoch}: best epoch "
                             f"{history.best_epoch} ({early_stopping.monitor} "
                             f"{early_stopping.best:.4f})")
    except KeyboardInterrupt:
        history.interrupted = True
        if checkpoint_writer:
            save(last)  # the state after the last completed epoch: resumable exactly
        progress.message(("\n" if progress.live else "") + f"Interrupted during epoch {epoch}"
                         + (f"; checkpoint of epoch {last['epoch']} saved to {checkpoint}"
                            if checkpoint_writer else ""))
    if early_stopping is not None:
        early_stopping.restore(core)
    return history
