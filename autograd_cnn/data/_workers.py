"""Loading batches in worker processes: ``DataLoader(num_workers=N)``.

The main process keeps every decision that makes an epoch reproducible: the sampler draws the
epoch's index order, and the loader cuts it into batches. Batch ``i`` goes to worker ``i % N``
(each worker has its own index queue); the workers fetch and collate (``dataset.get_batch`` or
``collate_fn`` over samples: where file decoding and transforms run in parallel) and put
``(epoch, i, arrays)`` on one shared result queue; the main process hands batches out in order
``0, 1, 2, ...``, holding early arrivals. At most ``prefetch_factor * N`` batches are in flight. So
the batches are the same, in the same order, as with ``num_workers=0`` for the same seed.

Each worker is seeded as in PyTorch: ``base_seed + worker_id`` for Python's ``random``, NumPy's
global ``np.random`` and autograd_cnn's generator, where ``base_seed`` is drawn per epoch in the
main process (from the loader's generator, else the global one: also with ``num_workers=0``, so
the main stream advances alike). ``worker_init_fn(worker_id)`` runs after seeding, and
:func:`get_worker_info` tells code inside a worker which one it is.

An :class:`IterableDataset` has no indices: each worker iterates its own copy and answers a
request ``(epoch, (worker, k), None)`` with its stream's next batch (or a :class:`_StreamEnd`);
the main process hands the batches out round-robin over the workers, dropping a worker from the
rotation when its stream ends (``run_stream``, PyTorch's order).

Failure modes handled: an exception in a worker comes back as the same exception type in the main
process, its message holding the worker's traceback text; a worker that dies (killed, segfault)
is noticed within a second and raises; ``timeout`` bounds the wait for one batch; leaving the loop
early, an exception, or garbage collection of the iterator shuts the workers down (an index queue
gets ``None``, then join, then terminate if needed). Workers ignore SIGINT (Ctrl-C goes to the main
process) and exit by themselves if the main process disappears.
"""
import os
import pickle
import queue
import random
import signal
import sys
import time
import traceback
from collections import namedtuple

import numpy as np

from .. import random as _random
from ..backend import set_num_threads
from .collate import fetch_batch, iter_batches

__all__ = ["WorkerInfo", "get_worker_info", "WorkerPool"]

WorkerInfo = namedtuple("WorkerInfo", ["id", "num_workers", "seed", "dataset"])
_worker_info = None

_POLL_S = 1.0  # how often a waiting main process checks that its workers are alive


def get_worker_info():
    """Inside a DataLoader worker: ``WorkerInfo(id, num_workers, seed, dataset)`` (the dataset
    is this worker's copy). In the main process: None."""
    return _worker_info


class _RemoteError:
    """An exception raised in a worker, carried to the main process as its type and the text of
    its traceback (traceback objects cannot be pickled)."""

    def __init__(self, worker_id):
        exc_type, exc, _ = sys.exc_info()
        try:
            pickle.dumps(exc_type)
        except Exception:  # a class that cannot travel (defined in a function): say its name
            exc_type = RuntimeError
        self.exc_type = exc_type
        self.text = (f"Caught {type(exc).__name__} in DataLoader worker process {worker_id}.\n"
                     f"Original {traceback.format_exc()}")

    def reraise(self):
        try:
            error = self.exc_type(self.text)
        except Exception:  # an exception class whose constructor wants other arguments
            error = RuntimeError(self.text)
        raise error


class _StreamEnd:
    """A worker's answer when its copy of an iterable dataset has no batch left this epoch."""


def _worker_loop(worker_id, num_workers, dataset, collate_fn, index_queue, result_queue,
                 base_seed, worker_init_fn, parent_pid, batching):
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    result_queue.cancel_join_thread()  # a worker told to stop must not wait to flush its queue
    seed = base_seed + worker_id
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    _random.manual_seed(seed % 2 ** 63)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    set_num_threads(1)  # N workers share the CPUs; the main process keeps its threads
    init_error = None
    if worker_init_fn is not None:
        try:
            worker_init_fn(worker_id)
        except Exception:
            init_error = _RemoteError(worker_id)
    stream_epoch, stream = None, None  # an iterable dataset's batches this epoch
    while True:
        try:
            task = index_queue.get(timeout=_POLL_S)
        except queue.Empty:
            if os.getppid() != parent_pid:  # the main process is gone
                return
            continue
        if task is None:
            return
        epoch, i, indices = task
        if init_error is not None:
            result_queue.put((epoch, i, init_error))
            continue
        try:
            if indices is not None:
                data = fetch_batch(dataset, indices, collate_fn)
            else:  # the next batch of this worker's own stream
                if stream_epoch != epoch:
                    stream_epoch = epoch
                    stream = iter_batches(iter(dataset), *batching, collate_fn)
                data = next(stream, _StreamEnd())
        except Exception:
            data = _RemoteError(worker_id)
        result_queue.put((epoch, i, data))


def _context(multiprocessing_context):
    import multiprocessing as mp
    if multiprocessing_context is None:
        # fork, as PyTorch on Linux: datasets and functions defined anywhere (a script's
        # __main__, a test) reach the workers without pickling; spawn where there is no fork
        methods = mp.get_all_start_methods()
        return mp.get_context("fork" if "fork" in methods else "spawn")
    if isinstance(multiprocessing_context, str):
        return mp.get_context(multiprocessing_context)
    return multiprocessing_context


class WorkerPool:
    """``num_workers`` processes serving one loader, for one epoch or (``persistent_workers``) for
    all of them. ``run_epoch(batches, base_seed)`` yields the batches' data in order."""

    def __init__(self, loader, base_seed):
        ctx = _context(loader.multiprocessing_context)
        n = loader.num_workers
        self.n, self.timeout, self.depth = n, loader.timeout, loader.prefetch_factor * n
        self.result_queue = ctx.Queue()
        self.index_queues, self.workers = [], []
        self.epoch = 0
        self.closed = False
        for w in range(n):
            q = ctx.Queue()
            q.cancel_join_thread()
            p = ctx.Process(target=_worker_loop, daemon=True,
                            args=(w, n, loader.dataset, loader.collate_fn, q, self.result_queue,
                                  base_seed, loader.worker_init_fn, os.getpid(),
                                  (loader.batch_size, loader.drop_last)))
            p.start()
            self.index_queues.append(q)
            self.workers.append(p)

    def run_epoch(self, batches):
        """Send the batches (index arrays) to the workers, at most ``depth`` ahead, and yield
        their data in order. Results of an earlier, abandoned epoch are dropped."""
        self.epoch += 1
        epoch, total = self.epoch, len(batches)
        sent = 0
        held = {}
        for want in range(total):
            while sent < total and sent - want < self.depth:
                self.index_queues[sent % self.n].put((epoch, sent, batches[sent]))
                sent += 1
            while want not in held:
                e, i, data = self._get()
                if e == epoch:
                    held[i] = data
            data = held.pop(want)
            if isinstance(data, _RemoteError):
                data.reraise()
            yield data

    def run_stream(self):
        """An iterable dataset's epoch: every worker iterates its own copy; batches are handed
        out round-robin (worker 0's first, worker 1's first, ..., worker 0's second), a worker
        leaving the rotation when its stream ends. ``prefetch_factor`` requests per worker are
        in flight."""
        self.epoch += 1
        epoch = self.epoch
        sent, got, held = [0] * self.n, [0] * self.n, {}

        def request(w):
            self.index_queues[w].put((epoch, (w, sent[w]), None))
            sent[w] += 1

        for w in range(self.n):
            for _ in range(self.depth // self.n):
                request(w)
        active, pos = list(range(self.n)), 0
        while active:
            w = active[pos]
            while (w, got[w]) not in held:
                e, i, data = self._get()
                if e == epoch:
                    held[i] = data
            data = held.pop((w, got[w]))
            got[w] += 1
            if isinstance(data, _RemoteError):
                data.reraise()
            if isinstance(data, _StreamEnd):
                active.pop(pos)  # the next worker moves into this place
                pos = pos % len(active) if active else 0
                continue
            request(w)
            pos = (pos + 1) % len(active)
            yield data

    def _get(self):
        start = time.monotonic()
        while True:
            wait = _POLL_S
            if self.timeout > 0:
                left = self.timeout - (time.monotonic() - start)
                if left <= 0:
                    raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                       "waiting for a batch from its workers")
                wait = min(wait, left)
            try:
                return self.result_queue.get(timeout=wait)
            except queue.Empty:
                dead = [p for p in self.workers if not p.is_alive()]
                if dead:
                    codes = ", ".join(f"pid {p.pid}: exit code {p.exitcode}" for p in dead)
                    raise RuntimeError(f"DataLoader worker(s) exited unexpectedly ({codes}); "
                                       "a worker killed by a signal has a negative exit code")

    def shutdown(self):
        """Stop every worker (asked first, terminated if it does not exit within a second)."""
        if self.closed:
            return
        self.closed = True
        for q in self.index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 1.0
        for p in self.workers:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(1.0)
        for q in self.index_queues + [self.result_queue]:
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        try:
            self.shutdown()
        except Exception:  # at interpreter exit the modules it needs may be gone already
            pass
