"""``one_hot``: class indices as one-hot rows, as ``torch.nn.functional.one_hot``.

For an integer Tensor ``t`` of any shape and ``C`` classes the result has shape
``t.shape + (C,)`` and dtype int64, with ``out[..., k] = 1 if t[...] == k else 0``. It is not
differentiable (integers), as in PyTorch; multiply by a float Tensor or ``.float()`` it to mix it
into a loss.
"""
import numbers

import numpy as np

from ..autograd import Tensor

__all__ = ["one_hot"]


def one_hot(tensor, num_classes=-1):
    """One-hot encoding of the class indices in ``tensor`` (an integer Tensor): shape
    ``tensor.shape + (num_classes,)``, int64. ``num_classes=-1`` takes ``tensor.max() + 1``.
    Indices must be in ``[0, num_classes)``. Same as torch.nn.functional.one_hot (which takes
    int64 only; any integer dtype is accepted here)."""
    fn = "one_hot"
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{fn}: tensor must be a Tensor of class indices, got "
                        f"{type(tensor).__name__}")
    idx = tensor.numpy()
    if idx.dtype == np.bool_ or not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"{fn}: tensor must hold integer class indices (int64, as PyTorch's "
                        f"LongTensor), got dtype {idx.dtype}")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"{fn}: num_classes must be an int, got {num_classes!r}")
    num_classes = int(num_classes)
    if num_classes == -1 and idx.size == 0:
        raise ValueError(f"{fn}: cannot infer num_classes from an empty tensor; pass "
                         "num_classes")
    if idx.size:
        low, high = int(idx.min()), int(idx.max())
        if low < 0:
            raise ValueError(f"{fn}: class values must be non-negative, got {low}")
        if num_classes == -1:
            num_classes = high + 1
        elif high >= num_classes:
            raise ValueError(f"{fn}: class values must be smaller than num_classes "
                             f"({num_classes}), got {high}")
    elif num_classes < 0:
        raise ValueError(f"{fn}: num_classes must be -1 or >= 0, got {num_classes}")
    out = np.zeros(idx.shape + (num_classes,), np.int64)
    if idx.size:
        np.put_along_axis(out, idx[..., None].astype(np.intp, copy=False), 1, axis=-1)
    return Tensor(out)
