"""Checkpoints: ``save(obj, path)`` and ``load(path)`` for state dicts and the nested containers
around them (optimizer state, epoch counters, configuration strings...).

The extension chooses the format: ``.safetensors`` (flat state dicts, read and written through
the optional ``safetensors`` package; _safetensors.py) and ``.pt`` / ``.pth`` (PyTorch's
``torch.save`` zip files, read and written without PyTorch, never running pickled code;
_torch_zip.py reads, _torch_zip_write.py writes) -- every other name is this module's own
format, described below.

File format
-----------
A checkpoint is an ordinary NumPy ``.npz`` archive (a zip of ``.npy`` files) written and read
with ``allow_pickle=False``. It holds:

* ``__autograd_cnn_manifest__``: a uint8 array with the UTF-8 bytes of a JSON document that
  describes the nested structure (dicts, lists, tuples, numbers, strings, None, bools);
* one entry ``a<i>`` per array in the structure, referenced from the manifest by name.

Nothing in the file is ever executed or unpickled: loading parses JSON and reads raw arrays, so a
checkpoint from an untrusted source cannot run code (unlike ``pickle`` / ``torch.load`` with
``weights_only=False``). Object arrays are refused on save for the same reason.

Manifest nodes are small JSON objects tagged by ``"t"``::

    {"t": "none"}  {"t": "bool", "v": true}  {"t": "int", "v": 3}  {"t": "str", "v": "adam"}
    {"t": "float", "v": "0x1.999999999999ap-4"}      (float.hex: exact, and nan/inf survive)
    {"t": "array", "k": "a0"}                        (an np.ndarray; a Tensor is saved as its array)
    {"t": "scalar", "k": "a1"}                       (a NumPy scalar such as np.float32(1.5))
    {"t": "list", "v": [node, ...]}  {"t": "tuple", "v": [node, ...]}
    {"t": "dict", "v": [[key_node, value_node], ...]}  (keys: str, int, float, bool or None;
                                                        insertion order is kept)

Structures nest at most ``MAX_DEPTH`` levels; a container that holds itself is refused on save.

Writes are atomic: the archive is written to a temporary file in the destination directory
(``.NAME.<host>.<pid>.<random>.tmp``), flushed to disk, then moved over ``path`` with
``os.replace``. A crash or an error mid-save leaves the previous checkpoint untouched; the
temporary of a writer that was killed is removed by the next save to the same path on the same
host. A truncated or corrupt file, or one that is not an autograd_cnn checkpoint, raises
``ValueError`` naming the file and the problem; an array entry whose header claims more data
than the archive holds, or a compressed entry (``save`` never writes one), is refused before any
memory is allocated for it. Paths may be ``str``,
``bytes`` or ``os.PathLike``, as for ``open``.
"""
import contextlib
import io
import json
import math
import numbers
import os
import socket
import tempfile
import zipfile
import zlib

import numpy as np

from ._device import check_device, device
from .tensor import Tensor

__all__ = ["save", "load"]

MANIFEST_KEY = "__autograd_cnn_manifest__"
FORMAT = "autograd_cnn-checkpoint"
VERSION = 1
#: deepest nesting of containers that save writes and load reads
MAX_DEPTH = 200


# ----------------------------------------------------------------------------------- encoding
@contextlib.contextmanager
def _entering(open_ids, obj, where):
    """Walk into the container ``obj``: ``open_ids`` holds the ids of the containers being
    walked (outermost first); one that holds itself, or nesting past MAX_DEPTH, is refused."""
    if id(obj) in open_ids:
        raise ValueError(f"save: {where} contains itself; a checkpoint must be a tree")
    if len(open_ids) >= MAX_DEPTH:
        raise ValueError(f"save: {where} is nested more than {MAX_DEPTH} levels deep")
    open_ids.append(id(obj))
    try:
        yield
    finally:
        open_ids.pop()


class _Encoder:
    """Turns a nested Python structure into (manifest node, {entry name: array})."""

    def __init__(self):
        self.arrays = {}
        self._open = []  # ids of the containers being encoded, outermost first

    def _add_array(self, arr, where):
        arr = np.asarray(arr)
        if arr.dtype.hasobject:
            raise TypeError(f"save: {where} is an object array; only numeric/bool/string arrays "
                            "can be stored without pickle")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = arr if arr.flags.c_contiguous else arr.copy(order="C")
        return name

    def encode(self, obj, where="obj"):
        # order matters: bool before int (bool is an int), NumPy scalars before Python numbers
        if obj is None:
            return {"t": "none"}
        if isinstance(obj, (bool, np.bool_)) and not isinstance(obj, np.ndarray):
            if isinstance(obj, np.bool_):
                return {"t": "scalar", "k": self._add_array(np.asarray(obj), where)}
            return {"t": "bool", "v": obj}
        if isinstance(obj, np.generic):
            return {"t": "scalar", "k": self._add_array(np.asarray(obj), where)}
        if isinstance(obj, numbers.Integral):
            return {"t": "int", "v": int(obj)}
        if isinstance(obj, float):
            return {"t": "float", "v": float(obj).hex()}
        if isinstance(obj, str):
            return {"t": "str", "v": obj}
        if isinstance(obj, np.ndarray):
            return {"t": "array", "k": self._add_array(obj, where)}
        if isinstance(obj, Tensor):
            return {"t": "array", "k": self._add_array(obj.numpy(), where)}
        if isinstance(obj, (dict, list, tuple)):
            with _entering(self._open, obj, where):
                return self._container(obj, where)
        raise TypeError(f"save: cannot store {where} of type {type(obj).__name__}; supported: "
                        "dict, list, tuple, np.ndarray, Tensor, int, float, bool, str, None")


    def _container(self, obj, where):
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if not (key is None or isinstance(key, (str, bool, numbers.Integral, float))):
                    raise TypeError(f"save: dict keys must be str, int, float, bool or None; "
                                    f"{where} has a key of type {type(key).__name__}")
                items.append([self.encode(key, f"{where} key"),
                              self.encode(value, f"{where}[{key!r}]")])
            return {"t": "dict", "v": items}
        kind = "list" if isinstance(obj, list) else "tuple"
        return {"t": kind, "v": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}


# ----------------------------------------------------------------------------------- decoding
class _Decoder:
    def __init__(self, arrays, path):
        self.arrays = arrays
        self.path = path

    def _bad(self, msg):
        return ValueError(f"load: {self.path!s} has an invalid checkpoint manifest: {msg}")

    def _array(self, node):
        key = node.get("k")
        if key not in self.arrays:
            raise self._bad(f"array entry {key!r} is missing from the archive (truncated file?)")
        return self.arrays[key]

    def _value(self, node, types, what):
        """node["v"], which must be of one of the JSON ``types``."""
        value = node.get("v")
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise self._bad(f"{node['t']} node holds {str(value)[:80]}; expected {what}")
        return value

    def decode(self, node, depth=0):
        if not isinstance(node, dict) or "t" not in node:
            raise self._bad(f"expected a tagged node, got {str(node)[:80]}")
        if depth > MAX_DEPTH:
            raise self._bad(f"nested more than {MAX_DEPTH} levels deep")
        t = node["t"]
        if t == "none":
            return None
        if t == "bool":
            return self._value(node, (bool,), "true or false")
        if t == "int":
            return self._value(node, (int,), "an integer")
        if t == "float":
            try:
                return float.fromhex(self._value(node, (str,), "a hexadecimal float"))
            except ValueError:
                raise self._bad(f"float node holds {node['v']!r}") from None
        if t == "str":
            return self._value(node, (str,), "a string")
        if t == "array":
            return self._array(node)
        if t == "scalar":
            array = self._array(node)
            if array.ndim != 0:
                raise self._bad(f"scalar entry {node['k']!r} has shape {array.shape}")
            return array[()]
        if t in ("list", "tuple"):
            items = [self.decode(v, depth + 1) for v in self._value(node, (list,), "a list")]
            return items if t == "list" else tuple(items)
        if t == "dict":
            out = {}
            for pair in self._value(node, (list,), "a list of [key, value] pairs"):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self._bad("dict item is not a [key, value] pair")
                key = self.decode(pair[0], depth + 1)
                if isinstance(key, np.generic):
                    key = key.item()
                if not (key is None or isinstance(key, (str, int, float))):
                    raise self._bad(f"dict key of type {type(key).__name__}; keys are str, "
                                    "int, float, bool or None")
                out[key] = self.decode(pair[1], depth + 1)
            return out
        raise self._bad(f"unknown node type {str(t)[:40]!r}")


# ------------------------------------------------------------------------------------ public API
def save(obj, path):
    """Write ``obj`` to ``path`` in the format its extension names:

    * ``.safetensors``: a flat dict of name -> array or Tensor (a state dict), as
      ``safetensors.torch.save_file`` writes it (needs the optional ``safetensors`` package);
    * ``.pt`` / ``.pth``: PyTorch's ``torch.save`` zip format, written without PyTorch, which
      ``torch.load(path)`` reads with its default ``weights_only=True``: dicts, OrderedDicts,
      lists and tuples of Tensors/arrays (float32, float64, float16, int64, int32, int16, int8,
      uint8, bool), numbers, strings, bools and None (see autograd_cnn/_torch_zip_write.py);
    * anything else (``.npz``, ``.ckpt``, no extension...): a pickle-free ``.npz`` checkpoint of
      ``obj``, a state dict or any nesting of dicts/lists/tuples of arrays, Tensors, numbers,
      strings, bools and None.

    The name is used exactly as given (no extension is appended). The write is atomic: a temporary
    file in the same directory is filled, fsync'ed, then renamed over ``path``.
    """
    path = _path(path, "save")
    kind = _format(path)
    if kind == "torch":
        from ._torch_zip_write import write_torch_file
        _atomic_write(path, lambda f: write_torch_file(obj, f))
        return None
    if kind == "safetensors":
        from ._safetensors import to_bytes
        blob = to_bytes(obj, path)
        _atomic_write(path, lambda f: f.write(blob))
        return None
    enc = _Encoder()
    root = enc.encode(obj)
    manifest = {"format": FORMAT, "version": VERSION, "root": root}
    blob = np.frombuffer(json.dumps(manifest, allow_nan=False).encode("utf-8"), dtype=np.uint8)
    entries = dict(enc.arrays)
    entries[MANIFEST_KEY] = blob
    _atomic_write(path, lambda f: np.savez(f, **entries))
    return None


def _format(path):
    """'safetensors', 'torch' or 'npz', from the file name's extension (``.pth.tar``, the
    ImageNet example's checkpoint name, is torch's)."""
    lower = path.lower()
    ext = os.path.splitext(lower)[1]
    if ext == ".safetensors":
        return "safetensors"
    if ext in (".pt", ".pth") or lower.endswith((".pt.tar", ".pth.tar")):
        return "torch"
    return "npz"


def _sniff(raw, kind):
    """The format of bytes ``raw``: ``kind`` from the name, except that a zip holding a
    ``data.pkl`` is a torch.save file whatever its name; with no name (None), a safetensors
    header or else this module's own format."""
    if kind in (None, "npz") and raw[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                if any(n == "data.pkl" or n.endswith("/data.pkl") for n in zf.namelist()):
                    return "torch"
        except (zipfile.BadZipFile, OSError, ValueError):
            pass  # the npz reader reports the damage
    if kind is None:
        n = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else 0
        return "safetensors" if raw[8:9] == b"{" and 2 <= n <= len(raw) - 8 else "npz"
    return kind


def _check_map_location(map_location):
    """``load``'s map_location: anything naming the CPU, or a callable (not called)."""
    if map_location is None or callable(map_location):
        return
    if isinstance(map_location, dict):
        for target in map_location.values():
            check_device(target, "load: map_location")
        return
    if not isinstance(map_location, (str, device)):
        raise TypeError(f"load: map_location must be None, a device, a string such as 'cpu', a "
                        f"dict or a callable, got {type(map_location).__name__}")
    check_device(map_location, "load: map_location")


def _atomic_write(path, write):
    """Run ``write(f)`` on a temporary beside ``path``, fsync it, and rename it over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temporaries(directory, os.path.basename(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=_temporary_prefix(path) + "%d." % os.getpid(),
                                   suffix=".tmp")
    except OSError as e:  # name the file asked for, not the hidden temporary
        raise type(e)(e.errno, f"save: cannot write {path!r} ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _path(path, fn):
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{fn}: path must be str, bytes or os.PathLike, got {type(path).__name__}")
    return os.fsdecode(os.fspath(path))


def _temporary_prefix(path):
    """Temporaries of ``path`` are ``.NAME.<host>.<pid>.<random>.tmp`` beside it."""
    host = socket.gethostname().replace(".", "_") or "host"
    return "." + os.path.basename(path) + "." + host + "."


def _remove_stale_temporaries(directory, name):
    """Delete this host's temporaries of ``name`` whose writer process no longer exists (one killed
    mid-save); another host's, or a live writer's, are left alone."""
    prefix = _temporary_prefix(name)
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        pid = entry[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _process_exists(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, entry))
        except OSError:
            pass  # removed by someone else meanwhile, or not ours to remove


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists under another user (or cannot tell): keep its file
    return True


def _read_archive(path, raw):
    """{entry name: array} of the .npz bytes ``raw``. Each entry's .npy header is checked against
    the size the archive records for it before the array is read, so a header that claims more
    data than is there is refused instead of allocated."""
    arrays = {}
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        for info in zf.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(raw):
                # save() stores entries uncompressed: a compressed one could inflate far
                # beyond the file's own size
                raise ValueError(f"load: {path} is not an autograd_cnn checkpoint: entry "
                                 f"{name!r} is compressed (checkpoints store entries as they are)")
            with zf.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(member)
                claimed = math.prod(shape) * dtype.itemsize
                if claimed > info.file_size - member.tell():
                    raise ValueError(f"load: {path} is corrupt: entry {name!r} claims {shape} of "
                                     f"{dtype} ({claimed} bytes) but holds "
                                     f"{info.file_size - member.tell()}")
            with zf.open(info) as member:
                arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
    return arrays


def load(f, map_location=None, weights_only=None, *, mmap=None):
    """Read ``f`` (a path, or a binary file object such as ``io.BytesIO``) and return what it
    holds, with arrays as NumPy arrays:

    * ``.safetensors``: the dict of name -> array (needs the optional ``safetensors`` package);
    * ``.pt`` / ``.pth`` (or any name, when the bytes are a ``torch.save`` zip: ``.pth.tar``,
      ``.ckpt``, a file object): the object saved by ``torch.save`` (PyTorch >= 1.6 zip format),
      read without PyTorch; only tensors and plain containers are accepted, anything else in the
      pickle raises ``pickle.UnpicklingError`` naming the global, and nothing in it is run
      (see autograd_cnn/_torch_zip.py);
    * anything else: a checkpoint written by :func:`save` (never unpickles anything).

    PyTorch's arguments are taken for scripts that pass them: ``map_location`` must name the CPU
    (None, ``"cpu"``, a cpu ``device``, a dict whose targets are the CPU) or be a callable, which
    is not called (every array is in CPU memory already); ``weights_only`` may be True, False or
    None and changes nothing: this loader never runs pickled code, so what ``weights_only=False``
    would add (whole pickled objects) raises either way; ``mmap`` is accepted and ignored (the
    file is read into memory).

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (naming the file) for a
    truncated, corrupt or foreign one."""
    _check_map_location(map_location)
    if weights_only not in (None, True, False):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    if mmap not in (None, True, False):
        raise TypeError(f"load: mmap must be True, False or None, got {mmap!r}")
    if hasattr(f, "read") and not isinstance(f, (str, bytes, os.PathLike)):
        mode = getattr(f, "mode", "rb")
        raw = f.read() if not isinstance(mode, str) or "b" in mode else ""
        if not isinstance(raw, bytes):
            raise TypeError(f"load: the file object must be opened in binary mode ('rb'), got "
                            f"one that reads {type(raw).__name__}")
        name = getattr(f, "name", None)
        path = name if isinstance(name, str) else "<file object>"
        kind = _format(path) if isinstance(name, str) else None
    else:
        path = _path(f, "load")
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: no checkpoint at {path!r}")
        with open(path, "rb") as fh:  # a permission problem is reported as one, by open itself
            raw = fh.read()
        kind = _format(path)
    kind = _sniff(raw, kind)
    if kind == "safetensors":
        from ._safetensors import from_bytes
        return from_bytes(raw, path)
    if kind == "torch":
        from ._torch_zip import load_torch_file
        return load_torch_file(path, raw)
    if raw[:6] == b"\x93NUMPY":
        raise ValueError(f"load: {path} is a single .npy array, not an autograd_cnn "
                         "checkpoint (.npz archive)")
    try:
        arrays = _read_archive(path, raw)
    except ValueError as e:
        if str(e).startswith("load:"):
            raise
        raise ValueError(f"load: {path} is not a readable checkpoint (corrupt or truncated "
                         f"file, or contains pickled objects): {e}") from None
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError, KeyError,
            MemoryError) as e:  # NotImplementedError: zipfile's unknown compression method
        raise ValueError(f"load: {path} is not a readable checkpoint (corrupt or truncated "
                         f"file): {type(e).__name__}: {e}") from None
    if MANIFEST_KEY not in arrays:
        raise ValueError(f"load: {path} is a .npz archive but not an autograd_cnn "
                         f"checkpoint (no {MANIFEST_KEY} entry; entries: {list(arrays)[:5]})")
    blob = arrays.pop(MANIFEST_KEY)
    try:
        manifest = json.loads(blob.tobytes().decode("utf-8"))
    except (ValueError, RecursionError) as e:  # JSONDecodeError, bad UTF-8, a 5000-digit int
        raise ValueError(f"load: {path} has an unreadable manifest: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"load: {path} is not an autograd_cnn checkpoint (bad manifest header)")
    if manifest.get("version") != VERSION:
        raise ValueError(f"load: {path} has checkpoint format version {manifest.get('version')!r}"
                         f"; this autograd_cnn reads version {VERSION}")
    if "root" not in manifest:
        raise ValueError(f"load: {path} has a manifest without a root node")
    return _Decoder(arrays, path).decode(manifest["root"])
