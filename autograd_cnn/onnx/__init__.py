"""ONNX export and import (the ``onnx`` package, and ``onnxruntime`` to serve the result, are
optional extras imported only when these functions run)::

    autograd_cnn.onnx.export(model, x, "model.onnx", input_names=["input"],
                             dynamic_axes={"input": {0: "batch"}})   # PyTorch's signature
    model = autograd_cnn.onnx.load("model.onnx")                     # a trainable Module

``export`` writes the graph the autograd engine records (exporter.py, _ops_out.py); ``load``
builds an interpreter Module over an ONNX graph (importer.py, _ops_in.py).
"""
from .exporter import export, UnsupportedOperatorError

__all__ = ["export", "load", "UnsupportedOperatorError"]


def load(path):
    """An :class:`ONNXModule` running the ONNX model at ``path`` (see importer.py)."""
    from .importer import load as _load
    return _load(path)
