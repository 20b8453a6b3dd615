"""The numbers behind autograd_cnn.viz's pictures, against independent computations: window
arithmetic against the ops' output shapes and gradients, receptive fields against hand-derived
values and the effective field's support, saliency against finite differences, Grad-CAM on a
model small enough to work out by hand. No matplotlib needed."""
import itertools
import subprocess
import sys

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import nn, viz
from autograd_cnn.viz.arithmetic import INPUT, OUTSIDE, PADDING
from _support import requires_torch, torch


def test_importing_viz_does_not_import_matplotlib():
    code = ("import sys, autograd_cnn, autograd_cnn.viz; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------- window arithmetic
CONV_CASES_1D = list(itertools.product((5, 8), (1, 3), (1, 2), (0, 1, 2), (1, 2)))


@pytest.mark.parametrize("size,k,s,p,d", CONV_CASES_1D)
def test_conv1d_diagram_matches_the_op(size, k, s, p, d):
    if size + 2 * p < d * (k - 1) + 1:
        pytest.skip("empty output")
    diag = viz.conv_arithmetic(size, k, s, p, d)
    x = ac.tensor(np.random.default_rng(0).random((1, 1, size)), requires_grad=True)
    w = ac.ones(1, 1, k, dtype=np.float64)
    y = F.conv1d(x, w, stride=s, padding=p, dilation=d)
    assert diag.out_size == tuple(y.shape[2:])
    assert f"-> output {y.shape[2]}" in diag.description()
    for pos in diag.positions():
        # the input positions this output depends on are exactly its in-input taps
        (g,) = ac.autograd.grad(y[0, 0, pos[0]], [x], retain_graph=True)
        taps, kinds = diag.taps(pos)[:, 0], diag.tap_kinds(pos)
        assert set(np.flatnonzero(g.numpy()[0, 0])) == set(taps[kinds == INPUT].tolist())
        assert np.all((kinds == PADDING) == ((taps < 0) | (taps >= size)))


@pytest.mark.parametrize("hw,k,s,p,d", [((5, 5), 3, 2, 1, 1), ((6, 7), (3, 2), (1, 2), (1, 0), 1),
                                        ((7, 7), 3, 1, 2, 2), ((4, 6), 2, 3, 0, (1, 2))])
def test_conv2d_diagram_matches_the_op(hw, k, s, p, d):
    diag = viz.conv_arithmetic(hw, k, s, p, d)
    x = ac.tensor(np.random.default_rng(1).random((1, 1) + hw), requires_grad=True)
    kk = k if isinstance(k, tuple) else (k, k)
    y = F.conv2d(x, ac.ones(1, 1, *kk, dtype=np.float64), stride=s, padding=p, dilation=d)
    assert diag.out_size == tuple(y.shape[2:])
    for pos in diag.positions():
        (g,) = ac.autograd.grad(y[0, 0, pos[0], pos[1]], [x], retain_graph=True)
        taps, kinds = diag.taps(pos), diag.tap_kinds(pos)
        assert set(map(tuple, np.argwhere(g.numpy()[0, 0] != 0).tolist())) == \
            set(map(tuple, taps[kinds == INPUT].tolist()))


@pytest.mark.parametrize("hw,k,s,p,ceil", [((5, 5), 2, 2, 0, True), ((5, 5), 2, 2, 0, False),
                                           ((7, 6), 3, 2, 1, True), ((6, 6), 3, 3, 1, True),
                                           ((8, 5), (3, 2), (2, 1), (1, 0), True)])
def test_pool_diagram_matches_the_op_with_ceil_mode(hw, k, s, p, ceil):
    diag = viz.pool_arithmetic(hw, k, s, p, ceil_mode=ceil)
    x = ac.tensor(np.random.default_rng(2).random((1, 1) + hw), requires_grad=True)
    assert diag.out_size == tuple(F.max_pool2d(x, k, s, p, ceil_mode=ceil).shape[2:])
    y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil)  # the same windows; every tap gets gradient
    assert diag.out_size == tuple(y.shape[2:])
    for pos in diag.positions():
        (g,) = ac.autograd.grad(y[0, 0, pos[0], pos[1]], [x], retain_graph=True)
        taps, kinds = diag.taps(pos), diag.tap_kinds(pos)
        assert set(map(tuple, np.argwhere(g.numpy()[0, 0] != 0).tolist())) == \
            set(map(tuple, taps[kinds == INPUT].tolist()))


def test_ceil_mode_window_hangs_past_the_input():
    diag = viz.pool_arithmetic((5, 5), 2, ceil_mode=True)
    assert diag.out_size == (3, 3)
    kinds = diag.tap_kinds((2, 2))  # the window at rows/cols 4..5 of a 5-pixel input
    assert kinds.tolist() == [INPUT, OUTSIDE, OUTSIDE, OUTSIDE]
    assert diag.extent() == ((0, 5), (0, 5))


def test_bad_diagram_arguments_name_what_is_wrong():
    with pytest.raises(ValueError, match="input_size"):
        viz.conv_arithmetic((2, 3, 4), 3)
    with pytest.raises(ValueError, match="too small"):
        viz.conv_arithmetic(2, 5)
    with pytest.raises(ValueError, match="position"):
        viz.conv_arithmetic(5, 3).taps(3)


# ---------------------------------------------------------------- filters and feature maps
def test_feature_maps_equal_running_the_layers_by_hand():
    ac.manual_seed(0)
    model = ac.models.LeNet5()
    x = ac.randn(2, 1, 28, 28)
    got = viz.feature_maps(model, x, "features.2")
    with ac.no_grad():
        want = model.features[2](model.features[1](model.features[0](x))).numpy()
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="named_modules"):
        viz.feature_maps(model, x, "features.9")


def test_filter_images_scale_around_zero():
    w = np.array([[[[0.0, 2.0], [-1.0, 1.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
    img = viz.filter_images(w)
    np.testing.assert_allclose(img[0, 0], [[0.5, 1.0], [0.25, 0.75]])
    np.testing.assert_allclose(img[1, 0], 0.5)  # an all-zero kernel is mid-grey, not NaN
    rgb = viz.filter_images(np.stack([w[0, 0], -w[0, 0], w[0, 0] / 2])[None])
    assert rgb.shape == (1, 2, 2, 3)
    np.testing.assert_allclose(rgb[0, 0, 1], [1.0, 0.0, 0.75])


# --------------------------------------------------------------------- receptive fields
def test_theoretical_field_of_lenet_matches_hand_arithmetic_and_summary():
    model = ac.models.LeNet5()
    rf = viz.theoretical_receptive_field(model, (1, 28, 28), "features.3", (5, 5))
    # conv 5x5 pad 2: r 5, j 1, start 0; pool 2/2: r 6, j 2, start 0.5; conv 5x5: r 14, start
    # 0.5 + 2 * 2 = 4.5. Unit 5 is centred on 4.5 + 5 * 2 = 14.5 and covers 8 .. 21.
    assert rf.size == (14, 14) and rf.centre == (14.5, 14.5)
    assert rf.lo == (8, 8) and rf.hi == (21, 21)
    row = [r for r in ac.summary(model, (1, 28, 28)) if r.name == "features.3"][0]
    assert (row.receptive_field, row.jump, row.start) == (14, 2, 4.5)
    corner = viz.theoretical_receptive_field(model, (1, 28, 28), "features.0", (0, 0))
    assert corner.lo == (-2, -2) and corner.clipped == ((0, 2), (0, 2))  # padding 2
    with pytest.raises(ValueError, match="whole input"):
        viz.theoretical_receptive_field(model, (1, 28, 28), "classifier.1")


def _positive_linear_net():
    """No nonlinearity and positive weights: every pixel of the theoretical field reaches the
    unit with a positive gradient, so the effective field fills it exactly."""
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AvgPool2d(2),
                        nn.Conv2d(2, 2, 3, dilation=2), nn.Conv2d(2, 1, 2, stride=2))
    for p in net.parameters():
        a = p.numpy()  # the parameter's own array (no copy)
        a[...] = np.abs(a) + 0.1
    return net


@pytest.mark.parametrize("layer,unit", [("2", (2, 3)), ("3", (0, 0)), ("3", (1, 1)),
                                        ("0", (0, 5))])
def test_effective_field_fills_the_theoretical_one_exactly(layer, unit):
    net = _positive_linear_net()
    x = np.random.default_rng(0).random((3, 1, 16, 16)).astype(np.float32)
    rf = viz.theoretical_receptive_field(net, (1, 16, 16), layer, unit)
    erf = viz.effective_receptive_field(net, x, layer, unit)
    np.testing.assert_array_equal(erf > 0, rf.mask())


def test_effective_field_of_a_relu_net_lies_inside_the_theoretical_one():
    ac.manual_seed(1)
    model = ac.models.LeNet5()
    x = ac.datasets.load("mnist5k").x[:16]
    for layer, unit in (("features.3", (5, 5)), ("features.4", (0, 9)), ("features.5", (2, 2))):
        rf = viz.theoretical_receptive_field(model, (1, 28, 28), layer, unit)
        erf = viz.effective_receptive_field(model, x, layer, unit)
        assert erf[~rf.mask()].max(initial=0) == 0 and erf[rf.mask()].max() > 0


# ------------------------------------------------------------------------- attribution
def _small_net():
    ac.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                        nn.Linear(3 * 3 * 3, 4))
    return net.double()


def test_saliency_matches_finite_differences_in_float64():
    net = _small_net()
    x = np.random.default_rng(4).standard_normal((2, 2, 6, 6))
    got = viz.saliency(net, x, target=[1, 3])
    eps = 1e-6
    want = np.zeros_like(x)
    for n, t in ((0, 1), (1, 3)):
        for idx in np.ndindex(*x.shape[1:]):
            hi, lo = x[n:n + 1].copy(), x[n:n + 1].copy()
            hi[(0,) + idx] += eps
            lo[(0,) + idx] -= eps
            with ac.no_grad():
                d = net(ac.tensor(hi)).numpy()[0, t] - net(ac.tensor(lo)).numpy()[0, t]
            want[(n,) + idx] = d / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


def test_saliency_default_target_is_the_prediction_and_smoothgrad_of_linear_is_exact():
    ac.manual_seed(5)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(8, 3)).double()
    x = np.random.default_rng(5).standard_normal((4, 2, 2, 2))
    with ac.no_grad():
        pred = lin(ac.tensor(x)).numpy().argmax(axis=1)
    w = lin[1].weight.numpy()
    want = w[pred].reshape(x.shape)  # the gradient of a linear model is its weight row
    np.testing.assert_allclose(viz.saliency(lin, x), want, rtol=1e-12)
    np.testing.assert_allclose(viz.smooth_grad(lin, x, samples=5, noise=0.3), want, rtol=1e-12)
    net = _small_net()
    xs = np.random.default_rng(6).standard_normal((1, 2, 6, 6))
    np.testing.assert_allclose(viz.smooth_grad(net, xs, 2, samples=3, noise=0.0),
                               viz.saliency(net, xs, 2), rtol=1e-12)


def _hand_cam_net():
    """Conv 1x1 with weights (+1, -1), global average pool, linear W: class c's score is
    sum_k W[c, k] * mean(A_k), so d score_c / d A_k = W[c, k] / (H * W) everywhere."""
    net = nn.Sequential(nn.Conv2d(1, 2, 1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(2, 2, bias=False)).double()
    net[0].weight.numpy()[...] = np.array([1.0, -1.0]).reshape(2, 1, 1, 1)
    net[3].weight.numpy()[...] = [[2.0, 1.0], [-1.0, 3.0]]
    return net


def test_grad_cam_on_a_hand_checkable_model():
    net = _hand_cam_net()
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    # class 0: alpha = (2/4, 1/4); ReLU(x/2 - x/4) = x / 4
    cam, up, t = viz.grad_cam(net, x, "0", target=0)
    np.testing.assert_allclose(cam[0], [[0.25, 0.5], [0.75, 1.0]])
    np.testing.assert_allclose(up, cam)  # same size as the input: nothing to interpolate
    assert t.tolist() == [0]
    # class 1: alpha = (-1/4, 3/4); -x/4 - 3x/4 = -x < 0 everywhere: ReLU leaves nothing
    cam1, _, _ = viz.grad_cam(net, x, "0", target=1)
    np.testing.assert_array_equal(cam1, 0.0)
    # default target: the predicted class (scores 2*2.5 - 2.5 = 2.5 vs -2.5 - 7.5: class 0)
    np.testing.assert_allclose(viz.grad_cam(net, x, "0")[0], cam)


def test_grad_cam_upsamples_a_coarse_map_to_the_input():
    net = _hand_cam_net()
    net[0].stride = (2, 2)
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    cam, up, _ = viz.grad_cam(net, x, "0", target=0)
    np.testing.assert_allclose(cam[0], x[0, 0, ::2, ::2] / 4)
    assert up.shape == (1, 4, 4)
    np.testing.assert_allclose(up, viz.resize_linear(cam, (4, 4)))


def test_resize_linear_samples_pixel_centres():
    # positions (i + 0.5) * 2 / 4 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]
    np.testing.assert_allclose(viz.resize_linear(np.array([0.0, 1.0]), (4,)),
                               [0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(viz.resize_linear(np.ones((3, 2, 2)), (5, 7)), 1.0)


@requires_torch
def test_resize_linear_matches_torch_interpolate():
    a = np.random.default_rng(7).standard_normal((2, 3, 5))
    want = torch.nn.functional.interpolate(torch.from_numpy(a)[None], size=(7, 4),
                                           mode="bilinear", align_corners=False)[0].numpy()
    np.testing.assert_allclose(viz.resize_linear(a, (7, 4)), want, rtol=1e-12, atol=1e-12)


@requires_torch
def test_grad_cam_matches_a_torch_computation():
    from autograd_cnn.models import torch_twins
    ac.manual_seed(8)
    model = ac.models.LeNet5().double()
    x = np.random.default_rng(8).random((2, 1, 28, 28))
    cam, _, t = viz.grad_cam(model, x, "features.3", target=[3, 7])
    twin = torch_twins.lenet5()
    torch_twins.copy_state(model.state_dict(), twin)
    seen = {}
    twin.features[3].register_forward_hook(lambda m, a, out: seen.setdefault("a", out))
    scores = twin(torch.from_numpy(x))
    a = seen["a"]
    (g,) = torch.autograd.grad(scores[[0, 1], [3, 7]].sum(), [a])
    want = torch.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(dim=1)).detach().numpy()
    assert t.tolist() == [3, 7]
    np.testing.assert_allclose(cam, want, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------ evaluation
def test_confusion_matrix_and_confident_mistakes():
    y = np.array([0, 1, 2, 2, 1, 0])
    p = np.array([0, 2, 2, 1, 1, 0])
    m = viz.confusion_matrix(y, p, 3)
    want = np.zeros((3, 3), dtype=np.int64)
    for a, b in zip(y, p):
        want[a, b] += 1
    np.testing.assert_array_equal(m, want)
    probs = np.array([[.9, .05, .05], [.1, .2, .7], [.1, .1, .8], [.3, .6, .1], [.1, .8, .1],
                      [.6, .3, .1]])
    assert viz.confident_mistakes(probs, y, 5).tolist() == [1, 3]  # p 0.7, then 0.6
    with pytest.raises(ValueError, match="num_classes"):
        viz.confusion_matrix(y, p, 2)


def test_predict_proba_is_softmax_of_the_logits_in_batches():
    net = _small_net()
    x = np.random.default_rng(9).standard_normal((7, 2, 6, 6))
    with ac.no_grad():
        logits = net(ac.tensor(x)).numpy()
    want = np.exp(logits - logits.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    np.testing.assert_allclose(viz.predict_proba(net, x, batch_size=3), want, rtol=1e-12)


def test_readme_pictures_are_committed_small_pngs():
    import os
    import re
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    readme = open(os.path.join(root, "README.md"), encoding="utf-8").read()
    pictures = re.findall(r"\]\((docs/images/[^)]+\.png)\)", readme)
    assert len(pictures) >= 3
    assert "python -m autograd_cnn.viz.docs_images" in readme  # how they are made
    for rel in pictures:
        path = os.path.join(root, rel)
        data = open(path, "rb").read()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 100 * 1024, rel
