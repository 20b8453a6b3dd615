"""nn.Module bookkeeping: registration, names, state dicts, modes, dtype conversion, repr, init."""
import math
from collections import OrderedDict

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import nn
from autograd_cnn.nn import init
from _support import requires_torch, torch


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(Block(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 1, bias=False))
        self.head = nn.Linear(4 * 2 * 2, 5)
        self.register_buffer("scale", ac.tensor(np.ones(1, np.float32)))
        self.register_buffer("scratch", ac.tensor(np.zeros(2, np.float32)), persistent=False)

    def forward(self, x):
        x = self.features(x)
        return self.head(x.reshape((x.shape[0], -1))) * self.scale


EXPECTED_KEYS = ["features.0.conv.weight", "features.0.conv.bias", "features.0.bn.weight",
                 "features.0.bn.bias", "features.0.bn.running_mean", "features.0.bn.running_var",
                 "features.0.bn.num_batches_tracked", "features.2.weight", "head.weight",
                 "head.bias"]


def test_parameter_is_tensor_requiring_grad():
    p = nn.Parameter(np.zeros(3, np.float32))
    assert isinstance(p, ac.Tensor) and p.requires_grad
    assert not nn.Parameter(np.zeros(3), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:")
    with pytest.raises(TypeError):
        nn.Parameter(np.zeros(3, np.int64))


def test_names_follow_pytorch():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["features.0.conv.weight", "features.0.conv.bias", "features.0.bn.weight",
                     "features.0.bn.bias", "features.2.weight", "head.weight", "head.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "scale", "scratch", "features.0.bn.running_mean", "features.0.bn.running_var",
        "features.0.bn.num_batches_tracked"]
    assert list(net.state_dict().keys()) == ["scale"] + EXPECTED_KEYS
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert [n for n, _ in net.named_modules()] == [
        "", "features", "features.0", "features.0.conv", "features.0.bn", "features.0.act",
        "features.1", "features.2", "head"]
    assert len(list(net.modules())) == 9 and len(list(net.children())) == 2
    assert [n for n, _ in net.features[0].named_parameters(prefix="x")][0] == "x.conv.weight"
    assert len(list(net.parameters(recurse=False))) == 0


def test_shared_parameters_listed_once():
    lin = nn.Linear(3, 3)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(seq.parameters())) == 2
    assert list(seq.state_dict().keys()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_attribute_rules():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="weight"):
        m.weight = ac.tensor(np.zeros((2, 2), np.float32))
    m.bias = None
    assert "bias" not in m.state_dict()
    with pytest.raises(AttributeError, match="nothing"):
        _ = m.nothing

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.zeros(1, np.float32))

    with pytest.raises(AttributeError, match="super"):
        Early()
    with pytest.raises(KeyError):
        m.register_buffer("weight", ac.tensor(np.zeros(1)))
    with pytest.raises(ValueError):
        m.register_buffer("a.b", ac.tensor(np.zeros(1)))
    s = nn.Sequential(nn.ReLU())
    s.add_module("x", nn.Tanh())
    del s.x
    assert len(s) == 1


def test_sequential_and_modulelist():
    s = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    assert len(s) == 3 and isinstance(s[0], nn.Linear) and isinstance(s[-1], nn.Linear)
    sub = s[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2
    assert list(sub.state_dict().keys()) == ["2.weight", "2.bias"]  # names are kept
    with pytest.raises(IndexError):
        s[3]
    x = ac.tensor(np.ones((5, 3), np.float32))
    ref = s[2](s[1](s[0](x)))
    np.testing.assert_array_equal(s(x).numpy(), ref.numpy())
    od = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 2)), ("act", nn.Tanh())]))
    assert list(od.state_dict().keys()) == ["fc.weight", "fc.bias"]
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    ml.append(nn.ReLU())
    assert len(ml) == 4 and len(list(ml.parameters())) == 6
    assert [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    with pytest.raises(TypeError):
        nn.Sequential(nn.ReLU(), 3)


def test_state_dict_values_are_tensors_sharing_the_parameters_memory():
    m = nn.Linear(2, 3)
    sd = m.state_dict()  # as in PyTorch: detached Tensors over the same memory
    assert all(type(v) is ac.Tensor and not v.requires_grad for v in sd.values())
    sd["weight"].fill_(7)
    assert np.all(m.weight.numpy() == 7)


def test_load_state_dict_round_trip_and_errors():
    a, b = Net(), Net()
    result = b.load_state_dict(a.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)

    sd = a.state_dict()
    before = {k: v.clone() for k, v in b.state_dict().items()}
    bad = dict(sd)
    bad["head.weight"] = np.zeros((5, 3), np.float32)
    with pytest.raises(ValueError, match=r"shape mismatch for 'head.weight'.*\(5, 3\).*\(5, 16\)"):
        b.load_state_dict(bad)
    bad = dict(sd)
    bad["head.bias"] = sd["head.bias"].astype(np.float64)
    with pytest.raises(ValueError, match="dtype mismatch for 'head.bias'.*float64.*float32"):
        b.load_state_dict(bad)
    bad = dict(sd)
    del bad["head.bias"]
    bad["head.extra"] = np.zeros(1)
    with pytest.raises(ValueError, match="missing key.*head.bias.*\n.*unexpected.*head.extra"):
        b.load_state_dict(bad)
    # nothing was copied by the failed loads
    for k, v in before.items():
        np.testing.assert_array_equal(b.state_dict()[k], v)
    res = b.load_state_dict(bad, strict=False)
    assert res.missing_keys == ["head.bias"] and res.unexpected_keys == ["head.extra"]
    with pytest.raises(TypeError):
        b.load_state_dict([1, 2])


def test_load_state_dict_accepts_tensors():
    m = nn.Linear(2, 2)
    w = ac.tensor(np.full((2, 2), 3.0, np.float32))
    m.load_state_dict({"weight": w, "bias": np.zeros(2, np.float32)})
    np.testing.assert_array_equal(m.weight.numpy(), 3.0)


def test_train_eval_zero_grad_apply():
    net = Net()
    assert net.training and all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    x = ac.tensor(np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    order = []
    net.apply(lambda m: order.append(type(m).__name__))
    assert order[-1] == "Net" and order[0] == "Conv2d"
    net.apply(lambda m: init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert not net.head.weight.numpy().any()


def test_to_dtype_keeps_parameter_identity():
    net = Net()
    params = list(net.parameters())
    assert net.double() is net
    assert all(p.numpy().dtype == np.float64 for p in net.parameters())
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert net.features[0].bn.running_var.numpy().dtype == np.float64
    assert net.features[0].bn.num_batches_tracked.numpy().dtype == np.int64
    x = ac.tensor(np.zeros((1, 2, 4, 4)))
    assert net(x).dtype == np.float64
    net.float()
    assert all(p.numpy().dtype == np.float32 for p in net.parameters())
    with pytest.raises(TypeError):
        net.to(np.int32)


def test_layer_dtype_argument():
    assert nn.Linear(2, 3, dtype=np.float64).weight.numpy().dtype == np.float64
    assert nn.Conv1d(2, 3, 3, dtype=np.float64).bias.numpy().dtype == np.float64
    assert nn.BatchNorm1d(3, dtype=np.float64).running_mean.numpy().dtype == np.float64
    assert nn.Linear(2, 3).weight.numpy().dtype == np.float32
    with pytest.raises(TypeError):
        nn.Linear(2, 3, dtype=np.int32)


def test_repr_matches_pytorch_style():
    s = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(10, 2, bias=False))
    text = repr(s)
    assert text == (
        "Sequential(\n"
        "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))\n"
        "  (1): ReLU()\n"
        "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)\n"
        "  (3): Flatten(start_dim=1, end_dim=-1)\n"
        "  (4): Linear(in_features=10, out_features=2, bias=False)\n"
        ")")
    nested = repr(Net())
    assert "(features): Sequential(\n    (0): Block(\n      (conv): Conv2d" in nested
    if torch is not None:
        t = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(),
                                torch.nn.MaxPool2d(2), torch.nn.Flatten(),
                                torch.nn.Linear(10, 2, bias=False))
        assert repr(t) == text


@requires_torch
def test_bn_repr_matches_pytorch():
    assert repr(nn.BatchNorm2d(4)) == repr(torch.nn.BatchNorm2d(4))
    assert repr(nn.BatchNorm1d(4, momentum=None, affine=False)) == repr(
        torch.nn.BatchNorm1d(4, momentum=None, affine=False))
    assert repr(nn.Conv1d(4, 8, 3, stride=2, groups=2, bias=False)) == repr(
        torch.nn.Conv1d(4, 8, 3, stride=2, groups=2, bias=False))
    assert repr(nn.Dropout(0.3)) == repr(torch.nn.Dropout(0.3))
    assert repr(nn.LeakyReLU(0.2)) == repr(torch.nn.LeakyReLU(0.2))
    assert repr(nn.AdaptiveAvgPool2d((6, 6))) == repr(torch.nn.AdaptiveAvgPool2d((6, 6)))


# ------------------------------------------------------------------------------------ init
def test_calculate_gain():
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    assert init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
    if torch is not None:
        for name in ("relu", "tanh", "sigmoid", "selu", "leaky_relu"):
            assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name))


def test_init_statistics_and_seeding():
    w = ac.tensor(np.empty((200, 100, 3, 3), np.float32))  # fan_in 900, fan_out 1800
    init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1 / math.sqrt(900)
    assert np.abs(w.numpy()).max() <= bound and np.abs(w.numpy()).max() > 0.99 * bound
    init.kaiming_normal_(w, nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 900), rel=0.02)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 1800), rel=0.02)
    init.xavier_uniform_(w, gain=2.0)
    b = 2.0 * math.sqrt(6 / 2700)
    assert np.abs(w.numpy()).max() <= b and w.numpy().std() == pytest.approx(b / math.sqrt(3), rel=0.02)
    init.xavier_normal_(w)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 2700), rel=0.02)
    init.normal_(w, 1.0, 0.5)
    assert w.numpy().mean() == pytest.approx(1.0, abs=0.01)
    init.uniform_(w, -2, -1)
    assert w.numpy().min() >= -2 and w.numpy().max() <= -1
    init.constant_(w, 0.25)
    assert np.all(w.numpy() == 0.25)
    init.ones_(w)
    assert np.all(w.numpy() == 1)
    assert init.zeros_(w) is w and not w.numpy().any()
    with pytest.raises(ValueError):
        init.kaiming_uniform_(ac.tensor(np.zeros(3)))
    with pytest.raises(ValueError):
        init.kaiming_uniform_(w, mode="fan_middle")

    ac.manual_seed(3)
    l1 = nn.Linear(4, 5)
    ac.manual_seed(3)
    l2 = nn.Linear(4, 5)
    np.testing.assert_array_equal(l1.weight.numpy(), l2.weight.numpy())
    np.testing.assert_array_equal(l1.bias.numpy(), l2.bias.numpy())
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(init.normal_(np.zeros(4), generator=g1),
                                  init.normal_(np.zeros(4), generator=g2))


def test_default_init_bounds():
    ac.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, groups=2)  # fan_in = 4 * 9
    bound = 1 / math.sqrt(36)
    for t in (conv.weight, conv.bias):
        assert np.abs(t.numpy()).max() <= bound and np.abs(t.numpy()).max() > 0.8 * bound
    lin = nn.Linear(50, 400)
    assert np.abs(lin.weight.numpy()).max() <= 1 / math.sqrt(50)
    assert lin.weight.numpy().std() == pytest.approx(1 / math.sqrt(50) / math.sqrt(3), rel=0.03)


def test_deepcopy_and_pickle():
    import copy
    import pickle
    net = Net()
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert isinstance(clone.head.weight, nn.Parameter) and clone.head.weight.requires_grad
        assert clone.head.weight is not net.head.weight
        for k, v in net.state_dict().items():
            np.testing.assert_array_equal(clone.state_dict()[k], v)


def test_buffers_of_loss_modules_and_ndarray_buffers():
    w = np.array([1.0, 2.0], np.float32)
    assert list(nn.CrossEntropyLoss(weight=w).state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    m = nn.Module()
    m.register_buffer("table", np.arange(3.0))
    assert isinstance(m.table, ac.Tensor) and list(m.state_dict()) == ["table"]
    m.table = ac.tensor(np.zeros(3))
    assert not m.state_dict()["table"].any()
    with pytest.raises(TypeError, match="buffer"):
        m.table = np.zeros(3)
    with pytest.raises(NotImplementedError):
        m(1)


def test_registered_reads_what_the_attribute_reads():
    # Module._registered (the small layers' fast read of parameters and buffers) returns what
    # self.<name> returns: the registry's entry, or a subclass's property, or an AttributeError
    conv = nn.Conv1d(2, 3, 3)
    assert conv._registered("weight") is conv.weight
    assert conv._registered("bias") is conv.bias
    bn = nn.BatchNorm1d(3)
    assert bn._registered("running_mean") is bn.running_mean
    conv.bias = None
    assert conv._registered("bias") is None
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        conv._registered("nothing")

    class Standardized(nn.Conv1d):
        @property
        def weight(self):  # a property in place of the registered weight
            w = self._parameters["raw"]
            return (w - w.mean()) / (w.std() + 1e-5)

    m = Standardized.__new__(Standardized)
    nn.Module.__init__(m)
    m.raw = nn.Parameter(np.random.default_rng(0).standard_normal((3, 2, 3)))
    m._parameters["weight"] = nn.Parameter(np.zeros((3, 2, 3)))  # shadowed by the property
    got = m._registered("weight").numpy()
    np.testing.assert_allclose(got, m.weight.numpy())
    assert np.abs(got).max() > 0

    class Doubled(nn.Conv1d):
        def __getattr__(self, name):  # a subclass's own lookup of registered names
            value = super().__getattr__(name)
            return value * 2.0 if name == "weight" else value

    d = Doubled(2, 3, 3)
    np.testing.assert_array_equal(d._registered("weight").numpy(),
                                  d._parameters["weight"].numpy() * 2.0)
    assert d._registered("bias") is d._parameters["bias"]
