"""Adadelta (Zeiler, 2012) with PyTorch's update rule::

    g = -g                                      if maximize
    g = g + weight_decay * p
    s = rho * s + (1 - rho) * g * g             running mean of squared gradients  (square_avg)
    d = sqrt(u + eps) / sqrt(s + eps) * g       the step, in the units of p
    u = rho * u + (1 - rho) * d * d             running mean of squared steps      (acc_delta)
    p = p - lr * d

``lr`` (default 1.0, as PyTorch) only scales the step; the ratio of the two running means sets
it per coordinate.
"""
import numpy as np

from .optimizer import Optimizer, _check_number, _mark_updated

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))

    def _validate_group(self, g):
        for opt in ("lr", "eps", "weight_decay"):
            _check_number(opt, g[opt], cls="Adadelta")
        _check_number("rho", g["rho"], cls="Adadelta")
        if g["rho"] > 1:
            raise ValueError(f"Adadelta: rho must be in [0, 1], got {g['rho']}")

    def _update_group(self, group):
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        for p, w, g in self._grads(group):
            st = self._state_for(p)
            if not st:
                st["step"] = 0
                st["square_avg"] = np.zeros_like(w)
                st["acc_delta"] = np.zeros_like(w)
            st["step"] += 1
            if wd != 0:
                g = g + wd * w
            s, u = st["square_avg"], st["acc_delta"]
            s *= rho
            s += (1 - rho) * (g * g)
            delta = np.sqrt(u + eps)
            delta /= np.sqrt(s + eps)
            delta *= g
            u *= rho
            u += (1 - rho) * (delta * delta)
            w -= lr * delta
            _mark_updated(p)
