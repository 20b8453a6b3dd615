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

With ``--networks`` the cases are whole networks instead (benchmarking.NETWORK_CASES: LeNet-5,
ResNet-20, a small VGG with batch norm, a conv1d net), each next to its PyTorch twin holding the
same weights: ``train_step`` (with SGD momentum, on the network's training batch), ``eval_forward``
(eval mode, grad mode off, batch 64) and ``latency`` (the same on one sample); for the training
step also the memory a step holds at its peak in each library (MiB; Linux: the peak resident
memory of three steps after a warm-up, above the resident memory before the warm-up,
benchmarking.step_memory), each in a fresh process of its own, so neither library's allocations
hide the other's.

What it counts
    Convolution FLOPs: 2 * N * C_out * out_pixels * (C_in / groups) * prod(kernel); each backward
    phase counts the same FLOPs as the forward. Pooling bytes: forward reads the input and writes
    the output; backward reads the output gradient and writes the input gradient.

JSON (``--json``): one document, a list of records with the fields
    case, description, phase, dtype, threads, isa, status ("ok", or "ok (torch: n/a: <why>)"),
    ours_ms, torch_ms, ratio (ours_ms / torch_ms), unit ("GFLOP/s", "GB/s" or "img/s"), work (FLOPs,
    bytes or images per call), ours_rate, torch_rate, peak_gflops (probe, same threads and
    dtype; the better of a probe before and one after that thread count's cases), pct_peak
    (ours_rate / peak_gflops * 100, GFLOP/s cases only), ours_peak_mib, torch_peak_mib (the memory
    a training step holds at its peak, benchmarking.step_memory, each in a fresh process; network
    cases only), repeat, stat ("median" or "min": what ours_ms / torch_ms are).
    Missing values are null.

PyTorch is optional: without it the torch columns are null. An error inside PyTorch (a
RuntimeError) leaves them null too and says why in the status ("ok (torch: n/a: ...)"). Keep runs
short on shared machines: ``--cases`` picks cases by substring, ``--threads 1``.

The cases, timer, thread setup and training step are autograd_cnn/benchmarking.py's, shared with
the benchmark suites in benchmarks/; the PyTorch LeNet-5 is autograd_cnn/models/torch_twins.py's.
"""
import argparse
import json
import os
import sys

import numpy as np

import autograd_cnn as acnn
from . import _C, benchmarking as bm
from .benchmarking import CASES, Timing
from .cli import number_type
from .models import LeNet5
from .models.torch_twins import copy_state, lenet5
from .optim import SGD

__all__ = ["main", "CASES", "Timing", "run_case", "format_table", "build_parser",
           "select_cases"]

PHASES_CONV = ("forward", "backward_data", "backward_weight")
PHASES_POOL = ("forward", "backward")


# ---------------------------------------------------------------------------------------------
# one case: the phases to time, each as (phase, unit, work, arguments of bm.time_phase)


def _conv_phases(case, dtype, rng):
    x, w, b = case.arrays(dtype, rng)
    g = rng.standard_normal(case.output_shape).astype(dtype)
    for phase, grad_of in zip(PHASES_CONV, (None, 0, 1)):
        yield phase, "GFLOP/s", case.flops(), (case.kind, (x, w, b), case.kwargs, grad_of, g)


def _pool_phases(case, dtype, rng):
    x = rng.standard_normal(case.input_shape).astype(dtype)
    g = rng.standard_normal(case.output_shape).astype(dtype)
    moved = case.bytes_moved(x.itemsize)
    for phase, grad_of in zip(PHASES_POOL, (None, 0)):
        yield phase, "GB/s", moved, (case.kind, (x,), case.kwargs, grad_of, g)


def _train_ms(lib, model, optimizer, loss_fn, x, y, timing):
    step = bm.train_step(model, optimizer, loss_fn, [(lib.tensor(x), lib.tensor(y))])
    return bm.time_ms(lambda: None, lambda _: step(), timing)


def _lenet5_ours(n, dtype, rng, timing):
    """(ms, start weights, input size) of our LeNet-5's training step with SGD on a random batch
    of `n`."""
    model = LeNet5(dtype=dtype)
    start = {k: v.numpy().copy() for k, v in model.state_dict().items()}  # before training
    x = rng.standard_normal((n, 1, model.input_size, model.input_size)).astype(dtype)
    ms = _train_ms(bm.ours(), model, SGD(model.parameters(), lr=0.01),
                   acnn.functional.cross_entropy, x, rng.integers(0, 10, n), timing)
    return ms, start, model.input_size


def _lenet5_torch(torch_lib, start, size, n, dtype, rng, timing):
    """ms of the same step in PyTorch, its twin starting from our model's weights `start`."""
    twin = copy_state(start, lenet5(input_size=size))
    x = rng.standard_normal((n, 1, size, size)).astype(dtype)
    optimizer = torch_lib.module.optim.SGD(twin.parameters(), lr=0.01)
    return _train_ms(torch_lib, twin, optimizer, torch_lib.functional.cross_entropy, x,
                     rng.integers(0, 10, n), timing)


# ---------------------------------------------------------------------------------------------
# records


def _record(case, phase, dtype, threads, isa, timing):
    return dict(case=case.name, description=case.description, phase=phase,
                dtype=np.dtype(dtype).name, threads=threads, isa=isa, status="ok", ours_ms=None,
                torch_ms=None, ratio=None, unit=None, work=None, ours_rate=None, torch_rate=None,
                peak_gflops=None, pct_peak=None, ours_peak_mib=None, torch_peak_mib=None,
                repeat=timing.repeat, stat=timing.stat)


def _torch_failed(exc):
    first = str(exc).splitlines()[0] if str(exc) else ""
    return "ok (torch: n/a: %s: %s)" % (type(exc).__name__, first)


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


def _network_records(case, dtype, threads, isa, timing, torch_lib):
    """One record per phase of bm.NETWORK_PHASES: ours and the twin on the same weights and batch;
    for the training step also the peak memory of a step in each library (bm.step_memory)."""
    records = []
    model, twin = case.pair(dtype, torch_lib is not None)
    for phase in bm.NETWORK_PHASES:
        rec = _record(case, phase, dtype, threads, isa, timing)
        n = case.batch_size(phase)
        rec.update(unit="img/s", work=n)
        x, y = case.batch(n, dtype, np.random.default_rng(0))
        for lib, net, key in ((bm.ours(), model, "ours"), (torch_lib, twin, "torch")):
            if lib is None:
                continue
            try:
                step = bm.network_step(lib, net, phase, x, y)
                rec[key + "_ms"] = bm.time_ms(lambda: None, lambda _: step(), timing)
                if phase == "train_step":  # in a fresh process: see bm.step_memory
                    grown = bm.step_memory(case, lib.name, dtype, threads)
                    rec[key + "_peak_mib"] = None if grown is None else grown / 2**20
            except RuntimeError as exc:  # PyTorch's error type
                if key == "ours":
                    raise
                rec["status"] = _torch_failed(exc)
        records.append(_finish(rec, None))
    return records


def run_case(case, dtype, threads, isa, timing, peak, torch_lib):
    """All records (one per phase) of one case at one thread count; `torch_lib` is
    bm.torch_library() (None: no PyTorch columns)."""
    if case.kind == "network":
        return _network_records(case, dtype, threads, isa, timing, torch_lib)
    rng = np.random.default_rng(0)
    if case.kind == "train":
        rec = _record(case, "train_step", dtype, threads, isa, timing)
        rec.update(unit="img/s", work=case.n)
        rec["ours_ms"], start, size = _lenet5_ours(case.n, dtype, rng, timing)
        if torch_lib is not None:
            try:
                rec["torch_ms"] = _lenet5_torch(torch_lib, start, size, case.n, dtype, rng,
                                                timing)
            except RuntimeError as exc:  # PyTorch's error type
                rec["status"] = _torch_failed(exc)
        return [_finish(rec, peak)]
    phases = _conv_phases if case.kind.startswith("conv") else _pool_phases
    records = []
    ours = bm.ours()
    for phase, unit, work, spec in phases(case, dtype, rng):
        rec = _record(case, phase, dtype, threads, isa, timing)
        rec.update(unit=unit, work=work)
        rec["ours_ms"] = bm.time_phase(ours, *spec, timing)
        if torch_lib is not None:
            try:
                rec["torch_ms"] = bm.time_phase(torch_lib, *spec, timing)
            except RuntimeError as exc:
                rec["status"] = _torch_failed(exc)
        records.append(_finish(rec, peak))
    return records


# ---------------------------------------------------------------------------------------------
# output


def _fmt(value, spec, none="n/a"):
    return none if value is None else format(value, spec)


def _load_note():
    """The 1-minute load average next to the CPU count: times on a busy machine are noisy."""
    try:
        return "; load average %.1f on %d CPUs" % (os.getloadavg()[0], os.cpu_count() or 0)
    except (AttributeError, OSError):  # no getloadavg (Windows) or no load figure
        return ""


def format_table(records, peaks):
    """The human-readable table of `records` (one line each) under a header naming the peaks.
    Network records show the peak memory of a training step (MiB, ours / PyTorch) where
    kernel records show the share of the FMA peak."""
    lines = []
    for (threads, dtype), peak in sorted(peaks.items()):
        lines.append("FMA peak (probe): %.1f GFLOP/s, %s, %d thread(s)" % (peak, dtype, threads))
    head = "%-22s %-15s %3s %10s %10s %8s %9s %9s %11s  %s" % (
        "case", "phase", "thr", "ours ms", "torch ms", "ours/pt", "ours", "torch",
        "% peak|MiB", "unit / status")
    lines += [head, "-" * len(head)]
    for r in records:
        if r["ours_peak_mib"] is not None:
            extra = "%s/%s" % (_fmt(r["ours_peak_mib"], ".0f"), _fmt(r["torch_peak_mib"], ".0f"))
        else:
            extra = _fmt(r["pct_peak"], ".1f", "-")
        lines.append("%-22s %-15s %3d %10s %10s %8s %9s %9s %11s  %s" % (
            r["case"], r["phase"], r["threads"], _fmt(r["ours_ms"], ".3f"),
            _fmt(r["torch_ms"], ".3f"), _fmt(r["ratio"], ".2f"), _fmt(r["ours_rate"], ".1f"),
            _fmt(r["torch_rate"], ".1f"), extra,
            r["unit"] if r["status"] == "ok" else "%s  %s" % (r["unit"], r["status"])))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the command


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (and exits with status 2)."""

    def error(self, message):
        self.exit(2, "%s: error: %s\n" % (self.prog, message))


def build_parser():
    p = _Parser(prog="autograd_cnn bench",
                description="Time the conv/pool kernels and a LeNet-5 step against PyTorch and "
                            "the measured FMA peak.")
    p.add_argument("--threads", type=number_type("--threads", minimum=1, as_list=True),
                   default=[1, 2], help="comma-separated thread counts (default: 1,2)")
    p.add_argument("--repeat", type=number_type("--repeat", minimum=1), default=5,
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
    p.add_argument("--probe-seconds", type=number_type("--probe-seconds", float, above=0,
                                                       maximum=10),
                   default=0.1, help="duration of each FMA peak measurement (default: 0.1)")
    p.add_argument("--json", action="store_true", help="print the records as one JSON document")
    p.add_argument("--networks", action="store_true",
                   help="time whole networks (training step, eval forward, batch-1 latency, "
                        "peak memory of a step) instead of the kernel cases")
    return p


def select_cases(filter_text, networks=False):
    wanted = [w.strip() for w in filter_text.split(",") if w.strip()]
    pool = bm.NETWORK_CASES if networks else CASES
    return [c for c in pool if not wanted or any(w in c.name for w in wanted)]


def main(argv=None):
    """Entry of ``python -m autograd_cnn bench``; returns the exit status (0)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    cases = select_cases(args.cases, args.networks)
    if not cases:
        parser.error("--cases %r matches no case; cases: %s"
                     % (args.cases, ", ".join(c.name for c in select_cases("", args.networks))))
    saved_isa = acnn.get_isa()
    if args.isa is not None:
        try:
            acnn.set_isa(args.isa)
        except ValueError as exc:
            parser.error("--isa: %s" % exc)
    dtype = np.dtype(args.dtype).type
    timing = Timing(args.repeat, args.stat)
    isa = acnn.get_isa()
    torch_lib = bm.torch_library()
    torch = torch_lib.module if torch_lib is not None else None
    records, peaks = [], {}
    try:
        for threads in args.threads:
            # NumPy's OpenBLAS gets the same count, as in a user's script: the engine's matrix
            # products choose their own BLAS threads from their size (backend.blas_call)
            with bm.thread_count(threads, torch):
                peak = _C.probe_fma_peak(dtype == np.float64, threads, args.probe_seconds)
                group = []
                for case in cases:
                    group += run_case(case, dtype, threads, isa, timing, peak, torch_lib)
                # probe again after the cases and keep the better one (other processes may have
                # slowed one of the two probes down), then fill in the % of peak
                peak = max(peak, _C.probe_fma_peak(dtype == np.float64, threads,
                                                   args.probe_seconds))
            peaks[(threads, args.dtype)] = peak
            records += [_finish(r, peak) for r in group]
    finally:
        acnn.set_isa(saved_isa)
    if args.json:
        print(json.dumps(records, indent=1))
    else:
        print("autograd_cnn bench: isa %s, dtype %s, %s of %d (ours/pt < 1: we are faster)%s"
              % (isa, args.dtype, args.stat, args.repeat, _load_note()))
        print(format_table(records, peaks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
