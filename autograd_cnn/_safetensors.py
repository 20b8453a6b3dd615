"""``.safetensors`` files, read and written through the optional ``safetensors`` package.

safetensors (the format of the PyTorch model hubs) is a JSON header -- for each tensor its name,
dtype (``F32``, ``I64``...), shape and byte range -- followed by the raw little-endian bytes. It
holds a flat ``{name: tensor}`` dict and nothing else, and loading never runs code. Files written
here are byte-for-byte what ``safetensors.torch.save_file`` writes for the same state dict (same
names, shapes and dtypes), so they load with ``safetensors.torch.load_file`` into PyTorch models,
and PyTorch's files load here. bfloat16 tensors (which NumPy cannot hold) are widened exactly to
float32 on load.
"""
import numpy as np

from .autograd.tensor import Tensor, as_array

__all__ = ["to_bytes", "from_bytes"]


def _package(fn):
    try:
        import safetensors.numpy  # noqa: F401  (the optional extra, imported when used)
    except ImportError:
        raise ImportError(f"{fn}: .safetensors files need the optional 'safetensors' package "
                          "(pip install 'autograd_cnn[safetensors]')") from None
    return safetensors


def to_bytes(obj, path):
    """The .safetensors bytes of the flat dict ``obj`` (str -> array or Tensor)."""
    st = _package("save")
    if not isinstance(obj, dict):
        raise TypeError(f"save: a .safetensors file holds a flat dict of name -> array (a state "
                        f"dict), got {type(obj).__name__} for {path}")
    arrays = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"save: .safetensors names must be str, got {type(key).__name__} "
                            f"{key!r}")
        if not isinstance(value, (np.ndarray, Tensor, np.generic)):
            raise TypeError(f"save: a .safetensors file holds only arrays; {key!r} is "
                            f"{type(value).__name__} (use a .npz checkpoint for nested "
                            "structures)")
        arr = np.asarray(as_array(value) if isinstance(value, Tensor) else value)
        if arr.dtype.hasobject or arr.dtype.kind in "USV":
            raise TypeError(f"save: {key!r} has dtype {arr.dtype}; .safetensors holds numbers "
                            "and booleans")
        arrays[key] = arr if arr.flags.c_contiguous else arr.copy(order="C")  # keeps 0-d
    return st.numpy.save(arrays)


def from_bytes(raw, path):
    """{name: ndarray} of the .safetensors bytes ``raw``."""
    st = _package("load")
    try:
        header_len = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else -1
        if header_len < 2 or header_len > len(raw) - 8 or raw[8:9] != b"{":
            raise ValueError("no safetensors header")
        if b'"BF16"' in raw[8:8 + header_len]:
            return _with_bfloat16(raw, path)
        return dict(st.numpy.load(raw))
    except Exception as e:  # SafetensorError (from Rust), ValueError, ...: never a crash
        if str(e).startswith("load:"):
            raise
        raise ValueError(f"load: {path} is not a readable .safetensors file (corrupt, truncated "
                         f"or another format): {type(e).__name__}: {e}") from None


def _with_bfloat16(raw, path):
    """Files holding bfloat16: parse the header ourselves (NumPy has no bfloat16), widening those
    tensors to float32 and reading the others as safetensors does."""
    import json
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    body = memoryview(raw)[8 + n:]
    codes = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8",
             "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(codes[meta["dtype"]])
        begin, end = meta["data_offsets"]
        shape = tuple(int(s) for s in meta["shape"])
        if not 0 <= begin <= end <= len(body) or end - begin != int(np.prod(shape)) * dtype.itemsize:
            raise ValueError(f"load: {path}: tensor {name!r} has byte range {begin}..{end}, "
                             f"which does not fit shape {shape} of {meta['dtype']}")
        arr = np.frombuffer(body[begin:end], dtype).reshape(shape)
        if meta["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr.astype(arr.dtype.newbyteorder("="))
    return out
