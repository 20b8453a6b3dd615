"""The processes of a data-parallel job -- who am I, how many are we -- and the few collectives
the rest of the package needs, over MPI through ``mpi4py`` (imported by ``init()``, never by
``import autograd_cnn``).

``init()`` works under a launcher (``mpiexec -n 4 python train.py``: four ranks) and as a plain
process (world size 1). After it, an exception that reaches the top of any rank prints that
rank's traceback and aborts the whole job (``MPI_Abort``): the other ranks would otherwise wait
forever in their next collective.
"""
import os
import sys
import time

import numpy as np

from ..autograd.tensor import as_array

__all__ = ["init", "is_initialized", "is_available", "get_rank", "get_world_size",
           "get_local_size", "comm", "barrier", "broadcast", "all_reduce", "broadcast_object",
           "sum_numbers", "abort", "exit_status"]

_world = None          # the communicator (MPI.COMM_WORLD) once init() ran
_previous_hook = None  # sys.excepthook before init() replaced it

#: environment variables in which launchers tell a process how many ranks they started
_LAUNCHER_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_SIZE")


def is_available():
    """True when mpi4py can be imported (``pip install "autograd_cnn[distributed]"``)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _mpi():
    try:
        import mpi4py
    except ImportError:
        raise ImportError("autograd_cnn.distributed needs mpi4py and an MPI library: "
                          "pip install \"autograd_cnn[distributed]\" (mpi4py and mpich)") from None
    if "mpi4py.MPI" not in sys.modules:
        # MPI is called from the main thread only (the kernels' threads never call it):
        # MPI_THREAD_FUNNELED spares MPICH the locking of MPI_THREAD_MULTIPLE
        mpi4py.rc.thread_level = "funneled"
    from mpi4py import MPI
    return MPI


def _launcher_size():
    """How many ranks a launcher says it started (0: no launcher variable set)."""
    for name in _LAUNCHER_SIZE:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return 0


def init(comm=None):
    """Join the job (``MPI_Init`` via mpi4py; ``comm`` defaults to ``MPI.COMM_WORLD``). Calling it
    again does nothing. Without a launcher the world is this one process.

    Raises RuntimeError when a launcher started several ranks but MPI sees this process alone
    (mpi4py built against another MPI than the ``mpiexec`` used), instead of training N
    unconnected copies."""
    global _world, _previous_hook
    if _world is not None:
        return
    MPI = _mpi()
    world = MPI.COMM_WORLD if comm is None else comm
    size, expected = world.Get_size(), _launcher_size()
    if size == 1 and expected > 1:
        raise RuntimeError(
            f"autograd_cnn.distributed: the launcher started {expected} ranks, but MPI sees this "
            "process alone (world size 1): it is running without its peers. mpi4py is probably "
            "built against another MPI library than the mpiexec that started it; use the "
            f"mpiexec next to this Python ({os.path.dirname(sys.executable)}/mpiexec) or rebuild "
            "mpi4py for your MPI")
    _world = world
    if size > 1:
        _previous_hook = sys.excepthook
        sys.excepthook = _abort_job


def _abort_job(exc_type, exc, tb):
    """sys.excepthook under a multi-rank job: this rank's error, then MPI_Abort of all ranks."""
    rank, size = _world.Get_rank(), _world.Get_size()
    sys.stderr.write(f"autograd_cnn.distributed: rank {rank} of {size} failed; aborting the job\n")
    (_previous_hook or sys.__excepthook__)(exc_type, exc, tb)
    abort(1)


def abort(status):
    """End every rank of the job now, with exit status ``status`` (``MPI_Abort``). A rank that
    fails must not simply exit: MPI_Finalize at its exit would wait for peers that wait for it."""
    world = _require("abort")
    sys.stderr.flush()
    sys.stdout.flush()
    time.sleep(0.2)  # lets the launcher forward this output before it kills the ranks
    world.Abort(status)


def exit_status(status):
    """``status``, after aborting the whole job when it is a failure (non-zero) of one rank of
    several: what a command returns as a rank of an MPI job."""
    if status and _world is not None and _world.Get_size() > 1:
        abort(status)
    return status


def is_initialized():
    """True once ``init()`` ran in this process."""
    return _world is not None


def _require(caller):
    if _world is None:
        raise RuntimeError(f"{caller}: autograd_cnn.distributed.init() has not been called")
    return _world


def comm():
    """The communicator ``init()`` joined (an ``mpi4py.MPI.Comm``)."""
    return _require("comm")


def get_rank():
    """This process's rank, 0 .. world size - 1."""
    return _require("get_rank").Get_rank()


def get_world_size():
    """How many processes the job has."""
    return _require("get_world_size").Get_size()


def get_local_size():
    """How many ranks of the job run on this machine (they share its cores)."""
    world = _require("get_local_size")
    if world.Get_size() == 1:
        return 1
    local = world.Split_type(_mpi().COMM_TYPE_SHARED)
    try:
        return local.Get_size()
    finally:
        local.Free()


def barrier():
    """Wait until every rank reaches this point."""
    _require("barrier").Barrier()


def _buffer(tensor, caller):
    arr = as_array(tensor)
    if not isinstance(arr, np.ndarray) or not arr.flags.c_contiguous or not arr.flags.writeable:
        raise ValueError(f"{caller}: tensor must be a writable, C-contiguous Tensor or ndarray")
    return arr


def all_reduce(tensor):
    """Sum ``tensor`` (a Tensor or ndarray) over all ranks, in place; every rank gets the sum."""
    world = _require("all_reduce")
    arr = _buffer(tensor, "all_reduce")
    if world.Get_size() > 1:
        world.Allreduce(_mpi().IN_PLACE, arr, op=_mpi().SUM)
    return tensor


def broadcast(tensor, src=0):
    """Overwrite ``tensor`` (a Tensor or ndarray) on every rank with rank ``src``'s values."""
    world = _require("broadcast")
    arr = _buffer(tensor, "broadcast")
    if world.Get_size() > 1:
        world.Bcast(arr, root=src)
    return tensor


def broadcast_object(obj, src=0):
    """Rank ``src``'s ``obj`` (any picklable value), returned on every rank."""
    world = _require("broadcast_object")
    return world.bcast(obj, root=src) if world.Get_size() > 1 else obj


def sum_numbers(values):
    """Element-wise sum of a sequence of numbers over all ranks (as float64), on every rank."""
    world = _require("sum_numbers")
    arr = np.asarray(values, dtype=np.float64)
    if world.Get_size() > 1:
        world.Allreduce(_mpi().IN_PLACE, arr, op=_mpi().SUM)
    return arr
