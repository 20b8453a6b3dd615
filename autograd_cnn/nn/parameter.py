"""``Parameter``: a Tensor that a Module registers as trainable.

It is an ordinary :class:`~autograd_cnn.Tensor` (same data, same ops) whose ``requires_grad``
defaults to True; assigning one as a module attribute (``self.weight = Parameter(...)``) adds it
to the module's ``parameters()`` and ``state_dict()``. Results of operations on a Parameter are
plain Tensors.
"""
import numpy as np

from ..tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A trainable tensor: ``Parameter(data, requires_grad=True)``. ``data`` is an ndarray or a
    Tensor (its data is used, not copied)."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty(0, dtype=np.float32)
        elif isinstance(data, Tensor):
            data = data.numpy()
        elif not isinstance(data, np.ndarray):
            raise TypeError(f"Parameter: data must be an ndarray or a Tensor, got "
                            f"{type(data).__name__}")
        if not np.issubdtype(data.dtype, np.floating):
            raise TypeError(f"Parameter: data must be floating point, got dtype {data.dtype}")
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
