"""Data-parallel training of LeNet-5 (default) or ResNet-20 (``--network resnet20``, CIFAR
shapes): autograd_cnn's DistributedDataParallel over MPI against PyTorch's
DistributedDataParallel (gloo), same network (models and their twins), same optimizer (SGD with
momentum) and same *global* batch, split over the ranks -- or, with ``--per-rank-batch B``, the
same batch B on every rank (the global batch grows with the ranks).

Two ways to run it:

* as a benchmark suite (``python -m pytest benchmarks/bench_distributed.py``): the one-rank step
  of both libraries through their DDP wrappers (world size 1: the wrapper's own cost), and a
  short two-rank run of the scaling table below (skipped without mpi4py / mpiexec; CI runs it
  with ``--benchmark-disable`` so the table script cannot rot);
* as the scaling table (a script; each configuration is a fresh ``mpiexec`` job, ours and
  PyTorch's one after the other, so both see the same machine)::

      python benchmarks/bench_distributed.py                       # 1 and 2 ranks x 1 thread
      python benchmarks/bench_distributed.py --ranks 1,2,4,8,16 --threads 1,auto

  ``auto`` is the cores divided by the ranks (``--cores``, default all of this machine's). Per
  configuration: the median step time on rank 0, images per second (global batch / step),
  scaling efficiency (images/s of N ranks / (N x images/s of 1 rank at the same threads per
  rank); with the same global batch a rank's share shrinks with N, and whatever a step costs
  whatever its batch -- the per-op overhead of a small network -- caps the efficiency below 1
  even with free communication; ``--per-rank-batch`` measures the other usual definition, each
  rank keeping its batch, where the efficiency is the one-rank step over the N-rank step), and
  for ours the time backward waits for the gradient sums at its end with buckets
  (``--bucket-cap-mb``, default 0.05 here: LeNet-5's 0.24 MB of gradients in several buckets, the
  sums overlapping backward) and with one bucket sent at the end (no overlap). The wait includes
  the ranks' imbalance: on a busy machine, the time a rank waits for a peer that lost its core.
  ``--repeat N --stat min`` keeps the fastest step of N runs for machines shared with others.
  On 16 cores the default grid takes about two minutes.

* ``--interleave``: the scaling efficiency of ours measured in one job, for machines shared with
  others: rounds of ``--steps`` steps of all N ranks (the global batch split) alternate with as
  many steps of rank 0 alone on the whole global batch (the others sleeping), so that the
  neighbours' load falls on both alike; efficiency = median one-rank step / (N x median N-rank
  step), per ``--rounds`` and overall.
* ``--phases``: where ours spends a step, per rank (a job per rank count): forward, backward
  (its computation), the gradient hooks (copies into the buckets, starting the sums), the wait
  for the sums, the rest of the end of backward (averaging into ``.grad``) and the optimizer,
  each the median over the steps and the mean over the fastest tenth of the steps (the steps no
  neighbour disturbed). One rank runs no hooks and no wait: compare it at the same per-rank
  batch (``--per-rank-batch``).
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GLOBAL_BATCH = 128
LR, MOMENTUM = 0.01, 0.9
#: network -> (our model, its PyTorch twin, one image's shape)
NETWORKS = {
    "lenet5": (lambda models: models.LeNet5(), lambda twins: twins.lenet5(), (1, 28, 28)),
    "resnet20": (lambda models: models.CifarResNet(depth=20),
                 lambda twins: twins.cifar_resnet(depth=20), (3, 32, 32)),
}


def _batches(global_batch, rank, world, n=4, seed=0, network="lenet5"):
    """``n`` batches of this rank's share of random images of the network's input shape."""
    rng = np.random.default_rng(seed)
    local = global_batch // world
    xs = rng.standard_normal((n, global_batch) + NETWORKS[network][2]).astype(np.float32)
    ys = rng.integers(0, 10, (n, global_batch))
    part = slice(rank * local, (rank + 1) * local)
    return [(x[part], y[part]) for x, y in zip(xs, ys)]


def _ours_setup(threads, bucket_cap_mb=None, network="lenet5"):
    import autograd_cnn as ac
    from autograd_cnn import distributed as dist
    from autograd_cnn import models

    dist.init()
    ac.set_num_threads(threads)
    ac.backend.set_blas_threads(1)
    ac.manual_seed(0)
    model = dist.DistributedDataParallel(NETWORKS[network][0](models),
                                         bucket_cap_mb=bucket_cap_mb)
    opt = ac.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    return ac, model, opt, ac.nn.CrossEntropyLoss()


def _torch_setup(threads, rank, world, port, network="lenet5"):
    import torch
    import torch.distributed as tdist
    from autograd_cnn.models import torch_twins

    torch.set_num_threads(threads)
    if not tdist.is_initialized():
        tdist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                 world_size=world)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(NETWORKS[network][1](torch_twins))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    return torch, model, opt, torch.nn.CrossEntropyLoss()


def _step_fn(lib, model, opt, loss_fn, batches):
    data = [(lib.tensor(x), lib.tensor(y)) for x, y in batches]
    state = {"i": 0}

    def step():
        x, y = data[state["i"] % len(data)]
        state["i"] += 1
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


# --------------------------------------------------------------------- one rank of a job ----
def _launcher_rank():
    for prefix in ("PMI", "OMPI_COMM_WORLD", "PMIX"):
        if os.environ.get(prefix + "_RANK", "").isdigit():
            return int(os.environ[prefix + "_RANK"]), int(os.environ[prefix + "_SIZE"])
    return 0, 1


PHASES = ("step", "forward", "backward", "hooks", "wait", "write_back", "optimizer")


def _phase_worker(args, rank, world, batches):
    """One rank of ``--phases``: each step's phases; rank 0 prints every rank's as JSON."""
    from autograd_cnn import distributed as dist
    lib, model, opt, loss_fn = _ours_setup(args.threads, args.bucket_cap_mb, args.network)
    spent = {"hooks": 0.0, "end": 0.0}

    def timed(fn, key):
        def run(*a):
            t = time.perf_counter()
            try:
                fn(*a)
            finally:
                spent[key] += time.perf_counter() - t
        return run

    model._gradient_ready = timed(model._gradient_ready, "hooks")
    model._finish_backward = timed(model._finish_backward, "end")
    data = [(lib.tensor(x), lib.tensor(y)) for x, y in batches]
    rows = []
    for i in range(args.warmup + args.steps):
        x, y = data[i % len(data)]
        spent["hooks"] = spent["end"] = 0.0
        waited = model.wait_seconds
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        wait = model.wait_seconds - waited
        if i >= args.warmup:
            rows.append((t3 - t0, t1 - t0, t2 - t1 - spent["hooks"] - spent["end"],
                         spent["hooks"], wait, spent["end"] - wait, t3 - t2))
    fastest = sorted(rows)[:max(1, len(rows) // 10)]
    mine = {"median": [statistics.median(c) for c in zip(*rows)],
            "fast": [statistics.mean(c) for c in zip(*fastest)]}
    every = dist.process_group.comm().gather(mine, root=0) if world > 1 else [mine]
    if rank == 0:
        print(json.dumps(every), flush=True)


def _interleave_worker(args, rank, world):
    """One rank of ``--interleave``; rank 0 prints the step times of both kinds as JSON."""
    from autograd_cnn import models
    from autograd_cnn.distributed import ddp
    lib, model, opt, loss_fn = _ours_setup(args.threads, args.bucket_cap_mb, args.network)
    comm = ddp.process_group.comm()
    together = _step_fn(lib, model, opt, loss_fn,
                        _batches(args.global_batch, rank, world, network=args.network))
    if rank == 0:  # the same network alone (a job of one: backward left alone)
        alone_model = ddp.DistributedDataParallel(
            NETWORKS[args.network][0](models),
            process_group=ddp.process_group._mpi().COMM_SELF)
        alone_opt = lib.optim.SGD(alone_model.parameters(), lr=LR, momentum=MOMENTUM)
        alone = _step_fn(lib, alone_model, alone_opt, loss_fn,
                         _batches(args.global_batch, 0, 1, network=args.network))
        for _ in range(args.warmup):
            alone()
    for _ in range(args.warmup):
        together()
    times = {"together": [], "alone": []}
    for _ in range(args.rounds):
        comm.Barrier()
        for _ in range(args.steps):
            t0 = time.perf_counter()
            together()
            times["together"].append(time.perf_counter() - t0)
        if rank == 0:
            for _ in range(args.steps):
                t0 = time.perf_counter()
                alone()
                times["alone"].append(time.perf_counter() - t0)
        ddp._wait_politely([comm.Ibarrier()])  # the others wait without holding a core
    if rank == 0:
        print(json.dumps(times), flush=True)


def worker(args):
    """One rank: time ``args.steps`` steps; rank 0 prints a JSON line."""
    rank, world = _launcher_rank()
    batches = _batches(args.global_batch, rank, world, network=args.network)
    if args.phases:
        return _phase_worker(args, rank, world, batches)
    if args.interleave:
        return _interleave_worker(args, rank, world)
    if args.library == "ours":
        cap = 1e6 if args.one_bucket else args.bucket_cap_mb
        lib, model, opt, loss_fn = _ours_setup(args.threads, cap, args.network)
        from autograd_cnn import distributed as dist
        barrier = dist.barrier
    else:
        lib, model, opt, loss_fn = _torch_setup(args.threads, rank, world, args.port,
                                                args.network)
        barrier = lib.distributed.barrier
    step = _step_fn(lib, model, opt, loss_fn, batches)
    for _ in range(args.warmup):
        step()
    barrier()
    waited = getattr(model, "wait_seconds", 0.0)
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    waited = getattr(model, "wait_seconds", 0.0) - waited
    barrier()
    if args.library == "torch":  # gloo's threads must stop before the interpreter exits
        lib.distributed.destroy_process_group()
    if rank == 0:
        print(json.dumps({"median_s": statistics.median(times), "min_s": min(times),
                          "wait_s": waited / args.steps, "world": world}), flush=True)


# --------------------------------------------------------------------- the table -------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mpiexec():
    return (shutil.which("mpiexec", path=os.path.dirname(sys.executable))
            or shutil.which("mpiexec"))


def launch(library, ranks, threads, global_batch, steps, warmup, one_bucket=False,
           bucket_cap_mb=None, network="lenet5", timeout=300, phases=False, rounds=0):
    """Run one configuration as an ``mpiexec`` job; rank 0's measurements as a dict."""
    cmd = [_mpiexec(), "-n", str(ranks), sys.executable, os.path.abspath(__file__), "--worker",
           library, "--threads", str(threads), "--global-batch", str(global_batch),
           "--steps", str(steps), "--warmup", str(warmup), "--port", str(_free_port()),
           "--network", network]
    if one_bucket:
        cmd.append("--one-bucket")
    if phases:
        cmd.append("--phases")
    if rounds:
        cmd += ["--interleave", "--rounds", str(rounds)]
    if bucket_cap_mb is not None:
        cmd += ["--bucket-cap-mb", str(bucket_cap_mb)]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                         stdin=subprocess.DEVNULL)
    lines = [line for line in run.stdout.splitlines() if line.startswith(("{", "["))]
    # PyTorch's gloo now and then aborts in its teardown at exit ("terminate called without an
    # active exception"; mpiexec then prints a banner), after rank 0 printed its measurements:
    # those still count
    if run.returncode != 0 and not (library == "torch" and lines):
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{run.stdout}\n{run.stderr}")
    return json.loads(lines[-1])


def grid(ranks_list, threads_spec, cores):
    """(ranks, threads per rank) pairs: each thread count of ``threads_spec`` ('auto' = cores //
    ranks), keeping ranks x threads <= cores."""
    pairs = []
    for r in ranks_list:
        for t in threads_spec:
            t = max(1, cores // r) if t == "auto" else int(t)
            if r * t <= cores and (r, t) not in pairs:
                pairs.append((r, t))
    return pairs


def table(ranks_list, threads_spec, cores, global_batch, steps, warmup, torch=True,
          bucket_cap_mb=0.05, repeat=1, stat="median", network="lenet5", per_rank_batch=None,
          out=sys.stdout):
    """Measure and print the scaling table (markdown); returns its rows. With ``repeat`` > 1
    each configuration runs that many times (the libraries in turn) and the fastest run counts:
    on a shared machine the slower ones measure the neighbours. ``stat``: each run's 'median'
    step, or its fastest ('min': the step no neighbour disturbed, for busy machines).
    ``per_rank_batch``: each rank's batch, the global batch being that times the ranks (else
    ``global_batch`` split over the ranks)."""
    key = stat + "_s"
    rows, base = [], {}
    for ranks, threads in grid(ranks_list, threads_spec, cores):
        row = {"ranks": ranks, "threads": threads}
        if per_rank_batch is not None:
            global_batch = per_rank_batch * ranks
        runs = {"ours": [], "one": [], "torch": []}
        for _ in range(repeat):
            runs["ours"].append(launch("ours", ranks, threads, global_batch, steps, warmup,
                                       bucket_cap_mb=bucket_cap_mb, network=network))
            runs["one"].append(launch("ours", ranks, threads, global_batch, steps, warmup,
                                      one_bucket=True, network=network))
            if torch:
                runs["torch"].append(launch("torch", ranks, threads, global_batch, steps,
                                            warmup, network=network))
        best = {k: min(v, key=lambda r: r[key]) for k, v in runs.items() if v}
        row.update(ours_s=best["ours"][key], ours_wait=best["ours"]["wait_s"],
                   one_bucket_s=best["one"][key], one_bucket_wait=best["one"]["wait_s"])
        if torch:
            row["torch_s"] = best["torch"][key]
        row["global_batch"] = global_batch
        for lib in ("ours", "torch"):
            if f"{lib}_s" in row:
                rate = global_batch / row[f"{lib}_s"]
                row[f"{lib}_ips"] = rate
                if ranks == 1:
                    base[(lib, threads)] = rate
                one_rank = base.get((lib, threads))
                row[f"{lib}_eff"] = rate / (ranks * one_rank) if one_rank else float("nan")
        rows.append(row)
    cols = ["ranks x threads", "global batch", "ours ms", "ours img/s", "ours eff.", "wait ms (buckets)",
            "1 bucket ms", "wait ms (1 bucket)"]
    if torch:
        cols += ["PyTorch DDP ms", "PyTorch img/s", "PyTorch eff.", "ours / PyTorch speed"]
    out.write("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n")

    def eff(value):  # no 1-rank run at these threads per rank: no efficiency
        return "-" if value != value else f"{value:.2f}"

    for r in rows:
        cells = [f"{r['ranks']} x {r['threads']}", str(r["global_batch"]),
                 f"{r['ours_s'] * 1e3:.2f}",
                 f"{r['ours_ips']:,.0f}", eff(r['ours_eff']), f"{r['ours_wait'] * 1e3:.3f}",
                 f"{r['one_bucket_s'] * 1e3:.2f}", f"{r['one_bucket_wait'] * 1e3:.3f}"]
        if torch:
            cells += [f"{r['torch_s'] * 1e3:.2f}", f"{r['torch_ips']:,.0f}",
                      eff(r['torch_eff']), f"{r['torch_s'] / r['ours_s']:.2f}x"]
        out.write("| " + " | ".join(cells) + " |\n")
    out.flush()
    return rows


def phase_table(ranks_list, threads, global_batch, steps, warmup, bucket_cap_mb=0.05,
                network="lenet5", per_rank_batch=None, out=sys.stdout):
    """Measure and print ``--phases`` (markdown, ms): a row per rank of each rank count."""
    out.write("| ranks: rank | batch per rank | statistic | "
              + " | ".join(PHASES) + " |\n|" + "---|" * (len(PHASES) + 3) + "\n")
    for ranks in ranks_list:
        batch = per_rank_batch * ranks if per_rank_batch is not None else global_batch
        every = launch("ours", ranks, threads, batch, steps, warmup,
                       bucket_cap_mb=bucket_cap_mb, network=network, phases=True)
        for rank, mine in enumerate(every):
            for stat, label in (("median", "median"), ("fast", "fastest 10%")):
                out.write(f"| {ranks}: {rank} | {batch // ranks} | {label} | "
                          + " | ".join(f"{v * 1e3:.3f}" for v in mine[stat]) + " |\n")
    out.flush()


def interleaved(ranks_list, threads, global_batch, steps, warmup, rounds, bucket_cap_mb=0.05,
                network="lenet5", out=sys.stdout):
    """Measure and print ``--interleave`` (markdown): per rank count N > 1, the median steps of
    N ranks and of one, and the efficiency, over all rounds and the spread over the rounds."""
    out.write("| ranks x threads | global batch | 1 rank ms | N ranks ms | efficiency | "
              "efficiency per round (min - max) |\n|---|---|---|---|---|---|\n")
    rows = []
    for ranks in [r for r in ranks_list if r > 1]:
        t = launch("ours", ranks, threads, global_batch, steps, warmup,
                   bucket_cap_mb=bucket_cap_mb, network=network, rounds=rounds)
        one, many = statistics.median(t["alone"]), statistics.median(t["together"])
        per_round = [statistics.median(t["alone"][i:i + steps])
                     / (ranks * statistics.median(t["together"][i:i + steps]))
                     for i in range(0, len(t["alone"]), steps)]
        rows.append({"ranks": ranks, "one_s": one, "many_s": many, "eff": one / (ranks * many),
                     "per_round": per_round})
        out.write(f"| {ranks} x {threads} | {global_batch} | {one * 1e3:.2f} | {many * 1e3:.2f} | "
                  f"{one / (ranks * many):.2f} | {min(per_round):.2f} - {max(per_round):.2f} |\n")
    out.flush()
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ranks", default="1,2", help="comma-separated rank counts")
    p.add_argument("--threads", default="1", help="threads per rank, comma-separated "
                   "('auto': cores // ranks)")
    p.add_argument("--cores", type=int, default=os.cpu_count())
    p.add_argument("--network", choices=sorted(NETWORKS), default="lenet5")
    p.add_argument("--global-batch", type=int, default=GLOBAL_BATCH)
    p.add_argument("--per-rank-batch", type=int, default=None, help="each rank's batch (the "
                   "global batch grows with the ranks) instead of --global-batch split")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--bucket-cap-mb", type=float, default=None)
    p.add_argument("--repeat", type=int, default=1, help="runs per configuration (the fastest "
                   "counts)")
    p.add_argument("--stat", choices=("median", "min"), default="median",
                   help="each run's median step, or its fastest (for a busy machine)")
    p.add_argument("--no-torch", action="store_true", help="ours only")
    p.add_argument("--interleave", action="store_true", help="ours' efficiency with N ranks "
                   "and one rank alternating in one job (see the module's docstring)")
    p.add_argument("--rounds", type=int, default=10, help="--interleave: rounds of --steps "
                   "steps of each kind")
    p.add_argument("--phases", action="store_true", help="where ours spends a step, per rank "
                   "(see the module's docstring)")
    p.add_argument("--worker", choices=("ours", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--one-bucket", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=29500, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        args.library, args.threads = args.worker, int(args.threads)
        return worker(args)
    if _mpiexec() is None:
        sys.exit("bench_distributed: needs mpi4py and mpiexec (pip install mpi4py mpich)")
    import platform
    batch = (f"batch {args.per_rank_batch} per rank" if args.per_rank_batch
             else f"global batch {args.global_batch}")
    how = ("phases of ours (ms)" if args.phases
           else f"ours, {args.rounds} rounds of {args.steps} steps of each kind, medians"
           if args.interleave
           else f"{args.stat} of {args.steps} steps, best of {args.repeat} runs")
    sys.stdout.write(f"{args.network}, SGD, {batch}, {how}; "
                     f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores\n")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if args.interleave:
        interleaved([int(r) for r in args.ranks.split(",")], int(args.threads.split(",")[0]),
                    args.global_batch, args.steps, args.warmup, args.rounds,
                    bucket_cap_mb=0.05 if args.bucket_cap_mb is None else args.bucket_cap_mb,
                    network=args.network)
    elif args.phases:
        phase_table([int(r) for r in args.ranks.split(",")], int(args.threads.split(",")[0]),
                    args.global_batch, args.steps, args.warmup,
                    bucket_cap_mb=0.05 if args.bucket_cap_mb is None else args.bucket_cap_mb,
                    network=args.network, per_rank_batch=args.per_rank_batch)
    else:
        table([int(r) for r in args.ranks.split(",")], args.threads.split(","), args.cores,
              args.global_batch, args.steps, args.warmup, torch=not args.no_torch,
              bucket_cap_mb=0.05 if args.bucket_cap_mb is None else args.bucket_cap_mb,
              repeat=args.repeat, stat=args.stat, network=args.network,
              per_rank_batch=args.per_rank_batch)
    if hasattr(os, "getloadavg"):  # how busy the machine was: the figures' error bar
        sys.stdout.write(f"load average (1 min) {load:.2f} before, {os.getloadavg()[0]:.2f} "
                         "after\n")


# --------------------------------------------------------------------- as a benchmark suite -
def _have_mpi():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return _mpiexec() is not None


requires_mpi = pytest.mark.skipif(not _have_mpi(), reason="mpi4py or mpiexec is not installed")


@requires_mpi
def test_ddp_one_rank_step_autograd_cnn(benchmark):
    benchmark.group = f"lenet5-ddp-1rank-batch{GLOBAL_BATCH}"
    lib, model, opt, loss_fn = _ours_setup(1)
    benchmark.pedantic(_step_fn(lib, model, opt, loss_fn, _batches(GLOBAL_BATCH, 0, 1)),
                       rounds=20, warmup_rounds=2)


@requires_mpi
def test_ddp_one_rank_step_torch(benchmark):
    torch = pytest.importorskip("torch")
    benchmark.group = f"lenet5-ddp-1rank-batch{GLOBAL_BATCH}"
    threads = torch.get_num_threads()
    lib, model, opt, loss_fn = _torch_setup(1, 0, 1, _free_port())
    try:
        benchmark.pedantic(_step_fn(lib, model, opt, loss_fn, _batches(GLOBAL_BATCH, 0, 1)),
                           rounds=20, warmup_rounds=2)
    finally:
        torch.distributed.destroy_process_group()
        torch.set_num_threads(threads)


@requires_mpi
def test_scaling_table_two_ranks_runs():
    """The table script itself, briefly (2 ranks, a few steps): it must keep working."""
    import io
    out = io.StringIO()
    rows = table([2], ["1"], 2, 32, steps=2, warmup=1, torch=False, out=out)
    assert [(r["ranks"], r["threads"]) for r in rows] == [(2, 1)]
    assert rows[0]["ours_s"] > 0 and "| 2 x 1 |" in out.getvalue()
    out = io.StringIO()
    phase_table([2], 1, 32, steps=2, warmup=1, out=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 + 2 * 2 and lines[2].startswith("| 2: 0 | 16 | median |")
    rows = interleaved([2], 1, 32, steps=2, warmup=1, rounds=2, out=io.StringIO())
    assert rows[0]["one_s"] > 0 and len(rows[0]["per_round"]) == 2


if __name__ == "__main__":
    main()
