"""Lazy layers (nn/lazy.py): the input size is read at the first call, the parameters are
materialized in place with the eager layer's initialisation, the module becomes its eager
class, and state dicts, optimizers and the summary work as in PyTorch."""
import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn

from _support import requires_torch, torch


def _net():
    return nn.Sequential(nn.LazyConv2d(4, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(),
                         nn.LazyConvTranspose2d(2, 2, stride=2), nn.Flatten(),
                         nn.LazyLinear(5), nn.LazyBatchNorm1d())


def test_first_call_infers_sizes_and_becomes_eager():
    ac.manual_seed(0)
    net = _net()
    assert all(isinstance(p, nn.UninitializedParameter) for p in net.parameters())
    assert net[0].in_channels == 0 and "LazyConv2d(0, 4" in repr(net)
    keys_before = list(net.state_dict())
    y = net(ac.randn(3, 3, 4, 4))
    assert y.shape == (3, 5)
    assert [type(m).__name__ for m in net] == ["Conv2d", "BatchNorm2d", "ReLU",
                                               "ConvTranspose2d", "Flatten", "Linear",
                                               "BatchNorm1d"]
    assert (net[0].in_channels, net[1].num_features, net[3].in_channels,
            net[5].in_features, net[6].num_features) == (3, 4, 4, 128, 5)
    assert net[0].weight.shape == (4, 3, 3, 3) and net[3].weight.shape == (4, 2, 2, 2)
    assert list(net.state_dict()) == keys_before  # same keys, same order
    assert not any(isinstance(p, nn.UninitializedParameter) for p in net.parameters())
    # PyTorch's default initialisation, with the inferred fan_in
    bound = 1 / np.sqrt(128)
    assert 0.8 * bound < np.abs(net[5].weight.numpy()).max() <= bound
    assert net[1].running_mean.shape == net[1].running_var.shape == (4,)
    assert int(net[1].num_batches_tracked.item()) == 1
    assert net[1].weight.numpy().tolist() == [1, 1, 1, 1]


def test_optimizer_built_before_the_first_call_trains_the_same_parameters():
    ac.manual_seed(1)
    net = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.LazyLinear(1))
    params = list(net.parameters())
    opt = ac.optim.SGD(net.parameters(), lr=0.1)
    x = ac.randn(8, 4)
    net(x)
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    before = net[0].weight.numpy().copy()
    loss = (net(x) ** 2).mean()
    loss.backward()
    opt.step()
    assert not np.array_equal(before, net[0].weight.numpy())


def test_summary_after_one_call_and_state_dict_round_trip():
    ac.manual_seed(2)
    net = _net()
    x = ac.randn(2, 3, 4, 4)
    net(x)
    s = ac.summary(net, (3, 4, 4))
    assert s.total_params == sum(p.numpy().size for p in net.parameters()) > 0
    fresh = _net()
    fresh.load_state_dict(net.state_dict())  # shapes come from the checkpoint
    net.eval(), fresh.eval()
    np.testing.assert_array_equal(fresh(x).numpy(), net(x).numpy())
    assert type(fresh[0]) is nn.Conv2d and fresh[0].in_channels == 3


def test_partial_checkpoint_keeps_loaded_values():
    m = nn.LazyLinear(3)
    bias = np.array([1.0, 2.0, 3.0], np.float32)
    m.load_state_dict({"bias": bias}, strict=False)
    assert type(m) is nn.LazyLinear  # the weight still waits for an input
    m(ac.randn(2, 4))
    np.testing.assert_array_equal(m.bias.numpy(), bias)
    assert m.weight.shape == (3, 4) and np.abs(m.weight.numpy()).max() > 0


def test_unbatched_dtype_and_errors():
    m = nn.LazyConv1d(2, 3, groups=2, dtype=np.float64)
    with pytest.raises(ValueError, match="multiple of groups"):
        m(ac.randn(1, 3, 5, dtype=np.float64))
    assert m(ac.randn(4, 5, dtype=np.float64)).shape == (2, 3)  # unbatched (C, L)
    assert m.weight.dtype == np.float64 and m.in_channels == 4
    with pytest.raises(TypeError, match="Tensor"):
        nn.LazyLinear(2)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="3D"):
        nn.LazyBatchNorm1d()(ac.randn(2, 3, 4, 5))
    assert nn.LazyLinear(2, bias=False)(ac.randn(1, 3)).shape == (1, 2)
    bare = nn.LazyBatchNorm2d(affine=False, track_running_stats=False)  # nothing to materialize
    assert bare(ac.randn(2, 3, 2, 2)).shape == (2, 3, 2, 2)
    assert type(bare) is nn.BatchNorm2d and bare.num_features == 3


@requires_torch
def test_matches_pytorch_lazy_modules():
    ours, theirs = _net(), torch.nn.Sequential(
        torch.nn.LazyConv2d(4, 3, padding=1), torch.nn.LazyBatchNorm2d(), torch.nn.ReLU(),
        torch.nn.LazyConvTranspose2d(2, 2, stride=2), torch.nn.Flatten(),
        torch.nn.LazyLinear(5), torch.nn.LazyBatchNorm1d())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((3, 3, 4, 4)).astype(np.float32)
    ours(ac.tensor(x))
    theirs(torch.tensor(x))
    assert {k: tuple(np.shape(v)) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    # a lazy PyTorch model's checkpoint loads into a fresh lazy model here
    fresh = _net()
    fresh.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    fresh.eval(), theirs.eval()
    np.testing.assert_allclose(fresh(ac.tensor(x)).numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
