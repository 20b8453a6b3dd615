"""``Module``: the base class of every layer and model, with PyTorch's bookkeeping.

A module owns three ordered registries, filled by plain attribute assignment:

* ``_parameters``: trainable :class:`~autograd_cnn.nn.Parameter` tensors (``self.weight = ...``);
* ``_buffers``: non-trainable state tensors saved with the model, e.g. BatchNorm's running
  statistics (``self.register_buffer("running_mean", t)``);
* ``_modules``: child modules (``self.conv1 = Conv2d(...)``).

Names are dotted paths built from attribute names (``features.3.bias``), exactly as PyTorch
builds them, so ``state_dict()`` keys of an autograd_cnn model and of the same PyTorch model are
identical and weights can be moved between the two as NumPy arrays.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from .._device import check_device, parse_to
from ..backend import KERNEL_DTYPES
from ..tensor import Tensor, as_array
from ..autograd.tensor import RemovableHandle  # one handle type for every kind of hook
from .parameter import Parameter

__all__ = ["Module", "IncompatibleKeys", "RemovableHandle"]

_REGISTRIES = ("_parameters", "_buffers", "_modules")
_ABSENT = object()

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])




def _addindent(text, spaces):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _as_array(value, key):
    """The ndarray held by a state-dict value: ndarray, autograd_cnn Tensor, NumPy scalar, or
    anything exposing ``detach().cpu().numpy()`` (a PyTorch tensor)."""
    if hasattr(value, "detach") and hasattr(value, "numpy") and not isinstance(value, Tensor):
        value = value.detach().cpu().numpy()  # a torch.Tensor (torch is not imported)
    arr = as_array(value)
    if arr.dtype.hasobject:
        raise TypeError(f"load_state_dict: value for {key!r} is a {type(value).__name__}, "
                        "expected a NumPy array or a Tensor")
    return arr


class Module:
    """Base class for layers and models. Subclasses call ``super().__init__()`` first, assign
    parameters, buffers and child modules as attributes, and implement ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------------ call & forward
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        d = self.__dict__
        pre, post = d.get("_forward_pre_hooks"), d.get("_forward_hooks")
        if not pre and not post:  # the usual case: no hooks, no overhead
            return self.forward(*args, **kwargs)
        for hook in list(pre.values()) if pre else ():
            result = hook(self, args)
            if result is not None:  # a pre-hook may replace the positional inputs
                args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        for hook in list(post.values()) if post else ():
            result = hook(self, args, out)
            if result is not None:  # a forward hook may replace the output
                out = result
        return out

    def _add_hook(self, registry, hook, what):
        if not callable(hook):
            raise TypeError(f"{what}: hook must be callable, got {type(hook).__name__}")
        hooks = self.__dict__.get(registry)
        if hooks is None:
            hooks = OrderedDict()
            object.__setattr__(self, registry, hooks)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after every ``forward`` of this module (``args``:
        the positional inputs as a tuple); a hook returning something other than None replaces
        the output. Returns a :class:`RemovableHandle`. PyTorch's semantics (without its
        ``prepend``/``with_kwargs``/``always_call`` options)."""
        return self._add_hook("_forward_hooks", hook, "register_forward_hook")

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before every ``forward``; a result other than None (a
        tuple, or one value) replaces the positional inputs. Returns a :class:`RemovableHandle`."""
        return self._add_hook("_forward_pre_hooks", hook, "register_forward_pre_hook")

    # ------------------------------------------------------------------ attribute registries
    def _registries(self):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 "assigning parameters, buffers or submodules")
        return d["_parameters"], d["_buffers"], d["_modules"]

    def _forget(self, name):
        for reg in ("_parameters", "_buffers", "_modules"):
            self.__dict__.get(reg, {}).pop(name, None)
        self.__dict__.get("_non_persistent_buffers", set()).discard(name)
        self.__dict__.pop(name, None)

    def __setattr__(self, name, value):
        d = self.__dict__
        if isinstance(value, Parameter):
            params, _, _ = self._registries()
            self._forget(name)
            params[name] = value
        elif "_parameters" in d and name in d["_parameters"]:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to parameter {name!r} "
                                f"of {type(self).__name__} (an nn.Parameter or None is required)")
            d["_parameters"][name] = None
        elif isinstance(value, Module):
            _, _, modules = self._registries()
            self._forget(name)
            modules[name] = value
        elif "_modules" in d and name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to submodule {name!r} "
                                f"of {type(self).__name__} (a Module or None is required)")
            d["_modules"][name] = None
        elif "_buffers" in d and name in d["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} to buffer {name!r} of "
                                f"{type(self).__name__} (a Tensor or None is required)")
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only called when normal lookup fails
        d = self.__dict__
        for reg in _REGISTRIES:
            if reg in d and name in d[reg]:
                return d[reg][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _registered(self, name):
        """``self.<name>`` of a parameter, buffer or submodule, for the forwards of small layers:
        the attribute reaches ``__getattr__`` only after the normal lookup has failed, which costs
        more than the rest of it (about 0.4 us, several times per call). The same value: an
        instance or class attribute of that name (a property of a subclass), or a subclass's own
        ``__getattr__``, still decides."""
        d = self.__dict__
        cls = type(self)
        if (name not in d and cls.__getattr__ is Module.__getattr__
                and getattr(cls, name, _ABSENT) is _ABSENT):
            for reg in _REGISTRIES:
                r = d.get(reg)
                if r is not None and name in r:
                    return r[name]
        return getattr(self, name)

    def __delattr__(self, name):
        d = self.__dict__
        for reg in ("_parameters", "_buffers", "_modules"):
            if reg in d and name in d[reg]:
                del d[reg][name]
                d["_non_persistent_buffers"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        extra = []
        for reg in ("_parameters", "_buffers", "_modules"):
            extra.extend(self.__dict__.get(reg, {}).keys())
        return sorted(set(super().__dir__()) | set(extra))

    @staticmethod
    def _check_name(name, what):
        if not isinstance(name, str):
            raise TypeError(f"{what} name must be a str, got {type(name).__name__}")
        if name == "" or "." in name:
            raise ValueError(f"{what} name must be non-empty and contain no '.', got {name!r}")

    def register_parameter(self, name, param):
        """Add a parameter (a :class:`Parameter` or None) under ``name``."""
        self._check_name(name, "parameter")
        params, _, _ = self._registries()
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or None, got "
                            f"{type(param).__name__}")
        if hasattr(self, name) and name not in params:
            raise KeyError(f"register_parameter: attribute {name!r} already exists")
        params[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: module state that is not trained (no gradient) but moves with ``to()``
        and, when ``persistent``, is saved in ``state_dict()``."""
        self._check_name(name, "buffer")
        _, buffers, _ = self._registries()
        if tensor is not None and not isinstance(tensor, Tensor):
            if isinstance(tensor, np.ndarray):
                tensor = Tensor(tensor)
            else:
                raise TypeError(f"register_buffer: {name!r} must be a Tensor, an ndarray or None,"
                                f" got {type(tensor).__name__}")
        if name in self.__dict__ or name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: attribute {name!r} already exists")
        buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Add a child module (or None) under ``name``."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got "
                            f"{type(module).__name__}")
        _, _, modules = self._registries()
        modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The module at dotted path ``target`` ('' is self)."""
        mod = self
        if target == "":
            return mod
        for part in target.split("."):
            if part not in mod._modules or mod._modules[part] is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            mod = mod._modules[part]
        return mod

    # ---------------------------------------------------------------------------- iteration
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for self and every descendant, depth first, each module once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from child.named_modules(memo, sub, remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, c in self.named_children():
            yield c

    def _named_members(self, registry, prefix, recurse):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in modules:
            for name, value in getattr(mod, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) for every parameter, each shared parameter once."""
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ------------------------------------------------------------------------- modes & grads
    def train(self, mode=True):
        """Set training mode (``mode=True``) or evaluation mode on self and all descendants.
        It changes what Dropout and BatchNorm do. Returns self."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``. Returns self."""
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        """Reset every parameter's ``.grad`` (to None by default, as PyTorch does)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p.grad.numpy()))

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def apply(self, fn):
        """Call ``fn(module)`` on every child (recursively) and then on self, as PyTorch does
        (children first); typical use is custom initialisation. Returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -------------------------------------------------------------------------------- dtype
    def to(self, *args, **kwargs):
        """PyTorch's forms: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``.
        The device must be the CPU (``"cpu"`` or ``autograd_cnn.device("cpu")``: nothing moves).
        A dtype (float32 or float64) converts floating-point parameters and buffers (and existing
        gradients) in place; integer buffers such as ``num_batches_tracked`` keep their dtype.
        Parameters stay the same objects, so optimizers built earlier still see them. Returns
        self."""
        dt, _ = parse_to(args, kwargs, f"{type(self).__name__}.to", Tensor)
        if dt is None:
            return self
        if dt not in KERNEL_DTYPES:
            raise TypeError(f"to: dtype must be float32 or float64, got {dt}")
        for t in list(self.parameters()) + list(self.buffers()):
            if np.issubdtype(t.dtype, np.floating) and t.dtype != dt:
                t.data = t.numpy().astype(dt)
                if t.grad is not None:
                    t.grad = Tensor(t.grad.numpy().astype(dt))
        return self

    def cpu(self):
        """``self``: parameters always live on the CPU."""
        return self

    def cuda(self, device=None):
        check_device("cuda" if device is None else device, f"{type(self).__name__}.cuda")

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # --------------------------------------------------------------------------- state dict
    def _state_items(self, prefix=""):
        for mod_prefix, mod in self.named_modules(prefix=prefix, remove_duplicate=False):
            pre = mod_prefix + ("." if mod_prefix else "")
            for name, p in mod._parameters.items():
                if p is not None:
                    yield pre + name, p
            for name, b in mod._buffers.items():
                if b is not None and name not in mod._non_persistent_buffers:
                    yield pre + name, b

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict from dotted names to every parameter and persistent buffer: each
        module's parameters, then its buffers, then its children, as in PyTorch. As in PyTorch the
        values are Tensors that *share memory* with the model (``detach()``-ed, or the parameters
        themselves with ``keep_vars=True``): training changes them, so keep a snapshot with
        ``{k: v.clone() for k, v in sd.items()}`` or ``copy.deepcopy``. ``save`` writes arrays."""
        out = OrderedDict() if destination is None else destination
        for key, t in self._state_items(prefix):
            if key not in out:
                out[key] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` (name -> NumPy array, Tensor, or PyTorch tensor) into
        this module's parameters and buffers.

        Every value is checked before anything is copied, so a failed load leaves the model
        unchanged. Shapes and dtypes must match exactly (a float64 checkpoint does not silently
        load into a float32 model: convert one side first). With ``strict`` (default) the key sets
        must be equal; otherwise missing and unexpected keys are only reported. Returns
        ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        for name, mod in self.named_modules():  # lazy modules take their shapes from it first
            if hasattr(mod, "_materialize_from_state"):
                mod._materialize_from_state(state_dict, name + "." if name else "")
        targets = OrderedDict(self._state_items())
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict.keys() if k not in targets]
        errors = []
        if strict:
            if missing:
                errors.append("missing key(s): " + ", ".join(repr(k) for k in missing))
            if unexpected:
                errors.append("unexpected key(s): " + ", ".join(repr(k) for k in unexpected))
        staged = []
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = _as_array(state_dict[key], key)
            if value.shape != target.shape:
                errors.append(f"shape mismatch for {key!r}: the checkpoint has "
                              f"{tuple(value.shape)}, the model has {tuple(target.shape)}")
            elif value.dtype != target.dtype:
                errors.append(f"dtype mismatch for {key!r}: the checkpoint has {value.dtype}, "
                              f"the model has {target.dtype} (convert the model with "
                              f".to(np.{value.dtype}) or the array with .astype)")
            else:
                staged.append((target, value))
        if errors:
            raise ValueError(f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
                             + "\n  ".join(errors))
        for target, value in staged:
            np.copyto(target.numpy(), value)
        return IncompatibleKeys(missing, unexpected)

    # --------------------------------------------------------------------------------- repr
    def extra_repr(self):
        """The text inside the parentheses of this module's repr (its arguments)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(mod), 2)
                       for name, mod in self._modules.items()]
        all_lines = lines + child_lines
        text = self._get_name() + "("
        if all_lines:
            if len(lines) == 1 and not child_lines:
                text += lines[0]
            else:
                text += "\n  " + "\n  ".join(all_lines) + "\n"
        return text + ")"
