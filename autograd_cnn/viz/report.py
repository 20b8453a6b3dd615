"""One self-contained HTML page about a trained classifier: ``write_report`` (and the
``python -m autograd_cnn report --checkpoint PATH`` command, ``run_report``).

The page holds the model summary table, the training curves, the first layer's filters, feature
maps, the receptive field of the last conv layer, saliency / SmoothGrad / Grad-CAM for a few test
images, the confusion matrix and the most confidently misclassified test images. Every figure is
a PNG embedded as a ``data:`` URI and the styles are inline, so the file opens anywhere without a
network. The layout is one centred column (at most 980 px wide; images scale down with the
window, wide tables scroll inside their box), readable on a laptop or a phone.
"""
import base64
import datetime
import html
import os
import struct

import numpy as np

from . import _mpl
from .capture import conv_layers
from .evaluation import confident_mistakes, confusion_matrix, predict_proba

__all__ = ["write_report", "render_report", "run_report", "report_figures"]

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#1d2330;font:15px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:980px;margin:0 auto;padding:1rem 1.25rem 3rem;background:#fff;min-height:100vh}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;margin:2rem 0 .5rem;
border-bottom:2px solid #e3e6eb;padding-bottom:.25rem}
p,li{max-width:75ch}nav ol{columns:2;padding-left:1.2rem}
figure{margin:1rem 0;padding:.5rem;border:1px solid #e3e6eb;border-radius:6px}
figure img{display:block;max-width:100%;height:auto;margin:0 auto}
figcaption{font-size:.875rem;color:#4a5263;margin-top:.4rem}
.table-wrap{overflow-x:auto;border:1px solid #e3e6eb;border-radius:6px;margin:.5rem 0}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{padding:.3rem .6rem;border-bottom:1px solid #eef0f3;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:#f0f2f5;position:sticky;top:0}
.facts-wrap{display:inline-block;max-width:100%}.facts{width:auto}.facts td{text-align:left}
.facts td:first-child{color:#4a5263}.note{color:#4a5263;font-style:italic}
@media (max-width:600px){nav ol{columns:1}main{padding:.75rem}}
"""


def _img(fig, alt, dpi=100):
    """An <img> with the figure as a base64 PNG data URI (the figure is closed)."""
    png = _mpl.png_bytes(fig, dpi)
    w, h = struct.unpack(">II", png[16:24])  # the PNG header's width and height
    data = base64.b64encode(png).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
            f'width="{w}" height="{h}" loading="lazy">')


def _table(header, rows, cls=""):
    """A table in a box that scrolls sideways when the table is wider than the page."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    attr, wrap = (f' class="{cls}"', f" {cls}-wrap") if cls else ("", "")
    thead = f"<thead><tr>{head}</tr></thead>" if header else ""
    return (f'<div class="table-wrap{wrap}"><table{attr}>{thead}<tbody>{body}</tbody></table>'
            "</div>")


def _summary_table(model, input_shape):
    from ..summary import _fmt_axes, summary
    s = summary(model, input_shape)
    rows = [(f"{r.name} ({r.layer_type})", "x".join(map(str, r.output_shape)), f"{r.params:,}",
             f"{r.macs:,}", _fmt_axes(r.receptive_field), _fmt_axes(r.jump),
             _fmt_axes(r.start)) for r in s]
    rows.append(("Total", "", f"{s.total_params:,}", f"{s.total_macs:,}", "", "", ""))
    return _table(("Layer (type)", "Output shape", "Params", "MACs", "Receptive field", "Jump",
                   "Start"), rows)


def report_figures(model, x_test, y_test, history=None, num_images=4, class_names=None,
                   max_test=None):
    """The figures of the report as a list of (section id, title, intro, [(figure, alt,
    caption)] or an HTML string), plus facts (a list of (name, value)). Heavy lifting for
    ``render_report``; usable on its own to save the figures as files."""
    from . import figures as F
    x, y = np.asarray(x_test), np.asarray(y_test)
    if max_test is not None:
        x, y = x[:max_test], y[:max_test]
    if len(x) == 0:
        raise ValueError("report: the test set is empty")
    probs = predict_proba(model, x)
    pred = probs.argmax(axis=1)
    k = probs.shape[1]
    cm = confusion_matrix(y, pred, k)
    accuracy = float(np.mean(pred == y))
    facts = [("test samples", f"{len(y):,}"), ("test accuracy", f"{accuracy:.4f}"),
             ("parameters", f"{sum(int(p.numpy().size) for p in model.parameters()):,}")]
    sections = []
    if history is not None:
        h = history.as_dict() if hasattr(history, "as_dict") else dict(history)
        if h.get("train_loss"):
            facts += [("epochs run", h.get("epochs_run", len(h["train_loss"]))),
                      ("best epoch (kept)", h.get("best_epoch", "-")),
                      ("stopped early", "yes" if h.get("stopped_early") else "no")]
            sections.append(("training", "Training curves",
                             "Loss and accuracy per epoch on the training and validation data. "
                             "The dashed line marks the best epoch by validation loss: early "
                             "stopping restores its weights, so the model below is that one.",
                             [(F.plot_history(h), "Training and validation loss and accuracy "
                               "per epoch", "Loss (left) and accuracy (right) per epoch.")]))
    convs = conv_layers(model)
    if convs:
        first, last = convs[0][0], convs[-1][0]
        label = {name: f"layer {name} ({type(m).__name__})" for name, m in convs}
        sections.append(("filters", "First-layer filters",
                         f"The kernels of {html.escape(label[first])}, each scaled so that "
                         "mid-grey is a zero weight: what the first layer looks for.",
                         [(F.plot_filters(model, first), f"Kernels of {label[first]} as images",
                           f"{label[first]}: one tile per output channel (and input "
                           "channel).")]))
        items = []
        for name, _ in convs[:3]:
            items.append((F.plot_feature_maps(model, x[0], name),
                          f"Feature maps of {label[name]} for test image 0",
                          f"Every channel of the output of {label[name]} for test image 0 "
                          f"(true class {y[0]})."))
        sections.append(("features", "Feature maps",
                         "What each convolution layer computes for one test image (2-D maps "
                         "are each scaled to their own range; the channels of 1-D maps share "
                         "one colour scale).", items))
        sections.append(("receptive", "Receptive field",
                         f"Left: the theoretical receptive field of the centre unit of "
                         f"{html.escape(label[last])} (from the model summary). Right: its "
                         "effective receptive field (Luo et al., 2016), the mean magnitude of "
                         "the unit's gradient with respect to the input over test images; it "
                         "lies inside the theoretical one and is concentrated near its centre.",
                         [(F.plot_receptive_field(model, x[:64], last),
                           f"Theoretical and effective receptive field of {label[last]}",
                           f"Receptive field of the centre unit of {label[last]}; green: "
                           "the theoretical field (the part outside the image is padding).")]))
        n = min(num_images, len(x))
        sections.append(("attribution", "Saliency and Grad-CAM",
                         "For the predicted class of the first test images: the input "
                         "gradient (saliency), its average over noisy copies (SmoothGrad) and "
                         f"Grad-CAM (Selvaraju et al., 2017) of {html.escape(label[last])}, "
                         "the last convolution, upsampled to the input.",
                         [(F.plot_attribution(model, x[:n], last, labels=y[:n],
                                              class_names=class_names),
                           "Input, saliency, SmoothGrad and Grad-CAM for test images",
                           f"Test images 0 to {n - 1}: input, |gradient|, SmoothGrad, "
                           "Grad-CAM heat map over the input.")]))
    else:
        sections.append(("filters", "Filters, feature maps, Grad-CAM",
                         '<span class="note">This model has no convolution layer, so there '
                         "are no filters, feature maps or Grad-CAM to show.</span>", []))
    sections.append(("confusion", "Confusion matrix",
                     "Rows are the true classes, columns the predicted ones; the diagonal "
                     "holds the correct predictions.",
                     [(F.plot_confusion_matrix(cm, class_names), "Confusion matrix of the test "
                       "set", f"Confusion matrix over {len(y):,} test samples.")]))
    wrong = confident_mistakes(probs, y, 12)
    sections.append(("mistakes", "Most confident mistakes",
                     f"{int(np.sum(pred != y)):,} test samples are misclassified; these are the "
                     "ones the model was surest about.",
                     [(F.plot_misclassified(x, y, probs, wrong, class_names),
                       "The most confidently misclassified test images",
                       "Misclassified test samples, most confident first: true class, "
                       "predicted class and its probability.")]))
    return sections, facts


def render_report(model, x_test, y_test, input_shape, history=None, title=None, facts=(),
                  num_images=4, class_names=None, max_test=None):
    """The report page as a string (see :func:`write_report`)."""
    _mpl.require_matplotlib("the report")
    sections, more = report_figures(model, x_test, y_test, history, num_images, class_names,
                                    max_test)
    title = title or f"{type(model).__name__} report"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body><main>",
           f"<h1>{html.escape(title)}</h1>",
           f'<p class="note">Written by autograd_cnn on '
           f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.</p>",
           _table((), list(facts) + more, "facts"),
           "<nav><h2>Contents</h2><ol>",
           '<li><a href="#summary">Model summary</a></li>']
    out += [f'<li><a href="#{sid}">{html.escape(t)}</a></li>' for sid, t, _, _ in sections]
    out += ["</ol></nav>", '<section id="summary"><h2>Model summary</h2>',
            "<p>Every layer with its output shape, parameters, multiply-accumulates per sample "
            "and receptive field (size, distance between neighbouring units and the centre of "
            "the first unit, in input pixels).</p>",
            _summary_table(model, input_shape), "</section>"]
    number = 0
    for sid, heading, intro, items in sections:
        out.append(f'<section id="{sid}"><h2>{html.escape(heading)}</h2><p>{intro}</p>')
        for fig, alt, caption in items:
            number += 1
            out.append(f"<figure>{_img(fig, alt)}<figcaption>Figure {number}. "
                       f"{html.escape(caption)}</figcaption></figure>")
        out.append("</section>")
    out.append("</main></body></html>")
    return "\n".join(out)


def write_report(path, model, x_test, y_test, input_shape, history=None, title=None, facts=(),
                 num_images=4, class_names=None, max_test=None):
    """Write the report page of ``model`` on the test set (``x_test``, ``y_test``) to ``path``.
    ``input_shape``: one sample's shape (for the summary); ``history``: a ``History`` or its
    dict (curves); ``facts``: extra (name, value) rows for the header table; ``max_test``: use
    only that many test samples. Returns ``path``."""
    text = render_report(model, x_test, y_test, input_shape, history, title, facts, num_images,
                         class_names, max_test)
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------------------- the command
def _read_checkpoint(path):
    """(state dict, history or None, metadata dict) from a --checkpoint or --save file."""
    from ..serialization import load
    ck = load(path)
    if isinstance(ck, dict) and ck.get("format") == "autograd_cnn-training":
        return ck["model"], ck.get("history"), dict(ck.get("metadata") or {})
    if isinstance(ck, dict) and isinstance(ck.get("model"), dict):  # a `train --save` file
        meta = dict(ck.get("metadata") or {})
        meta.setdefault("model_name", ck.get("model_name"))
        return ck["model"], ck.get("history"), meta
    if isinstance(ck, dict) and ck and all(hasattr(v, "shape") for v in ck.values()):
        return ck, None, {}  # a bare state dict
    raise ValueError("it is neither a training checkpoint (train --checkpoint), a saved model "
                     "(train --save) nor a state dict")


def run_report(args, error):
    """The ``report`` command: ``args`` from cli.build_parser; ``error(message)`` raises the
    command line's usage error. Returns the exit status."""
    from .. import cli
    try:
        _mpl.require_matplotlib("the report command")
    except ImportError as exc:
        error(str(exc))
    try:
        state, history, meta = _read_checkpoint(args.checkpoint)
    except (OSError, ValueError) as exc:
        error(f"--checkpoint {args.checkpoint!r}: {str(exc).splitlines()[0]}")
    model_name = args.model or meta.get("model_name")
    dataset = args.dataset or meta.get("dataset")
    if not model_name:
        error(f"--checkpoint {args.checkpoint!r} does not say which model it holds; give --model")
    if not dataset:
        error(f"--checkpoint {args.checkpoint!r} does not say which dataset it was trained on; "
              "give --dataset")
    data_dir = args.data_dir if args.data_dir is not None else meta.get("data_dir")
    try:
        data = cli.prepare_data(dataset, data_dir, float(meta.get("val_fraction", 0.1)),
                                int(meta.get("seed", 0)))
    except (FileNotFoundError, ValueError) as exc:
        error(str(exc).splitlines()[0])
    xtr, ytr, xva, yva, xte, yte = data
    num_classes = int(meta.get("num_classes") or cli._num_classes(ytr, yva, yte))
    try:
        model = cli.build_model(model_name, xtr.shape[1:], num_classes)
        model.load_state_dict(state)
    except (KeyError, ValueError, TypeError) as exc:
        error(f"--checkpoint {args.checkpoint!r} does not fit {model_name}: "
              f"{cli._first_lines(exc)}")
    label = data_dir if data_dir is not None and dataset != "mnist_train60k" else dataset
    write_report(args.output, model, xte, yte, xtr.shape[1:], history,
                 title=f"{model_name} on {label}",
                 facts=[("model", model_name), ("dataset", label),
                        ("checkpoint", os.path.basename(args.checkpoint))],
                 num_images=args.images, max_test=args.max_test)
    print(f"Report written to {args.output}")
    return 0
