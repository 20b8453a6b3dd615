"""Writing PyTorch's ``torch.save`` files (``.pt`` / ``.pth``) without PyTorch.

The file is the zip archive ``torch.save`` writes (its layout is described in _torch_zip.py,
the reader), with every entry under ``archive/``:

* ``data.pkl``: a protocol-2 pickle of the object, tensors as
  ``torch._utils._rebuild_tensor_v2(storage, 0, size, stride, requires_grad, OrderedDict())``
  whose storage is the persistent id ``('storage', torch.<X>Storage, key, 'cpu', numel)``;
* ``data/<key>``: each tensor's values, C-contiguous, little-endian;
* ``byteorder``, ``version``, ``.format_version``, ``.storage_alignment``: as torch 2.x writes them.

Entries are stored uncompressed and each storage's bytes start at a multiple of 64 in the file
(the local header's extra field is padded, as torch does), so ``torch.load(path, mmap=True)``
maps them. The file holds only what ``torch.load``'s default ``weights_only=True`` accepts:
tensors, ``dict`` / ``list`` / ``tuple``, ``str``, ``int``, ``float``, ``bool`` and ``None``
(NumPy scalars become Python numbers; every dict, an ``OrderedDict`` included, is written as a
plain ``dict`` in the same order, so a state dict and the dict of its arrays give one file).
The pickle's globals are written as opcodes by :class:`_Pickler`; torch is neither imported
nor needed. The bytes depend only on the object (no timestamps, no random ids), so saving the
same weights twice gives the same file.
"""
import io
import numbers
import pickle
import struct
import zipfile

import numpy as np

from ._torch_zip import _STORAGES
from .autograd.tensor import Tensor, as_array
from .serialization import _entering

__all__ = ["write_torch_file"]

# NumPy dtype -> torch.<X>Storage: the reader's table turned round (bfloat16, stored as uint16
# there, has no NumPy type to come from)
_STORAGE_OF = {np.dtype(dt): name for name, dt in _STORAGES.items() if name != "BFloat16Storage"}
_ALIGN = 64
_ROOT = "archive"  # torch.save's name when the file name is unknown; torch.load takes any


class _Global:
    """A ``module.name`` the pickle refers to, written as a GLOBAL opcode (never imported)."""

    def __init__(self, module, name):
        self.line = f"{module}\n{name}\n".encode()


class _Call:
    """``func(*args)`` in the pickle: func, the args tuple, REDUCE."""

    def __init__(self, func, args):
        self.func, self.args = func, args


class _StorageId:
    """A persistent id: the pickle holds the tuple, the storage bytes are ``data/<key>``."""

    def __init__(self, pid):
        self.pid = pid


class _Pickler(pickle._Pickler):  # the pure-Python pickler: its save() can be extended
    def __init__(self, file):
        super().__init__(file, protocol=2)

    def save(self, obj, save_persistent_id=True):
        if isinstance(obj, _Global):
            self.write(pickle.GLOBAL + obj.line)
        elif isinstance(obj, _Call):
            self.save(obj.func)
            self.save(obj.args)
            self.write(pickle.REDUCE)
        elif isinstance(obj, _StorageId):
            self.save_pers(obj.pid)
        else:
            super().save(obj, save_persistent_id)


class _Tree:
    """Turns the object into plain containers and :class:`_Call` records, collecting the
    storages (key -> little-endian C-contiguous array) on the way."""

    def __init__(self):
        self.storages = {}
        self._open = []  # ids of the containers being walked

    def tensor(self, arr, requires_grad, where):
        name = _STORAGE_OF.get(arr.dtype.newbyteorder("="))
        if name is None:
            raise TypeError(f"save: {where} has dtype {arr.dtype}, which a .pt file written by "
                            "autograd_cnn cannot hold; supported: "
                            + ", ".join(str(d) for d in _STORAGE_OF))
        key = str(len(self.storages))
        self.storages[key] = np.ascontiguousarray(arr, arr.dtype.newbyteorder("<"))
        stride = tuple(int(np.prod(arr.shape[i + 1:])) for i in range(arr.ndim))
        storage = _StorageId(("storage", _Global("torch", name), key, "cpu", arr.size))
        return _Call(_Global("torch._utils", "_rebuild_tensor_v2"),
                     (storage, 0, tuple(arr.shape), stride, requires_grad,
                      _Call(_Global("collections", "OrderedDict"), ())))

    def walk(self, obj, where="obj"):
        if obj is None:
            return None
        if isinstance(obj, bool):
            return obj
        if isinstance(obj, str):  # np.str_ too: the pickle names no NumPy type
            return str(obj)
        if isinstance(obj, Tensor):
            return self.tensor(as_array(obj), bool(obj.requires_grad), where)
        if isinstance(obj, np.ndarray):
            return self.tensor(obj, False, where)
        if isinstance(obj, np.generic) and isinstance(obj.item(), (bool, int, float)):
            return obj.item()
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, float):
            return float(obj)
        if not isinstance(obj, (dict, list, tuple)):
            raise TypeError(f"save: cannot store {where} of type {type(obj).__name__} in a .pt "
                            "file; supported: dict, OrderedDict, list, tuple, Tensor, "
                            "np.ndarray, int, float, bool, str, None")
        with _entering(self._open, obj, where):
            if isinstance(obj, dict):
                out = {}  # an OrderedDict too: a state dict is the same file either way
                for k, v in obj.items():
                    if not (k is None or isinstance(k, (str, bool, numbers.Integral, float))):
                        raise TypeError(f"save: dict keys must be str, int, float, bool or None; "
                                        f"{where} has a key of type {type(k).__name__}")
                    out[self.walk(k, f"{where} key")] = self.walk(v, f"{where}[{k!r}]")
                return out
            items = [self.walk(v, f"{where}[{i}]") for i, v in enumerate(obj)]
            return items if isinstance(obj, list) else tuple(items)


def _add(zf, f, name, data):
    """Store ``data`` (bytes or a contiguous array) as ``name``, its first byte at a multiple of
    ``_ALIGN`` in the file."""
    info = zipfile.ZipInfo(name)  # date_time 1980-01-01: the same bytes on every save
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = nbytes = data.nbytes if isinstance(data, np.ndarray) else len(data)
    zip64 = nbytes * 1.05 > zipfile.ZIP64_LIMIT  # zipfile then adds a 20-byte zip64 extra field
    start = f.tell() + 30 + len(name.encode()) + (20 if zip64 else 0)  # 30: the fixed header
    pad = -start % _ALIGN
    if 0 < pad < 4:  # an extra field is at least its 4-byte (id, length) header
        pad += _ALIGN
    if pad:
        info.extra = struct.pack("<HH", 0x4246, pad - 4) + b"Z" * (pad - 4)  # "FB", as torch
    with zf.open(info, "w", force_zip64=zip64) as out:
        out.write(data.reshape(-1).view(np.uint8) if isinstance(data, np.ndarray) else data)


def write_torch_file(obj, f):
    """Write ``obj`` to the seekable binary file ``f`` (at its start) in torch.save's format."""
    tree = _Tree()
    plain = tree.walk(obj)
    pkl = io.BytesIO()
    _Pickler(pkl).dump(plain)
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        _add(zf, f, f"{_ROOT}/data.pkl", pkl.getvalue())
        _add(zf, f, f"{_ROOT}/.format_version", b"1")
        _add(zf, f, f"{_ROOT}/.storage_alignment", str(_ALIGN).encode())
        _add(zf, f, f"{_ROOT}/byteorder", b"little")
        for key, arr in tree.storages.items():
            _add(zf, f, f"{_ROOT}/data/{key}", arr)
        _add(zf, f, f"{_ROOT}/version", b"3\n")
