"""Loss functions with PyTorch's semantics: ``cross_entropy``, ``nll_loss``, ``mse_loss``,
``l1_loss``, ``smooth_l1_loss``, ``huber_loss``, ``binary_cross_entropy`` and
``binary_cross_entropy_with_logits``.

Each takes ``reduction='mean' | 'sum' | 'none'``. They are written with differentiable Tensor
operations, so gradients (and gradients of gradients) come from autograd; the likelihood at class
targets is one Function (``_NllLoss``) whose gradient is itself differentiable.

Numerical stability: ``cross_entropy`` never forms ``softmax`` and then takes its log; it uses
``log_softmax(x) = x - max(x) - log(sum(exp(x - max(x))))``, which cannot overflow and keeps the
small probabilities' logs accurate. ``binary_cross_entropy_with_logits`` uses
``-log(sigmoid(x)) = log(1 + exp(-|x|)) + max(-x, 0)`` for the same reason.

Class-index targets and the weighted mean
-----------------------------------------
For logits of shape (N, C) (or (N, C, d1, ...), or (C,) for one sample) and integer targets of
shape (N,) (or (N, d1, ...), or ()), with class weights w (default all 1)::

    loss_i = -w[t_i] * log_softmax(x)_i[t_i]          (0 where t_i == ignore_index)
    'mean' = sum_i loss_i / sum_i w[t_i]              (a *weighted* mean over non-ignored i)

With ``label_smoothing`` s, the target distribution is (1 - s) * one_hot + s / C, which PyTorch
computes as ``(1 - s) * nll + s / C * smooth`` with ``smooth_i = -sum_c w_c * log_softmax(x)_ic``
reduced with the same denominator (sum of w[t_i], or the count of non-ignored targets when there
are no weights). Floating-point targets of the same shape as the input are class probabilities.
"""
import numbers
import warnings

import numpy as np

from ..autograd import Op, Tensor, as_array
from ..ops.activation import Sigmoid, log_softmax
from ..ops.elementwise import Log, Where
from ..ops.indexing import ScatterAlong

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy_with_logits", "binary_cross_entropy"]

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------------- helpers
def _check_reduction(reduction, fn):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{fn}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_input(input, fn, name="input"):
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(input).__name__}")
    if not np.issubdtype(input.dtype, np.floating):
        raise TypeError(f"{fn}: {name} must be floating point, got dtype {input.dtype}")


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean()


def _class_weight(weight, C, dtype, fn):
    if weight is None:
        return None
    w = as_array(weight)
    if w.ndim != 1 or w.shape[0] != C:
        raise ValueError(f"{fn}: weight must be a 1-D array of {C} class weights, got shape "
                         f"{w.shape}")
    if not np.issubdtype(w.dtype, np.number):
        raise TypeError(f"{fn}: weight must be numeric, got dtype {w.dtype}")
    return w.astype(dtype, copy=False)


def _check_index_target(input, target, ignore_index, fn):
    """Validate integer class targets against input (N, C, d...) and return them as int64."""
    t = as_array(target)
    if t.dtype == np.bool_ or not np.issubdtype(t.dtype, np.integer):
        raise TypeError(f"{fn}: target must hold integer class indices, got dtype {t.dtype} "
                        "(floating targets of the same shape as the input are class "
                        "probabilities, for cross_entropy only)")
    expected = (input.shape[0],) + tuple(input.shape[2:])
    if t.shape != expected:
        raise ValueError(f"{fn}: for input of shape {tuple(input.shape)} the target must have "
                         f"shape {expected} (class indices), got {t.shape}")
    C = input.shape[1]
    t = t.astype(np.int64, copy=False)
    bad = (t != ignore_index) & ((t < 0) | (t >= C))
    if bad.any():
        raise ValueError(f"{fn}: target holds class index {int(t[bad].flat[0])}, outside "
                         f"[0, {C}) (and not ignore_index={ignore_index})")
    return t


def _batched(input, target, fn):
    """(C,) logits with a scalar target become a batch of one; returns (input, target, squeeze)."""
    if input.ndim == 0:
        raise ValueError(f"{fn}: input must have a class axis, got a scalar")
    if input.ndim == 1:
        t = as_array(target)
        if t.ndim == 0:
            return input.reshape((1, input.shape[0])), t.reshape(1), True
        if np.issubdtype(t.dtype, np.floating) and t.shape == tuple(input.shape):
            tt = target.reshape((1, input.shape[0])) if isinstance(target, Tensor) else \
                t.reshape(1, -1)
            return input.reshape((1, input.shape[0])), tt, True
        raise ValueError(f"{fn}: for input of shape {tuple(input.shape)} the target must be a "
                         f"scalar class index, got shape {t.shape}")
    return input, target, False


# -------------------------------------------------------------------------------- nll / CE
class _NllLoss(Op):
    """The negative log-likelihood at class targets, reduced, as one node: per_i = coef_i *
    logp[i, t_i, ...] with coef = -w[t] (0 where ignored); 'none' gives per, 'sum' its sum,
    'mean' its sum / denom. ``idx``: the targets with a class axis of 1. The gradient puts coef g
    (g / denom for 'mean') at the targets (ScatterAlong, whose adjoint is GatherAlong), so it is
    differentiable again."""

    @staticmethod
    def forward(ctx, logp, idx, coef, reduction, denom):
        a = as_array(logp)
        ctx.idx, ctx.coef, ctx.reduction, ctx.denom, ctx.shape = idx, coef, reduction, denom, a.shape
        per = np.take_along_axis(a, idx, axis=1).reshape(coef.shape) * coef
        if reduction == "none":
            return per
        if reduction == "sum":
            return np.asarray(per.sum())
        with np.errstate(divide="ignore", invalid="ignore"):  # no weight: 0 / 0, NaN as PyTorch
            return np.asarray(per.sum() / denom)

    @staticmethod
    def backward(ctx, g):
        if ctx.reduction == "mean":
            with np.errstate(divide="ignore", invalid="ignore"):
                g = g / ctx.denom
        gper = (g * ctx.coef).reshape(ctx.idx.shape)
        return ScatterAlong.apply(gper, ctx.idx, 1, ctx.shape), None, None, None, None


def _nll(logp, t, w, ignore_index, reduction):
    """Negative log-likelihood of log-probabilities ``logp`` (N, C, d...) at targets ``t``."""
    dtype = logp.dtype
    valid = t != ignore_index
    t_safe = np.where(valid, t, 0)
    wt = (w[t_safe] if w is not None else np.ones(t.shape, dtype)) * valid
    wt = wt.astype(dtype, copy=False)
    denom = np.asarray(wt.sum(), dtype=dtype) if reduction == "mean" else None
    out = _NllLoss.apply(logp, np.expand_dims(t_safe, 1), -wt, reduction, denom)
    return out, wt, valid


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood: ``-w[t] * input[t]`` for log-probabilities ``input`` (N, C, ...)
    and class indices ``target`` (N, ...); 'mean' divides by the sum of the targets' weights."""
    fn = "nll_loss"
    _check_input(input, fn)
    _check_reduction(reduction, fn)
    input, target, squeeze = _batched(input, target, fn)
    t = _check_index_target(input, target, ignore_index, fn)
    w = _class_weight(weight, input.shape[1], input.dtype, fn)
    out, _, _ = _nll(input, t, w, ignore_index, reduction)
    return out.reshape(()) if squeeze and reduction == "none" else out


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy between logits ``input`` (N, C, ...) and class indices ``target`` (N, ...)
    -- or class probabilities of the input's shape -- as PyTorch defines it (see the module
    docstring for the weighted mean and label smoothing)."""
    fn = "cross_entropy"
    _check_input(input, fn)
    _check_reduction(reduction, fn)
    if (isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real)
            or not 0.0 <= label_smoothing <= 1.0):
        raise ValueError(f"{fn}: label_smoothing must be in [0, 1], got {label_smoothing!r}")
    input, target, squeeze = _batched(input, target, fn)
    C = input.shape[1]
    dtype = input.dtype
    w = _class_weight(weight, C, dtype, fn)
    logp = log_softmax(input, 1)
    bshape = (1, C) + (1,) * (input.ndim - 2)
    traw = as_array(target)

    if np.issubdtype(traw.dtype, np.floating):  # class probabilities
        if traw.shape != tuple(input.shape):
            raise ValueError(f"{fn}: probability targets must have the input's shape "
                             f"{tuple(input.shape)}, got {traw.shape}")
        probs = target if isinstance(target, Tensor) else Tensor(traw.astype(dtype, copy=False))
        if label_smoothing > 0:
            probs = probs * (1.0 - label_smoothing) + label_smoothing / C
        prod = logp * probs
        if w is not None:
            prod = prod * Tensor(w.reshape(bshape))
        per = -prod.sum(dim=1)
        out = _reduce(per, reduction)
        return out.reshape(()) if squeeze and reduction == "none" else out

    t = _check_index_target(input, target, ignore_index, fn)
    nll, wt, valid = _nll(logp, t, w, ignore_index, reduction)
    if label_smoothing > 0:
        weighted = logp * Tensor(w.reshape(bshape)) if w is not None else logp
        smooth = -weighted.sum(dim=1) * Tensor(valid.astype(dtype))
        if reduction == "sum":
            smooth = smooth.sum()
        elif reduction == "mean":
            den = wt.sum() if w is not None else valid.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                smooth = smooth.sum() / Tensor(np.asarray(den, dtype=dtype))
        out = nll * (1.0 - label_smoothing) + smooth * (label_smoothing / C)
    else:
        out = nll
    return out.reshape(()) if squeeze and reduction == "none" else out


# ----------------------------------------------------------------------- regression losses
def _check_pair(input, target, fn):
    _check_input(input, fn)
    if not isinstance(target, Tensor):
        t = np.asarray(target)
        if not np.issubdtype(t.dtype, np.number):
            raise TypeError(f"{fn}: target must be numeric, got dtype {t.dtype}")
        target = Tensor(t.astype(input.dtype, copy=False))
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{fn}: target shape {tuple(target.shape)} must equal the input shape "
                         f"{tuple(input.shape)}")
    return target


def mse_loss(input, target, reduction="mean"):
    """Squared error ``(input - target)^2``, reduced."""
    _check_reduction(reduction, "mse_loss")
    target = _check_pair(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, reduction="mean"):
    """Absolute error ``|input - target|``, reduced (gradient sign(input - target), 0 at 0)."""
    _check_reduction(reduction, "l1_loss")
    target = _check_pair(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def legacy_reduction(size_average, reduce, reduction, fn):
    """PyTorch's deprecated ``size_average`` / ``reduce`` (None: True) turned into a
    ``reduction``, with its warning; ``reduction`` itself when both are None."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = ("mean" if size_average else "sum") if reduce else "none"
    warnings.warn(f"{fn}: size_average and reduce args will be deprecated, please use "
                  f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    return reduction


def _positive_number(value, name, fn, allow_zero):
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and (
        value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{fn}: {name} must be a number {'>=' if allow_zero else '>'} 0, got "
                         f"{value!r}")
    return float(value)


def _quadratic_then_linear(d, knot, slope):
    """0.5 d^2 / knot * slope for |d| < knot, slope * (|d| - knot / 2) beyond: the smooth L1
    (slope 1, knot beta) and Huber (slope delta, knot delta) losses, as one ``Where`` of the two
    pieces so that autograd gives d / knot * slope and slope * sign(d), differentiable again."""
    z = d.abs()
    quadratic = d * d * (0.5 * slope / knot)
    linear = z - 0.5 * knot
    if slope != 1.0:
        linear = linear * slope
    return Where.apply(as_array(z) < knot, quadratic, linear)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Smooth L1: ``0.5 (x - y)^2 / beta`` where ``|x - y| < beta``, ``|x - y| - 0.5 beta``
    beyond (``beta=0`` is the L1 loss), reduced. Same as torch.nn.functional.smooth_l1_loss."""
    fn = "smooth_l1_loss"
    reduction = legacy_reduction(size_average, reduce, reduction, fn)
    _check_reduction(reduction, fn)
    target = _check_pair(input, target, fn)
    beta = _positive_number(beta, "beta", fn, allow_zero=True)
    if beta == 0.0:
        return l1_loss(input, target, reduction)
    return _reduce(_quadratic_then_linear(input - target, beta, 1.0), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber: ``0.5 (x - y)^2`` where ``|x - y| < delta``, ``delta (|x - y| - 0.5 delta)``
    beyond (= ``delta * smooth_l1_loss(beta=delta)``), times ``weight`` (the input's shape)
    when given, reduced. Same as torch.nn.functional.huber_loss."""
    fn = "huber_loss"
    _check_reduction(reduction, fn)
    target = _check_pair(input, target, fn)
    delta = _positive_number(delta, "delta", fn, allow_zero=False)
    loss = _quadratic_then_linear(input - target, delta, delta)
    if weight is not None:
        w = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight))
        if tuple(w.shape) != tuple(input.shape):
            raise ValueError(f"{fn}: weight must have the input's shape {tuple(input.shape)}, "
                             f"got {tuple(w.shape)}")
        loss = loss * w
    return _reduce(loss, reduction)


class _SoftplusNeg(Op):
    """``softplus(-x) = -log(sigmoid(x)) = log(1 + exp(-|x|)) + max(-x, 0)``, computed stably;
    derivative ``sigmoid(x) - 1`` (smooth everywhere, also at x = 0)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, -x.numpy()).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * (Sigmoid.apply(x) - 1.0)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Binary cross-entropy on logits: ``-[p * t * log s(x) + (1 - t) * log(1 - s(x))]`` with
    s the sigmoid and p = ``pos_weight`` (broadcast over the last axis, one per class), times
    ``weight`` when given. Computed as ``(1 - t) * x + (1 + (p - 1) * t) * softplus(-x)``."""
    fn = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, fn)
    target = _check_pair(input, target, fn)
    sp = _SoftplusNeg.apply(input)
    if pos_weight is not None:
        pw = as_array(pos_weight).astype(input.dtype, copy=False)
        try:
            np.broadcast_shapes(pw.shape, tuple(input.shape))
        except ValueError:
            raise ValueError(f"{fn}: pos_weight of shape {pw.shape} does not broadcast to the "
                             f"input shape {tuple(input.shape)}") from None
        log_weight = target * Tensor(pw - 1) + 1.0
        loss = (1.0 - target) * input + log_weight * sp
    else:
        loss = (1.0 - target) * input + sp
    if weight is not None:
        w = as_array(weight).astype(input.dtype, copy=False)
        try:
            np.broadcast_shapes(w.shape, tuple(input.shape))
        except ValueError:
            raise ValueError(f"{fn}: weight of shape {w.shape} does not broadcast to the input "
                             f"shape {tuple(input.shape)}") from None
        loss = loss * Tensor(w)
    return _reduce(loss, reduction)


# ------------------------------------------------------------ binary cross-entropy on probabilities
_BCE_LOG_FLOOR = -100.0  # PyTorch clamps each log at -100, so p = 0 or 1 gives a finite loss
_BCE_GRAD_EPS = 1e-12    # and divides its input gradient by max(p (1 - p), 1e-12)


class _ClampMin(Op):
    """max(a, lo), gradient passed where a >= lo (both worlds: arrays or Tensors)."""

    @staticmethod
    def forward(ctx, a, lo):
        x = as_array(a)
        ctx.keep = (x >= lo).astype(x.dtype)
        return np.maximum(x, x.dtype.type(lo))

    @staticmethod
    def backward(ctx, g):
        return g * ctx.keep, None


def _floored_log(x):
    return _ClampMin.apply(Log.apply(x), _BCE_LOG_FLOOR)


class _BinaryCrossEntropy(Op):
    """-(t log p + (1 - t) log(1 - p)), each log floored at -100, elementwise, with PyTorch's
    gradients: (p - t) / max(p (1 - p), 1e-12) in p (finite at p = 0 and 1, where the floored
    logs would give 0) and log(1 - p) - log(p) (floored) in t."""

    @staticmethod
    def forward(ctx, p, t):
        ctx.save_for_backward(p, t)
        x, y = as_array(p), as_array(t)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(x), _BCE_LOG_FLOOR)
            log_q = np.maximum(np.log1p(-x), _BCE_LOG_FLOOR)
        return (-(y * log_p + (1 - y) * log_q)).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        p, t = ctx.saved
        need = ctx.needs_input_grad
        gp = gt = None
        if need[0]:
            gp = g * (p - t) / _ClampMin.apply(p * (1.0 - p), _BCE_GRAD_EPS)
        if need[1]:
            gt = g * (_floored_log(1.0 - p) - _floored_log(p))
        return gp, gt


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against ``target`` (same
    shape): ``-weight * (t log p + (1 - t) log(1 - p))``, each log clamped to >= -100 as in
    PyTorch. Prefer :func:`binary_cross_entropy_with_logits` on logits (stabler). Same as
    torch.nn.functional.binary_cross_entropy."""
    fn = "binary_cross_entropy"
    _check_reduction(reduction, fn)
    target = _check_pair(input, target, fn)
    x = as_array(input)
    if x.size and not (np.all(x >= 0) and np.all(x <= 1)):
        raise ValueError(f"{fn}: all elements of input should be between 0 and 1 (probabilities;"
                         f" use binary_cross_entropy_with_logits for logits), got values in "
                         f"[{x.min()}, {x.max()}]")
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        w = as_array(weight).astype(x.dtype, copy=False)
        try:
            np.broadcast_shapes(w.shape, tuple(input.shape))
        except ValueError:
            raise ValueError(f"{fn}: weight of shape {w.shape} does not broadcast to the input "
                             f"shape {tuple(input.shape)}") from None
        loss = loss * (weight if isinstance(weight, Tensor) else Tensor(w))
    return _reduce(loss, reduction)
