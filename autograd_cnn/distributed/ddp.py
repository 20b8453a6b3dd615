"""``DistributedDataParallel``: the same model on every rank, each on its own part of the batch,
kept identical by averaging the gradients (PyTorch's ``torch.nn.parallel.DistributedDataParallel``).

At wrap time rank 0's parameters and buffers are broadcast, so every rank starts equal. The
parameters are then grouped into *buckets*: flat buffers of at most ``bucket_cap_mb`` (the first
one 1 MiB, as in PyTorch), filled in reverse registration order -- roughly the order in which
backward produces the gradients, output layer first. Each parameter gets a post-accumulate-grad
hook (``Tensor.register_post_accumulate_grad_hook``): when the engine has written a parameter's
``.grad``, the hook copies it into its bucket, and when a bucket's last gradient is in, the
bucket's non-blocking sum over the ranks (``MPI_Iallreduce``) starts, while backward goes on
with the earlier layers. Buckets start in index order on every rank (an MPI rule: collectives
are issued in the same order everywhere). Later hooks also test the running requests, which is
what moves MPICH's non-blocking collectives forward without a progress thread.

At the end of backward (a callback queued with ``autograd.engine.queue_callback``) the
requests are waited for, each sum is divided by the world size and copied back into the
``.grad`` of its parameters: every rank ends backward with the same, averaged gradient, and
equal optimizer steps keep the replicas equal.

Each training forward also passes the module's output Tensors through an identity Function
(PyTorch's ``_DDPSink`` idea) whose backward queues that callback: a backward that flows through
the output always ends with the averaging, even on a rank where it reaches no parameter at all
(no hook fires there, yet its peers wait for its buckets). Parameters that get no gradient in a
backward are sent as zeros and, unless ``find_unused_parameters=True``, make the backward raise on
*every* rank (one more number in the last bucket counts the ranks that missed some; that rank's
error names them): no rank is left waiting in the collective. With
``find_unused_parameters=True`` they count as zero, and a parameter no rank used keeps ``.grad``
as it was. ``no_sync()`` skips the averaging for the backwards of forwards run inside it
(gradient accumulation: the gradients add up locally and the first synchronised backward
averages the sum). A job of one rank has nothing to average: the wrapper then leaves backward
alone (no copies, no checks, no sink).

Differences from PyTorch: no ``device_ids`` / ``output_device`` (CPU processes only); the
gradients are copied out of the buckets (PyTorch's default, ``gradient_as_bucket_view=False``);
unused parameters are found at the end of backward instead of by a walk of the graph after each
forward, and a missing gradient raises on every rank instead of hanging or failing at the next
forward.
"""
import contextlib
import os
import time

import numpy as np

from ..autograd import engine
from ..autograd.function import Op
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.tensor import Tensor, as_array
from ..nn.module import Module
from . import process_group

__all__ = ["DistributedDataParallel"]

_FIRST_BUCKET_BYTES = 1 << 20


def broadcast_arrays(comm, arrays, root=0):
    """Overwrite each ndarray in ``arrays`` with rank ``root``'s values: one broadcast per dtype
    (the arrays packed into one flat buffer), not one per array."""
    by_dtype = {}
    for a in arrays:
        by_dtype.setdefault(a.dtype, []).append(a)
    for group in by_dtype.values():
        flat = np.concatenate([a.ravel() for a in group])
        comm.Bcast(flat, root=root)
        start = 0
        for a in group:
            a[...] = flat[start:start + a.size].reshape(a.shape)
            start += a.size


def _group(named, cap):
    """``(params, names, dtype)`` per bucket: ``named`` (name, parameter) pairs in order, cut
    when a bucket reaches ``cap`` bytes (the first one already at 1 MiB), one dtype per bucket."""
    buckets, filling = [], {}   # dtype -> [params, names, bytes] of the bucket being filled
    limit = min(_FIRST_BUCKET_BYTES, cap)
    for name, p in named:
        entry = filling.setdefault(p.dtype, [[], [], 0])
        entry[0].append(p)
        entry[1].append(name)
        entry[2] += p.numpy().nbytes
        if entry[2] >= limit:
            buckets.append((entry[0], entry[1], p.dtype))
            del filling[p.dtype]
            limit = cap
    buckets.extend((params, names, dtype) for dtype, (params, names, _) in filling.items())
    return buckets


class _Bucket:
    """Parameters whose gradients travel together, and where each sits in the flat buffer."""

    def __init__(self, params, names, dtype, count_slots, flag_slot):
        self.params, self.names = params, names
        self.offsets = np.cumsum([0] + [p.numel() for p in params]).tolist()
        size = self.offsets[-1]
        # with find_unused_parameters each parameter also gets a slot that counts the ranks
        # that used it; the last bucket sent has one more, counting the ranks that missed a
        # gradient: both summed by the same all-reduce
        used = len(params) if count_slots else 0
        self.buffer = np.zeros(size + used + int(flag_slot), dtype=dtype)
        self.grads = self.buffer[:size]
        self.used = self.buffer[size:size + used]
        self.flag = self.buffer[size + used:]
        #: each parameter's place in the buffer, shaped like it (the hooks copy into these)
        self.views = [self.buffer[lo:hi].reshape(p.shape)
                      for p, lo, hi in zip(params, self.offsets, self.offsets[1:])]
        self.ready = [False] * len(params)
        self.pending = len(params)

    def reset(self):
        self.ready = [False] * len(self.params)
        self.pending = len(self.params)


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training (``distributed.init()`` first). Call it like
    the module; ``.module`` is the wrapped model (save ``ddp.module.state_dict()`` to load it
    without the wrapper; ``ddp.state_dict()`` keys carry the ``module.`` prefix, as in PyTorch).

    ``broadcast_buffers``: rank 0's buffers (batch-norm running statistics) are copied to every
    rank at each training forward. ``bucket_cap_mb``: the largest bucket (default 25, PyTorch's).
    ``find_unused_parameters``: allow parameters that get no gradient. ``process_group``: an
    ``mpi4py`` communicator (default: the one ``init()`` joined)."""

    def __init__(self, module, broadcast_buffers=True, bucket_cap_mb=None,
                 find_unused_parameters=False, process_group=None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, got "
                            f"{type(module).__name__}")
        if bucket_cap_mb is None:
            bucket_cap_mb = 25
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, (int, float)) \
                or not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a number > 0, got "
                             f"{bucket_cap_mb!r}")
        world = process_group if process_group is not None else _default_comm()
        self.module = module
        self.broadcast_buffers = bool(broadcast_buffers)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.bucket_cap_mb = bucket_cap_mb
        self.require_backward_grad_sync = True
        self._comm = world.Dup()  # its own channel: no mix-up with anyone else's collectives
        self._world = self._comm.Get_size()
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if self._world > 1:
            broadcast_arrays(self._comm, [p.numpy() for _, p in module.named_parameters()]
                             + self._buffer_arrays())
        groups = _group(named[::-1], bucket_cap_mb * (1 << 20))
        self._buckets = [_Bucket(params, names, dtype, self.find_unused_parameters,
                                 i == len(groups) - 1)
                         for i, (params, names, dtype) in enumerate(groups)]
        self._handles = []
        for bucket in self._buckets:
            for slot, p in enumerate(bucket.params):
                self._handles.append(p.register_post_accumulate_grad_hook(
                    self._hook_for(bucket, slot)))
        self._syncing = False   # whether the coming backward averages (set at forward)
        self._queued = False    # the end-of-backward callback is queued
        self._next_bucket = 0   # the next bucket to start, in index order
        self._requests = []
        #: seconds spent waiting for the sums at the end of backward (cumulative; a diagnostic
        #: of how much communication the backward pass did not hide)
        self.wait_seconds = 0.0

    # ------------------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        # (one rank has nothing to average: its backward is left alone)
        self._syncing = is_grad_enabled() and self.require_backward_grad_sync and self._world > 1
        if not self._syncing:
            return self.module(*args, **kwargs)
        if self.broadcast_buffers:
            buffers = self._buffer_arrays()
            if buffers:
                broadcast_arrays(self._comm, buffers)
        return self._sink(self.module(*args, **kwargs))

    def _sink(self, out):
        """``out`` with each Tensor that requires grad passed through ``_OutputSink``."""
        if isinstance(out, Tensor):
            return _OutputSink.apply(out, self) if out.requires_grad else out
        if isinstance(out, tuple) and hasattr(out, "_fields"):  # a namedtuple
            return type(out)(*[self._sink(o) for o in out])
        if isinstance(out, (tuple, list)):
            return type(out)(self._sink(o) for o in out)
        if isinstance(out, dict):
            return type(out)((k, self._sink(v)) for k, v in out.items())
        return out

    def _buffer_arrays(self):
        return [b.numpy() for b in self.module.buffers() if b is not None]

    @contextlib.contextmanager
    def no_sync(self):
        """Backwards of forwards run inside this block keep their gradients local (they add up
        in ``.grad``); the next synchronised backward averages the accumulated sum."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------------------------ backward
    def _hook_for(self, bucket, slot):
        def hook(param):
            if self._syncing:
                self._gradient_ready(bucket, slot, param)
        return hook

    def _backward_reached(self):
        """Queue the end-of-backward averaging (once per backward): called by the output sink
        and, for a backward that did not come through the output, by the first hook."""
        if not self._queued:
            engine.queue_callback(self._finish_backward)
            self._queued = True

    def _gradient_ready(self, bucket, slot, param):
        if not self._queued:
            self._backward_reached()
        if bucket.ready[slot]:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {bucket.names[slot]} received its gradient "
                "twice in one backward (a forward called twice before one backward?); run "
                "forward and backward in turns")
        np.copyto(bucket.views[slot], param.grad._data)
        if bucket.used.size:
            bucket.used[slot] = 1
        bucket.ready[slot] = True
        bucket.pending -= 1
        if bucket.pending == 0:
            self._start_ready_buckets()
        elif self._requests:
            self._requests[0].Testall(self._requests)  # lets MPI move the running sums on

    def _start_ready_buckets(self):
        buckets = self._buckets
        while self._next_bucket < len(buckets) and buckets[self._next_bucket].pending == 0:
            buf = buckets[self._next_bucket].buffer
            self._requests.append(self._comm.Iallreduce(process_group._mpi().IN_PLACE, buf,
                                                        op=process_group._mpi().SUM))
            self._next_bucket += 1

    def _finish_backward(self):
        self._queued = False
        try:
            missing = [name for b in self._buckets for name, r in zip(b.names, b.ready) if not r]
            if missing:  # sent as zeros, so that every rank's sums complete
                for b in self._buckets:
                    for slot, r in enumerate(b.ready):
                        if not r:
                            b.views[slot][...] = 0
                    b.pending = 0
                if not self.find_unused_parameters:
                    self._buckets[-1].flag[0] = 1
                self._start_ready_buckets()
            t0 = time.perf_counter()
            if self._requests:
                _wait_politely(self._requests)
            self.wait_seconds += time.perf_counter() - t0
            ranks_missing = int(self._buckets[-1].flag[0]) if self._buckets else 0
            if ranks_missing:
                here = (f"this rank's: {', '.join(missing)}" if missing
                        else "this rank had every gradient")
                raise RuntimeError(
                    f"DistributedDataParallel: {ranks_missing} of {self._world} ranks received no "
                    f"gradient for some parameters in this backward ({here}). Every parameter "
                    "must take part in the loss on every rank, or wrap the model with "
                    "find_unused_parameters=True")
            for b in self._buckets:
                self._write_back(b)
        finally:
            self._requests = []
            self._next_bucket = 0
            for b in self._buckets:
                b.reset()
                b.used[...] = 0
                b.flag[...] = 0

    def _write_back(self, bucket):
        """The averaged gradients out of the bucket, into the parameters' ``.grad`` (the sum
        divided by the world size on its way: one pass over the gradients)."""
        for slot, p in enumerate(bucket.params):
            if bucket.used.size and bucket.used[slot] == 0:
                continue  # no rank used it: .grad stays as it was
            g = p.grad
            if g is None or g.shape != p.shape or not g._data.flags.writeable:
                p.grad = Tensor(np.divide(bucket.views[slot], self._world))
            else:
                np.divide(bucket.views[slot], self._world, out=g._data)
                g._version += 1


class _OutputSink(Op):
    """The identity on a DDP output; its backward (the first of the backward pass) makes sure
    the averaging runs at the end of it, even if no parameter's hook fires on this rank."""

    @staticmethod
    def forward(ctx, x, ddp):
        ctx.ddp = ddp
        return as_array(x).view()

    @staticmethod
    def backward(ctx, grad):
        ctx.ddp._backward_reached()
        return grad, None


#: how long ``_wait_politely`` yields the core between tests before it sleeps between them
_YIELD_SECONDS = 2e-3


def _wait_politely(requests):
    """Wait for ``requests`` without taking the core from a rank that needs it. MPI_Waitall
    busy-polls, which on a machine with more runnable processes than cores takes the core from
    the very rank being waited for (measured: 2 ranks on 2 busy cores waited 11 ms per LeNet-5
    step). Sleeping between tests is no better when the cores are free: each stage of the
    all-reduce's protocol needs both ranks to poll, so two ranks taking turns to sleep pay a
    sleep (~85 us on Linux, whatever the request) per stage (measured: 0.44 ms per LeNet-5 step,
    against 0.03 ms spinning). So: test, and between tests ``sched_yield`` -- the core goes to
    any process waiting for it, else the test comes straight back -- and only after a couple of
    scheduler ticks (the peer has surely lost its core) sleep between tests, which lets the
    kernel move a waiting process onto this core."""
    test = requests[0].Testall
    if test(requests):
        return
    yield_until = time.perf_counter() + _YIELD_SECONDS
    while not test(requests):
        if time.perf_counter() < yield_until:
            _yield()
        else:
            time.sleep(20e-6)


_yield = getattr(os, "sched_yield", lambda: time.sleep(0))


def _default_comm():
    if not process_group.is_initialized():
        raise RuntimeError("DistributedDataParallel: call autograd_cnn.distributed.init() first")
    return process_group.comm()
