"""Stochastic gradient descent with momentum, Nesterov momentum and weight decay (PyTorch's rule).

For each parameter ``p`` with gradient ``g``::

    g = -g                                 if maximize
    g = g + weight_decay * p               (L2 penalty folded into the gradient)
    b = g                                  first step with momentum
    b = momentum * b + (1 - dampening) * g later steps
    g = g + momentum * b  if nesterov else b
    p = p - lr * g
"""
import numpy as np

from .optimizer import Optimizer, _check_number, _mark_updated

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent with PyTorch's update rule (lr defaults to 1e-3, as there)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay,
                                      maximize=maximize))

    def _validate_group(self, g):
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            _check_number(name, g[name], cls="SGD")
        if g["nesterov"] and (g["momentum"] <= 0 or g["dampening"] != 0):
            raise ValueError("SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={g['momentum']}, dampening={g['dampening']}")

    def _update_group(self, group):
        lr, mom, damp = group["lr"], group["momentum"], group["dampening"]
        wd, nesterov = group["weight_decay"], group["nesterov"]
        for p, d, g in self._grads(group):
            if wd != 0:
                g = g + wd * d
            if mom != 0:
                st = self._state_for(p)
                buf = st.get("momentum_buffer")
                if buf is None:
                    buf = st["momentum_buffer"] = np.array(g, dtype=p.dtype, copy=True)
                else:
                    buf *= mom
                    buf += (1 - damp) * g if damp != 0 else g  # (1 - 0) * g is g: one pass less
                g = g + mom * buf if nesterov else buf
            d -= lr * g
            _mark_updated(p)
