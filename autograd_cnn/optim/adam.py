"""Adam, AMSGrad and AdamW (PyTorch's update rules).

With ``t`` the step count, ``m``/``v`` the running first/second moments::

    g = g + weight_decay * p             Adam (L2 penalty in the gradient)
    p = p * (1 - lr * weight_decay)      AdamW instead (decoupled weight decay)
    m = m + (1 - beta1) * (g - m)        (PyTorch's lerp form of beta1 * m + (1 - beta1) * g)
    v = beta2 * v + (1 - beta2) * g * g
    v_max = max(v_max, v)                amsgrad only; then used in place of v below
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
"""
import math

import numpy as np

from .optimizer import Optimizer, _check_number, _mark_updated

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _validate_group(self, g):
        name = type(self).__name__
        for opt in ("lr", "eps", "weight_decay"):
            _check_number(opt, g[opt], cls=name)
        betas = g["betas"] = tuple(g["betas"])
        if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0.0 <= b < 1.0
                                      for b in betas):
            raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {betas}")

    def _update_group(self, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        wd, amsgrad = group["weight_decay"], group["amsgrad"]
        for p, d, g in self._grads(group):
            st = self._state_for(p)
            if not st:
                st["step"] = 0
                st["exp_avg"] = np.zeros_like(p.numpy())
                st["exp_avg_sq"] = np.zeros_like(p.numpy())
                if amsgrad:
                    st["max_exp_avg_sq"] = np.zeros_like(p.numpy())
            st["step"] += 1
            t = st["step"]
            if wd != 0:
                if self._decoupled:
                    d *= 1 - lr * wd
                else:
                    g = g + wd * d
            m, v = st["exp_avg"], st["exp_avg_sq"]
            m += (1 - beta1) * (g - m)
            v *= beta2
            v += (1 - beta2) * (g * g)
            step_size = lr / (1 - beta1 ** t)
            bc2_sqrt = math.sqrt(1 - beta2 ** t)
            if amsgrad:
                vmax = st["max_exp_avg_sq"]
                np.maximum(vmax, v, out=vmax)
                v = vmax
            denom = np.sqrt(v)
            denom /= bc2_sqrt
            denom += eps
            upd = m / denom
            upd *= step_size
            d -= upd
            _mark_updated(p)


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01): ``p *= 1 - lr * weight_decay`` each step."""
    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)
