"""Reading PyTorch's ``torch.save`` files (``.pt`` / ``.pth``) without PyTorch and without running
any code from the file.

The format (PyTorch >= 1.6, "zipfile serialization") is a zip archive whose entries all sit under
one folder ``<name>/``:

* ``<name>/data.pkl``: a pickle of the saved object (a state dict: an ``OrderedDict`` of tensors);
* ``<name>/data/<key>``: the raw bytes of each storage the tensors view, stored uncompressed;
* ``<name>/byteorder``: ``little`` or ``big`` (absent in files older than PyTorch 1.10: little);
* ``<name>/version`` and other small records this reader does not need.

Inside ``data.pkl`` a tensor is ``torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
stride, requires_grad, backward_hooks)``, where ``storage`` is a *persistent id*
``('storage', torch.FloatStorage, key, location, numel)`` pointing at ``data/<key>``; a
Parameter is ``torch._utils._rebuild_parameter(tensor, requires_grad, backward_hooks)``.

A pickle can name any global and call it (``os.system`` included), so unpickling an untrusted
file with the standard ``pickle.load`` runs whatever it says. :class:`_StateDictUnpickler`
overrides ``find_class`` to hand out only the few callables listed in ``_GLOBALS`` -- our own
re-implementations, not PyTorch's -- and refuses every other global with an ``UnpicklingError``
naming it, before anything is called. This is the set ``torch.load(weights_only=True)`` accepts
for state dicts. Tensors come back as NumPy arrays (copies; strides and storage offsets as
saved, so views and transposed tensors read correctly); bfloat16, which NumPy has no type for,
is widened exactly to float32.

Out of scope, each with its own error: the legacy (pre-1.6) non-zip format, TorchScript archives
(``torch.jit.save``), and objects other than tensors and plain containers (whole pickled
modules, optimizers' custom classes...).
"""
import collections
import io
import math
import pickle
import zipfile
import zlib

import numpy as np

__all__ = ["load_torch_file"]

# torch.<Name>Storage -> (NumPy dtype, needs bfloat16 widening)
_STORAGES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "BFloat16Storage": np.uint16, "LongStorage": np.int64, "IntStorage": np.int32,
    "ShortStorage": np.int16, "CharStorage": np.int8, "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
# torch.<dtype> names, as _rebuild_tensor_v3 and UntypedStorage-era files give them
_DTYPES = {
    "float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": np.uint16,
    "int64": np.int64, "int32": np.int32, "int16": np.int16, "int8": np.int8, "uint8": np.uint8,
    "bool": np.bool_,
}
_MAX_EXPANDED_BYTES = 1 << 30  # largest tensor built from a smaller storage (stride-0 views)


class _StorageType:
    """What ``torch.FloatStorage`` and friends unpickle to: just the element type."""

    __slots__ = ("name", "dtype", "bfloat16")

    def __init__(self, name, dtype):
        self.name, self.dtype = name, np.dtype(dtype)
        self.bfloat16 = name.startswith("BFloat16") or name == "bfloat16"

    def __repr__(self):
        return f"torch.{self.name}"


class _Storage:
    """One storage: a flat array of its element type, read from ``data/<key>``."""

    def __init__(self, array, bfloat16):
        self.array, self.bfloat16 = array, bfloat16


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    """``_rebuild_tensor_v2``: the (size, stride) view at ``storage_offset`` of ``storage``, as a
    fresh C-contiguous array. Every index the view can reach is checked to lie in the storage."""
    if not isinstance(storage, _Storage):
        raise ValueError(f"a tensor's storage is {type(storage).__name__}, not a "
                                     "storage record")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    offset = _int_tuple((storage_offset,), "storage_offset")[0]
    if len(size) != len(stride) or any(s < 0 for s in size + stride) or offset < 0:
        raise ValueError(f"a tensor has an invalid layout: size {size}, stride "
                                     f"{stride}, storage offset {offset}")
    flat = storage.array
    count = math.prod(size)
    if count > flat.size and count * flat.itemsize > _MAX_EXPANDED_BYTES:
        # only zero strides (an expanded view) make a tensor larger than its storage; a file
        # claiming a huge one is refused rather than allocated
        raise ValueError(f"a tensor of size {size} (stride {stride}) expands a storage of "
                         f"{flat.size} elements to {count}: refused (over "
                         f"{_MAX_EXPANDED_BYTES} bytes)")
    if 0 not in size:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= flat.size:
            raise ValueError(
                f"a tensor of size {size} (stride {stride}, offset {offset}) reaches element "
                f"{last} of a storage holding {flat.size}: the file is corrupt")
        view = np.lib.stride_tricks.as_strided(flat[offset:], size,
                                               tuple(s * flat.itemsize for s in stride),
                                               writeable=False)
    else:
        view = np.empty(size, flat.dtype)
    out = np.array(view, order="C")
    if storage.bfloat16:  # the bfloat16 bits are the top half of a float32's
        out = (out.astype(np.uint32) << 16).view(np.float32)
    return out


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, hooks, dtype,
                       *unused):
    if isinstance(dtype, _StorageType) and isinstance(storage, _Storage):
        storage = _Storage(storage.array.view(dtype.dtype), dtype.bfloat16)
    return _rebuild_tensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad, hooks, *unused):
    if not isinstance(data, np.ndarray):
        raise ValueError("a Parameter wraps something that is not a tensor")
    return data


def _int_tuple(value, what):
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"a tensor's {what} is {str(value)[:60]}, not ints")
    return tuple(value)


# (module, name) -> the object find_class hands out; nothing else is ever resolved
_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}
# element types: a fresh _StorageType per reference, so that a pickle's BUILD opcode (which sets
# attributes on the object it is given) cannot change what a later file reads
_TYPES = {("torch", name): dt for name, dt in list(_STORAGES.items()) + list(_DTYPES.items())}
_TYPES["torch.storage", "UntypedStorage"] = np.uint8


class _StateDictUnpickler(pickle.Unpickler):
    """An unpickler that builds only tensors (as ndarrays) and plain containers."""

    def __init__(self, data, storages, path):
        super().__init__(io.BytesIO(data))
        self._storages, self._path = storages, path

    def find_class(self, module, name):
        if (module, name) in _TYPES:
            return _StorageType(name, _TYPES[module, name])
        obj = _GLOBALS.get((module, name))
        if obj is None:
            raise pickle.UnpicklingError(
                f"load: {self._path} refers to the global {module}.{name}, which is not part of "
                "a state dict (tensors, OrderedDict, dicts, lists, tuples, numbers, strings); "
                "refused without running it")
        return obj

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)):
            raise pickle.UnpicklingError(f"load: {self._path} has an unknown persistent id "
                                         f"{str(pid)[:80]}")
        return self._storages(pid[1], pid[2])


def _folder(names, path):
    """The one top-level folder every entry sits in, and the data.pkl inside it."""
    pkls = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if not pkls:
        if any(n.endswith("constants.pkl") for n in names):
            raise ValueError(f"load: {path} is a TorchScript archive (torch.jit.save), not a "
                             "torch.save file; save the model's state_dict() with torch.save")
        raise ValueError(f"load: {path} is a zip archive but not a torch.save file (no "
                         "<name>/data.pkl entry)")
    return pkls[0][:-len("data.pkl")]


def load_torch_file(path, raw):
    """The object saved in the ``torch.save`` file whose bytes are ``raw`` (arrays for tensors).
    ``path`` only names the file in errors."""
    if raw[:1] == b"\x80":  # a bare pickle stream: what torch.save wrote before 1.6
        raise ValueError(f"load: {path} is in PyTorch's legacy (pre-1.6) torch.save format, "
                         "which is not supported; re-save it with a current PyTorch "
                         "(torch.save(torch.load(path), path))")
    if not raw.startswith(b"PK"):
        raise ValueError(f"load: {path} is not a torch.save file (not a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            root = _folder(list(infos), path)
            order = zf.read(root + "byteorder").decode() if root + "byteorder" in infos \
                else "little"
            if order not in ("little", "big"):
                raise ValueError(f"load: {path} has an unknown byte order {order[:20]!r}")
            cache = {}

            def storage(kind, key):
                if key not in cache:
                    info = infos.get(root + "data/" + key)
                    if info is None:
                        raise ValueError(f"load: {path} lacks the storage data/{key} "
                                         "(truncated or corrupt file)")
                    if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(raw):
                        raise ValueError(f"load: {path}: storage data/{key} is compressed or "
                                         "larger than the file (torch.save stores them as is)")
                    data = zf.read(info)
                    dt = kind.dtype.newbyteorder("<" if order == "little" else ">")
                    if len(data) % dt.itemsize:
                        raise ValueError(f"load: {path}: storage data/{key} holds {len(data)} "
                                         f"bytes, not a whole number of {kind.name} elements")
                    cache[key] = _Storage(np.frombuffer(data, dt).astype(kind.dtype),
                                          kind.bfloat16)
                return cache[key]

            pkl = infos[root + "data.pkl"]
            if pkl.file_size > 64 * len(raw) + (1 << 20):
                raise ValueError(f"load: {path}: data.pkl claims {pkl.file_size} bytes")
            return _StateDictUnpickler(zf.read(pkl), storage, path).load()
    except pickle.UnpicklingError as e:
        if str(e).startswith("load:"):  # a refused global or persistent id
            raise
        raise ValueError(f"load: {path} is not a readable torch.save file (corrupt or "
                         f"truncated): {e}") from None
    except ValueError as e:
        if str(e).startswith("load:"):
            raise
        raise ValueError(f"load: {path} is not a readable torch.save file: {e}") from None
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, KeyError, TypeError,
            AttributeError, IndexError, MemoryError, RecursionError, OverflowError) as e:
        # EOFError / KeyError...: a truncated pickle or archive; TypeError: a REDUCE whose
        # arguments do not fit one of our callables
        raise ValueError(f"load: {path} is not a readable torch.save file (corrupt or truncated):"
                         f" {type(e).__name__}: {e}") from None
