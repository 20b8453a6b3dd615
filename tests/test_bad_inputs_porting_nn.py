"""The bad-input catalogue (as tests/test_bad_inputs.py) for the layers, functions and
optimizers added for PyTorch porting: each call answers with an exception of the right type
whose message names the argument."""
import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import nn, optim
from autograd_cnn.optim import lr_scheduler as S

from test_bad_inputs import test_bad_input_is_refused_clearly as _check  # the same assertion
from _support import restore_backend  # noqa: F401  (fixture)


def _p():
    return [ac.tensor(np.zeros(2), requires_grad=True)]


CATALOGUE = [
    ("conv_transpose2d weight channels", lambda: F.conv_transpose2d(ac.randn(1, 3, 4, 4),
                                                                    ac.randn(4, 2, 3, 3)),
     ValueError, ["input channels"]),
    ("conv_transpose2d output_padding", lambda: F.conv_transpose2d(
        ac.randn(1, 4, 4, 4), ac.randn(4, 2, 3, 3), stride=2, output_padding=2), ValueError,
     ["output_padding"]),
    ("conv_transpose2d 'same'", lambda: F.conv_transpose2d(
        ac.randn(1, 4, 4, 4), ac.randn(4, 2, 3, 3), padding="same"), ValueError, ["padding"]),
    ("conv_transpose1d ndarray list", lambda: F.conv_transpose1d([[1.0]], ac.randn(1, 1, 1)),
     TypeError, ["input"]),
    ("ConvTranspose2d groups", lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), ValueError,
     ["groups"]),
    ("LazyConv2d float out_channels", lambda: nn.LazyConv2d(2.5, 3), ValueError,
     ["out_channels"]),
    ("LazyLinear 0-d input", lambda: nn.LazyLinear(2)(ac.tensor(1.0)), ValueError,
     ["last axis"]),
    ("layer_norm shape", lambda: F.layer_norm(ac.randn(2, 3), (2, 3, 4)), ValueError,
     ["normalized_shape"]),
    ("layer_norm eps", lambda: F.layer_norm(ac.randn(2, 3), 3, eps=-1), ValueError, ["eps"]),
    ("group_norm groups", lambda: F.group_norm(ac.randn(2, 6), 4), ValueError, ["num_groups"]),
    ("GroupNorm zero groups", lambda: nn.GroupNorm(0, 4), ValueError, ["num_groups"]),
    ("gelu approximate", lambda: F.gelu(ac.randn(3), approximate="erf"), ValueError,
     ["approximate"]),
    ("pad odd length", lambda: F.pad(ac.randn(2, 3), (1, 2, 3)), ValueError, ["pad"]),
    ("pad float width", lambda: F.pad(ac.randn(2, 3), (1.5, 1)), TypeError, ["pad"]),
    ("pad reflect too wide", lambda: F.pad(ac.randn(1, 2, 3), (0, 3), "reflect"), ValueError,
     ["reflect"]),
    ("pad circular too wide", lambda: F.pad(ac.randn(1, 2, 3), (4, 0), "circular"), ValueError,
     ["circular"]),
    ("pad value with reflect", lambda: F.pad(ac.randn(1, 2, 3), (1, 1), "reflect", 2.0),
     ValueError, ["value"]),
    ("pad crop beyond input", lambda: F.pad(ac.randn(2, 3), (-2, -2)), ValueError, ["crop"]),
    ("dropout p", lambda: F.dropout(ac.randn(3), 1.5), ValueError, ["p must be"]),
    ("Dropout2d p", lambda: nn.Dropout2d(-0.1), ValueError, ["p must be"]),
    ("dropout1d 4-d", lambda: F.dropout1d(ac.randn(1, 2, 3, 4)), ValueError, ["3-D"]),
    ("binary_cross_entropy range", lambda: F.binary_cross_entropy(ac.tensor([-0.1]),
                                                                  ac.tensor([0.0])),
     ValueError, ["between 0 and 1"]),
    ("binary_cross_entropy weight", lambda: F.binary_cross_entropy(
        ac.tensor([0.5, 0.5]), ac.tensor([0.0, 1.0]), weight=np.ones(3)), ValueError,
     ["weight"]),
    ("BCELoss reduction", lambda: nn.BCELoss(reduction="avg"), ValueError, ["reduction"]),
    ("pixel_shuffle factor", lambda: F.pixel_shuffle(ac.randn(1, 4, 2, 2), 0), ValueError,
     ["upscale_factor"]),
    ("pixel_unshuffle size", lambda: F.pixel_unshuffle(ac.randn(1, 1, 3, 4), 2), ValueError,
     ["divisible"]),
    ("orthogonal_ 1-d", lambda: nn.init.orthogonal_(ac.tensor(np.zeros(3))), ValueError,
     ["dimensions"]),
    ("Adadelta negative lr", lambda: optim.Adadelta(_p(), lr=-1), ValueError, ["lr"]),
    ("Adagrad eps type", lambda: optim.Adagrad(_p(), eps="small"), TypeError, ["eps"]),
    ("LambdaLR not callable", lambda: S.LambdaLR(optim.SGD(_p()), 0.5), TypeError,
     ["lr_lambda"]),
    ("OneCycleLR pct_start", lambda: S.OneCycleLR(optim.SGD(_p(), momentum=0.9), 1.0,
                                                  total_steps=10, pct_start=1.5), ValueError,
     ["pct_start"]),
    ("OneCycleLR max_lr per group", lambda: S.OneCycleLR(optim.SGD(_p(), momentum=0.9),
                                                         [1.0, 2.0], total_steps=10),
     ValueError, ["max_lr"]),
]


@pytest.mark.parametrize("call, exc, words", [row[1:] for row in CATALOGUE],
                         ids=[row[0] for row in CATALOGUE])
def test_bad_input_is_refused_clearly(call, exc, words, restore_backend):
    _check(call, exc, words, restore_backend)
