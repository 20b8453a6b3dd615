"""Lazy layers: ``LazyLinear``, ``LazyConv1d/2d``, ``LazyConvTranspose1d/2d``,
``LazyBatchNorm1d/2d``. They take every argument of their eager layer except the input size
(``in_features``, ``in_channels``, ``num_features``), which they read from the first input.

As in PyTorch:

* Until the first call the weights are :class:`UninitializedParameter` (and BatchNorm's running
  statistics :class:`UninitializedBuffer`): registered under their final names (so
  ``state_dict()`` has PyTorch's keys from the start) but holding no values.
* The first call infers the input size, gives each parameter its shape and PyTorch's default
  initialisation **in place** -- the same Parameter objects, so an optimizer built before the
  first call updates them -- and the module becomes its eager class (a ``LazyLinear`` becomes a
  ``Linear``, with ``in_features`` set). ``autograd_cnn.summary`` works after (or as) that call.
* ``load_state_dict`` into a lazy module takes each parameter's shape from the checkpoint first,
  so a checkpoint of the eager model loads into a freshly built lazy one.

Differences from PyTorch: an optimizer built before the first call works here for every
optimizer (PyTorch's also do, but it warns in its documentation against relying on it); an
uninitialized parameter here is an empty (0,)-shaped array rather than an object that refuses
every operation, so ``p.shape`` is ``(0,)`` until the first call.
"""
import math

import numpy as np

from ..tensor import Tensor
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv1d, Conv2d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .linear import Linear
from .._device import check_device
from .module import Module
from .parameter import Parameter
from ._utils import reset_weight_and_bias, resolve_dtype

__all__ = ["UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear",
           "LazyConv1d", "LazyConv2d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyBatchNorm1d", "LazyBatchNorm2d"]


class UninitializedParameter(Parameter):
    """A parameter whose shape is not known yet (an empty array of its future dtype).
    :meth:`materialize` gives it a shape in place and turns it into a plain Parameter."""

    cls_to_become = Parameter

    def __init__(self, requires_grad=True, dtype=None):
        super().__init__(np.empty(0, dtype=resolve_dtype(dtype, "UninitializedParameter")),
                         requires_grad)

    def materialize(self, shape, dtype=None):
        """Give the parameter ``shape`` (values uninitialised) and make it a Parameter."""
        dt = self._data.dtype if dtype is None else np.dtype(dtype)
        self._data = np.zeros(tuple(shape), dtype=dt)
        self._version += 1
        self.grad = None
        self.__class__ = self.cls_to_become

    def __repr__(self):
        return "<UninitializedParameter>"


class UninitializedBuffer(Tensor):
    """A buffer whose shape is not known yet; :meth:`materialize` returns the Tensor that
    replaces it in its module."""

    def __init__(self, requires_grad=False, dtype=None):
        super().__init__(np.empty(0, dtype=resolve_dtype(dtype, "UninitializedBuffer")),
                         requires_grad=requires_grad)

    def materialize(self, shape, dtype=None):
        dt = self._data.dtype if dtype is None else np.dtype(dtype)
        return Tensor(np.zeros(tuple(shape), dtype=dt))

    def __repr__(self):
        return "<UninitializedBuffer>"


_UNINITIALIZED = (UninitializedParameter, UninitializedBuffer)


class LazyModuleMixin:
    """Shared machinery of the lazy layers (put it first in the bases). A subclass defines
    ``cls_to_become`` (its eager class), ``_shapes_from_input(input)`` (name -> shape of every
    uninitialized tensor), ``_sizes_from_shapes()`` (set the size attributes from the
    materialized tensors) and ``_reset(names)`` (the eager layer's initialisation of those)."""

    cls_to_become = None

    def has_uninitialized_params(self):
        """True while some parameter or buffer still waits for its shape."""
        return any(isinstance(v, _UNINITIALIZED)
                   for reg in (self._parameters, self._buffers) for v in reg.values())

    def initialize_parameters(self, input, *args, **kwargs):
        """Infer the shapes from ``input``, materialize and initialise (the first call does
        this)."""
        self._materialize(self._shapes_from_input(input))

    def _materialize(self, shapes, loaded=False):
        done = set()
        for name, shape in shapes.items():
            if isinstance(self._parameters.get(name), UninitializedParameter):
                self._parameters[name].materialize(shape)
                done.add(name)
            elif isinstance(self._buffers.get(name), UninitializedBuffer):
                self._buffers[name] = self._buffers[name].materialize(shape)
                done.add(name)
        if loaded:  # initialised now (a failed load leaves defaults), then overwritten
            self._reset(done)
        else:  # initialised once all are known (a bias's bound needs the weight's fan_in)
            self._pending = self.__dict__.get("_pending", set()) | done
        if not self.has_uninitialized_params():
            self._sizes_from_shapes()
            # the eager initialisation of what was materialized here (not of values loaded
            # from a partial checkpoint in between)
            self._reset(self.__dict__.pop("_pending", set()))
            self.__class__ = self.cls_to_become

    def _materialize_from_state(self, state_dict, prefix):
        """Called by ``Module.load_state_dict``: shapes from the checkpoint's entries (the
        values are copied by load_state_dict right after)."""
        shapes = {}
        for reg in (self._parameters, self._buffers):
            for name, v in reg.items():
                value = state_dict.get(prefix + name) if hasattr(state_dict, "get") else None
                if isinstance(v, _UNINITIALIZED) and value is not None:
                    shape = tuple(getattr(value, "shape", np.shape(value)))
                    if math.prod(shape) > 0:  # an uninitialized entry of a lazy checkpoint
                        shapes[name] = shape
        if shapes:
            self._materialize(shapes, loaded=True)

    def __call__(self, *args, **kwargs):
        # only reached while lazy: the first call turns the module into its eager class
        if not args or not isinstance(args[0], Tensor):
            raise TypeError(f"{type(self).__name__}: the first call infers the input size from "
                            "its first argument, which must be a Tensor, got "
                            f"{type(args[0]).__name__ if args else 'nothing'}")
        self.initialize_parameters(*args, **kwargs)
        # not super(): the instance may have just become its eager class
        return Module.__call__(self, *args, **kwargs)

    def _input_channels(self, input, spatial):
        name = type(self).__name__
        if input.ndim not in (spatial + 1, spatial + 2):
            raise ValueError(f"{name}: expected a {spatial + 1}-D (unbatched) or "
                             f"{spatial + 2}-D (batched) input, got shape {tuple(input.shape)}")
        c = input.shape[1] if input.ndim == spatial + 2 else input.shape[0]
        if c < 1 or c % self.groups:
            raise ValueError(f"{name}: the input's {c} channels must be a positive multiple of "
                             f"groups ({self.groups}); input shape {tuple(input.shape)}")
        return c


def _reset_weight_and_bias(module, names):
    reset_weight_and_bias(module.weight if "weight" in names else None,
                          module.bias if "bias" in names else None, module.weight.shape)


def _uninitialized_weight_and_bias(module, bias, dtype):
    # replaced inside the registry, keeping PyTorch's key order (weight, then bias)
    module._parameters["weight"] = UninitializedParameter(dtype=dtype)
    module._parameters["bias"] = UninitializedParameter(dtype=dtype) if bias else None


class LazyLinear(LazyModuleMixin, Linear):
    """``Linear`` whose ``in_features`` is the last axis of the first input."""

    cls_to_become = Linear

    def __init__(self, out_features, bias=True, device=None, dtype=None):
        check_device(device, "LazyLinear")
        Linear.__init__(self, 1, out_features, bias, dtype=dtype)
        self.in_features = 0
        _uninitialized_weight_and_bias(self, bias, dtype)

    def _shapes_from_input(self, input):
        if input.ndim < 1 or input.shape[-1] < 1:
            raise ValueError(f"LazyLinear: the input needs a non-empty last axis, got shape "
                             f"{tuple(input.shape)}")
        shapes = {"weight": (self.out_features, input.shape[-1])}
        if self.bias is not None:
            shapes["bias"] = (self.out_features,)
        return shapes

    def _sizes_from_shapes(self):
        self.in_features = self.weight.shape[1]

    def _reset(self, names):
        _reset_weight_and_bias(self, names)


class _LazyConvNd(LazyModuleMixin):
    _transposed = False

    def _lazy_init(self, eager_init, out_channels, groups, bias, dtype, *args):
        # the eager layer's checks with a stand-in input size (groups: divisible by groups)
        eager_init(self, groups, out_channels, *args, dtype=dtype)
        self.in_channels = 0
        _uninitialized_weight_and_bias(self, bias, dtype)

    def _shapes_from_input(self, input):
        c = self._input_channels(input, self._n)
        if self._transposed:
            w = (c, self.out_channels // self.groups) + self.kernel_size
        else:
            w = (self.out_channels, c // self.groups) + self.kernel_size
        shapes = {"weight": w}
        if self.bias is not None:
            shapes["bias"] = (self.out_channels,)
        return shapes

    def _sizes_from_shapes(self):
        w = self.weight.shape
        self.in_channels = w[0] if self._transposed else w[1] * self.groups

    def _reset(self, names):
        _reset_weight_and_bias(self, names)


class LazyConv1d(_LazyConvNd, Conv1d):
    """``Conv1d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = Conv1d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        check_device(device, type(self).__name__)
        self._lazy_init(Conv1d.__init__, out_channels, groups, bias, dtype, kernel_size, stride,
                        padding, dilation, groups, bias, padding_mode)


class LazyConv2d(_LazyConvNd, Conv2d):
    """``Conv2d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = Conv2d

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None):
        check_device(device, type(self).__name__)
        self._lazy_init(Conv2d.__init__, out_channels, groups, bias, dtype, kernel_size, stride,
                        padding, dilation, groups, bias, padding_mode)


class LazyConvTranspose1d(_LazyConvNd, ConvTranspose1d):
    """``ConvTranspose1d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = ConvTranspose1d
    _transposed = True

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        check_device(device, type(self).__name__)
        self._lazy_init(ConvTranspose1d.__init__, out_channels, groups, bias, dtype, kernel_size,
                        stride, padding, output_padding, groups, bias, dilation, padding_mode)


class LazyConvTranspose2d(_LazyConvNd, ConvTranspose2d):
    """``ConvTranspose2d`` whose ``in_channels`` is read from the first input."""

    cls_to_become = ConvTranspose2d
    _transposed = True

    def __init__(self, out_channels, kernel_size, stride=1, padding=0, output_padding=0,
                 groups=1, bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None):
        check_device(device, type(self).__name__)
        self._lazy_init(ConvTranspose2d.__init__, out_channels, groups, bias, dtype, kernel_size,
                        stride, padding, output_padding, groups, bias, dilation, padding_mode)


class _LazyBatchNorm(LazyModuleMixin):
    def _lazy_init(self, eager_init, eps, momentum, affine, track_running_stats, device, dtype,
                   bias):
        eager_init(self, 1, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.num_features = 0
        if self.affine:
            _uninitialized_weight_and_bias(self, bias, dtype)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(dtype=dtype)
            self.running_var = UninitializedBuffer(dtype=dtype)

    def _shapes_from_input(self, input):
        if input.ndim not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{type(self).__name__}: expected {want} input, got shape "
                             f"{tuple(input.shape)}")
        self.num_features = input.shape[1]  # also when nothing waits (no affine, no stats)
        return {name: (input.shape[1],) for name in ("weight", "bias", "running_mean",
                                                      "running_var")}

    def _sizes_from_shapes(self):
        t = self.weight if self.weight is not None else self.running_mean
        if t is not None:
            self.num_features = t.shape[0]

    def _reset(self, names):
        for name, value in (("weight", 1), ("bias", 0), ("running_mean", 0), ("running_var", 1)):
            if name in names:
                getattr(self, name).numpy()[...] = value


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """``BatchNorm1d`` whose ``num_features`` is read from the first input (axis 1)."""

    cls_to_become = BatchNorm1d

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        self._lazy_init(BatchNorm1d.__init__, eps, momentum, affine, track_running_stats, device,
                        dtype, bias)


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """``BatchNorm2d`` whose ``num_features`` is read from the first input (axis 1)."""

    cls_to_become = BatchNorm2d

    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        self._lazy_init(BatchNorm2d.__init__, eps, momentum, affine, track_running_stats, device,
                        dtype, bias)
