"""Receptive fields: the theoretical one (which input pixels a unit can see at all) and the
effective one (how much each pixel actually moves it).

Theoretical
-----------
Taken from :func:`autograd_cnn.summary` (its ``receptive_field``, ``jump`` and ``start`` columns,
see summary.py for the recurrence): the unit at index ``u`` of a layer's output is centred on
input coordinate ``start + u * jump`` and sees ``receptive_field`` pixels around it, i.e. input
positions ``centre - (rf - 1) / 2 .. centre + (rf - 1) / 2`` (part of that may be padding).

Effective
---------
Luo, Li, Urtasun and Zemel, "Understanding the Effective Receptive Field in Deep Convolutional
Neural Networks" (NeurIPS 2016): back-propagate a gradient of 1 from one output unit (summed over
its channels) to the input and look at the magnitude of the input gradient, averaged over many
inputs. It is zero outside the theoretical field and, for trained or random networks alike,
concentrated near its centre: roughly Gaussian, occupying a fraction of the theoretical square.
"""
import numpy as np

from ..autograd import grad
from ..summary import summary
from ..tensor import Tensor, as_array
from .capture import as_batch, capture, eval_mode, get_layer, model_dtype

__all__ = ["ReceptiveField", "theoretical_receptive_field", "effective_receptive_field",
           "layer_output_shape"]


class ReceptiveField:
    """The theoretical receptive field of one unit, per spatial axis: ``centre`` (input
    coordinate, may be fractional), ``size`` (pixels, padding included), ``lo``/``hi`` (first
    and last input position it covers, unclipped) and ``clipped`` ((lo, hi) within the input)."""

    def __init__(self, layer, unit, centre, size, input_size):
        self.layer, self.unit, self.input_size = layer, tuple(unit), tuple(input_size)
        self.centre = tuple(float(c) for c in centre)
        self.size = tuple(int(s) for s in size)
        self.lo = tuple(int(round(c - (s - 1) / 2)) for c, s in zip(self.centre, self.size))
        self.hi = tuple(lo + s - 1 for lo, s in zip(self.lo, self.size))
        self.clipped = tuple((max(lo, 0), min(hi, n - 1))
                             for lo, hi, n in zip(self.lo, self.hi, self.input_size))

    def mask(self):
        """A boolean array of the input's spatial size, True inside the field."""
        m = np.zeros(self.input_size, dtype=bool)
        m[tuple(slice(lo, hi + 1) for lo, hi in self.clipped)] = True
        return m

    def __repr__(self):
        return (f"ReceptiveField(layer={self.layer!r}, unit={self.unit}, centre={self.centre}, "
                f"size={self.size}, lo={self.lo}, hi={self.hi})")


def _axes(value, n):
    return tuple(value) if isinstance(value, tuple) else (value,) * n


def _summary_row(model, input_shape, layer):
    """The summary row of ``layer``: its own row for a leaf, the last row inside it otherwise."""
    get_layer(model, layer)
    rows = [r for r in summary(model, input_shape)
            if r.name == layer or r.name.startswith(layer + ".") or layer == ""]
    if not rows:
        raise ValueError(f"layer {layer!r} did not run in the model's forward pass")
    row = rows[-1]
    if row.receptive_field is None:
        raise ValueError(f"layer {layer!r} ({row.layer_type}) mixes every input position: its "
                         "units see the whole input (no spatial receptive field)")
    return row


def layer_output_shape(model, input_shape, layer):
    """The output shape (without batch) of ``layer`` for one input of ``input_shape``."""
    return tuple(_summary_row(model, input_shape, layer).output_shape)


def theoretical_receptive_field(model, input_shape, layer, unit=None):
    """The :class:`ReceptiveField` of output ``unit`` (spatial indices; default the centre
    unit) of ``layer`` for inputs of ``input_shape`` (C, *spatial), from the model summary."""
    row = _summary_row(model, input_shape, layer)
    n = len(input_shape) - 1
    out_spatial = tuple(row.output_shape[1:])
    if unit is None:
        unit = tuple(s // 2 for s in out_spatial)
    unit = (unit,) if isinstance(unit, (int, np.integer)) else tuple(unit)
    if len(unit) != n or any(not 0 <= u < s for u, s in zip(unit, out_spatial)):
        raise ValueError(f"unit must be {n} index(es) inside {layer!r}'s output of spatial size "
                         f"{out_spatial}, got {unit!r}")
    rf, jump, start = (_axes(v, n) for v in (row.receptive_field, row.jump, row.start))
    centre = [start[a] + unit[a] * jump[a] for a in range(n)]
    return ReceptiveField(layer, unit, centre, rf, input_shape[1:])


def effective_receptive_field(model, inputs, layer, unit=None, channel=None):
    """Mean over ``inputs`` (a batch, N x C x spatial) and input channels of |d unit / d input|:
    an array of the input's spatial size. ``unit``: spatial index in ``layer``'s output (default
    the centre); ``channel``: one output channel, or None for the sum over all channels (the
    gradient Luo et al. back-propagate). Runs in eval mode."""
    x = Tensor(as_batch(inputs, model_dtype(model)), requires_grad=True)
    with eval_mode(model), capture(model, layer) as seen:
        model(x)
    if layer not in seen:
        raise ValueError(f"layer {layer!r} did not run in the model's forward pass")
    out = seen[layer]
    spatial = tuple(out.shape[2:])
    if unit is None:
        unit = tuple(s // 2 for s in spatial)
    unit = (unit,) if isinstance(unit, (int, np.integer)) else tuple(unit)
    if len(unit) != len(spatial) or any(not 0 <= u < s for u, s in zip(unit, spatial)):
        raise ValueError(f"unit must be {len(spatial)} index(es) inside {layer!r}'s output of "
                         f"spatial size {spatial}, got {unit!r}")
    seed = np.zeros(out.shape, dtype=x.dtype)
    channels = slice(None) if channel is None else channel
    seed[(slice(None), channels) + unit] = 1.0
    (g,) = grad([out], [x], grad_outputs=[Tensor(seed)])
    return np.abs(as_array(g)).mean(axis=(0, 1))
