"""Model summary: shapes, parameter counts, MACs and receptive fields against hand-computed
values and PyTorch's parameter counts."""
import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import models, nn
from autograd_cnn.summary import main_summary
from _support import requires_torch, torch


def test_three_stacked_convs_have_receptive_field_7():
    net = nn.Sequential(nn.Conv1d(1, 4, 3), nn.ReLU(), nn.Conv1d(4, 4, 3), nn.ReLU(),
                        nn.Conv1d(4, 2, 3))
    s = ac.summary(net, (1, 20))
    assert len(s) == 5 and [r.name for r in s] == ["0", "1", "2", "3", "4"]
    assert [r.receptive_field for r in s] == [3, 3, 5, 5, 7]
    assert [r.jump for r in s] == [1] * 5
    assert [r.start for r in s] == [1, 1, 2, 2, 3]  # no padding: the centre moves right
    assert [r.output_shape for r in s] == [(4, 18), (4, 18), (4, 16), (4, 16), (2, 14)]
    # C_in * C_out * K + C_out
    assert [r.params for r in s] == [1 * 4 * 3 + 4, 0, 4 * 4 * 3 + 4, 0, 4 * 2 * 3 + 2]
    assert s.total_params == 16 + 52 + 26
    assert [r.macs for r in s] == [4 * 18 * 1 * 3, 0, 4 * 16 * 4 * 3, 0, 2 * 14 * 4 * 3]
    assert s.total_macs == sum(r.macs for r in s)


def test_padding_stride_dilation_arithmetic():
    net = nn.Sequential(nn.Conv1d(1, 1, 3, padding=1), nn.Conv1d(1, 1, 3, stride=2),
                        nn.Conv1d(1, 1, 3, dilation=2, padding=2), nn.Conv1d(1, 1, 4,
                                                                             padding="same"),
                        nn.AdaptiveAvgPool1d(3))
    s = ac.summary(net, (1, 13))
    # r_out = r_in + (k-1)*d*j_in ; j_out = j_in*s ; start_out = start_in + ((k-1)*d/2 - p)*j_in
    assert [r.receptive_field for r in s] == [3, 5, 5 + 2 * 2 * 2, 13 + 3 * 2, 19 + 1 * 2]
    assert [r.jump for r in s] == [1, 2, 2, 2, 4]
    # 'same' with k=4 pads 1 before and 2 after: the field's centre is half a step right
    assert [r.start for r in s] == [0, 1, 1, 2, 3]
    assert [r.output_shape for r in s] == [(1, 13), (1, 6), (1, 6), (1, 6), (1, 3)]


def test_lenet5_hand_computed():
    s = ac.summary(models.LeNet5(), (1, 28, 28))
    names = [r.name for r in s]
    assert names == ["features.0", "features.1", "features.2", "features.3", "features.4",
                     "features.5", "classifier.0", "classifier.1", "classifier.2",
                     "classifier.3", "classifier.4", "classifier.5"]
    assert [r.output_shape for r in s] == [(6, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10),
                                           (16, 10, 10), (16, 5, 5), (400,), (120,), (120,),
                                           (84,), (84,), (10,)]
    assert [r.params for r in s] == [156, 0, 0, 2416, 0, 0, 0, 48120, 0, 10164, 0, 850]
    assert s.total_params == 61706 == s.trainable_params
    assert [r.receptive_field for r in s][:6] == [5, 5, 6, 14, 14, 16]
    assert [r.jump for r in s][:6] == [1, 1, 2, 2, 2, 4]
    assert [r.start for r in s][:6] == [0, 0, 0.5, 4.5, 4.5, 5.5]
    assert all(r.receptive_field is None for r in s[6:])
    assert s.total_macs == 6 * 28 * 28 * 25 + 16 * 10 * 10 * 6 * 25 + 400 * 120 + 120 * 84 + 840
    text = str(s)
    assert "features.0 (Conv2d)" in text and "61,706" in text and "(6, 28, 28)" in text
    assert "Total MACs" in text and text.count("\n") > 12


def test_summary_leaves_model_untouched():
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Dropout(0.5), nn.Linear(3, 2))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    s = ac.summary(net, (4,))
    assert net.training and all(m.training for m in net.modules())
    assert all(p.grad is None for p in net.parameters())
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    assert "forward" not in net[0].__dict__
    assert [r.params for r in s] == [15, 6, 0, 8] and s.total_macs == 12 + 6
    assert all(r.receptive_field is None for r in s)
    with pytest.raises(TypeError):
        ac.summary(lambda x: x, (4,))


def test_alexnet_receptive_field_and_macs():
    s = ac.summary(models.AlexNet(), (3, 224, 224))
    convs = [r for r in s if r.layer_type in ("Conv2d", "MaxPool2d")]
    assert [r.receptive_field for r in convs] == [11, 19, 51, 67, 99, 131, 163, 195]
    assert [r.jump for r in convs] == [4, 8, 8, 16, 16, 16, 16, 32]
    assert convs[-1].start == 31 and convs[-1].output_shape == (256, 6, 6)
    assert s.total_params == 61100840
    assert s.total_macs == 714188480


def test_main_summary(capsys):
    assert main_summary(["lenet5"]) == 0
    out = capsys.readouterr().out
    assert "LeNet5" in out and "61,706" in out
    assert main_summary(["conv1dnet", "--input-shape", "1,40"]) == 0
    assert "Conv1DNet" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main_summary(["nonet"])


@requires_torch
def test_param_counts_match_pytorch():
    tn = torch.nn
    pairs = [(nn.Conv1d(3, 5, 4, groups=1), tn.Conv1d(3, 5, 4)),
             (nn.Conv2d(4, 6, (3, 2), groups=2), tn.Conv2d(4, 6, (3, 2), groups=2)),
             (nn.Conv2d(4, 6, 3, bias=False), tn.Conv2d(4, 6, 3, bias=False)),
             (nn.Linear(7, 3), tn.Linear(7, 3)), (nn.BatchNorm2d(5), tn.BatchNorm2d(5)),
             (nn.BatchNorm1d(5, affine=False), tn.BatchNorm1d(5, affine=False))]
    for ours, theirs in pairs:
        shape = {nn.Conv1d: (3, 10), nn.Conv2d: (4, 8, 8), nn.Linear: (7,),
                 nn.BatchNorm2d: (5, 3, 3), nn.BatchNorm1d: (5,)}[type(ours)]
        s = ac.summary(ours, shape)
        assert s.total_params == s[0].params == sum(p.numel() for p in theirs.parameters())


# ------------------------------------------------- receptive field checked through gradients
from hypothesis import given, settings, strategies as st  # noqa: E402

layer_spec = st.one_of(
    st.tuples(st.just("conv"), st.integers(1, 4), st.integers(1, 2), st.integers(0, 2),
              st.integers(1, 2)),
    st.tuples(st.just("avg"), st.integers(2, 3), st.integers(1, 2), st.integers(0, 1),
              st.just(1)))


@settings(max_examples=30, deadline=None)
@given(st.lists(layer_spec, min_size=1, max_size=4))
def test_receptive_field_matches_gradient_support(specs):
    """The input pixels that influence one output unit (non-zero gradient, with positive
    weights so nothing cancels) span exactly [centre - (r-1)/2, centre + (r-1)/2] with
    centre = start + i * jump, whenever that interval lies inside the input."""
    L = 48
    layers = []
    for kind, k, s, p, d in specs:
        if kind == "conv":
            conv = nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, dtype=np.float64)
            conv.weight.numpy()[...] = np.random.default_rng(k).uniform(0.5, 1.0, conv.weight.shape)
            layers.append(conv)
        else:
            layers.append(nn.AvgPool1d(k, s, min(p, k // 2)))
    net = nn.Sequential(*layers)
    try:
        s = ac.summary(net, (1, L))
    except ValueError:
        return  # the input is too short for this stack
    last = s[-1]
    r, j, start = last.receptive_field, last.jump, last.start
    x = ac.tensor(np.random.default_rng(0).uniform(1, 2, (1, 1, L)), requires_grad=True)
    y = net(x)
    assert y.shape[1:] == last.output_shape
    inside = [i for i in range(y.shape[2])
              if start + i * j - (r - 1) / 2 >= 0 and start + i * j + (r - 1) / 2 <= L - 1]
    for i in sorted(set(inside[:1] + inside[len(inside) // 2:][:1] + inside[-1:])):
        lo, hi = start + i * j - (r - 1) / 2, start + i * j + (r - 1) / 2
        x.grad = None
        y2 = net(x)
        y2[0, 0, i].backward()
        support = np.nonzero(x.grad.numpy()[0, 0])[0]
        assert support.min() == lo and support.max() == hi, (i, lo, hi, support)
