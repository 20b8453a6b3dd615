"""autograd_cnn: a small, fast, readable autograd engine for convolutional networks."""
from .backend import backend_info, get_isa, get_num_threads, set_isa, set_num_threads

# Tensor, autograd and ops
from .tensor import (Tensor, tensor, from_numpy, float16, float32, float64, int32, int64,
                     uint8, bool_)
from .autograd import (Function, no_grad, enable_grad, set_grad_enabled, is_grad_enabled,
                       gradcheck, gradgradcheck)
from . import autograd, random, ops, functional
from .random import manual_seed, default_generator
from .ops import *  # noqa: F401,F403
from .ops._util import ShapeError

# layers, models, checkpoints, summary
from . import nn, models
from .serialization import save, load
from .summary import summary  # the function; the module is autograd_cnn.summary in sys.modules

# optimizers, data loading, datasets, the training loop
from . import optim, data, datasets
from .training import fit, evaluate, EarlyStopping, History

__version__ = "0.1.0"
