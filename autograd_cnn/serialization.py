"""Checkpoints: ``save(obj, path)`` and ``load(path)`` for state dicts and the nested containers
around them (optimizer state, epoch counters, configuration strings...).

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
    {"t": "array", "k": "a0"}                        (an np.ndarray; a Tensor is saved as its data)
    {"t": "scalar", "k": "a1"}                       (a NumPy scalar such as np.float32(1.5))
    {"t": "list", "v": [node, ...]}  {"t": "tuple", "v": [node, ...]}
    {"t": "dict", "v": [[key_node, value_node], ...]}  (keys: str, int, float, bool or None;
                                                        insertion order is kept)

Writes are atomic: the archive is written to a temporary file in the destination directory,
flushed to disk, then moved over ``path`` with ``os.replace``. A crash or an error mid-save leaves
the previous checkpoint untouched. A truncated or corrupt file, or one that is not an
autograd_cnn checkpoint, raises ``ValueError`` naming the file and the problem.
"""
import io
import json
import numbers
import os
import tempfile
import zipfile

import numpy as np

__all__ = ["save", "load"]

MANIFEST_KEY = "__autograd_cnn_manifest__"
FORMAT = "autograd_cnn-checkpoint"
VERSION = 1


# ----------------------------------------------------------------------------------- encoding
class _Encoder:
    """Turns a nested Python structure into (manifest node, {entry name: array})."""

    def __init__(self):
        self.arrays = {}

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
        data = _tensor_data(obj)
        if data is not None:
            return {"t": "array", "k": self._add_array(data, where)}
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if not (key is None or isinstance(key, (str, bool, numbers.Integral, float))):
                    raise TypeError(f"save: dict keys must be str, int, float, bool or None; "
                                    f"{where} has a key of type {type(key).__name__}")
                items.append([self.encode(key, f"{where} key"),
                              self.encode(value, f"{where}[{key!r}]")])
            return {"t": "dict", "v": items}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"t": kind, "v": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(f"save: cannot store {where} of type {type(obj).__name__}; supported: "
                        "dict, list, tuple, np.ndarray, Tensor, int, float, bool, str, None")


def _tensor_data(obj):
    """The ndarray behind an autograd_cnn Tensor (or None for anything else)."""
    try:  # local import: serialization does not need the engine loaded
        from .tensor import Tensor
    except ImportError:  # pragma: no cover - only while the engine is absent
        return None
    if isinstance(obj, Tensor):
        return obj.data
    return None


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

    def decode(self, node):
        if not isinstance(node, dict) or "t" not in node:
            raise self._bad(f"expected a tagged node, got {str(node)[:80]}")
        t = node["t"]
        if t == "none":
            return None
        if t == "bool":
            return bool(node["v"])
        if t == "int":
            if not isinstance(node.get("v"), int):
                raise self._bad(f"int node holds {node.get('v')!r}")
            return int(node["v"])
        if t == "float":
            try:
                return float.fromhex(node["v"])
            except (TypeError, ValueError, KeyError):
                raise self._bad(f"float node holds {node.get('v')!r}") from None
        if t == "str":
            return str(node["v"])
        if t == "array":
            return self._array(node)
        if t == "scalar":
            return self._array(node)[()]
        if t in ("list", "tuple"):
            items = [self.decode(v) for v in node["v"]]
            return items if t == "list" else tuple(items)
        if t == "dict":
            out = {}
            for pair in node["v"]:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise self._bad("dict item is not a [key, value] pair")
                key = self.decode(pair[0])
                if isinstance(key, np.generic):
                    key = key.item()
                out[key] = self.decode(pair[1])
            return out
        raise self._bad(f"unknown node type {t!r}")


# ------------------------------------------------------------------------------------ public API
def save(obj, path):
    """Write ``obj`` (a state dict or any nesting of dicts/lists/tuples of arrays, Tensors,
    numbers, strings, bools and None) to ``path`` as a pickle-free ``.npz`` checkpoint.

    The name is used exactly as given (no ``.npz`` is appended). The write is atomic: a temporary
    file in the same directory is filled, fsync'ed, then renamed over ``path``.
    """
    path = os.fspath(path)
    enc = _Encoder()
    root = enc.encode(obj)
    manifest = {"format": FORMAT, "version": VERSION, "root": root}
    blob = np.frombuffer(json.dumps(manifest, allow_nan=False).encode("utf-8"), dtype=np.uint8)
    entries = dict(enc.arrays)
    entries[MANIFEST_KEY] = blob

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **entries)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return None


def load(path):
    """Read a checkpoint written by :func:`save` and return the nested structure, with arrays as
    NumPy arrays. Raises ``FileNotFoundError`` for a missing file and ``ValueError`` (naming the
    file) for a truncated, corrupt or foreign one. Never unpickles anything."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no checkpoint at {path!r}")
    try:
        with open(path, "rb") as f:
            raw = f.read()
        loaded = np.load(io.BytesIO(raw), allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError(f"load: {path} is a single .npy array, not an autograd_cnn "
                             "checkpoint (.npz archive)")
        with loaded as npz:
            names = list(npz.files)
            if MANIFEST_KEY not in names:
                raise ValueError(f"load: {path} is a .npz archive but not an autograd_cnn "
                                 f"checkpoint (no {MANIFEST_KEY} entry; entries: {names[:5]})")
            arrays = {name: npz[name] for name in names}
    except ValueError as e:
        if str(e).startswith("load:"):
            raise
        raise ValueError(f"load: {path} is not a readable checkpoint (corrupt or truncated "
                         f"file, or contains pickled objects): {e}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as e:
        raise ValueError(f"load: {path} is not a readable checkpoint (corrupt or truncated "
                         f"file): {type(e).__name__}: {e}") from None
    blob = arrays.pop(MANIFEST_KEY)
    try:
        manifest = json.loads(blob.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"load: {path} has an unreadable manifest: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"load: {path} is not an autograd_cnn checkpoint (bad manifest header)")
    if manifest.get("version") != VERSION:
        raise ValueError(f"load: {path} has checkpoint format version {manifest.get('version')!r}"
                         f"; this autograd_cnn reads version {VERSION}")
    if "root" not in manifest:
        raise ValueError(f"load: {path} has a manifest without a root node")
    return _Decoder(arrays, path).decode(manifest["root"])
