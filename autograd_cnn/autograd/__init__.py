"""Reverse-mode automatic differentiation: the Function/Context mechanism, the backward
engine, grad mode switches and numerical gradient checks."""
from .grad_mode import no_grad, enable_grad, set_grad_enabled, is_grad_enabled
from .function import Function, Context, once_differentiable
from .engine import backward, grad
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["Function", "Context", "once_differentiable", "backward", "grad", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled", "gradcheck", "gradgradcheck"]
