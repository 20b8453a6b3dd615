"""How a trained classifier does on a test set: predicted probabilities, the confusion matrix and
its most confident mistakes (NumPy and the engine only; figures in :mod:`.figures`)."""
import numpy as np

from ..autograd import no_grad
from ..functional import softmax
from ..tensor import Tensor, as_array
from .capture import as_batch, eval_mode, model_dtype

__all__ = ["predict_proba", "confusion_matrix", "confident_mistakes"]


def predict_proba(model, x, batch_size=500):
    """Softmax probabilities (N, classes) of ``model`` on the inputs ``x``, in eval mode and
    without a graph, ``batch_size`` samples at a time."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"predict_proba: batch_size must be an int >= 1, got {batch_size!r}")
    arr = as_batch(x, model_dtype(model))
    parts = []
    with eval_mode(model), no_grad():
        for i in range(0, len(arr), batch_size):
            parts.append(as_array(softmax(model(Tensor(arr[i:i + batch_size])), dim=1)))
    if not parts:
        raise ValueError("predict_proba: x holds no samples")
    return np.concatenate(parts)


def confusion_matrix(y_true, y_pred, num_classes=None):
    """``m[i, j]`` = how many samples of true class i were predicted as j (int64)."""
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if t.shape != p.shape:
        raise ValueError(f"confusion_matrix: y_true has {t.size} labels, y_pred {p.size}")
    for name, v in (("y_true", t), ("y_pred", p)):
        if v.size and (v.dtype.kind not in "iu" or v.min() < 0):
            raise ValueError(f"confusion_matrix: {name} must hold class indices >= 0")
    k = int(num_classes) if num_classes is not None else int(max(t.max(initial=-1),
                                                                   p.max(initial=-1)) + 1)
    if t.size and max(t.max(), p.max()) >= k:
        raise ValueError(f"confusion_matrix: labels reach {max(t.max(), p.max())}, beyond "
                         f"num_classes={k}")
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def confident_mistakes(probs, y_true, k=8):
    """Indices of the (at most) ``k`` misclassified samples whose wrong prediction had the
    highest probability, most confident first."""
    probs, y = np.asarray(probs), np.asarray(y_true).ravel()
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    conf = probs[wrong, pred[wrong]]
    order = np.argsort(-conf, kind="stable")
    return wrong[order[:k]]
