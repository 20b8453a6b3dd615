"""Devices: ``autograd_cnn.device`` and the parsing of every ``device=`` / ``.to(...)`` argument.

The engine computes on CPUs only, so the one usable device is ``device("cpu")``. As in PyTorch, a
``device`` object for another type (``device("cuda")``) can be *made* -- scripts build one in
``torch.device("cuda" if torch.cuda.is_available() else "cpu")`` -- but handing it to a Tensor, a
Module or a factory raises a RuntimeError that says the engine runs on CPUs.
"""
import builtins
import numbers

import numpy as np

__all__ = ["device", "CPU", "check_device", "parse_to"]

# the device types PyTorch knows; any other string is a typo, as in PyTorch
_KNOWN = ("cpu", "cuda", "mps", "xpu", "hip", "meta", "xla", "mtia", "hpu", "ipu", "vulkan",
          "privateuseone", "lazy", "ve", "fpga", "maia", "opengl", "opencl", "ideep", "mkldnn")


class device:
    """``device("cpu")``, ``device("cuda:0")``, ``device("cuda", 0)`` or ``device(other)``: a device
    type and optional index, equal to another device with the same two. Only ``"cpu"`` can hold
    tensors here."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002 (PyTorch's argument name)
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            type, index = type.type, type.index
        elif isinstance(type, str):
            name, sep, idx = type.strip().partition(":")
            if sep:
                if index is not None:
                    raise RuntimeError(f"device(): the index is given twice: {type!r} and {index}")
                if not idx.isdigit():
                    raise RuntimeError(f"device(): invalid device string {type!r} (expected "
                                       "'type' or 'type:index', e.g. 'cpu' or 'cuda:0')")
                index = int(idx)
            if name not in _KNOWN:
                raise RuntimeError(f"device(): unknown device type {name!r} in {type!r}; "
                                   "autograd_cnn runs on 'cpu'")
            type = name
        elif isinstance(type, numbers.Integral) and not isinstance(type, bool):
            type, index = "cuda", int(type)  # PyTorch reads a bare ordinal as an accelerator's
        else:
            raise TypeError(f"device(): expected a string such as 'cpu' or a device, got "
                            f"{type!r} ({builtins.type(type).__name__})")
        if index is not None and (isinstance(index, bool) or not isinstance(index, numbers.Integral)
                                  or index < 0):
            raise RuntimeError(f"device(): the index must be a non-negative int, got {index!r}")
        self.type = type
        self.index = None if index is None else int(index)

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        extra = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{extra})"

    def __reduce__(self):
        return device, (self.type, self.index)


CPU = device("cpu")


def check_device(dev, where):
    """The CPU device for ``dev`` (None, "cpu", "cpu:0", a cpu device); anything else raises."""
    if dev is None or dev is CPU:
        return CPU
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu" or d.index not in (None, 0):
        raise RuntimeError(f"{where}: device {str(d)!r} is not available: autograd_cnn runs on "
                           "CPUs only; use device 'cpu' (e.g. device = 'cuda' if "
                           "torch.cuda.is_available() else 'cpu' picks it, as "
                           "autograd_cnn.cuda.is_available() is False)")
    return CPU


def _is_device_arg(x):
    return isinstance(x, (str, device)) or (isinstance(x, numbers.Integral)
                                            and not isinstance(x, (bool, np.integer)))


def parse_to(args, kwargs, where, tensor_type):
    """PyTorch's ``.to`` forms -> ``(dtype or None, copy)``, after checking the device:
    ``to(dtype)``, ``to(device, dtype=None)``, ``to(tensor)`` (its device and dtype), and the
    keywords ``device``, ``dtype``, ``non_blocking`` (no effect on CPUs), ``copy``,
    ``memory_format`` (NCHW only: accepted, ignored)."""
    kwargs = dict(kwargs)
    dev, dtype = kwargs.pop("device", None), kwargs.pop("dtype", None)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{where}: unexpected keyword argument(s) {sorted(kwargs)}")
    args = list(args)
    if args and isinstance(args[0], tensor_type):
        other = args.pop(0)
        dtype = other.dtype if dtype is None else dtype
    elif args and _is_device_arg(args[0]):
        if dev is not None:
            raise TypeError(f"{where}: device given twice")
        dev = args.pop(0)
        if args and not isinstance(args[0], bool):
            dtype = args.pop(0) if dtype is None else dtype
    elif args and not isinstance(args[0], bool):
        if dtype is not None:
            raise TypeError(f"{where}: dtype given twice")
        dtype = args.pop(0)
    if args:  # positional non_blocking, copy
        copy = bool(args[1]) if len(args) > 1 else copy
        if len(args) > 2:
            raise TypeError(f"{where}: too many positional arguments")
    check_device(dev, where)
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{where}: expected a dtype (e.g. autograd_cnn.float32), a device "
                            f"('cpu') or a Tensor, got {dtype!r}") from None
    return dtype, copy
