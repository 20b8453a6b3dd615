"""Looking inside a model: a layer by its ``named_modules()`` path, its output captured with a
forward hook, its feature maps, and its kernels as images.

Everything here is NumPy plus the engine; the drawing lives in :mod:`autograd_cnn.viz.figures`.
"""
import contextlib

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor, as_array

__all__ = ["get_layer", "conv_layers", "capture", "eval_mode", "feature_maps", "filter_images",
           "as_batch", "model_dtype"]


def get_layer(model, layer):
    """The submodule of ``model`` at dotted path ``layer`` (a name from ``named_modules()``, e.g.
    'features.0'), or ``layer`` itself when it is a module of ``model``."""
    from ..nn import Module
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    names = dict(model.named_modules())
    if isinstance(layer, Module):
        if not any(m is layer for m in names.values()):
            raise ValueError(f"layer: the {type(layer).__name__} given is not part of the model")
        return layer
    if not isinstance(layer, str) or layer not in names:
        listed = ", ".join(repr(n) for n in names if n)
        raise ValueError(f"layer must be a name from model.named_modules() ({listed}), "
                         f"got {layer!r}")
    return names[layer]


def conv_layers(model):
    """[(name, module)] of every Conv1d / Conv2d of ``model``, in definition order."""
    from ..nn import Conv1d, Conv2d
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (Conv1d, Conv2d))]


@contextlib.contextmanager
def eval_mode(model):
    """``model.eval()`` inside the block; every module's mode restored afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)


@contextlib.contextmanager
def capture(model, layers):
    """Record the output of each named layer while the block runs: yields a dict
    name -> output Tensor (the last call's), filled by forward hooks that are removed on exit.
    The Tensors keep their graph, so ``autograd.grad`` can differentiate with respect to them."""
    if isinstance(layers, str):
        layers = [layers]
    seen = {}
    handles = []
    try:
        for name in layers:
            module = get_layer(model, name)

            def hook(mod, args, out, name=name):
                seen[name] = out
            handles.append(module.register_forward_hook(hook))
        yield seen
    finally:
        for h in handles:
            h.remove()


def as_batch(x, dtype=None):
    """``x`` (one sample or a batch, ndarray or Tensor) as a float ndarray with a batch axis;
    ``dtype`` defaults to x's float dtype (float32 for other inputs)."""
    arr = np.asarray(as_array(x))
    if dtype is None:
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float32
    return np.asarray(arr, dtype=dtype)


def _model_dtype(model):
    p = next(iter(model.parameters()), None)
    return p.numpy().dtype if p is not None else np.float32


def feature_maps(model, x, layer):
    """The output of ``layer`` (a ``named_modules()`` path) for the batch ``x``, as an ndarray
    (N, C, *spatial). The model runs in eval mode without building a graph."""
    batch = as_batch(x, model_dtype(model))
    with eval_mode(model), no_grad(), capture(model, layer) as seen:
        model(Tensor(batch))
    if layer not in seen:
        raise ValueError(f"layer {layer!r} did not run in the model's forward pass")
    return as_array(seen[layer])


def model_dtype(model):
    """The dtype of the model's first parameter (float32 for a model without any)."""
    p = next(iter(model.parameters()), None)
    return p.numpy().dtype if p is not None else np.dtype(np.float32)


def filter_images(weight, rgb=None):
    """A conv weight (out_channels, in_channels, *kernel) as images in [0, 1].

    ``rgb`` (default: in_channels == 3) returns (out, kH, kW, 3): each filter's three input
    channels as one colour image, scaled together. Otherwise (out, in, *kernel), each kernel
    scaled on its own. Scaling is symmetric around zero (0.5 is a zero weight), so a filter's
    sign reads the same in every tile."""
    w = np.asarray(as_array(weight), dtype=np.float64)
    if w.ndim not in (3, 4):
        raise ValueError(f"filter_images: weight must be (out, in, k) or (out, in, kH, kW), got "
                         f"shape {w.shape}")
    if rgb is None:
        rgb = w.ndim == 4 and w.shape[1] == 3
    if rgb:
        if w.ndim != 4 or w.shape[1] != 3:
            raise ValueError(f"filter_images: rgb needs a 2-D weight with 3 input channels, got "
                             f"shape {w.shape}")
        scale = np.abs(w).reshape(len(w), -1).max(axis=1)
        scale = np.where(scale > 0, scale, 1.0)[:, None, None, None]
        return np.transpose(0.5 + 0.5 * w / scale, (0, 2, 3, 1))
    axes = tuple(range(2, w.ndim))
    scale = np.abs(w).max(axis=axes, keepdims=True)
    return 0.5 + 0.5 * w / np.where(scale > 0, scale, 1.0)
