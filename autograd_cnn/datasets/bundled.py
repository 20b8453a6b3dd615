"""The small real datasets shipped inside the package, and the larger ones read from a directory.

``load(name)`` returns a :class:`Data` with

* ``x`` — float32 inputs: images as ``(N, 1, H, W)`` scaled to ``[0, 1]`` (one channel, ready for
  a CNN; flatten with ``x.reshape(len(x), -1)`` for an MLP), MNIST-1D signals as ``(N, 1, 40)``
  as generated (roughly zero-centred, not rescaled);
* ``y`` — int64 class labels ``(N,)`` in ``0..9``;
* ``name`` and ``split``.  ``data.images`` / ``data.labels`` are aliases of ``x`` / ``y``.

Only NumPy is used (``np.load(..., allow_pickle=False)``).  Provenance and licences of the files:
``DATA_LICENSE.md`` beside this module.
"""
import os
from typing import NamedTuple

import numpy as np

from .idx import load_idx_dir

__all__ = ["Data", "load", "load_path", "available", "DATA_DIR"]

#: where the shipped archives live
DATA_DIR = os.path.dirname(os.path.abspath(__file__))

# name -> (file, {split: (x key, y key)}, default split, scale divisor (None: keep values))
_BUNDLED = {
    "mnist5k": ("mnist5k.npz", {"train": ("images", "labels")}, "train", 255.0),
    "mnist_test": ("mnist_test10k.npz", {"test": ("images", "labels")}, "test", 255.0),
    "digits": ("digits.npz", {"train": ("images", "labels")}, "train", 16.0),
    "mnist1d": ("mnist1d.npz", {"train": ("x", "y"), "test": ("x_test", "y_test")}, "train", None),
}
_ALIASES = {"mnist_test10k": "mnist_test", "mnist-5k": "mnist5k"}
_EXTERNAL = {"mnist_train60k": ("mnist_train60k.npz", 255.0)}


class Data(NamedTuple):
    """A dataset as two arrays: ``x`` float32 inputs and ``y`` int64 labels (see module doc)."""
    x: np.ndarray
    y: np.ndarray
    name: str = ""
    split: str = ""

    @property
    def images(self):
        return self.x

    @property
    def labels(self):
        return self.y

    def __len__(self):  # the number of samples (not the tuple's length)
        return len(self.y)

    def __repr__(self):
        return (f"Data(name={self.name!r}, split={self.split!r}, x={self.x.shape} "
                f"{self.x.dtype}, y={self.y.shape} {self.y.dtype})")


def available():
    """Names ``load`` accepts without a ``root``."""
    return sorted(_BUNDLED)


def _convert(x, y, scale, name, split):
    x = np.asarray(x)
    if scale is not None:
        x = x.astype(np.float32) / np.float32(scale)
    else:
        x = x.astype(np.float32, copy=True)
    x = x.reshape(x.shape[0], 1, *x.shape[1:])  # add the channel axis: (N, 1, H, W) / (N, 1, L)
    return Data(x, np.asarray(y).astype(np.int64), name, split)


def load_path(path, name=None):
    """Load an archive in the shipped layout (``images`` uint8 (N, H, W) and ``labels``), e.g. the
    60,000-image MNIST training set ``mnist_train60k.npz``; images are scaled to ``[0, 1]``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_path: no such file {path!r}")
    with np.load(path, allow_pickle=False) as z:
        if "images" not in z.files or "labels" not in z.files:
            raise ValueError(f"load_path: {path!r} must hold arrays 'images' and 'labels', "
                             f"it holds {z.files}")
        images, labels = z["images"], z["labels"]
    if images.ndim != 3 or labels.shape != (images.shape[0],):
        raise ValueError(f"load_path: {path!r} has images {images.shape} and labels "
                         f"{labels.shape}; need (N, H, W) and (N,)")
    scale = 255.0 if images.dtype == np.uint8 else None
    return _convert(images, labels, scale, name or os.path.basename(path), "train")


def load(name, split=None, root=None):
    """Load a dataset by name.

    Shipped with the package: ``'mnist5k'`` (5,000 MNIST training images, 500 per digit, sorted
    by label: shuffle before splitting), ``'mnist_test'`` (the official 10,000-image MNIST test
    set), ``'digits'`` (1,797 8x8 UCI digits), ``'mnist1d'`` (MNIST-1D, ``split='train'`` 4,000
    or ``split='test'`` 1,000 signals).

    Read from ``root`` (a directory; also ``$AUTOGRAD_CNN_DATA``): ``'mnist_train60k'`` (the full
    MNIST training set as ``mnist_train60k.npz``) and ``'idx'`` (the standard IDX files of MNIST or
    Fashion-MNIST, ``split='train'`` or ``'test'``).
    """
    if not isinstance(name, str):
        raise TypeError(f"load: name must be a str, got {type(name).__name__}")
    key = _ALIASES.get(name, name)
    if key in _BUNDLED:
        fname, splits, default, scale = _BUNDLED[key]
        split = default if split is None else split
        if split not in splits:
            raise ValueError(f"load: dataset {name!r} has split(s) {sorted(splits)}, got {split!r}")
        xk, yk = splits[split]
        with np.load(os.path.join(DATA_DIR, fname), allow_pickle=False) as z:
            return _convert(z[xk], z[yk], scale, key, split)
    if key in _EXTERNAL or key == "idx":
        root = root if root is not None else os.environ.get("AUTOGRAD_CNN_DATA")
        if root is None:
            raise ValueError(f"load: dataset {name!r} is not shipped; pass root=DIR (a directory "
                             "holding it) or set AUTOGRAD_CNN_DATA")
        if key == "idx":
            split = "train" if split is None else split
            images, labels = load_idx_dir(root, split)
            scale = 255.0 if images.dtype == np.uint8 else None
            return _convert(images, labels, scale, os.path.basename(os.path.normpath(root)), split)
        fname, _ = _EXTERNAL[key]
        return load_path(os.path.join(os.fspath(root), fname), name=key)
    raise ValueError(f"load: unknown dataset {name!r}; shipped: {available()}, from a root "
                     f"directory: {sorted(_EXTERNAL) + ['idx']}")
