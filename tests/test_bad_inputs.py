"""The bad-input catalogue: each public entry point given something it cannot take answers with
a Python exception of the right type whose message names the argument (and says what it needs),
never a crash, a hang or a silently wrong result. One row per case: the call, the exception
type, words its message must contain. The command line's rows are in tests/test_cli.py."""
import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import datasets, nn, optim
from autograd_cnn.data import DataLoader, TensorDataset
from _support import restore_backend  # noqa: F401  (fixture)


def x4(shape=(1, 2, 8, 8), dtype=np.float32):
    return ac.tensor(np.ones(shape, dtype))


def w4(shape=(3, 2, 3, 3), dtype=np.float32):
    return ac.tensor(np.ones(shape, dtype))


CATALOGUE = [
    # convolution
    ("conv2d 3-d weight", lambda: F.conv2d(x4(), ac.ones(3, 2, 3)), ValueError, ["weight"]),
    ("conv2d channel mismatch", lambda: F.conv2d(x4(), w4((3, 5, 3, 3))), ValueError,
     ["channel"]),
    ("conv2d stride 0", lambda: F.conv2d(x4(), w4(), stride=0), ValueError, ["stride"]),
    ("conv2d negative padding", lambda: F.conv2d(x4(), w4(), padding=-1), ValueError,
     ["padding"]),
    ("conv2d dilation 0", lambda: F.conv2d(x4(), w4(), dilation=0), ValueError, ["dilation"]),
    ("conv2d groups not dividing", lambda: F.conv2d(x4(), w4((3, 1, 3, 3)), groups=2),
     ValueError, ["groups"]),
    ("conv2d unknown padding word", lambda: F.conv2d(x4(), w4(), padding="full"), ValueError,
     ["padding"]),
    ("conv2d 'same' with stride", lambda: F.conv2d(x4(), w4(), padding="same", stride=2),
     ValueError, ["same", "stride"]),
    ("conv2d kernel larger than input", lambda: F.conv2d(x4((1, 2, 2, 2)), w4()), ValueError,
     ["kernel"]),
    ("conv2d float stride", lambda: F.conv2d(x4(), w4(), stride=1.5), TypeError, ["stride"]),
    ("conv2d bias of wrong length", lambda: F.conv2d(x4(), w4(), ac.ones(4)), ValueError,
     ["bias"]),
    ("conv2d window argument beyond 2**31", lambda: F.conv2d(x4(), w4(), stride=2 ** 40),
     ValueError, ["stride"]),
    ("conv1d 4-d input", lambda: F.conv1d(x4(), ac.ones(3, 2, 3)), ValueError, ["input"]),
    ("Conv2d zero channels", lambda: nn.Conv2d(0, 3, 3), ValueError, ["in_channels"]),
    ("Conv2d groups not dividing", lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError,
     ["groups"]),
    ("Conv2d padding_mode", lambda: nn.Conv2d(1, 1, 3, padding_mode="reflect"), ValueError,
     ["padding_mode"]),
    # pooling
    ("max_pool2d kernel 0", lambda: F.max_pool2d(x4(), 0), ValueError, ["kernel_size"]),
    ("max_pool2d padding over half the kernel", lambda: F.max_pool2d(x4(), 2, padding=2),
     ValueError, ["padding"]),
    ("avg_pool2d stride 0", lambda: F.avg_pool2d(x4(), 2, stride=0), ValueError, ["stride"]),
    ("avg_pool2d divisor_override 0", lambda: F.avg_pool2d(x4(), 2, divisor_override=0),
     ValueError, ["divisor_override"]),
    ("max_pool2d 5-d input", lambda: F.max_pool2d(ac.ones(1, 1, 1, 4, 4), 2), ValueError,
     ["input"]),
    ("adaptive_avg_pool2d size 0", lambda: F.adaptive_avg_pool2d(x4(), 0), ValueError,
     ["output_size"]),
    # layers, losses, optimizers, data
    ("Linear zero features", lambda: nn.Linear(0, 3), ValueError, ["in_features"]),
    ("BatchNorm2d zero features", lambda: nn.BatchNorm2d(0), ValueError, ["num_features"]),
    ("BatchNorm2d wrong channels", lambda: nn.BatchNorm2d(3)(x4()), ValueError, ["channels"]),
    ("Dropout p above 1", lambda: nn.Dropout(1.5), ValueError, ["p"]),
    ("cross_entropy target out of range",
     lambda: F.cross_entropy(ac.ones(2, 3), ac.tensor(np.array([0, 3]))), ValueError,
     ["target"]),
    ("SGD negative lr", lambda: optim.SGD(nn.Linear(2, 2).parameters(), lr=-1), ValueError,
     ["lr"]),
    ("Adam beta above 1", lambda: optim.Adam(nn.Linear(2, 2).parameters(), betas=(0.9, 1.5)),
     ValueError, ["beta"]),
    ("DataLoader batch_size 0",
     lambda: DataLoader(TensorDataset(np.ones((4, 2))), batch_size=0), ValueError,
     ["batch_size"]),
    ("TensorDataset lengths differ",
     lambda: TensorDataset(np.ones((4, 2)), np.ones(3)), ValueError, ["samples"]),
    # tensors
    ("tensor of objects", lambda: ac.tensor(np.array([object()])), TypeError, ["data type"]),
    ("reshape to a wrong size", lambda: ac.ones(2, 3).reshape(4, 2), ValueError, ["shape"]),
    ("backward of a non-scalar without a gradient",
     lambda: ac.ones(2, requires_grad=True).exp().backward(), RuntimeError, ["scalar"]),
    # backend
    ("set_num_threads 0", lambda: ac.set_num_threads(0), ValueError, ["set_num_threads"]),
    ("set_num_threads 2**40", lambda: ac.set_num_threads(2 ** 40), ValueError,
     ["set_num_threads", "1024"]),
    ("set_num_threads float", lambda: ac.set_num_threads(1.5), TypeError, ["set_num_threads"]),
    ("set_isa unknown", lambda: ac.set_isa("sse9"), ValueError, ["sse9"]),
    ("buffer cache limit negative", lambda: ac.backend.set_buffer_cache_limit(-1), ValueError,
     ["nbytes"]),
    # files
    ("load missing", lambda: ac.load("/nonexistent/c.npz"), FileNotFoundError, ["c.npz"]),
    ("save path of a wrong type", lambda: ac.save({}, 3), TypeError, ["path"]),
    ("save into a missing directory", lambda: ac.save({}, "/nonexistent/dir/c.npz"),
     FileNotFoundError, ["/nonexistent/dir/c.npz"]),
    ("load_idx missing", lambda: datasets.load_idx("/nonexistent/x-idx"), FileNotFoundError,
     ["x-idx"]),
    ("dataset unknown", lambda: datasets.load("cifar1000"), ValueError, ["cifar1000"]),
]


@pytest.mark.parametrize("call, exc, words", [row[1:] for row in CATALOGUE],
                         ids=[row[0] for row in CATALOGUE])
def test_bad_input_is_refused_clearly(call, exc, words, restore_backend):
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), message

