"""``autograd_cnn.amp``: PyTorch's automatic mixed precision names, so that training scripts
written for it run unchanged.

* :class:`autocast` is a context manager / decorator that changes no dtype here: the engine
  computes in float32 and float64 only (there are no float16 / bfloat16 kernels). On a
  ``"cuda"`` device it is disabled with a warning, as PyTorch disables it on a machine without
  a GPU; on ``"cpu"`` the model runs in float32 where PyTorch would run its matrix products and
  convolutions in bfloat16 (a known difference: our results are the more precise ones).
* :class:`GradScaler` follows PyTorch's algorithm on the CPU: ``scale(loss)`` multiplies by the
  scale, ``unscale_`` / ``step`` divide the gradients by it and skip the step when one is inf or
  NaN, ``update`` backs off after such a step and grows the scale after ``growth_interval``
  clean ones. For ``device="cuda"`` (``torch.cuda.amp.GradScaler()``) it disables itself with a
  warning, as PyTorch does without a GPU: ``scale`` returns the loss, ``step`` just steps.
"""
import functools
import math
import numbers
import warnings

import numpy as np

from ._device import device as _device
from .autograd import no_grad
from .tensor import Tensor

__all__ = ["autocast", "GradScaler", "is_autocast_enabled"]

_autocast_depth = [0]


def _device_type(dev, where):
    if isinstance(dev, _device):
        return dev.type
    if not isinstance(dev, str):
        raise TypeError(f"{where}: device_type must be a string such as 'cpu' or 'cuda', got "
                        f"{dev!r}")
    return _device(dev).type


def is_autocast_enabled(device_type=None):
    """True inside an enabled :class:`autocast` (which changes no dtype here)."""
    return _autocast_depth[0] > 0


class autocast:
    """``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``: accepted as
    PyTorch's; computes in the tensors' own dtypes (see the module docstring)."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        kind = _device_type(device_type, "autocast")
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast: enabled must be a bool, got {enabled!r}")
        if dtype is not None and np.dtype(dtype).kind != "f":
            raise ValueError(f"autocast: dtype must be a floating dtype, got {dtype!r}")
        if enabled and kind != "cpu":
            warnings.warn(f"User provided device_type of {kind!r}, but {kind} is not available "
                          "(autograd_cnn runs on CPUs). Disabling", stacklevel=2)
            enabled = False
        self.device, self.fast_dtype, self._enabled = kind, dtype, enabled

    def __enter__(self):
        if self._enabled:
            _autocast_depth[0] += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        if self._enabled:
            _autocast_depth[0] -= 1
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return wrapper


# a GradScaler's per-optimizer stage between two update() calls (PyTorch's OptState)
_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


def _positive(value, name, low=0.0, high=math.inf):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low < value < high:
        raise ValueError(f"GradScaler: {name} must be a number in ({low}, {high}), got {value!r}")
    return float(value)


class GradScaler:
    """PyTorch's ``GradScaler(device="cuda", init_scale=2.**16, growth_factor=2.0,
    backoff_factor=0.5, growth_interval=2000, enabled=True)`` (see the module docstring)."""

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0,
                 backoff_factor=0.5, growth_interval=2000, enabled=True):
        kind = _device_type(device, "GradScaler")
        if not isinstance(enabled, bool):
            raise TypeError(f"GradScaler: enabled must be a bool, got {enabled!r}")
        if enabled and kind != "cpu":
            warnings.warn(f"GradScaler is enabled, but {kind} is not available (autograd_cnn "
                          "runs on CPUs). Disabling.", stacklevel=2)
            enabled = False
        self._device, self._enabled = kind, enabled
        self._scale = _positive(init_scale, "init_scale")
        self._growth_factor = _positive(growth_factor, "growth_factor", 1.0)
        self._backoff_factor = _positive(backoff_factor, "backoff_factor", 0.0, 1.0)
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, numbers.Integral) \
                or growth_interval < 1:
            raise ValueError(f"GradScaler: growth_interval must be a positive int, got "
                             f"{growth_interval!r}")
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._states = {}  # id(optimizer) -> {"stage": ..., "found_inf": bool}

    def is_enabled(self):
        return self._enabled

    def _state(self, optimizer):
        return self._states.setdefault(id(optimizer), {"stage": _READY, "found_inf": None})

    def scale(self, outputs):
        """``outputs`` (a Tensor, or lists/tuples of them) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError(f"GradScaler.scale: outputs must be a Tensor or an iterable of Tensors, "
                         f"got {type(outputs).__name__}")

    def unscale_(self, optimizer):
        """Divide the gradients of ``optimizer``'s parameters by the scale, once per step, and
        note whether any of them is inf or NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv, found = 1.0 / self._scale, False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.grad.mul_(inv)
                        found = found or not np.isfinite(p.grad.numpy()).all()
        state["stage"], state["found_inf"] = _UNSCALED, found

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step()`` on unscaled gradients, skipped when one is inf or NaN; returns
        what the step returned (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None):
        """After the step(s): back off after an inf/NaN, grow after ``growth_interval`` clean
        steps (or take ``new_scale``)."""
        if not self._enabled:
            return
        if new_scale is not None:
            value = float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
            self._scale = _positive(value, "new_scale")
        else:
            checked = [s["found_inf"] for s in self._states.values() if s["found_inf"] is not None]
            if not checked:
                raise RuntimeError("No inf checks were recorded prior to update.")
            if any(checked):
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._scale *= self._growth_factor
                    self._growth_tracker = 0
        self._states = {}

    def get_scale(self):
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self):
        return self._growth_factor

    def get_backoff_factor(self):
        return self._backoff_factor

    def get_growth_interval(self):
        return self._growth_interval

    def state_dict(self):
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict):
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._scale = _positive(float(state_dict["scale"]), "scale")
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
