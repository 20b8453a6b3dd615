"""autograd_cnn: a small, fast, readable autograd engine for convolutional networks."""
from .backend import backend_info, get_isa, get_num_threads, set_isa, set_num_threads

__version__ = "0.1.0"

# ---- engine: Tensor, autograd and ops (branch engine) ----
from .tensor import (Tensor, tensor, from_numpy, float16, float32, float64, int32, int64,  # noqa: E402
                     uint8, bool_)
from .autograd import (Function, no_grad, enable_grad, set_grad_enabled, is_grad_enabled,  # noqa: E402
                       gradcheck, gradgradcheck)
from . import autograd, random, ops, functional  # noqa: E402
from .random import manual_seed, default_generator  # noqa: E402
from .ops import *  # noqa: E402,F401,F403

# ---- nn: layers, models, checkpoints, summary (branch nn) ----
from . import nn, models  # noqa: E402
from .serialization import save, load  # noqa: E402
from .summary import summary  # noqa: E402  (the function; the module is autograd_cnn.summary in sys.modules)

# ---- train: optimizers, data loading, datasets, the training loop (branch train) ----
from . import optim, data, datasets  # noqa: E402
from .training import fit, evaluate, EarlyStopping, History  # noqa: E402
