"""Saving and restoring a NumPy random generator's state as a plain array.

``np.random.Generator.bit_generator.state`` is a nested dict that may hold 128-bit integers, which
no fixed-width array can store.  For checkpoints (``autograd_cnn.save`` keeps arrays, numbers and
nested dicts) we encode that dict as JSON text in a ``uint8`` array, and decode it back exactly.
"""
import json

import numpy as np

from .. import random as _random

__all__ = ["generator_state", "set_generator_state", "make_generator"]


def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": obj.dtype.str}
    if isinstance(obj, np.integer):
        return int(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} in a generator state")


def _decode(obj):
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return np.asarray(obj["__ndarray__"], dtype=np.dtype(obj["dtype"]))
        return {k: _decode(v) for k, v in obj.items()}
    return obj


def generator_state(gen):
    """The state of ``gen`` (a ``np.random.Generator``) as a ``uint8`` array."""
    text = json.dumps(gen.bit_generator.state, default=_jsonable, sort_keys=True)
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8).copy()


def set_generator_state(gen, state):
    """Restore a state made by ``generator_state`` into ``gen`` (same bit-generator type)."""
    arr = np.asarray(state)
    if arr.dtype != np.uint8 or arr.ndim != 1:
        raise ValueError(f"set_generator_state: need the uint8 array made by generator_state, "
                         f"got {arr.dtype} {arr.shape}")
    gen.bit_generator.state = _decode(json.loads(arr.tobytes().decode("ascii")))


def make_generator(seed):
    """A fresh ``np.random.Generator``: from ``seed`` (an int; None = a seed drawn from the global
    generator, so that ``autograd_cnn.manual_seed`` makes it reproducible, as in PyTorch), or
    ``seed`` itself when it already is a Generator (shared, not copied)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int, None or a np.random.Generator, "
                        f"got {type(seed).__name__}")
    if seed is None:
        seed = int(_random.default_generator().integers(0, 2 ** 63 - 1))
    return np.random.default_rng(seed)
