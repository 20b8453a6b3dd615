"""Every drawing function of autograd_cnn.viz returns a figure of the size asked for (and a
sensible default size) without error, and renders to a PNG of that many pixels. Skipped when
matplotlib is not installed; figures are rendered with Agg."""
import struct

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import autograd_cnn as ac  # noqa: E402
from autograd_cnn import nn, viz  # noqa: E402
from autograd_cnn.viz._mpl import png_bytes  # noqa: E402


def _png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _check(fig, figsize=None, dpi=50):
    from matplotlib.figure import Figure
    assert isinstance(fig, Figure)
    w, h = fig.get_size_inches()
    if figsize is not None:
        np.testing.assert_allclose((w, h), figsize)
    assert 1 <= w <= 20 and 1 <= h <= 30
    pw, ph = _png_size(png_bytes(fig, dpi))
    assert abs(pw - w * dpi) <= 1 and abs(ph - h * dpi) <= 1  # Agg rounds down


@pytest.fixture(scope="module")
def lenet():
    ac.manual_seed(0)
    return ac.models.LeNet5()


@pytest.fixture(scope="module")
def images():
    d = ac.datasets.load("mnist5k")
    return d.x[:6], d.y[:6]


@pytest.mark.parametrize("diagram", [viz.conv_arithmetic((4, 4), 3, 2, 1),
                                     viz.conv_arithmetic(9, 3, 2, 1, 2),
                                     viz.pool_arithmetic((3, 3), 2, ceil_mode=True),
                                     viz.pool_arithmetic(7, 3, 2, 1, ceil_mode=True)])
def test_window_figures(diagram):
    fig = viz.plot_window(diagram)
    _check(fig)
    title = fig._suptitle.get_text().replace("\n", " ").replace("  ", " ")
    assert title == diagram.description()  # whose output size is the engine's (test_viz.py)
    _check(viz.plot_window(diagram, diagram.positions()[-1], figsize=(7, 3)), (7, 3))
    _check(viz.plot_window_strip(diagram, max_frames=3))


def test_animation_is_a_gif_or_a_strip(tmp_path):
    diagram = viz.conv_arithmetic((3, 3), 2, 1, 0)
    out = viz.animate_window(diagram, tmp_path / "conv.gif", fps=4, dpi=30)
    data = open(out, "rb").read()
    try:
        from PIL import Image
    except ImportError:  # no Pillow: a PNG strip beside the requested path
        assert out.endswith(".png") and data[:4] == b"\x89PNG"
        return
    assert out.endswith(".gif") and data[:6] in (b"GIF89a", b"GIF87a")
    assert Image.open(out).n_frames == len(diagram.positions())  # one frame per position
    strip = viz.animate_window(diagram, tmp_path / "conv.png")
    assert strip.endswith(".png") and open(strip, "rb").read()[:4] == b"\x89PNG"


def test_model_figures(lenet, images):
    x, y = images
    _check(viz.plot_filters(lenet))
    _check(viz.plot_filters(lenet, "features.3", figsize=(6, 9)), (6, 9))
    _check(viz.plot_filters(np.random.default_rng(0).standard_normal((4, 3, 3, 3))))
    _check(viz.plot_feature_maps(lenet, x[0], "features.1"))
    _check(viz.plot_feature_maps(lenet, x[0], "features.4", figsize=(5, 4)), (5, 4))
    _check(viz.plot_receptive_field(lenet, x, "features.3"))
    _check(viz.plot_attribution(lenet, x[:2], labels=y[:2], smooth_samples=2))
    probs = viz.predict_proba(lenet, x)
    _check(viz.plot_confusion_matrix(viz.confusion_matrix(y, probs.argmax(1), 10)))
    _check(viz.plot_misclassified(x, y, probs, viz.confident_mistakes(probs, y), figsize=(8, 3)),
           (8, 3))
    _check(viz.plot_misclassified(x, y, probs, []))


def test_one_dimensional_models_draw_too():
    ac.manual_seed(1)
    net = nn.Sequential(nn.Conv1d(1, 4, 5, padding=2), nn.ReLU(), nn.Conv1d(4, 4, 3),
                        nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 3))
    x = ac.randn(3, 1, 20).numpy()
    _check(viz.plot_filters(net))
    _check(viz.plot_filters(net, "2"))
    _check(viz.plot_feature_maps(net, x[0], "0"))
    _check(viz.plot_receptive_field(net, x, "2"))
    _check(viz.plot_attribution(net, x[:2], smooth_samples=2))


def test_history_figure_marks_best_and_stopping_epochs():
    h = ac.History(train_loss=[1.0, 0.5, 0.4], val_loss=[1.1, 0.6, 0.7], train_acc=[.5, .8, .9],
                   val_acc=[.4, .7, .6], best_epoch=2, epochs_run=3, stopped_early=True)
    fig = viz.plot_history(h, figsize=(8, 3))
    _check(fig, (8, 3))
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "best epoch 2" in labels and "stopped early (epoch 3)" in labels
    _check(viz.plot_history(h.state_dict()))  # as stored in a checkpoint
    empty = viz.plot_history(ac.History())  # `train --epochs 0 --plot`: empty axes, no error
    _check(empty)
    assert "no epoch recorded" in [t.get_text() for t in empty.axes[0].texts]
