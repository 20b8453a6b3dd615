"""Containers: ``Sequential`` (modules applied in order), ``ModuleList`` (a list that registers
its modules) and ``ModuleDict`` (a dict that does). List children are named ``"0"``, ``"1"``,
... and dict children by their keys, so parameter names read ``0.weight``, ``features.3.bias``,
``heads.cls.weight``, exactly as in PyTorch."""
from collections import OrderedDict
from collections.abc import Mapping
import operator

from .module import Module

__all__ = ["Sequential", "ModuleList", "ModuleDict"]


def _index(idx, n, what):
    try:
        idx = operator.index(idx)
    except TypeError:
        raise TypeError(f"{what} indices must be ints or slices, got "
                        f"{type(idx).__name__}") from None
    if not -n <= idx < n:
        raise IndexError(f"{what} index {idx} is out of range for length {n}")
    return idx % n


class Sequential(Module):
    """``Sequential(m0, m1, ...)`` or ``Sequential(OrderedDict(name=module))``: ``forward(x)``
    returns ``m_last(...m1(m0(x)))``. Indexing returns a layer, slicing a new Sequential."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                if not isinstance(module, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(module).__name__}, "
                                    "not a Module")
                self.add_module(str(i), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        i = _index(idx, len(self), "Sequential")
        return list(self._modules.values())[i]

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules that are registered as children (so their parameters are found).
    It has no forward: iterate over it in your own module's forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(); iterate over its modules")


class ModuleDict(Module):
    """An ordered dict of modules registered as children under their keys (strings without
    '.'), in insertion order: ``ModuleDict({'cls': Linear(8, 10), 'box': Linear(8, 4)})`` or an
    iterable of (key, module) pairs. It has the dict methods PyTorch's has (``keys``,
    ``items``, ``values``, ``update``, ``pop``, ``clear``, ``in``, ``len``, iteration over the
    keys) and no forward: index it in your own module's forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        if isinstance(key, str) and key not in self._modules and hasattr(self, key):
            raise KeyError(f"ModuleDict: key {key!r} is already an attribute of ModuleDict "
                           "(a method or a field) and cannot name a module")
        self.add_module(key, module)

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def clear(self):
        """Remove every module."""
        self._modules.clear()

    def pop(self, key):
        """Remove the module under ``key`` and return it."""
        module = self[key]
        del self[key]
        return module

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules):
        """Add (or replace) modules from a mapping (in its order) or an iterable of
        (key, module) pairs."""
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        try:
            pairs = iter(modules)
        except TypeError:
            raise TypeError("ModuleDict.update: modules must be a mapping or an iterable of "
                            f"(key, module) pairs, got {type(modules).__name__}") from None
        for i, pair in enumerate(pairs):
            try:
                pair = tuple(pair)
            except TypeError:
                raise TypeError(f"ModuleDict.update: element #{i} of modules must be a "
                                f"(key, module) pair, got {type(pair).__name__}") from None
            if len(pair) != 2:
                raise ValueError(f"ModuleDict.update: element #{i} of modules has length "
                                 f"{len(pair)}; 2 (key, module) is required")
            self[pair[0]] = pair[1]

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(); index it with a key in your "
                                  "own module's forward")
