"""``summary(model, input_shape)``: a table of a network's layers, with output shapes, parameter
counts, multiply-accumulates and receptive fields.

How it works
------------
One forward pass on a zero input of shape ``(1, *input_shape)`` runs under ``no_grad`` in eval
mode (the model's modes are restored afterwards). While it runs, every leaf module (a module
without children) records its input and output shapes, in call order. Shapes therefore come from
the layers themselves, which compute them with :mod:`autograd_cnn._geometry`.

Receptive field
---------------
For one output unit of a layer, along each spatial axis:

* ``receptive_field`` r: how many input pixels it can see;
* ``jump`` j: the distance in input pixels between neighbouring output units (product of strides);
* ``start``: the input coordinate of the centre of the first output unit's field, with input
  pixel ``i`` centred at coordinate ``i`` (padding can push it below 0).

Starting from r = 1, j = 1, start = 0 at the input, a window layer with kernel k, stride s,
(left) padding p and dilation d maps (r, j, start) to::

    r_out     = r_in + (k - 1) * d * j_in
    j_out     = j_in * s
    start_out = start_in + ((k - 1) * d / 2 - p) * j_in

Pointwise layers (activations, BatchNorm, Dropout, Identity) keep (r, j, start). After a layer
that mixes all positions (Flatten, Linear) a unit sees the whole input and the row shows ``-``
(the attributes are None). Adaptive pooling is treated as the window with the largest bin
(``ceil((i+1)*n/m) - floor(i*n/m)``) and stride ``n // m``. Values are ints (or floats for
``start``) when every spatial axis agrees, else tuples with one entry per axis.

Counts
------
``params``: the layer's own parameters (C_in*C_out*K + C_out for a 1-D conv with bias;
C_in/groups*C_out*kH*kW + C_out in 2-D; in*out + out for Linear; 2*C for an affine BatchNorm).
``macs``: multiply-accumulates for one sample: ``C_out * out_positions * (C_in/groups) * K`` for a
convolution, ``in * out`` for Linear, 0 for every other layer (bias additions, normalisation,
pooling and activations are not counted).
"""
import math

import numpy as np

from . import _geometry

__all__ = ["summary", "Summary", "SummaryRow", "main_summary"]


class SummaryRow:
    """One leaf layer of a :class:`Summary`."""

    __slots__ = ("name", "layer_type", "input_shape", "output_shape", "params", "macs",
                 "receptive_field", "jump", "start")

    def __init__(self, name, layer_type, input_shape, output_shape, params, macs,
                 receptive_field, jump, start):
        self.name = name
        self.layer_type = layer_type
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.params = params
        self.macs = macs
        self.receptive_field = receptive_field
        self.jump = jump
        self.start = start

    def __repr__(self):
        return (f"SummaryRow(name={self.name!r}, type={self.layer_type}, output_shape="
                f"{self.output_shape}, params={self.params}, macs={self.macs}, "
                f"receptive_field={self.receptive_field}, jump={self.jump}, start={self.start})")


class Summary:
    """A sequence of :class:`SummaryRow` (one per leaf layer call) with ``total_params``
    (every distinct parameter of the model), ``trainable_params``, ``total_macs`` and
    ``input_shape``; ``str()`` renders the table."""

    def __init__(self, model_name, input_shape, rows, total_params, trainable_params):
        self.model_name = model_name
        self.input_shape = tuple(input_shape)
        self.rows = list(rows)
        self.total_params = int(total_params)
        self.trainable_params = int(trainable_params)
        self.total_macs = int(sum(r.macs for r in self.rows))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def __iter__(self):
        return iter(self.rows)

    def __repr__(self):
        return self.__str__()

    def __str__(self):
        header = ("Layer (type)", "Output shape", "Params", "MACs", "RF", "Jump", "Start")
        body = []
        for r in self.rows:
            body.append((f"{r.name} ({r.layer_type})", _fmt_shape(r.output_shape),
                         f"{r.params:,}", f"{r.macs:,}", _fmt_axes(r.receptive_field),
                         _fmt_axes(r.jump), _fmt_axes(r.start)))
        widths = [max(len(header[i]), *(len(b[i]) for b in body)) if body else len(header[i])
                  for i in range(len(header))]

        def line(cells):
            first = cells[0].ljust(widths[0])
            rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:])]
            return "  ".join([first] + rest)

        rule = "=" * len(line(header))
        out = [f"{self.model_name} on input {_fmt_shape(self.input_shape)}", rule, line(header),
               "-" * len(rule)]
        out += [line(b) for b in body]
        out += [rule,
                f"Total params:     {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Total MACs:       {self.total_macs:,} ({self.total_macs / 1e6:.2f} M)",
                rule]
        return "\n".join(out)


def _fmt_shape(shape):
    return str(tuple(int(s) for s in shape))


def _fmt_num(x):
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return f"{x:g}" if isinstance(x, float) else str(x)


def _fmt_axes(value):
    if value is None:
        return "-"
    if isinstance(value, tuple):
        return "x".join(_fmt_num(v) for v in value)
    return _fmt_num(value)


def _collapse(values):
    """An int/float when every axis agrees, else the tuple."""
    values = tuple(int(v) if float(v).is_integer() else float(v) for v in values)
    return values[0] if len(set(values)) == 1 else values


# ------------------------------------------------------------------------ per-layer geometry
def _pointwise_types():
    from . import nn
    return (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Dropout, nn.Identity,
            nn.BatchNorm1d, nn.BatchNorm2d)


def _window(module, in_spatial, out_spatial):
    """(kernel, stride, pad_lo, dilation) tuples for a sliding-window layer; "pointwise";
    or "global" when every output unit sees every input position."""
    from . import nn
    n = len(in_spatial)
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        geom = module._geometry(in_spatial)
        return geom.kernel, geom.stride, tuple(lo for lo, _ in geom.padding), geom.dilation
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)):
        geom = module._geometry(in_spatial)
        return geom.kernel, geom.stride, tuple(lo for lo, _ in geom.padding), geom.dilation
    if isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        kernel, stride = [], []
        for size, out in zip(in_spatial, out_spatial):
            bins = [math.ceil((i + 1) * size / out) - (i * size) // out for i in range(out)]
            kernel.append(max(bins))
            stride.append(max(size // out, 1))
        return tuple(kernel), tuple(stride), (0,) * n, (1,) * n
    if isinstance(module, _pointwise_types()):
        return "pointwise"
    if tuple(in_spatial) == tuple(out_spatial) and n > 0:
        return "pointwise"  # an unknown shape-preserving layer: assume it acts per position
    return "global"


def _macs(module, in_shape, out_shape):
    from . import nn
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        k = int(np.prod(module.kernel_size))
        positions = int(np.prod(out_shape[2:]))
        return module.out_channels * positions * (module.in_channels // module.groups) * k
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d)):  # each input position
        k = int(np.prod(module.kernel_size))                           # scatters one window
        positions = int(np.prod(in_shape[2:]))
        return module.in_channels * positions * (module.out_channels // module.groups) * k
    if isinstance(module, nn.Linear):
        rows = int(np.prod(out_shape[:-1]))
        return rows * module.in_features * module.out_features
    return 0


# ---------------------------------------------------------------------------------- summary
def summary(model, input_shape, dtype=None):
    """Summarise ``model`` for one input sample of shape ``input_shape`` (without the batch
    dimension, e.g. ``(1, 28, 28)``). Returns a :class:`Summary`; print it for the table."""
    from . import nn
    from .autograd.grad_mode import no_grad
    from .tensor import Tensor

    if not isinstance(model, nn.Module):
        raise TypeError(f"summary: model must be an nn.Module, got {type(model).__name__}")
    shape = _geometry.ntuple(tuple(input_shape), len(tuple(input_shape)), "input_shape",
                             minimum=1)
    if dtype is None:
        params = list(model.parameters())
        dtype = params[0].dtype if params else np.float32

    names = {id(m): name for name, m in model.named_modules()}
    leaves = [m for m in model.modules() if next(iter(m.children()), None) is None]
    records = []
    patched = []

    def recorder(mod, original):
        def forward(*args, **kwargs):
            out = original(*args, **kwargs)
            x = args[0] if args else None
            in_shape = tuple(x.shape) if x is not None and hasattr(x, "shape") else None
            records.append((mod, in_shape, tuple(out.shape)))
            return out
        return forward

    modes = [(m, m.training) for m in model.modules()]
    try:
        for m in leaves:
            object.__setattr__(m, "forward", recorder(m, m.forward))
            patched.append(m)
        model.eval()
        with no_grad():
            model(Tensor(np.zeros((1,) + shape, dtype=dtype)))
    finally:
        for m in patched:
            m.__dict__.pop("forward", None)
        for m, mode in modes:
            object.__setattr__(m, "training", mode)

    rows = []
    n_spatial = len(shape) - 1
    rf = [1] * n_spatial
    jump = [1] * n_spatial
    start = [0.0] * n_spatial
    spatial_ok = n_spatial > 0
    for mod, in_shape, out_shape in records:
        in_sp, out_sp = tuple(in_shape[2:]) if in_shape else (), tuple(out_shape[2:])
        if spatial_ok:
            if len(in_sp) != n_spatial or len(out_sp) != n_spatial:
                spatial_ok = False
            else:
                w = _window(mod, in_sp, out_sp)
                if w == "global":
                    spatial_ok = False
                elif w != "pointwise":
                    kernel, stride, pad, dil = w
                    for a in range(n_spatial):
                        start[a] = start[a] + ((kernel[a] - 1) * dil[a] / 2 - pad[a]) * jump[a]
                        rf[a] = rf[a] + (kernel[a] - 1) * dil[a] * jump[a]
                        jump[a] = jump[a] * stride[a]
        own = sum(p.numel() for p in mod.parameters(recurse=False))
        rows.append(SummaryRow(
            names.get(id(mod), type(mod).__name__), type(mod).__name__,
            in_shape[1:] if in_shape else None, out_shape[1:], own,
            _macs(mod, in_shape, out_shape),
            _collapse(rf) if spatial_ok else None,
            _collapse(jump) if spatial_ok else None,
            _collapse(start) if spatial_ok else None))
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return Summary(type(model).__name__, shape, rows, total, trainable)


def main_summary(argv=None):
    """Command-line entry: ``python -m autograd_cnn summary <model> [--input-shape C,H,W]
    [--num-classes N]``. ``argv`` excludes the ``summary`` word. Prints the table; returns 0."""
    import argparse

    from . import models

    parser = argparse.ArgumentParser(prog="python -m autograd_cnn summary",
                                     description="Print a layer table of a built-in model.")
    parser.add_argument("model", choices=models.available_models())
    parser.add_argument("--input-shape", default=None,
                        help="one sample's shape without the batch, e.g. 1,28,28 "
                             "(default: the model's usual input)")
    parser.add_argument("--num-classes", type=int, default=None)
    args = parser.parse_args(argv)
    kwargs = {} if args.num_classes is None else {"num_classes": args.num_classes}
    if args.input_shape is not None:
        try:
            shape = tuple(int(s) for s in args.input_shape.replace("x", ",").split(",") if s)
        except ValueError:
            parser.error(f"--input-shape must be comma-separated ints, got {args.input_shape!r}")
    else:
        shape = models.default_input_shape(args.model)
    model = models.get_model(args.model, input_shape=shape, **kwargs)
    print(summary(model, shape))
    return 0
