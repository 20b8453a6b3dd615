"""``autograd_cnn.cuda.amp``: PyTorch's older spelling of mixed precision on a GPU,
``torch.cuda.amp.autocast()`` and ``torch.cuda.amp.GradScaler()``. There is no GPU here, so both
disable themselves with a warning, as PyTorch's do on a machine without one (see
``autograd_cnn/amp.py``)."""
from .. import amp as _amp
from ..tensor import float16 as _float16

__all__ = ["autocast", "GradScaler"]


def autocast(enabled=True, dtype=_float16, cache_enabled=True):
    """``autograd_cnn.amp.autocast("cuda", ...)``: disabled (no GPU)."""
    return _amp.autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


def GradScaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
               enabled=True):
    """``autograd_cnn.amp.GradScaler("cuda", ...)``: disabled (no GPU)."""
    return _amp.GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval,
                           enabled)
