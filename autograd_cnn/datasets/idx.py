"""Reading the IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.

An IDX file is a tiny header followed by one big-endian array::

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64
    byte  3     number of dimensions d (>= 1)
    4*d bytes   the size of each dimension, big-endian uint32
    the data    prod(sizes) elements, row-major, big-endian

``load_idx`` checks every part of that (a clear ValueError for a bad magic number, unknown element
type, zero dimensions, a truncated or over-long body, a broken gzip stream, a declared size over
its limit) and returns a
native-byte-order NumPy array of the stored type and shape.
"""
import gzip
import math
import os
import zlib

import numpy as np

__all__ = ["load_idx", "load_idx_dir", "IDX_DTYPES", "DEFAULT_MAX_BYTES"]

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
_CHUNK = 1 << 20  # bytes read (and inflated) at a time

#: the largest data section ``load_idx`` accepts by default (all of MNIST's training images: 47 MB)
DEFAULT_MAX_BYTES = 1 << 32


def _open(path):
    """The file opened for reading its (decompressed) bytes, and whether it is gzip; gzip is
    recognised by its magic bytes, not the name. Nothing is inflated until it is read."""
    f = open(path, "rb")
    if f.read(2) == _GZIP_MAGIC:
        f.seek(0)
        return gzip.GzipFile(fileobj=f, mode="rb"), True
    f.seek(0)
    return f, False


def _read_exactly(f, n, path, what):
    """``n`` bytes of ``f``, read (and, compressed, inflated) in chunks of at most _CHUNK: memory
    follows the data that really arrives, never just the size a header claims, and nothing past
    ``n`` is inflated."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            raise ValueError(f"load_idx: {path!r} is truncated: {what} needs {n} bytes, the "
                             f"file has {len(buf)}")
        buf += chunk
    return buf


def load_idx(path, max_bytes=DEFAULT_MAX_BYTES):
    """Read one IDX file (``.gz`` or raw) into a NumPy array of its stored type and shape.

    The header is checked before the data is read: a file whose header declares more than
    ``max_bytes`` bytes of data is refused with a ValueError naming it, and a compressed file is
    inflated in bounded chunks, never past the size its header declares (memory follows the
    data that arrives, not the size claimed).

    >>> images = load_idx("train-images-idx3-ubyte.gz")   # doctest: +SKIP
    >>> images.shape, images.dtype                          # doctest: +SKIP
    ((60000, 28, 28), dtype('uint8'))
    """
    path = os.fspath(path)
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise TypeError(f"load_idx: max_bytes must be an int >= 0, got {max_bytes!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_idx: no such file {path!r}")
    f, compressed = _open(path)
    try:
        with f:
            return _parse(f, path, compressed, max_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        if not compressed or isinstance(exc, PermissionError):
            raise
        raise ValueError(
            f"load_idx: {path!r} is a corrupt or truncated gzip file ({exc})") from None


def _parse(f, path, compressed, max_bytes):
    magic = f.read(4)
    if len(magic) < 4:
        raise ValueError(f"load_idx: {path!r} is too short for an IDX header ({len(magic)} bytes)")
    if magic[0] != 0 or magic[1] != 0:
        raise ValueError(
            f"load_idx: {path!r} is not an IDX file: magic number {magic.hex()} "
            "must start with two zero bytes")
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"load_idx: {path!r} has unknown element type 0x{code:02X}; "
                         f"IDX defines {known}")
    if ndim < 1:
        raise ValueError(f"load_idx: {path!r} declares 0 dimensions; IDX needs at least 1")
    sizes = f.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"load_idx: {path!r} is truncated inside its header: {ndim} dimensions "
                         f"need {4 + 4 * ndim} header bytes, the file has {4 + len(sizes)}")
    shape = tuple(int.from_bytes(sizes[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    what = f"shape {shape} of {dtype.str[1:]}"
    if not compressed:  # the body's size is known without reading it
        body = os.fstat(f.fileno()).st_size - 4 - 4 * ndim
        if body != expected:
            problem = "is truncated" if body < expected else f"has {body - expected} bytes after the data"
            raise ValueError(f"load_idx: {path!r} {problem}: {what} needs {expected} data bytes, "
                             f"the file has {body}")
    if expected > max_bytes:
        raise ValueError(f"load_idx: {path!r} declares {what}, {expected} bytes, more than "
                         f"max_bytes={max_bytes}; pass a larger max_bytes if that is intended")
    buf = _read_exactly(f, expected, path, what)
    if f.read(1):
        raise ValueError(f"load_idx: {path!r} has bytes after the data of {what}: not a valid IDX "
                         "file")
    data = np.frombuffer(buf, dtype=dtype).reshape(shape)
    if not dtype.isnative:  # to native byte order in place: the buffer is ours and writable
        data.byteswap(inplace=True)
    return data.view(dtype.newbyteorder("="))


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
