"""Every built-in differentiable operation, grouped by kind (one ``Function`` per op):

* ``elementwise`` -- arithmetic, exp/log/sqrt/sin/cos/abs, clamp, maximum/minimum, where, casts
* ``reduction``   -- sum, mean, max/min, var/std
* ``sorting``     -- sort, argsort, topk
* ``shape``       -- reshape, transpose/permute, squeeze/unsqueeze/flatten, expand, cat/stack, pad
* ``indexing``    -- ``x[index]`` and gather/scatter along a dimension
* ``matmul``      -- batched matrix product
* ``activation``  -- relu, leaky_relu, sigmoid, tanh, softmax, log_softmax
* ``channel``     -- per-channel statistics, sums and scale-and-shift on (N, C, *spatial) tensors
  (batch norm's and a bias's arithmetic, on the compiled csrc/channel kernels)
* ``creation``    -- factories (zeros, randn, ...), not differentiable
* ``methods``     -- Tensor's operators and op methods (``x + y``, ``x.sum()``), attached to the
  class when this package loads

The functions listed in ``__all__`` are re-exported as ``autograd_cnn.<name>``.
"""
from . import methods  # noqa: F401  (attaches Tensor's operators and op methods)
from . import channel  # noqa: F401  (hands the engine its compiled per-channel gradient sum)
from .elementwise import (exp, log, sqrt, sin, cos, abs, clamp, clip,  # noqa: A004
                          maximum, minimum, where)
from .reduction import sum, mean, max, min, amax, amin, var, std, argmax, argmin  # noqa: A004
from .shape import (reshape, view, transpose, permute, flatten, squeeze, unsqueeze, expand,
                    broadcast_to, cat, concatenate, stack, pad, t, repeat, split, chunk,
                    meshgrid)
from .sorting import sort, argsort, topk
from .matmul import matmul, bmm
from .activation import relu, leaky_relu, sigmoid, tanh, softmax, log_softmax
from .creation import *  # noqa: F401,F403
from .creation import __all__ as _creation_all


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def div(a, b):
    return a / b


def pow(a, b):  # noqa: A001
    return a ** b


def neg(a):
    return -a


__all__ = ["exp", "log", "sqrt", "sin", "cos", "abs", "clamp", "clip", "maximum", "minimum", "where",
           "sum",
           "mean", "max", "min", "amax", "amin", "var", "std", "argmax", "argmin", "sort",
           "argsort", "topk", "reshape",
           "view", "transpose", "permute", "flatten", "squeeze", "unsqueeze", "expand",
           "broadcast_to", "cat", "concatenate", "stack", "pad", "t", "repeat", "split", "chunk",
           "meshgrid", "matmul", "bmm", "relu", "leaky_relu",
           "sigmoid", "tanh", "softmax", "log_softmax", "add", "sub", "mul", "div", "pow",
           "neg"] + list(_creation_all)
