"""Reading the IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.

An IDX file is a tiny header followed by one big-endian array::

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64
    byte  3     number of dimensions d (>= 1)
    4*d bytes   the size of each dimension, big-endian uint32
    the data    prod(sizes) elements, row-major, big-endian

``load_idx`` checks every part of that (a clear ValueError for a bad magic number, unknown element
type, zero dimensions, a truncated or over-long body, a broken gzip stream) and returns a
native-byte-order NumPy array of the stored type and shape.
"""
import gzip
import os
import zlib

import numpy as np

__all__ = ["load_idx", "load_idx_dir", "IDX_DTYPES"]

#: element-type code of the IDX header -> big-endian NumPy dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path):
    """The file's (decompressed) bytes; gzip is recognised by its magic bytes, not the name."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(
            f"load_idx: {path!r} is a corrupt or truncated gzip file ({exc})") from None


def load_idx(path):
    """Read one IDX file (``.gz`` or raw) into a NumPy array of its stored type and shape.

    >>> images = load_idx("train-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> images.shape, images.dtype                          # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_idx: no such file {path!r}")
    buf = _read_bytes(path)
    if len(buf) < 4:
        raise ValueError(f"load_idx: {path!r} is too short for an IDX header ({len(buf)} bytes)")
    if buf[0] != 0 or buf[1] != 0:
        raise ValueError(
            f"load_idx: {path!r} is not an IDX file: magic number {buf[:4].hex()} "
            "must start with two zero bytes")
    code, ndim = buf[2], buf[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"load_idx: {path!r} has unknown element type 0x{code:02X}; "
                         f"IDX defines {known}")
    if ndim < 1:
        raise ValueError(f"load_idx: {path!r} declares 0 dimensions; IDX needs at least 1")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"load_idx: {path!r} is truncated inside its header: {ndim} dimensions "
                         f"need {header} header bytes, the file has {len(buf)}")
    shape = tuple(int(s) for s in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = len(buf) - header
    if body < expected:
        raise ValueError(f"load_idx: {path!r} is truncated: shape {shape} of {dtype.str[1:]} "
                         f"needs {expected} data bytes, the file has {body}")
    if body > expected:
        raise ValueError(f"load_idx: {path!r} has {body - expected} bytes after the data of shape "
                         f"{shape}: not a valid IDX file")
    data = np.frombuffer(buf, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, a fresh writable array


_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find(root, stem):
    dotted = stem.replace("-idx", ".idx")  # some mirrors name them train-images.idx3-ubyte
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        p = os.path.join(root, name)
        if os.path.isfile(p):
            return p
    raise FileNotFoundError(
        f"load_idx_dir: {root!r} holds no {stem} or {stem}.gz (the standard MNIST file names)")


def load_idx_dir(root, split="train"):
    """Images and labels of one split from a directory with the standard MNIST / Fashion-MNIST
    file names (``train-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``, ...).
    Returns ``(images uint8 (N, H, W), labels (N,))`` and checks that their counts agree."""
    if split not in _IDX_NAMES:
        raise ValueError(f"load_idx_dir: split must be 'train' or 'test', got {split!r}")
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"load_idx_dir: no such directory {root!r}")
    img_stem, lab_stem = _IDX_NAMES[split]
    images = load_idx(_find(root, img_stem))
    labels = load_idx(_find(root, lab_stem))
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"load_idx_dir: images {images.shape} and labels {labels.shape} in "
                         f"{root!r} do not form a dataset (need (N, H, W) and (N,))")
    return images, labels
