"""Drawing what a CNN computes (matplotlib): filters, feature maps, receptive fields,
attribution maps and training results. Each function computes its numbers with the NumPy modules
of :mod:`autograd_cnn.viz` and returns a matplotlib ``Figure`` (save it with ``fig.savefig``).

Inputs are drawn by :func:`show_sample`: a (1, H, W) image in grey, a (3, H, W) one in colour,
other channel counts as their mean, and a (C, L) signal as C lines.
"""
import numpy as np

from ..tensor import as_array
from . import _mpl
from .attribution import grad_cam, saliency, smooth_grad
from .capture import conv_layers, feature_maps, filter_images, get_layer
from .receptive import effective_receptive_field, theoretical_receptive_field

__all__ = ["show_sample", "plot_filters", "plot_feature_maps", "plot_receptive_field",
           "plot_attribution", "plot_history", "plot_confusion_matrix", "plot_misclassified"]


def _grid(n, cols):
    cols = max(1, min(n, cols))
    return -(-n // cols), cols


def _name(class_names, c):
    return class_names[int(c)] if class_names else str(int(c))


def _mosaic(grid, gap=1):
    """Tiles (rows of equal-sized 2-D or RGB arrays; None for an empty slot) as one image with
    ``gap`` pixels of NaN (drawn as background) between them, and the tiles' centre coordinates
    (row centres, column centres). One image draws far faster than an axes per tile."""
    tile = next(t for row in grid for t in row if t is not None)
    h, w = tile.shape[:2]
    rows, cols = len(grid), len(grid[0])
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap) + tile.shape[2:], np.nan)
    for r, row in enumerate(grid):
        for c, t in enumerate(row):
            if t is not None:
                out[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = t
    if out.ndim == 3:  # RGB: NaN is not drawn as background by imshow, so paint it white
        out = np.where(np.isnan(out), 1.0, out)
    centres = (np.arange(rows) * (h + gap) + (h - 1) / 2, np.arange(cols) * (w + gap) + (w - 1) / 2)
    return out, centres


def _bare(ax, frame=True):
    ax.set_xticks([])
    ax.set_yticks([])
    if not frame:
        for side in ax.spines.values():
            side.set_visible(False)


def show_sample(ax, sample, heat=None, title=None, heat_alpha=0.5):
    """Draw one input (C, H, W) or (C, L) on ``ax``, with an optional ``heat`` map of its
    spatial size on top (normalised to its maximum, 'jet' colours)."""
    s = np.asarray(as_array(sample), dtype=np.float64)
    if heat is not None:
        heat = np.asarray(heat, dtype=np.float64)
        top = heat.max()
        heat = heat / top if top > 0 else heat
    if s.ndim == 2:  # a signal: one line per channel, the heat as a band behind it
        x = np.arange(s.shape[1])
        if heat is not None:
            lo, hi = s.min(), s.max()
            ax.imshow(heat[None, :], aspect="auto", cmap="jet", alpha=heat_alpha,
                      extent=(-0.5, s.shape[1] - 0.5, lo, hi if hi > lo else lo + 1))
        for channel in s:
            ax.plot(x, channel, color="black", lw=1)
        ax.set_yticks([])
    elif s.ndim == 3:
        img = np.transpose(s, (1, 2, 0)) if s.shape[0] == 3 else s.mean(axis=0)
        if img.ndim == 3:
            img = (img - img.min()) / max(img.max() - img.min(), 1e-12)
        ax.imshow(img, cmap=None if img.ndim == 3 else "gray", interpolation="nearest")
        if heat is not None:
            ax.imshow(heat, cmap="jet", alpha=heat_alpha, interpolation="bilinear",
                      vmin=0, vmax=1)
        _bare(ax)
    else:
        raise ValueError(f"show_sample: sample must be (C, H, W) or (C, L), got shape {s.shape}")
    if title:
        ax.set_title(title, fontsize=8)


# ------------------------------------------------------------------------------ filters
def plot_filters(model, layer=None, style="auto", rgb=None, max_filters=48, figsize=None):
    """The kernels of conv ``layer`` (default: the first conv). ``style='image'`` draws each
    kernel as a grey image (one tile per output and input channel; an RGB tile per filter for 3
    input channels), ``'heatmap'`` with a diverging colour map where white is 0; ``'auto'``:
    images for the first conv layer, heatmaps for the others. At most ``max_filters`` output
    channels are drawn. ``model`` may also be a weight array (then ``style='auto'`` = image)."""
    from ..nn import Module
    if style not in ("auto", "image", "heatmap"):
        raise ValueError(f"plot_filters: style must be 'auto', 'image' or 'heatmap', "
                         f"got {style!r}")
    if not isinstance(model, Module):  # a weight array or Tensor
        weight, name, first = np.asarray(as_array(model)), "weight", True
    else:
        convs = conv_layers(model)
        if not convs:
            raise ValueError("plot_filters: the model has no Conv1d/Conv2d layer")
        name = convs[0][0] if layer is None else layer
        module = get_layer(model, name)
        if not hasattr(module, "weight") or module.weight is None or module.weight.ndim < 3:
            raise ValueError(f"plot_filters: layer {name!r} ({type(module).__name__}) has no "
                             "convolution weight")
        weight, first = as_array(module.weight), module is convs[0][1]
    image = style == "image" or (style == "auto" and first)
    w = weight[:max_filters]
    rgb_tiles = image and w.ndim == 4 and (rgb if rgb is not None else w.shape[1] == 3)
    tiles = filter_images(w, rgb=rgb_tiles)
    if w.ndim == 3:  # 1-D kernels: per input channel, one heatmap of (out, k)
        n_in = min(w.shape[1], 8)
        fig = _mpl.new_figure(figsize or (min(2.0 * n_in + 1, 10), 3.0), "plot_filters")
        axes = np.atleast_1d(fig.subplots(1, n_in, squeeze=False)[0])
        for i, ax in enumerate(axes):
            ax.imshow(tiles[:, i], cmap="gray" if image else "RdBu_r", vmin=0, vmax=1,
                      aspect="auto", interpolation="nearest")
            ax.set(xlabel="tap", ylabel="filter" if i == 0 else None,
                   title=f"input channel {i}")
    else:
        if rgb_tiles or w.shape[1] == 1:  # one tile per filter, 8 to a row
            flat = tiles if rgb_tiles else tiles[:, 0]
            rows, cols = _grid(len(flat), 8)
            grid = [[flat[r * cols + c] if r * cols + c < len(flat) else None
                     for c in range(cols)] for r in range(rows)]
            labels = None
        else:  # a row per output channel, a column per input channel
            rows, cols = min(len(w), 16), min(w.shape[1], 8)
            grid = [[tiles[r, c] for c in range(cols)] for r in range(rows)]
            labels = ([f"in {c}" for c in range(cols)], [f"out {r}" for r in range(rows)])
        mosaic, centres = _mosaic(grid, max(1, w.shape[-1] // 4))
        fig = _mpl.new_figure(figsize or (max(4.0, 0.7 * cols + 1.0), 0.7 * rows + 0.9),
                              "plot_filters")
        ax = fig.subplots()
        ax.imshow(mosaic, cmap=None if rgb_tiles else ("gray" if image else "RdBu_r"),
                  vmin=0, vmax=1, interpolation="nearest")
        _bare(ax, frame=False)
        if labels:
            ax.set_xticks(centres[1], labels[0], fontsize=7)
            ax.set_yticks(centres[0], labels[1], fontsize=7)
            ax.tick_params(length=0, labeltop=True, labelbottom=False)
    kind = "images" if image else "heatmaps (red +, blue -)"
    where = "weight" if name == "weight" else f"layer {name}"
    fig.suptitle(f"{where}: {tuple(weight.shape)} kernels as {kind}", fontsize=9)
    return fig


# ------------------------------------------------------------------------- feature maps
def plot_feature_maps(model, x, layer, max_maps=32, figsize=None):
    """Every channel (at most ``max_maps``) of ``layer``'s output for the one input ``x``
    ((C, H, W) or (C, L), without a batch axis), each scaled to its own range."""
    maps = feature_maps(model, np.asarray(as_array(x))[None], layer)[0]
    if maps.ndim == 2:  # (C, L): one heatmap, a row per channel
        fig = _mpl.new_figure(figsize or (7.0, 0.1 * min(len(maps), max_maps) + 1.5),
                              "plot_feature_maps")
        ax = fig.subplots()
        im = ax.imshow(maps[:max_maps], aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set(xlabel="position", ylabel="channel")
        fig.colorbar(im, ax=ax)
    elif maps.ndim == 3:  # one mosaic image: every map scaled to its own range
        n = min(len(maps), max_maps)
        rows, cols = _grid(n, 8)
        lo = maps[:n].min(axis=(1, 2), keepdims=True)
        span = maps[:n].max(axis=(1, 2), keepdims=True) - lo
        scaled = (maps[:n] - lo) / np.where(span > 0, span, 1.0)
        grid = [[scaled[r * cols + c] if r * cols + c < n else None for c in range(cols)]
                for r in range(rows)]
        gap = max(1, round(0.4 * maps.shape[1]))  # room for each map's label
        mosaic, (ys, xs) = _mosaic(grid, gap)
        fig = _mpl.new_figure(figsize or (1.1 * cols + 0.3, 1.15 * rows + 0.5),
                              "plot_feature_maps")
        ax = fig.subplots()
        ax.imshow(mosaic, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
        _bare(ax, frame=False)
        top = (maps.shape[1] - 1) / 2 + 0.5
        for k in range(n):
            ax.text(xs[k % cols], ys[k // cols] - top, f"ch {k}", fontsize=6, ha="center",
                    va="bottom")
        ax.set_ylim(mosaic.shape[0] - 0.5, -0.5 - gap)
    else:
        raise ValueError(f"plot_feature_maps: layer {layer!r} output has shape "
                         f"{maps.shape}; feature maps need (C, L) or (C, H, W)")
    fig.suptitle(f"layer {layer}: {maps.shape[0]} feature maps of size "
                 f"{'x'.join(map(str, maps.shape[1:]))}", fontsize=9)
    return fig


# ------------------------------------------------------------------------ receptive field
def plot_receptive_field(model, inputs, layer, unit=None, figsize=None):
    """The theoretical receptive field of ``layer``'s ``unit`` (default: centre) drawn on the
    first input, beside the effective one: the mean |gradient| over ``inputs`` (Luo et al.)."""
    inputs = np.asarray(as_array(inputs))
    rf = theoretical_receptive_field(model, inputs.shape[1:], layer, unit)
    erf = effective_receptive_field(model, inputs, layer, rf.unit)
    fig = _mpl.new_figure(figsize or (8.0, 4.0), "plot_receptive_field")
    ax1, ax2 = fig.subplots(1, 2)
    show_sample(ax1, inputs[0], title="theoretical (from summary)")
    ax2.set_title(f"effective: mean |d unit / d input| over {len(inputs)} inputs", fontsize=8)
    if erf.ndim == 2:
        ax2.imshow(erf, cmap="magma", interpolation="nearest")
        _bare(ax2)
        from matplotlib.patches import Rectangle
        (r0, r1), (c0, c1) = zip(rf.lo, rf.hi)
        for ax in (ax1, ax2):
            ax.add_patch(Rectangle((c0 - 0.5, r0 - 0.5), c1 - c0 + 1, r1 - r0 + 1, fill=False,
                                   edgecolor="lime", lw=2))
            ax.plot([rf.centre[1]], [rf.centre[0]], "+", color="lime", ms=10)
            ax.set_xlim(min(-0.5, c0 - 1), max(inputs.shape[-1] - 0.5, c1 + 1))
            ax.set_ylim(max(inputs.shape[-2] - 0.5, r1 + 1), min(-0.5, r0 - 1))
    else:
        ax2.plot(erf, color="black")
        for ax in (ax1, ax2):
            ax.axvspan(rf.lo[0] - 0.5, rf.hi[0] + 0.5, color="lime", alpha=0.3)
    unit = rf.unit[0] if len(rf.unit) == 1 else rf.unit
    fig.suptitle(f"receptive field of layer {layer}, unit {unit}: "
                 f"{'x'.join(map(str, rf.size))} pixels", fontsize=9)
    return fig


# ----------------------------------------------------------------------------- attribution
def plot_attribution(model, x, layer=None, target=None, labels=None, class_names=None,
                     smooth_samples=16, figsize=None):
    """One row per input of the batch ``x``: the input, its saliency, SmoothGrad and Grad-CAM
    (of conv ``layer``, default the last conv) for class ``target`` (default: predicted).
    ``labels``: the true classes, shown in the titles."""
    x = np.asarray(as_array(x))
    convs = conv_layers(model)
    if layer is None:
        if not convs:
            raise ValueError("plot_attribution: the model has no conv layer for Grad-CAM")
        layer = convs[-1][0]
    _, cam, t = grad_cam(model, x, layer, target)
    sal = np.abs(saliency(model, x, t)).max(axis=1)
    smooth = np.abs(smooth_grad(model, x, t, samples=smooth_samples)).max(axis=1)
    fig = _mpl.new_figure(figsize or (7.0, 1.8 * len(x) + 0.6), "plot_attribution")
    axes = fig.subplots(len(x), 4, squeeze=False)
    image = x.ndim == 4  # images: gradient maps alone; signals: drawn behind the signal
    for i in range(len(x)):
        truth = f"true {_name(class_names, labels[i])}, " if labels is not None else ""
        show_sample(axes[i, 0], x[i], title=f"{truth}class {_name(class_names, t[i])}")
        for ax, heat, title in ((axes[i, 1], sal[i], "saliency |grad|"),
                                (axes[i, 2], smooth[i], f"SmoothGrad ({smooth_samples})")):
            show_sample(ax, np.zeros_like(x[i]) if image else x[i], heat=heat, title=title,
                        heat_alpha=1.0 if image else 0.5)
        show_sample(axes[i, 3], x[i], heat=cam[i], title=f"Grad-CAM ({layer})")
    return fig


# ------------------------------------------------------------------------------- training
def _history_dict(history):
    return history.as_dict() if hasattr(history, "as_dict") else dict(history)


def plot_history(history, figsize=(9.0, 3.5)):
    """Loss and accuracy per epoch, training and validation, with the best epoch (the one early
    stopping keeps) marked, and where training stopped early. ``history``: a ``History`` or its
    ``as_dict()`` / ``state_dict()`` (as saved in checkpoints)."""
    h = _history_dict(history)
    n = len(h.get("train_loss", []))
    ep = np.arange(1, n + 1)
    fig = _mpl.new_figure(figsize, "plot_history")
    axes = fig.subplots(1, 2)
    if n == 0:
        for ax in axes:
            ax.text(0.5, 0.5, "no epoch recorded", ha="center", va="center")

    def series(key):
        v = [np.nan if (x is None or x != x) else float(x) for x in h.get(key, [])]
        return np.array(v) if len(v) == n and not np.all(np.isnan(v)) else None
    for ax, what in zip(axes, ("loss", "acc")):
        for split, style in (("train", "-o"), ("val", "-s")):
            v = series(f"{split}_{what}")
            if v is not None:
                ax.plot(ep, v, style, ms=3, label="training" if split == "train" else "validation")
        best = int(h.get("best_epoch") or 0)
        if best:
            ax.axvline(best, color="green", ls="--", lw=1, label=f"best epoch {best}")
        if h.get("stopped_early"):
            ax.axvline(n, color="red", ls=":", lw=1, label=f"stopped early (epoch {n})")
        ax.set(xlabel="epoch", ylabel="loss" if what == "loss" else "accuracy",
               title="Loss" if what == "loss" else "Accuracy")
        if ax.get_lines():
            ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def plot_confusion_matrix(matrix, class_names=None, normalize=False, figsize=None):
    """The confusion matrix (rows: true class, columns: predicted) with counts in the cells;
    ``normalize`` shows each row as fractions."""
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"plot_confusion_matrix: matrix must be square, got shape {m.shape}")
    k = len(m)
    names = class_names or [str(i) for i in range(k)]
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalize else m
    fig = _mpl.new_figure(figsize or (max(4.0, 0.45 * k + 2), max(3.5, 0.45 * k + 1.5)),
                          "plot_confusion_matrix")
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax)
    top = shown.max() if shown.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{shown[i, j]:.2f}" if normalize else str(int(m[i, j]))
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > top / 2 else "black")
    ax.set(xticks=range(k), yticks=range(k), xticklabels=names, yticklabels=names,
           xlabel="predicted class", ylabel="true class",
           title=f"Confusion matrix ({int(m.sum())} samples, accuracy "
                 f"{np.trace(m) / max(m.sum(), 1):.3f})")
    return fig


def plot_misclassified(x, y_true, probs, indices, class_names=None, figsize=None):
    """The samples ``indices`` of ``x`` (e.g. from ``confident_mistakes``), each titled with its
    true class, the predicted one and the predicted probability."""
    x, probs, y = np.asarray(as_array(x)), np.asarray(probs), np.asarray(y_true)
    indices = list(indices)
    rows, cols = _grid(max(len(indices), 1), 6)
    fig = _mpl.new_figure(figsize or (1.5 * cols + 0.3, 1.7 * rows + 0.5), "plot_misclassified")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        if k >= len(indices):
            ax.set_visible(False)
            continue
        i = indices[k]
        p = int(probs[i].argmax())
        show_sample(ax, x[i], title=f"true {_name(class_names, y[i])}, pred "
                                    f"{_name(class_names, p)}\n"
                                    f"p={probs[i, p]:.2f} (#{i})")
    if not indices:
        axes[0, 0].set_visible(True)
        axes[0, 0].axis("off")
        axes[0, 0].text(0.5, 0.5, "no misclassified samples", ha="center", va="center")
    return fig
