"""The Optimizer base class: parameter groups, zero_grad, step and (de)serialisable state.

An optimizer holds ``param_groups``: a list of dicts, each with ``'params'`` (a list of Tensors) and
that group's options (``'lr'``, ``'momentum'``...), defaulting to the values given to the
constructor.  ``state[p]`` holds the per-parameter buffers (momentum, running averages) as NumPy
arrays of the parameter's dtype.

Updates work directly on ``p.numpy()`` (the ndarray) with in-place NumPy operations, so no autograd
graph is built and no per-step allocation is needed beyond a few temporaries.  After writing a
parameter, ``_mark_updated(p)`` bumps its version counter (if the engine keeps one), so a graph
that saved the old value for backward notices the change.

``state_dict()`` follows PyTorch's structure: ``{'state': {index: {name: value}}, 'param_groups':
[{option: value, ..., 'params': [index, ...]}]}`` where parameters are numbered in group order.
Every value is an array, a number, a tuple/list or a dict, so ``autograd_cnn.save`` stores it.
"""
import copy

import numpy as np

from ..autograd import Tensor, as_array, enable_grad, no_grad

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self):
        return "<required parameter>"


#: marks an option that has no default and must be given (like ``lr`` of SGD)
required = _Required()


def _mark_updated(p):
    """Tell the engine that ``p.data`` changed in place (version counter), where it supports it."""
    bump = getattr(p, "_bump_version", None)
    if bump is not None:
        bump()
    elif hasattr(p, "_version") and isinstance(getattr(p, "_version"), int):
        p._version += 1


def _check_number(name, value, low=0.0, cls="Optimizer"):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{cls}: {name} must be a number, got {type(value).__name__}")
    if not value >= low:
        raise ValueError(f"{cls}: {name} must be >= {low}, got {value}")


class Optimizer:
    """Base class.  Subclasses call ``super().__init__(params, defaults)`` and implement
    ``_update_group(group)`` (or override ``step``)."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}           # id(param) -> dict of buffers
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of "
                            "dicts, got a single Tensor")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    # ------------------------------------------------------------------------------ groups
    def add_param_group(self, group):
        """Add a dict ``{'params': [...], option: value}``; missing options take the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{type(self).__name__}: a parameter group must be a dict with key "
                            f"'params', got {group!r}")
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, got "
                                f"{type(p).__name__}")
            if not np.issubdtype(p.dtype, np.floating):
                raise TypeError(f"{type(self).__name__}: can only optimise floating-point "
                                f"parameters, got dtype {p.dtype}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: a parameter appears more than once")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"{type(self).__name__}: parameter group needs option {name!r}")
            group.setdefault(name, default)
        self._validate_group(group)
        self.param_groups.append(group)

    def _validate_group(self, group):
        """Subclasses check their options here (ValueError/TypeError naming the option)."""

    def _params(self):
        return [p for g in self.param_groups for p in g["params"]]

    # ------------------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none=True):
        """Clear the gradients: drop them (``set_to_none=True``, the default, like PyTorch 2) or
        fill them with zeros in place."""
        for p in self._params():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                as_array(p.grad)[...] = 0

    def step(self, closure=None):
        """Update every parameter that has a gradient.  ``closure`` (optional) re-evaluates the
        model and returns the loss; it runs with gradients enabled."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    def _update_group(self, group):
        raise NotImplementedError

    @staticmethod
    def _grad_of(p):
        """The gradient ndarray of ``p`` (None when it has none)."""
        g = p.grad
        if g is None:
            return None
        g = as_array(g)
        if g.shape != p.shape:
            raise ValueError(f"gradient of shape {g.shape} does not match its parameter "
                             f"{p.shape}")
        return g

    def _grads(self, group):
        """``(p, array, gradient)`` for each parameter of ``group`` that has a gradient: the
        parameter's ndarray (updated in place; the Tensor's version is bumped after the step)
        and its gradient, negated when the group maximizes."""
        for p in group["params"]:
            g = self._grad_of(p)
            if g is not None:
                yield p, p.numpy(), (-g if group["maximize"] else g)

    def _state_for(self, p):
        return self.state.setdefault(id(p), {})

    # ------------------------------------------------------------------------------ state
    def state_dict(self):
        """PyTorch-structured, saveable state: ``{'state': {index: {name: value}},
        'param_groups': [{option: value, 'params': [index, ...]}]}``; buffers are Tensors (copies,
        where PyTorch hands out the live ones), step counts plain numbers."""
        index = {}
        groups = []
        for group in self.param_groups:
            g = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            g["params"] = []
            for p in group["params"]:
                index[id(p)] = len(index)
                g["params"].append(index[id(p)])
            groups.append(g)
        state = {}
        for p in self._params():
            s = self.state.get(id(p))
            if s:
                state[index[id(p)]] = {k: (Tensor(v.copy()) if isinstance(v, np.ndarray) else v)
                                       for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore a ``state_dict()`` taken from an optimizer of the same type and layout."""
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict:
            raise ValueError(f"{type(self).__name__}.load_state_dict: expected a dict with "
                             "'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{type(self).__name__}.load_state_dict: saved state has "
                             f"{len(saved_groups)} parameter groups, this optimizer has "
                             f"{len(self.param_groups)}")
        params = []
        for saved, group in zip(saved_groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{type(self).__name__}.load_state_dict: a saved group has "
                                 f"{len(saved['params'])} parameters, the current one "
                                 f"{len(group['params'])}")
            params.extend(zip((int(i) for i in saved["params"]), group["params"]))
        saved_state = {int(k): v for k, v in state_dict.get("state", {}).items()}
        new_state = {}
        for i, p in params:
            if i in saved_state:
                s = {}
                for k, v in saved_state[i].items():
                    if isinstance(v, Tensor):
                        v = v.numpy()
                    if isinstance(v, np.ndarray) and v.ndim > 0:
                        if v.shape != p.shape:
                            raise ValueError(f"{type(self).__name__}.load_state_dict: buffer "
                                             f"{k!r} has shape {v.shape}, parameter has "
                                             f"{p.shape}")
                        v = v.astype(p.dtype, copy=True)
                    elif isinstance(v, np.ndarray):
                        v = v.item()
                    s[k] = v
                new_state[id(p)] = s
        self.state = new_state
        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, list) else copy.deepcopy(v)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines + [")"])
