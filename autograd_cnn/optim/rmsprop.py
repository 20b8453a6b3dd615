"""RMSprop (PyTorch's update rule)::

    g = g + weight_decay * p
    s = alpha * s + (1 - alpha) * g * g           running mean of squared gradients
    a = a + (1 - alpha) * (g - a)                 centered only: running mean of gradients
    d = sqrt(s - a * a) if centered else sqrt(s); d = d + eps
    b = momentum * b + g / d;  p = p - lr * b     with momentum > 0
    p = p - lr * g / d                            without
"""
import numpy as np

from .optimizer import Optimizer, _check_number, _mark_updated

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _validate_group(self, g):
        for opt in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            _check_number(opt, g[opt], cls="RMSprop")

    def _update_group(self, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        wd, mom, centered = group["weight_decay"], group["momentum"], group["centered"]
        for p, w, g in self._grads(group):
            st = self._state_for(p)
            if not st:
                st["step"] = 0
                st["square_avg"] = np.zeros_like(p.numpy())
                if mom > 0:
                    st["momentum_buffer"] = np.zeros_like(p.numpy())
                if centered:
                    st["grad_avg"] = np.zeros_like(p.numpy())
            st["step"] += 1
            if wd != 0:
                g = g + wd * w
            s = st["square_avg"]
            s *= alpha
            s += (1 - alpha) * (g * g)
            if centered:
                a = st["grad_avg"]
                a += (1 - alpha) * (g - a)
                d = np.sqrt(s - a * a)
            else:
                d = np.sqrt(s)
            d += eps
            if mom > 0:
                b = st["momentum_buffer"]
                b *= mom
                b += g / d
                w -= lr * b
            else:
                w -= lr * (g / d)
            _mark_updated(p)
