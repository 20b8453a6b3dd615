"""autograd_cnn: a small, fast, readable autograd engine for convolutional networks."""


def _explain_missing_core(error):
    """The ImportError to raise when the compiled core ``autograd_cnn._C`` cannot be loaded.

    The usual cause is a source tree without a built extension shadowing an installed copy:
    Python puts the current directory first on ``sys.path``, so from the root of a clone
    ``import autograd_cnn`` finds the clone's ``autograd_cnn/`` folder, not site-packages."""
    import os
    from importlib.machinery import EXTENSION_SUFFIXES

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    built = [name for name in os.listdir(here)
             if name.startswith("_C.") and name.endswith(tuple(EXTENSION_SUFFIXES))]
    if built:
        problem = (f"the compiled core {built[0]} in {here} could not be loaded ({error}); it "
                   "was probably built for another Python or machine")
    else:
        problem = (f"the compiled core (autograd_cnn._C) is not built in {here}, the source "
                   "tree that Python found first on sys.path")
    return ImportError(f"autograd_cnn: {problem}. To build it in place, run "
                       f"`pip install -e .` in {root}; or run Python from another directory to "
                       "use an installed copy (`pip install .`).")


from ._interrupt import quiet_while_importing as _quiet_while_importing

_restore_sigint = _quiet_while_importing()  # a Ctrl-C while the command starts: one line, 130

try:  # backend loads the compiled core (after choosing OpenMP's wait policy); all else needs it
    from .backend import backend_info, get_isa, get_num_threads, set_isa, set_num_threads
except ImportError as _error:
    if _error.name not in ("autograd_cnn", "autograd_cnn._C", "_C"):
        raise  # something else is missing (numpy, say): its own message says what
    raise _explain_missing_core(_error) from None

# Tensor, autograd and ops
from .tensor import (Tensor, tensor, as_tensor, from_numpy, float16, float32, float64, int32, int64,
                     uint8, bool_)
from .autograd import (Function, no_grad, enable_grad, set_grad_enabled, is_grad_enabled,
                       inference_mode, is_inference_mode_enabled, gradcheck, gradgradcheck)
from . import autograd, random, ops, functional
from .random import manual_seed, default_generator, Generator
from .ops import *  # noqa: F401,F403
from .ops._util import ShapeError

# layers, models, checkpoints, summary
from . import nn, models
from .serialization import save, load
from .summary import summary  # the function; the module is autograd_cnn.summary in sys.modules

# optimizers, data loading, datasets, the training loop
from . import optim, data, datasets
from .training import fit, evaluate, EarlyStopping, History

# ONNX export and import (the onnx package itself is imported only when they run)
from . import onnx
# PyTorch's device and backend queries (the engine runs on CPUs), dtype names
from ._device import device
from . import cuda, accelerator, backends, utils, amp
from .backends import (use_deterministic_algorithms, are_deterministic_algorithms_enabled,
                       set_float32_matmul_precision, get_float32_matmul_precision)
from .amp import autocast, is_autocast_enabled
from .compiler import compile  # noqa: A004 (PyTorch's name; returns the model unchanged)
from .tensor import float, double, half, long, int, short, bool, int8, int16  # noqa: A004

__version__ = "0.1.0"
_restore_sigint()
