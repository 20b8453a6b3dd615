"""``python -m autograd_cnn bench``: our kernels timed next to PyTorch and the machine's FMA peak.

For each case (a convolution, a pooling layer, a LeNet-5 training step) and each thread count it
prints our median time, PyTorch's median time for the same call (when torch is importable, with
``torch.set_num_threads`` set to the same count), the ratio ours/PyTorch (below 1: we are faster),
the achieved rate, and for convolutions the share of the FMA peak that this command measures
itself, on the same threads and dtype, with the probe in csrc/probe (``_C.probe_fma_peak``).
NumPy's BLAS (used by our matmul, e.g. in the LeNet-5 step) is set to the same thread count too
when it is OpenBLAS.

How it times
    Every measurement is the median (``--stat min``: the minimum) of ``--repeat`` timed calls
    (``time.perf_counter``) after one untimed warm-up call.
    * ``forward``: the function called with grad mode off (no graph is recorded) in both libraries.
    * ``backward_data``: a forward with only the input requiring grad is run untimed, then only
      ``y.backward(g)`` is timed; this is the gradient with respect to the input.
    * ``backward_weight``: the same with only the weight requiring grad.
    * ``backward`` (pooling): the input requires grad, ``y.backward(g)`` is timed.
    * ``train_step`` (LeNet-5): forward, cross-entropy loss, backward and an SGD step, timed
      together; the rate is images per second.

What it counts
    Convolution FLOPs: 2 * N * C_out * out_pixels * (C_in / groups) * prod(kernel); each backward
    phase counts the same FLOPs as the forward. Pooling bytes: forward reads the input and writes
    the output; backward reads the output gradient and writes the input gradient.

JSON (``--json``): one document, a list of records with the fields
    case, description, phase, dtype, threads, isa, status ("ok", or "n/a: <why>"), ours_ms,
    torch_ms, ratio (ours_ms / torch_ms), unit ("GFLOP/s", "GB/s" or "img/s"), work (FLOPs,
    bytes or images per call), ours_rate, torch_rate, peak_gflops (probe, same threads and
    dtype; the better of a probe before and one after that thread count's cases), pct_peak
    (ours_rate / peak_gflops * 100, GFLOP/s cases only), repeat, stat ("median" or "min": what
    ours_ms / torch_ms are).
    Missing values are null.

A function that does not exist yet (or raises) makes its cases "n/a"; the command never crashes on
it. Keep runs short on shared machines: ``--cases`` picks cases by substring, ``--threads 1``.
"""
import argparse
import json
import math
import statistics
import sys
import time

import numpy as np

from ._geometry import window_output_size

__all__ = ["main", "CASES", "Timing"]

PHASES_CONV = ("forward", "backward_data", "backward_weight")
PHASES_POOL = ("forward", "backward")


class Case:
    """One benchmark problem: a name (what ``--cases`` matches), a human description, the kind of
    operation and its arguments (PyTorch's keyword names)."""

    def __init__(self, name, description, kind, **params):
        self.name, self.description, self.kind, self.params = name, description, kind, params


def _conv(name, desc, n, c_in, c_out, size, k, dims=2, **kw):
    return Case(name, desc, "conv%dd" % dims, n=n, c_in=c_in, c_out=c_out, size=size, k=k, **kw)


def _pool(name, desc, kind, n, c, size, k, stride, padding=0):
    return Case(name, desc, kind, n=n, c=c, size=size, k=k, stride=stride, padding=padding)


CASES = [
    _conv("conv3x3_64_56", "conv2d 3x3 64->64 56x56 N=8 pad 1", 8, 64, 64, 56, 3, padding=1),
    _conv("conv3x3s2_64to128_56", "conv2d 3x3 stride 2 64->128 56x56 N=8 pad 1", 8, 64, 128, 56,
          3, stride=2, padding=1),
    _conv("conv3x3d2_64_56", "conv2d 3x3 dilation 2 64->64 56x56 N=8 pad 2", 8, 64, 64, 56, 3,
          dilation=2, padding=2),
    _conv("lenet_conv1", "conv2d 5x5 1->6 32x32 N=64 (LeNet-5 conv1)", 64, 1, 6, 32, 5),
    _conv("lenet_conv2", "conv2d 5x5 6->16 14x14 N=64 (LeNet-5 conv2)", 64, 6, 16, 14, 5),
    _conv("alexnet_conv1", "conv2d 11x11 stride 4 3->64 224x224 N=8 pad 2", 8, 3, 64, 224, 11,
          stride=4, padding=2),
    _conv("conv1d_k7", "conv1d K=7 16->32 L=1024 N=32 pad 3", 32, 16, 32, 1024, 7, dims=1,
          padding=3),
    _conv("conv1d_k7d4", "conv1d K=7 dilation 4 16->32 L=1024 N=32 pad 12", 32, 16, 32, 1024, 7,
          dims=1, dilation=4, padding=12),
    _pool("maxpool2x2_lenet", "max_pool2d 2x2 s2 N=64 C=6 28x28", "max_pool2d", 64, 6, 28, 2, 2),
    _pool("avgpool2x2_lenet", "avg_pool2d 2x2 s2 N=64 C=6 28x28", "avg_pool2d", 64, 6, 28, 2, 2),
    _pool("maxpool2x2_112", "max_pool2d 2x2 s2 N=8 C=64 112x112", "max_pool2d", 8, 64, 112, 2, 2),
    _pool("avgpool2x2_112", "avg_pool2d 2x2 s2 N=8 C=64 112x112", "avg_pool2d", 8, 64, 112, 2, 2),
    _pool("maxpool3x3s2_112", "max_pool2d 3x3 s2 pad 1 N=8 C=64 112x112", "max_pool2d", 8, 64,
          112, 3, 2, 1),
    _pool("maxpool2x2_big", "max_pool2d 2x2 s2 N=32 C=64 112x112 (beyond cache)", "max_pool2d",
          32, 64, 112, 2, 2),
    _pool("avgpool2x2_big", "avg_pool2d 2x2 s2 N=32 C=64 112x112 (beyond cache)", "avg_pool2d",
          32, 64, 112, 2, 2),
    Case("lenet5_train", "LeNet-5 training step (forward, cross-entropy, backward, SGD) N=64 "
         "1x28x28", "train", n=64),
]


# ---------------------------------------------------------------------------------------------
# timing


class Timing:
    """How to time: `repeat` timed calls after one warm-up, summarised by `stat` ('median', the
    default, or 'min', the best call: less sensitive to other processes on a shared machine)."""

    def __init__(self, repeat=5, stat="median"):
        self.repeat, self.stat = repeat, stat


def _time_ms(setup, run, timing):
    """run(setup()) timed `timing.repeat` times after one untimed warm-up; the median (or min) in
    milliseconds. Only run() is inside the timed region."""
    run(setup())
    times = []
    for _ in range(timing.repeat):
        state = setup()
        t0 = time.perf_counter()
        run(state)
        times.append(time.perf_counter() - t0)
    best = min(times) if timing.stat == "min" else statistics.median(times)
    return best * 1e3


class _Lib:
    """The few things the timers need from a library (ours or PyTorch), so one timing routine
    serves both: make a tensor, turn grad recording off, run backward."""

    def __init__(self, name, module, functional, no_grad, tensor, submodules=()):
        self.name, self.module, self.F, self.no_grad, self.tensor = (
            name, module, functional, no_grad, tensor)
        self.submodules = submodules

    def fn(self, name):
        fn = getattr(self.F, name, None) if self.F is not None else None
        for sub in self.submodules:  # a function not (yet) re-exported by the package
            if fn is None:
                fn = getattr(_try_import(sub), name, None)
        if fn is None:
            raise _NotAvailable("%s.%s is missing" % (self.name, name))
        return fn


def _try_import(module):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        return None


class _NotAvailable(Exception):
    pass


def _ours():
    import autograd_cnn as acnn

    functional = getattr(acnn, "functional", None)
    no_grad = getattr(acnn, "no_grad", None)
    make = getattr(acnn, "tensor", None)
    if no_grad is None or make is None:
        raise _NotAvailable("autograd_cnn.tensor / no_grad are missing")
    return _Lib("autograd_cnn.functional", acnn, functional, no_grad,
                lambda a, rg=False: make(a, requires_grad=rg),
                ("autograd_cnn.functional.conv", "autograd_cnn.functional.pooling"))


def _torch_lib():
    try:
        import torch
        import torch.nn.functional as tf
    except ImportError:
        return None
    return _Lib("torch.nn.functional", torch, tf, torch.no_grad,
                lambda a, rg=False: torch.from_numpy(a).requires_grad_(rg))


def _phase_timer(lib, fname, arrays, kwargs, grad_of, g_np, timing):
    """Median ms of one phase. grad_of None: forward with grad mode off; otherwise the index of the
    argument in `arrays` that requires grad, and only y.backward(g) is timed."""
    fn = lib.fn(fname)
    if grad_of is None:
        args = [lib.tensor(a) for a in arrays]

        def run(_):
            with lib.no_grad():
                fn(*args, **kwargs)

        return _time_ms(lambda: None, run, timing)
    g = lib.tensor(g_np)

    def setup():
        args = [lib.tensor(a, i == grad_of) for i, a in enumerate(arrays)]
        return fn(*args, **kwargs)

    return _time_ms(setup, lambda y: y.backward(g), timing)


# ---------------------------------------------------------------------------------------------
# cases


def _conv_phases(case, dtype, rng):
    p = case.params
    dims = 2 if case.kind == "conv2d" else 1
    stride, padding, dilation = p.get("stride", 1), p.get("padding", 0), p.get("dilation", 1)
    out = window_output_size(p["size"], p["k"], stride, padding, padding, dilation)
    x = rng.standard_normal((p["n"], p["c_in"]) + (p["size"],) * dims).astype(dtype)
    w = (rng.standard_normal((p["c_out"], p["c_in"]) + (p["k"],) * dims)
         / math.sqrt(p["c_in"] * p["k"] ** dims)).astype(dtype)
    b = rng.standard_normal(p["c_out"]).astype(dtype)
    g = rng.standard_normal((p["n"], p["c_out"]) + (out,) * dims).astype(dtype)
    flops = 2 * p["n"] * p["c_out"] * out ** dims * p["c_in"] * p["k"] ** dims
    kwargs = dict(stride=stride, padding=padding, dilation=dilation)
    for phase, grad_of in zip(PHASES_CONV, (None, 0, 1)):
        yield phase, "GFLOP/s", flops, (case.kind, (x, w, b), kwargs, grad_of, g)


def _pool_phases(case, dtype, rng):
    p = case.params
    out = window_output_size(p["size"], p["k"], p["stride"], p["padding"], p["padding"])
    x = rng.standard_normal((p["n"], p["c"], p["size"], p["size"])).astype(dtype)
    g = rng.standard_normal((p["n"], p["c"], out, out)).astype(dtype)
    moved = (x.size + g.size) * x.itemsize
    kwargs = dict(kernel_size=p["k"], stride=p["stride"], padding=p["padding"])
    for phase, grad_of in zip(PHASES_POOL, (None, 0)):
        yield phase, "GB/s", moved, (case.kind, (x,), kwargs, grad_of, g)


def _time_op(lib, spec, timing):
    fname, arrays, kwargs, grad_of, g = spec
    return _phase_timer(lib, fname, arrays, kwargs, grad_of, g, timing)


# LeNet-5 training step ------------------------------------------------------------------------


def _torch_twin(torch, params, size):
    """PyTorch's LeNet-5 with our model's parameter values (autograd_cnn.models.LeNet5 with its
    defaults): conv 5x5 (padded to 32x32) -> ReLU -> max pool 2x2 -> conv 5x5 -> ReLU -> max pool
    2x2 -> flatten -> linear 120 -> ReLU -> linear 84 -> ReLU -> linear 10."""
    import torch.nn.functional as tf

    shapes = [tuple(np.shape(p)) for p in params]
    expected = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,),
                (10, 84), (10,)]
    if shapes != expected:
        raise _NotAvailable("LeNet5 parameters %s differ from the PyTorch twin's" % shapes)
    tparams = [torch.from_numpy(np.array(p, copy=True)).requires_grad_(True) for p in params]
    pad = (32 - size) // 2

    def forward(x):
        c1w, c1b, c2w, c2b, f1w, f1b, f2w, f2b, f3w, f3b = tparams
        h = tf.max_pool2d(tf.relu(tf.conv2d(x, c1w, c1b, padding=pad)), 2)
        h = tf.max_pool2d(tf.relu(tf.conv2d(h, c2w, c2b)), 2)
        h = h.flatten(1)
        h = tf.relu(tf.linear(h, f1w, f1b))
        h = tf.relu(tf.linear(h, f2w, f2b))
        return tf.linear(h, f3w, f3b)

    return forward, tparams


def _lenet_model(acnn, dtype):
    models = _try_import("autograd_cnn.models")
    cls = getattr(models, "LeNet5", None) if models is not None else None
    if cls is None:
        raise _NotAvailable("autograd_cnn.models.LeNet5 is missing")
    if dtype == np.float32:
        return cls()
    try:
        model = cls(dtype=dtype)
    except TypeError:
        raise _NotAvailable("LeNet5 takes no dtype argument")
    if any(p.dtype != dtype for p in model.parameters()):
        raise _NotAvailable("LeNet5(dtype=%s) gave other parameter dtypes" % np.dtype(dtype).name)
    return model


def _sgd_step(acnn, params, lr):
    """One SGD step: autograd_cnn.optim.SGD when it exists, else p -= lr * p.grad in place."""
    optim = _try_import("autograd_cnn.optim")
    if optim is not None and hasattr(optim, "SGD"):
        opt = optim.SGD(params, lr=lr)
        return opt.step
    def step():
        with acnn.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=lr)
    return step


def _train_ours(n, dtype, rng, timing):
    import autograd_cnn as acnn

    model = _lenet_model(acnn, dtype)
    params = list(model.parameters())
    loss_fn = getattr(acnn.functional, "cross_entropy", None)
    if loss_fn is None:
        raise _NotAvailable("autograd_cnn.functional.cross_entropy is missing")
    size = getattr(model, "input_size", 32)
    x = acnn.tensor(rng.standard_normal((n, 1, size, size)).astype(dtype))
    y = acnn.tensor(rng.integers(0, 10, n))
    sgd = _sgd_step(acnn, params, 0.01)
    start = [np.array(p.data, copy=True) for p in params]

    def step(_):
        model.zero_grad()
        loss_fn(model(x), y).backward()
        sgd()

    return _time_ms(lambda: None, step, timing), start, size


def _train_torch(torch, params, size, n, dtype, rng, timing):
    forward, tparams = _torch_twin(torch, params, size)
    x = torch.from_numpy(rng.standard_normal((n, 1, size, size)).astype(dtype))
    y = torch.from_numpy(rng.integers(0, 10, n))
    opt = torch.optim.SGD(tparams, lr=0.01)

    def step(_):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(forward(x), y).backward()
        opt.step()

    return _time_ms(lambda: None, step, timing)


# ---------------------------------------------------------------------------------------------
# running


def _record(case, phase, dtype, threads, isa, timing):
    return dict(case=case.name, description=case.description, phase=phase,
                dtype=np.dtype(dtype).name, threads=threads, isa=isa, status="ok", ours_ms=None,
                torch_ms=None, ratio=None, unit=None, work=None, ours_rate=None, torch_rate=None,
                peak_gflops=None, pct_peak=None, repeat=timing.repeat,
                stat=timing.stat)


def _why(exc):
    if isinstance(exc, _NotAvailable):
        return "n/a: %s" % exc
    return "n/a: %s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")


def _rate(work, ms, unit):
    if ms is None or ms <= 0:
        return None
    per_second = work / (ms * 1e-3)
    return per_second if unit == "img/s" else per_second * 1e-9


def _finish(rec, peak):
    if rec["ours_ms"] is not None and rec["torch_ms"]:
        rec["ratio"] = rec["ours_ms"] / rec["torch_ms"]
    rec["ours_rate"] = _rate(rec["work"], rec["ours_ms"], rec["unit"])
    rec["torch_rate"] = _rate(rec["work"], rec["torch_ms"], rec["unit"])
    if rec["unit"] == "GFLOP/s":
        rec["peak_gflops"] = peak
        rec["pct_peak"] = None
        if rec["ours_rate"] is not None and peak:
            rec["pct_peak"] = 100.0 * rec["ours_rate"] / peak
    return rec


def run_case(case, dtype, threads, isa, timing, peak, ours, torch_lib):
    """All records (one per phase) of one case at one thread count."""
    rng = np.random.default_rng(0)
    if case.kind == "train":
        rec = _record(case, "train_step", dtype, threads, isa, timing)
        rec.update(unit="img/s", work=case.params["n"])
        try:
            rec["ours_ms"], params, size = _train_ours(case.params["n"], dtype, rng, timing)
        except Exception as exc:  # a missing model/loss must not stop the other cases
            rec["status"] = _why(exc)
            return [_finish(rec, peak)]
        if torch_lib is not None:
            try:
                rec["torch_ms"] = _train_torch(torch_lib.module, params, size, case.params["n"],
                                               dtype, rng, timing)
            except Exception as exc:
                rec["status"] = "ok (torch twin: %s)" % _why(exc)
        return [_finish(rec, peak)]
    phases = _conv_phases if case.kind.startswith("conv") else _pool_phases
    records = []
    for phase, unit, work, spec in phases(case, dtype, rng):
        rec = _record(case, phase, dtype, threads, isa, timing)
        rec.update(unit=unit, work=work)
        try:
            if ours is None:
                raise _NotAvailable("autograd_cnn engine is missing")
            rec["ours_ms"] = _time_op(ours, spec, timing)
        except Exception as exc:
            rec["status"] = _why(exc)
        if torch_lib is not None:
            try:
                rec["torch_ms"] = _time_op(torch_lib, spec, timing)
            except Exception:
                pass
        records.append(_finish(rec, peak))
    return records


def _fmt(value, spec, none="n/a"):
    return none if value is None else format(value, spec)


def _load_note():
    """The 1-minute load average next to the CPU count: times on a busy machine are noisy."""
    try:
        import os

        return "; load average %.1f on %d CPUs" % (os.getloadavg()[0], os.cpu_count() or 0)
    except (AttributeError, OSError):
        return ""


def format_table(records, peaks):
    """The human-readable table of `records` (one line each) under a header naming the peaks."""
    lines = []
    for (threads, dtype), peak in sorted(peaks.items()):
        lines.append("FMA peak (probe): %.1f GFLOP/s, %s, %d thread(s)" % (peak, dtype, threads))
    head = "%-22s %-15s %3s %10s %10s %8s %9s %9s %8s  %s" % (
        "case", "phase", "thr", "ours ms", "torch ms", "ours/pt", "ours", "torch", "% peak",
        "unit / status")
    lines += [head, "-" * len(head)]
    for r in records:
        lines.append("%-22s %-15s %3d %10s %10s %8s %9s %9s %8s  %s" % (
            r["case"], r["phase"], r["threads"], _fmt(r["ours_ms"], ".3f"),
            _fmt(r["torch_ms"], ".3f"), _fmt(r["ratio"], ".2f"), _fmt(r["ours_rate"], ".1f"),
            _fmt(r["torch_rate"], ".1f"), _fmt(r["pct_peak"], ".1f", "-"),
            r["unit"] if r["status"] == "ok" else "%s  %s" % (r["unit"], r["status"])))
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (and exits with status 2)."""

    def error(self, message):
        self.exit(2, "%s: error: %s\n" % (self.prog, message))


def _thread_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(
            "need a comma-separated list of integers >= 1, got %r" % text)
    return values


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("need an integer >= 1, got %r" % text)
    return value


def _probe_seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value <= 10.0:
        raise argparse.ArgumentTypeError("need a number in (0, 10], got %r" % text)
    return value


def build_parser():
    p = _Parser(prog="autograd_cnn bench",
                description="Time the conv/pool kernels and a LeNet-5 step against PyTorch and "
                            "the measured FMA peak.")
    p.add_argument("--threads", type=_thread_list, default=[1, 2],
                   help="comma-separated thread counts (default: 1,2)")
    p.add_argument("--repeat", type=_positive_int, default=5,
                   help="timed calls per measurement; the median is reported (default: 5)")
    p.add_argument("--stat", choices=("median", "min"), default="median",
                   help="summary of the timed calls (default: median; min = best call, less "
                        "sensitive to other processes)")
    p.add_argument("--cases", default="",
                   help="only cases whose name contains one of these comma-separated substrings")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument("--isa", choices=("avx512", "avx2", "baseline"), default=None,
                   help="force our kernels (and the probe) onto this instruction-set path; "
                        "PyTorch keeps its own")
    p.add_argument("--probe-seconds", type=_probe_seconds, default=0.1,
                   help="duration of each FMA peak measurement (default: 0.1)")
    p.add_argument("--json", action="store_true", help="print the records as one JSON document")
    return p


def select_cases(filter_text):
    wanted = [w.strip() for w in filter_text.split(",") if w.strip()]
    return [c for c in CASES if not wanted or any(w in c.name for w in wanted)]


def main(argv=None):
    """Entry of ``python -m autograd_cnn bench``; returns the exit status (0)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    cases = select_cases(args.cases)
    if not cases:
        parser.error("--cases %r matches no case; cases: %s"
                     % (args.cases, ", ".join(c.name for c in CASES)))
    import autograd_cnn as acnn
    from autograd_cnn import _C

    saved_isa = acnn.get_isa()
    if args.isa is not None:
        try:
            acnn.set_isa(args.isa)
        except ValueError as exc:
            parser.error("--isa: %s" % exc)
    dtype = np.dtype(args.dtype).type
    timing = Timing(args.repeat, args.stat)
    isa = acnn.get_isa()
    try:
        ours = _ours()
    except _NotAvailable:
        ours = None
    torch_lib = _torch_lib()
    saved_threads = acnn.get_num_threads()
    saved_blas = acnn.backend.get_blas_threads()
    saved_torch = torch_lib.module.get_num_threads() if torch_lib is not None else None
    records, peaks = [], {}
    try:
        for threads in args.threads:
            acnn.set_num_threads(threads)
            acnn.backend.set_blas_threads(threads)
            if torch_lib is not None:
                torch_lib.module.set_num_threads(threads)
            peak = _C.probe_fma_peak(dtype == np.float64, threads, args.probe_seconds)
            group = []
            for case in cases:
                group += run_case(case, dtype, threads, isa, timing, peak, ours,
                                  torch_lib)
            # probe again after the cases and keep the better one (other processes may have
            # slowed one of the two probes down), then fill in the % of peak
            peak = max(peak, _C.probe_fma_peak(dtype == np.float64, threads, args.probe_seconds))
            peaks[(threads, args.dtype)] = peak
            records += [_finish(r, peak) for r in group]
    finally:
        acnn.set_num_threads(saved_threads)
        acnn.set_isa(saved_isa)
        if saved_blas is not None:
            acnn.backend.set_blas_threads(saved_blas)
        if torch_lib is not None:
            torch_lib.module.set_num_threads(saved_torch)
    if args.json:
        print(json.dumps(records, indent=1))
    else:
        print("autograd_cnn bench: isa %s, dtype %s, %s of %d (ours/pt < 1: we are faster)%s"
              % (isa, args.dtype, args.stat, args.repeat, _load_note()))
        print(format_table(records, peaks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
