"""Reverse-mode automatic differentiation: the Tensor's data and graph core, the Function/Context
mechanism, the broadcast shape matching, the backward engine, grad mode switches and numerical
gradient checks. Imports no op: operations live in autograd_cnn/ops and build on this."""
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode,
                        is_inference_mode_enabled)
from .tensor import Tensor, as_array
from .function import Function, Op, Context, once_differentiable
from .engine import backward, grad
from .gradcheck import gradcheck, gradgradcheck

__all__ = ["Tensor", "as_array", "Function", "Op", "Context", "once_differentiable", "backward",
           "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "inference_mode", "is_inference_mode_enabled", "gradcheck", "gradgradcheck"]
