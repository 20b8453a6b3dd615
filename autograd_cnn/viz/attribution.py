"""What in the input made the model choose a class: saliency, SmoothGrad and Grad-CAM.

* **Saliency** (Simonyan, Vedaldi and Zisserman, 2014): the gradient of the class score (the
  logit, before softmax) with respect to the input pixels.
* **SmoothGrad** (Smilkov et al., 2017): the saliency averaged over noisy copies of the input,
  ``x + N(0, (noise * (max(x) - min(x)))^2)``; the noise washes out the gradient's pixel-level
  jitter and keeps what is stable.
* **Grad-CAM** (Selvaraju et al., ICCV 2017): for a conv layer with activations ``A_k`` (k the
  channel), weight each channel by the spatial mean of the class score's gradient,
  ``alpha_k = mean_ij d y_c / d A_k[i, j]``, and keep the positive part of the weighted sum,
  ``ReLU(sum_k alpha_k A_k)``, then upsample that coarse map to the input's size (bilinear).

All three run the model in eval mode with the engine's autograd; Grad-CAM reaches the layer's
activations with a forward hook (:func:`autograd_cnn.viz.capture.capture`) and differentiates with
respect to them with :func:`autograd_cnn.autograd.grad`. Samples of a batch are independent in
eval mode, so one backward pass of the summed class scores gives every sample its own gradient.
"""
import numpy as np

from ..autograd import grad, no_grad
from ..tensor import Tensor, as_array
from .capture import as_batch, capture, eval_mode, model_dtype

__all__ = ["saliency", "smooth_grad", "grad_cam", "resize_linear"]


def _targets(target, logits_shape):
    n, classes = logits_shape
    t = np.asarray(target)
    if t.ndim == 0:
        t = np.full(n, int(t))
    if t.shape != (n,) or t.dtype.kind not in "iu" or t.min() < 0 or t.max() >= classes:
        raise ValueError(f"target must be a class index in [0, {classes}) or one per sample "
                         f"({n}), got {target!r}")
    return t


def _score_seed(logits, target):
    """The gradient seed that selects logit ``target[n]`` of each sample (None: the argmax)."""
    if logits.ndim != 2:
        raise ValueError(f"the model must return (N, classes) scores, got shape {logits.shape}")
    scores = as_array(logits)
    t = scores.argmax(axis=1) if target is None else _targets(target, scores.shape)
    seed = np.zeros(scores.shape, dtype=scores.dtype)
    seed[np.arange(len(t)), t] = 1.0
    return Tensor(seed), t


def saliency(model, x, target=None):
    """d logit[target] / d x for the batch ``x``: an array of x's shape. ``target``: one class
    for every sample, one per sample, or None for each sample's predicted class."""
    xt = Tensor(as_batch(x, model_dtype(model)), requires_grad=True)
    with eval_mode(model):
        logits = model(xt)
        seed, _ = _score_seed(logits, target)
        (g,) = grad([logits], [xt], grad_outputs=[seed])
    return as_array(g)


def smooth_grad(model, x, target=None, samples=25, noise=0.15, seed=0):
    """SmoothGrad: the mean of ``saliency`` over ``samples`` noisy copies of each input (noise
    standard deviation ``noise`` times that sample's value range), with a seeded generator.
    ``target=None`` fixes each sample's class to its prediction on the clean input."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"smooth_grad: samples must be an int >= 1, got {samples!r}")
    if not (isinstance(noise, (int, float)) and np.isfinite(noise) and noise >= 0):
        raise ValueError(f"smooth_grad: noise must be a finite number >= 0, got {noise!r}")
    arr = as_batch(x, model_dtype(model))
    if target is None:
        with eval_mode(model), no_grad():
            target = as_array(model(Tensor(arr))).argmax(axis=1)
    rng = np.random.default_rng(seed)
    axes = tuple(range(1, arr.ndim))
    sigma = noise * (arr.max(axis=axes, keepdims=True) - arr.min(axis=axes, keepdims=True))
    total = np.zeros_like(arr)
    for _ in range(samples):
        noisy = (arr + sigma * rng.standard_normal(arr.shape)).astype(arr.dtype)
        total += saliency(model, noisy, target)
    return total / samples


def resize_linear(a, size):
    """Resize the trailing ``len(size)`` axes of ``a`` by (bi)linear interpolation, sampling
    pixel centres as ``torch.nn.functional.interpolate(..., align_corners=False)`` does."""
    out = np.asarray(a, dtype=np.float64)
    size = tuple(int(s) for s in size)
    first = out.ndim - len(size)
    for axis, new in zip(range(first, out.ndim), size):
        old = out.shape[axis]
        pos = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, old - 1)
        w = (pos - lo).reshape((-1,) + (1,) * (out.ndim - axis - 1))
        out = np.take(out, lo, axis=axis) * (1 - w) + np.take(out, hi, axis=axis) * w
    return out


def grad_cam(model, x, layer, target=None):
    """Grad-CAM of the batch ``x`` for the conv layer at ``named_modules()`` path ``layer``.

    Returns ``(cam, upsampled, target)``: ``cam`` (N, *layer spatial) = ReLU(sum_k alpha_k A_k),
    ``upsampled`` (N, *input spatial) by :func:`resize_linear`, and the class used for each
    sample (``target=None``: the predicted one). Maps are not normalised (divide by the max to
    draw them)."""
    # requires_grad on the input: the activations need a graph even if the weights are frozen
    xt = Tensor(as_batch(x, model_dtype(model)), requires_grad=True)
    with eval_mode(model), capture(model, layer) as seen:
        logits = model(xt)
        if layer not in seen:
            raise ValueError(f"layer {layer!r} did not run in the model's forward pass")
        acts = seen[layer]
        if acts.ndim < 3:
            raise ValueError(f"grad_cam: layer {layer!r} must output (N, C, *spatial) maps, got "
                             f"shape {tuple(acts.shape)}")
        seed, t = _score_seed(logits, target)
        (g,) = grad([logits], [acts], grad_outputs=[seed])
    a, g = as_array(acts).astype(np.float64), as_array(g).astype(np.float64)
    spatial = tuple(range(2, a.ndim))
    alpha = g.mean(axis=spatial, keepdims=True)
    cam = np.maximum((alpha * a).sum(axis=1), 0.0)
    return cam, resize_linear(cam, xt.shape[2:]), t
