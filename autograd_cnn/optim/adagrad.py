"""Adagrad (Duchi et al., 2011) with PyTorch's update rule::

    g = -g                                      if maximize
    g = g + weight_decay * p
    clr = lr / (1 + (step - 1) * lr_decay)      step counts from 1
    s = s + g * g                               sum of squared gradients (starts at
                                                initial_accumulator_value)
    p = p - clr * g / (sqrt(s) + eps)

As in PyTorch the state (``step`` = 0 and ``sum``) exists from construction, so
``state_dict()`` lists every parameter before the first step.
"""
import numpy as np

from .optimizer import Optimizer, _check_number, _mark_updated

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def add_param_group(self, group):
        super().add_param_group(group)
        g = self.param_groups[-1]
        for p in g["params"]:
            st = self._state_for(p)
            st["step"] = 0
            st["sum"] = np.full_like(p.numpy(), g["initial_accumulator_value"])

    def _validate_group(self, g):
        for opt in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _check_number(opt, g[opt], cls="Adagrad")

    def _update_group(self, group):
        lr, decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
        for p, w, g in self._grads(group):
            st = self._state_for(p)
            st["step"] += 1
            if wd != 0:
                g = g + wd * w
            clr = lr / (1 + (st["step"] - 1) * decay)
            s = st["sum"]
            s += g * g
            std = np.sqrt(s)
            std += eps
            w -= clr * (g / std)
            _mark_updated(p)
