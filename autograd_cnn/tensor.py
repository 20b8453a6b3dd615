"""Making Tensors: ``tensor``, ``from_numpy`` and the dtype names.

The class itself is built in two places: its data and graph core in
``autograd_cnn/autograd/tensor.py`` and every method that computes (operators, ``sum``,
``reshape``, ``backward`` ...) in ``autograd_cnn/ops/methods.py``.
"""
import numpy as np

from ._device import check_device
from .autograd.tensor import Tensor, as_array, _infer_array

__all__ = ["Tensor", "tensor", "as_tensor", "from_numpy", "as_array", "float32", "float64",
           "float16", "int32",
           "int64", "bool_", "uint8", "int8", "int16", "double", "half", "long", "short"]

float16, float32, float64 = np.float16, np.float32, np.float64
int32, int64, uint8, bool_ = np.int32, np.int64, np.uint8, np.bool_
int8, int16 = np.int8, np.int16
# PyTorch's other names for them (``torch.float`` is float32, ``torch.long`` int64, ...); the
# three that shadow builtins (float, int, bool) stay out of __all__, and no function below uses
# those builtins
float, double, half = np.float32, np.float64, np.float16  # noqa: A001
long, int, short, bool = np.int64, np.int32, np.int16, np.bool_  # noqa: A001


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new Tensor holding a *copy* of ``data`` (list, number, ndarray or Tensor); ``device``
    may only be the CPU (``"cpu"``)."""
    check_device(device, "tensor")
    arr = _infer_array(data, dtype)
    if arr is data or (isinstance(data, Tensor) and arr is data._data):
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a Tensor without copying when it can: a Tensor of the right dtype comes back
    as is, an ndarray of the right dtype is shared (as ``from_numpy``); anything else is
    converted as by :func:`tensor`."""
    check_device(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.to(dtype)
    return Tensor(_infer_array(data, dtype))


def from_numpy(array):
    """A Tensor sharing memory with ``array`` (no copy, dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy(): expected an np.ndarray, got {type(array).__name__}")
    return Tensor(array)
