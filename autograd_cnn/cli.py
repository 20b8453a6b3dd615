"""The command line: ``python -m autograd_cnn train | summary | bench | report``.

``train`` with no options trains LeNet-5 on the shipped 5,000 MNIST images (a seeded 4,500 / 500
train / validation split, early stopping on the validation loss) and reports the accuracy on the
official 10,000-image MNIST test set.  ``--json`` makes the last line of stdout one JSON object.

Every bad argument ends with a one-line ``autograd_cnn: error: ...`` on stderr and exit status 2.
"""
import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time

import numpy as np

import autograd_cnn as ac
from . import datasets as D
from ._interrupt import EXIT_STATUS, MESSAGE
from . import models, nn, optim
from .data import DataLoader, TensorDataset
from .serialization import load, save
from .summary import summary as summary_fn
from .training import EarlyStopping, evaluate, fit

__all__ = ["main", "build_parser", "build_model", "prepare_data", "MODELS", "DATASETS"]

#: model name -> what it is (built by ``build_model``)
MODELS = {
    "lenet5": "LeNet-5 (autograd_cnn.models.LeNet5), for 28x28 images",
    "smallcnn": "a small 2-conv CNN for 8x8 digits",
    "conv1d": "Conv1DNet (autograd_cnn.models.Conv1DNet), for MNIST-1D signals",
    "mlp": "MLP (autograd_cnn.models.MLP), any input flattened",
}
#: dataset name -> default model
DATASETS = {"mnist5k": "lenet5", "digits": "smallcnn", "mnist1d": "conv1d",
            "mnist_train60k": "lenet5"}
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULERS = ("cosine", "plateau", "none")
DEFAULTS = dict(dataset="mnist5k", optimizer="adam", lr=2e-3, momentum=0.9, weight_decay=0.0,
                batch_size=64, epochs=15, patience=5, seed=0, scheduler="cosine")


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage dump) and exit status 2."""

    def error(self, message):
        raise _UsageError(message)


def number_type(name, kind=int, minimum=None, above=None, maximum=None, as_list=False):
    """An argparse ``type=`` for option ``name``: the text as a ``kind`` (int or float) that is
    finite, >= ``minimum``, > ``above`` and <= ``maximum`` (each bound when given), or with
    ``as_list`` a comma-separated list of such numbers; anything else is a one-line error
    naming the option, e.g. ``--epochs must be >= 0, got -1``."""
    bounds = [f"{op} {bound:g}" for op, bound in ((">=", minimum), (">", above), ("<=", maximum))
              if bound is not None]
    if kind is float and maximum is None:
        bounds.append("finite")
    need = " and ".join(bounds)
    what = "an integer" if kind is int else "a number"

    def one(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {what}, got {text!r}") from None
        if not ((kind is int or math.isfinite(value)) and (minimum is None or value >= minimum)
                and (above is None or value > above) and (maximum is None or value <= maximum)):
            raise argparse.ArgumentTypeError(f"{name} must be {need}, got {text}")
        return value

    if not as_list:
        return one

    def many(text):
        values = [one(v) for v in text.split(",") if v.strip()]
        if not values:
            raise argparse.ArgumentTypeError(f"{name} needs a comma-separated list, got {text!r}")
        return values

    return many


def build_parser():
    p = _Parser(prog="autograd_cnn", description="Train and inspect small CNNs.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    t = sub.add_parser("train", help="train a model and report its test accuracy")
    t.add_argument("--model", choices=sorted(MODELS), help="default: by dataset "
                   "(lenet5 for MNIST, smallcnn for digits, conv1d for mnist1d)")
    t.add_argument("--dataset", choices=sorted(DATASETS), default=DEFAULTS["dataset"],
                   help="a shipped dataset (mnist_train60k needs --data-dir or "
                        "$AUTOGRAD_CNN_DATA)")
    t.add_argument("--data-dir", help="a directory with MNIST-format IDX files "
                   "(train-images-idx3-ubyte[.gz], ...; e.g. Fashion-MNIST), or holding "
                   "mnist_train60k.npz with --dataset mnist_train60k")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default=DEFAULTS["optimizer"])
    t.add_argument("--lr", type=number_type("--lr", float, above=0), default=None,
                   help=f"learning rate (default {DEFAULTS['lr']} for adam/adamw, "
                        "0.05 for sgd, 1e-3 for rmsprop)")
    t.add_argument("--scheduler", choices=SCHEDULERS, default=DEFAULTS["scheduler"],
                   help="learning-rate schedule: cosine annealing to 0 over --epochs (default), "
                        "reduce on validation plateau, or constant")
    t.add_argument("--momentum", type=number_type("--momentum", float, minimum=0),
                   default=DEFAULTS["momentum"], help="for sgd / rmsprop")
    t.add_argument("--weight-decay", type=number_type("--weight-decay", float, minimum=0),
                   default=DEFAULTS["weight_decay"])
    t.add_argument("--batch-size", type=number_type("--batch-size", minimum=1),
                   default=DEFAULTS["batch_size"])
    t.add_argument("--epochs", type=number_type("--epochs", minimum=0),
                   default=DEFAULTS["epochs"])
    t.add_argument("--patience", type=number_type("--patience", minimum=0),
                   default=DEFAULTS["patience"],
                   help="early-stopping patience in epochs (validation loss)")
    t.add_argument("--val-fraction", type=number_type("--val-fraction", float, minimum=0),
                   default=0.1)
    t.add_argument("--seed", type=number_type("--seed", minimum=0), default=DEFAULTS["seed"])
    t.add_argument("--threads", type=number_type("--threads", minimum=1,
                                                 maximum=ac.backend.MAX_THREADS), default=None)
    t.add_argument("--save", metavar="PATH", help="write the trained model's state_dict here")
    t.add_argument("--checkpoint", metavar="PATH", help="write a training checkpoint each epoch")
    t.add_argument("--resume", metavar="PATH", help="resume from (and keep writing) this "
                   "training checkpoint")
    t.add_argument("--json", action="store_true", help="end stdout with one JSON line")
    t.add_argument("--plot", metavar="PNG", help="loss and accuracy curves (needs matplotlib)")
    t.add_argument("--quiet", action="store_true", help="no per-epoch output")
    t.add_argument("--report", metavar="HTML", help="write a one-page HTML report of the trained "
                   "model (needs matplotlib; see the report command)")
    t.add_argument("--distributed", action="store_true", help="data-parallel training over the "
                   "ranks of an MPI job: mpiexec -n 4 python -m autograd_cnn train "
                   "--distributed (--batch-size is the global batch; needs mpi4py)")
    s = sub.add_parser("summary", help="print a model's layers, output shapes and parameters")
    s.add_argument("model", choices=sorted(MODELS))
    s.add_argument("--input-shape", help="one sample's shape, comma-separated, e.g. 1,28,28 "
                   "(default: the model's usual input)")
    r = sub.add_parser("report", help="write a one-page HTML report (summary, curves, filters, "
                       "feature maps, Grad-CAM, confusion matrix) of a trained model")
    r.add_argument("--checkpoint", required=True, metavar="PATH",
                   help="a file written by train --checkpoint or --save")
    r.add_argument("--output", "-o", default="report.html", metavar="HTML")
    r.add_argument("--model", choices=sorted(MODELS), help="default: recorded in the checkpoint")
    r.add_argument("--dataset", choices=sorted(DATASETS),
                   help="default: recorded in the checkpoint")
    r.add_argument("--data-dir", help="as for train (default: recorded in the checkpoint)")
    r.add_argument("--images", type=number_type("--images", minimum=1, maximum=16), default=4,
                   help="test images shown with saliency and Grad-CAM")
    r.add_argument("--max-test", type=number_type("--max-test", minimum=1), default=None,
                   help="use only the first N test samples")
    sub.add_parser("bench", help="time the kernels and a LeNet-5 step against PyTorch "
                   "(bench --help)", add_help=False)
    from .onnx.command import add_parser as add_export_parser
    add_export_parser(sub)
    return p


# ------------------------------------------------------------------------------------ models
#: one sample's shape (no batch dimension) per model, for ``summary``
INPUT_SHAPES = {"lenet5": (1, 28, 28), "smallcnn": (1, 8, 8), "conv1d": (1, 40),
                "mlp": (1, 28, 28)}


def _small_cnn(num_classes=10):
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),     # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 32 x 2 x 2
        nn.Flatten(), nn.Linear(32 * 2 * 2, num_classes))


def build_model(name, input_shape=None, num_classes=10):
    """The model called ``name`` (see MODELS) for inputs of ``input_shape`` (without batch)."""
    if name == "lenet5":
        size = input_shape[-1] if input_shape is not None else 28
        if input_shape is not None and (len(input_shape) != 3 or input_shape[0] != 1
                                        or input_shape[1:] not in ((28, 28), (32, 32))):
            raise ValueError(f"lenet5 takes 1x28x28 or 1x32x32 images, got "
                             f"{'x'.join(map(str, input_shape))}; the mlp model takes any size")
        return models.LeNet5(num_classes=num_classes, input_size=size)
    if name == "smallcnn":
        if input_shape is not None and tuple(input_shape) != (1, 8, 8):
            raise ValueError(f"smallcnn takes 1x8x8 images, got "
                             f"{'x'.join(map(str, input_shape))}; the mlp model takes any size")
        return _small_cnn(num_classes)
    if name == "conv1d":
        length = input_shape[-1] if input_shape is not None else 40
        return models.Conv1DNet(num_classes=num_classes, input_length=length)
    if name == "mlp":
        features = int(np.prod(input_shape)) if input_shape is not None else 784
        return models.MLP(input_size=features, num_classes=num_classes)
    raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}")


# ------------------------------------------------------------------------------------ data
def _split(n, fraction, rng):
    perm = rng.permutation(n)
    k = int(round(n * fraction))
    return perm[k:], perm[:k]


def prepare_data(dataset, data_dir=None, val_fraction=0.1, seed=0):
    """(x_train, y_train, x_val, y_val, x_test, y_test) for a dataset name or an IDX directory.

    The validation part is a seeded random split of the training data (mnist5k: 4,500 / 500);
    digits, which has no separate test set, is split 80 / 20 into train / test first."""
    rng = np.random.default_rng(seed)
    if data_dir is not None and dataset != "mnist_train60k":
        tr, te = D.load("idx", "train", root=data_dir), D.load("idx", "test", root=data_dir)
    elif dataset == "mnist_train60k":
        tr, te = D.load("mnist_train60k", root=data_dir), D.load("mnist_test")
    elif dataset == "mnist5k":
        tr, te = D.load("mnist5k"), D.load("mnist_test")
    elif dataset == "mnist1d":
        tr, te = D.load("mnist1d", "train"), D.load("mnist1d", "test")
    elif dataset == "digits":
        d = D.load("digits")
        rest, test = _split(len(d), 0.2, rng)
        tr, te = D.Data(d.x[rest], d.y[rest]), D.Data(d.x[test], d.y[test])
    else:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {sorted(DATASETS)}")
    train, val = _split(len(tr), val_fraction, rng)
    return tr.x[train], tr.y[train], tr.x[val], tr.y[val], te.x, te.y


# ------------------------------------------------------------------------------------ train
def _num_classes(*label_sets):
    """Classes in the data: one more than the largest label (labels must be integers >= 0)."""
    labels = np.concatenate([np.asarray(y).ravel() for y in label_sets])
    if labels.dtype.kind not in "iu" or (labels.size and labels.min() < 0):
        raise _UsageError("the labels must be integers >= 0 (class indices)")
    return int(labels.max()) + 1 if labels.size else 0


def _check_output_path(option, path):
    """Fail before training, not after it, when ``path`` cannot be written."""
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise _UsageError(f"{option} {path!r} is a directory; give a file name")
    if not os.path.isdir(parent):
        raise _UsageError(f"{option} {path!r}: directory {parent!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise _UsageError(f"{option} {path!r}: directory {parent!r} is not writable")


def _first_lines(exc, n=2):
    return "; ".join(line.strip() for line in str(exc).splitlines()[:n] if line.strip())


class _CosineOverEpochs(optim.lr_scheduler.CosineAnnealingLR):
    """The command's schedule: cosine annealing to 0 over this run's --epochs, also when it
    resumes a checkpoint written with another --epochs. The checkpoint's T_max gives way to this
    run's and the lr is put on the new curve at the epoch reached (the checkpoint's own curve
    would leave a longer run at lr 0 after its old end, then climb back up)."""

    def load_state_dict(self, state):
        T = self.T_max
        super().load_state_dict(state)
        if self.T_max != T:
            self.T_max, t, e = T, self.last_epoch, self.eta_min
            for g, b in zip(self.optimizer.param_groups, self.base_lrs):
                g["lr"] = e + (b - e) * (1 + math.cos(math.pi * t / T)) / 2
            self._last_lr = self._current()


def _check_resumable(path, model, optimizer):
    """--resume must name a training checkpoint (written by --checkpoint) for this model and
    optimizer (both get its state now; fit restores the rest)."""
    try:
        ck = load(path)
    except (OSError, ValueError) as exc:
        raise _UsageError(f"--resume {path!r}: {str(exc).splitlines()[0]}") from None
    if not isinstance(ck, dict) or ck.get("format") != "autograd_cnn-training":
        raise _UsageError(f"--resume {path!r} is not a training checkpoint (write one with "
                          "--checkpoint; a --save file holds only the model's weights)")
    try:
        model.load_state_dict(ck["model"])
    except (KeyError, ValueError) as exc:
        raise _UsageError(f"--resume {path!r} does not fit this model: "
                          f"{_first_lines(exc)}") from None
    # each optimizer's parameter groups carry its own hyperparameters (SGD's momentum, Adam's
    # betas): other keys mean another optimizer, whose state this one cannot continue from
    saved = ck.get("optimizer") or {}
    bookkeeping = {"params", "initial_lr"}  # (initial_lr: a scheduler's, not the optimizer's)
    theirs = {k for g in saved.get("param_groups", []) for k in g} - bookkeeping
    ours = {k for g in optimizer.param_groups for k in g} - bookkeeping
    if theirs != ours:
        raise _UsageError(f"--resume {path!r} was written with another optimizer (settings "
                          f"{sorted(theirs - ours)}, not {type(optimizer).__name__}'s "
                          f"{sorted(ours - theirs)}); resume with the --optimizer it was "
                          "written with")
    try:
        optimizer.load_state_dict(saved)
    except (KeyError, ValueError, TypeError) as exc:
        raise _UsageError(f"--resume {path!r}: its optimizer state does not fit: "
                          f"{_first_lines(exc)}") from None


@contextlib.contextmanager
def _sigint_deferred():
    """Ctrl-C inside the block is held back until the block is done (then raised as usual), so
    a file being written is finished rather than abandoned."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield  # not ours to change: another thread, or someone else's handler (or SIG_IGN)
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def _make_optimizer(name, params, lr, momentum, weight_decay):
    if name == "adam":
        return optim.Adam(params, lr=lr or DEFAULTS["lr"], weight_decay=weight_decay)
    if name == "adamw":
        return optim.AdamW(params, lr=lr or DEFAULTS["lr"], weight_decay=weight_decay)
    if name == "sgd":
        return optim.SGD(params, lr=lr or 0.05, momentum=momentum, weight_decay=weight_decay)
    return optim.RMSprop(params, lr=lr or 1e-3, momentum=momentum, weight_decay=weight_decay)


def run_train(args, out=None):
    """Train as the parsed ``args`` say; returns the result dict (also printed)."""
    out = out if out is not None else sys.stdout
    t_start = time.perf_counter()
    job = _start_distributed(args, out) if args.distributed else None
    if job is not None:
        out = job.out  # rank 0's output; the other ranks keep quiet
    try:
        xtr, ytr, xva, yva, xte, yte = prepare_data(args.dataset, args.data_dir,
                                                    args.val_fraction, args.seed)
    except (FileNotFoundError, ValueError) as exc:  # a bad --data-dir / missing file
        raise _UsageError(str(exc).splitlines()[0]) from None
    if len(ytr) == 0:
        raise _UsageError(f"--val-fraction {args.val_fraction} leaves no training samples (of "
                          f"{len(ytr) + len(yva)})")
    num_classes = _num_classes(ytr, yva, yte)
    if args.threads is not None:
        ac.set_num_threads(args.threads)
    ac.manual_seed(args.seed)
    model_name = args.model or DATASETS[args.dataset]
    dataset_label = (args.data_dir if args.data_dir is not None
                     and args.dataset != "mnist_train60k" else args.dataset)
    try:
        model = build_model(model_name, xtr.shape[1:], num_classes)
    except ValueError as exc:  # the data's images do not fit the model
        raise _UsageError(f"{dataset_label}: {exc}") from None
    optimizer = _make_optimizer(args.optimizer, model.parameters(), args.lr, args.momentum,
                                args.weight_decay)
    if args.resume is not None and os.path.exists(args.resume):
        _check_resumable(args.resume, model, optimizer)
    if job is not None:  # each rank its share of every epoch, with a model kept in step
        train_loader = job.train_loader(TensorDataset(xtr, ytr), args.seed)
        trained = job.wrap(model)
    else:
        train_loader = DataLoader(TensorDataset(xtr, ytr), batch_size=args.batch_size,
                                  shuffle=True, seed=args.seed)
        trained = model
    # under --distributed each rank evaluates its slice; evaluate sums the slices' figures
    eval_loader = job.eval_loader if job is not None else (
        lambda ds, batch_size: DataLoader(ds, batch_size=batch_size))
    val_loader = eval_loader(TensorDataset(xva, yva), 1000) if len(yva) else None
    test_loader = eval_loader(TensorDataset(xte, yte), 1000)
    early = EarlyStopping(patience=args.patience) if val_loader is not None else None
    scheduler = None
    if args.scheduler == "cosine" and args.epochs > 0:
        scheduler = _CosineOverEpochs(optimizer, T_max=args.epochs)
    elif args.scheduler == "plateau":
        scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.3, patience=1)
    checkpoint = args.resume or args.checkpoint
    loss_fn = nn.CrossEntropyLoss()
    if not args.quiet:
        out.write(f"Training {model_name} on {dataset_label}"
                  f": {len(ytr)} train / {len(yva)} validation / {len(yte)} test samples, "
                  f"{num_classes} classes, {args.optimizer} lr "
                  f"{optimizer.param_groups[0]['lr']:g}, batch {args.batch_size}, "
                  f"{ac.get_num_threads()} threads\n")
        out.flush()
    metadata = {"model_name": model_name, "dataset": args.dataset, "data_dir": args.data_dir,
                "seed": args.seed, "val_fraction": args.val_fraction, "num_classes": num_classes}
    history = fit(trained, loss_fn, optimizer, train_loader, val_loader, epochs=args.epochs,
                  scheduler=scheduler, early_stopping=early, checkpoint=checkpoint,
                  resume=args.resume is not None,
                  verbose=not args.quiet, stream=out, metadata=metadata)
    test_loss, test_acc = evaluate(model, test_loader, loss_fn, sum_over_ranks=job is not None)
    seconds = time.perf_counter() - t_start
    train_seconds = float(sum(history.train_time))
    images = int(sum(history.samples))
    result = {
        "model": model_name, "dataset": dataset_label,
        "test_accuracy": test_acc, "test_loss": test_loss,
        "epochs_run": history.epochs_run, "best_epoch": history.best_epoch,
        "best_val_loss": (min(v for v in history.val_loss if v is not None)
                          if any(v is not None for v in history.val_loss) else None),
        "seconds": seconds,
        "images_per_second": images / train_seconds if train_seconds > 0 else 0.0,
        "train_seconds": train_seconds, "images_trained": images,
        "threads": ac.get_num_threads(), "interrupted": history.interrupted,
    }
    if args.save:
        with _sigint_deferred():  # a second Ctrl-C must not cost the trained model
            save({"model": model.state_dict(), "model_name": model_name,
                  "metadata": metadata, "history": history.state_dict()}, args.save)
    if args.plot:
        try:
            history.plot(args.plot)
        except ImportError:
            sys.stderr.write(f"autograd_cnn: --plot needs matplotlib (pip install matplotlib); "
                             f"no plot written to {args.plot}\n")
    if args.report:
        from .viz.report import write_report
        write_report(args.report, model, xte, yte, xtr.shape[1:], history,
                     title=f"{model_name} on {dataset_label}",
                     facts=[("model", model_name), ("dataset", dataset_label)])
    if not args.quiet or not args.json:
        out.write(f"Test accuracy {test_acc:.4f} (loss {test_loss:.4f}) after "
                  f"{history.epochs_run} epochs (best {history.best_epoch}) in {seconds:.1f} s\n")
    if args.json:
        out.write(json.dumps(result) + "\n")
    out.flush()
    return result


def _start_distributed(args, out):
    """Join the MPI job of ``train --distributed`` (autograd_cnn/distributed/training.py)."""
    from .distributed import training as distributed_training  # mpi4py: only when asked for

    try:
        return distributed_training.start_cli_job(args, out)
    except (ImportError, ValueError) as exc:
        raise _UsageError(str(exc).splitlines()[0]) from None


def _rank_exit(status):
    """``status``; as one rank of a train --distributed job, a failure aborts every rank (the
    others would wait for this one forever)."""
    process_group = sys.modules.get("autograd_cnn.distributed.process_group")
    return process_group.exit_status(status) if process_group is not None else status


def run_summary(args, out=None):
    out = out if out is not None else sys.stdout
    shape = INPUT_SHAPES[args.model]
    if args.input_shape is not None:
        try:
            shape = tuple(int(v) for v in args.input_shape.split(","))
        except ValueError:
            raise _UsageError(f"--input-shape must be comma-separated integers, got "
                              f"{args.input_shape!r}") from None
        if not shape or min(shape) < 1:
            raise _UsageError(f"--input-shape needs positive dimensions, got "
                              f"{args.input_shape!r}")
    try:
        text = summary_fn(build_model(args.model, shape), shape)
    except ValueError as exc:  # an input shape the model cannot take
        raise _UsageError(str(exc).splitlines()[0]) from None
    except MemoryError:
        raise _UsageError(f"--input-shape {args.input_shape}: too large to trace through "
                          f"{args.model} in this machine's memory") from None
    if text is not None:
        out.write(str(text).rstrip("\n") + "\n")
    return 0


def _raise_usage(message):
    raise _UsageError(message)


def _require_plot(what):
    """Fail before any work when matplotlib (the plot extra) is missing."""
    from .viz._mpl import require_matplotlib
    try:
        require_matplotlib(what)
    except ImportError as exc:
        raise _UsageError(str(exc)) from None


def main(argv=None):
    """Entry point of ``python -m autograd_cnn`` and ``autograd-cnn``; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":  # the bench command parses its own options
        from . import bench  # here, not at the top: bench imports number_type from this module

        return bench.main(argv[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise _UsageError("choose a command: train, summary, bench, export or report (try --help)")
        if args.command == "train":
            if args.resume and args.checkpoint and args.resume != args.checkpoint:
                raise _UsageError("--resume and --checkpoint name different files; give one")
            if args.data_dir is not None and not os.path.isdir(args.data_dir):
                raise _UsageError(f"--data-dir {args.data_dir!r} is not a directory")
            if not 0 <= args.val_fraction < 1:
                raise _UsageError(f"--val-fraction must be in [0, 1), got {args.val_fraction}")
            if args.report:
                _require_plot("--report")
            for option in ("save", "checkpoint", "plot", "report"):
                if getattr(args, option):
                    _check_output_path("--" + option, getattr(args, option))
            if args.resume:
                _check_output_path("--resume", args.resume)  # it is written each epoch
            run_train(args)
            return 0
        if args.command == "summary":
            return run_summary(args)
        if args.command == "export":
            from .onnx.command import run_export
            return run_export(args)
        if args.command == "report":
            _require_plot("report")
            _check_output_path("--output", args.output)
            from .viz.report import run_report
            return run_report(args, _raise_usage)
        return 0
    except _UsageError as exc:
        sys.stderr.write(f"autograd_cnn: error: {exc}\n")
        return _rank_exit(2)
    except KeyboardInterrupt:  # Ctrl-C before training started, or a second one after it
        sys.stderr.write(MESSAGE)
        return _rank_exit(EXIT_STATUS)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
