"""``autograd_cnn.utils``: PyTorch's ``torch.utils`` paths.

``autograd_cnn.utils.data`` *is* ``autograd_cnn.data`` -- the same module objects registered
under PyTorch's name (``from autograd_cnn.utils.data import DataLoader`` and
``from autograd_cnn.data import DataLoader`` give the same class), so there is one implementation
behind each name and ``isinstance`` checks agree whichever path a script imports."""
import sys as _sys

from .. import data

for _sub in ("", ".dataloader", ".dataset", ".sampler", ".collate"):
    _sys.modules[__name__ + ".data" + _sub] = _sys.modules[data.__name__ + _sub]
del _sub

__all__ = ["data"]
