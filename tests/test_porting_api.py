"""The PyTorch API that ported scripts use (issue 15, core part): ``Tensor.data`` and its in-place
methods, state dicts of Tensors, devices, dtype names, the small ops (sin, cos, bmm, meshgrid,
normal, t, repeat, split, chunk), NumPy's ``axis=`` aliases and pooling's tuple forms. Each is
checked against NumPy written here and, where installed, against PyTorch."""
import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import nn
from tests._support import requires_torch, torch


# ------------------------------------------------------------------------- Tensor.data ----
def test_data_is_a_detached_tensor_sharing_memory():
    x = ac.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    for t in (x, y):
        d = t.data
        assert type(d) is ac.Tensor and not d.requires_grad and d.is_leaf and d.grad_fn is None
        assert d.numpy() is t.numpy()
    x.data.mul_(10)  # allowed outside no_grad: the alias does not require grad
    np.testing.assert_array_equal(x.numpy(), [10, 20, 30])
    p = nn.Parameter(np.ones(2, np.float32))
    assert type(p.data) is ac.Tensor
    x.data = ac.tensor([7.0, 8.0, 9.0])  # the setter replaces the values
    np.testing.assert_array_equal(x.numpy(), [7, 8, 9])


@pytest.mark.parametrize("call", ["add_(1.0)", "sub_(1.0)", "mul_(2.0)", "div_(2.0)", "zero_()",
                                  "fill_(3.0)", "copy_(ac.tensor([4.0, 5.0]))",
                                  "clamp_(0.0, 0.5)", "uniform_()", "normal_()"])
def test_inplace_through_data_bumps_the_shared_version(call):
    x = ac.tensor([0.25, 0.75], requires_grad=True)
    y = (x * x).sum()  # saves x
    before = x._version
    eval(f"x.data.{call}")
    assert x._version == before + 1 and x.data._version == x._version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_change_under_a_saved_alias_is_caught_too():
    x = ac.tensor([1.0, 2.0])
    w = ac.tensor([3.0, 4.0], requires_grad=True)
    y = (x.detach() * w).sum()  # saves the alias x.detach()
    with ac.no_grad():
        x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@requires_torch
def test_inplace_methods_match_torch():
    a = np.array([[-1.5, 0.25], [2.0, 3.5]])
    ours, theirs = ac.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    for name, args in [("add_", (2.0,)), ("sub_", (0.5,)), ("mul_", (3.0,)), ("div_", (4.0,)),
                       ("clamp_", (-0.5, 1.0)), ("add_", ("T",)), ("copy_", ("T",)),
                       ("fill_", (0.5,)), ("zero_", ())]:
        other = np.full((2, 2), 0.125)
        our_args = [ac.tensor(other) if v == "T" else v for v in args]
        their_args = [torch.tensor(other) if v == "T" else v for v in args]
        getattr(ours.data, name)(*our_args)
        getattr(theirs.data, name)(*their_args)
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-12)
    assert torch.max(theirs.data, 1)[1].tolist() == ac.max(ours.data, 1)[1].tolist()


# ------------------------------------------------------------------------- state dicts ----
def test_state_dict_values_are_tensors_sharing_memory():
    m = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    sd = m.state_dict()
    assert all(type(v) is ac.Tensor and not v.requires_grad for v in sd.values())
    assert sd["0.weight"].numpy() is m[0].weight.numpy()
    assert m.state_dict(keep_vars=True)["0.weight"] is m[0].weight
    snapshot = {k: v.clone() for k, v in sd.items()}
    with ac.no_grad():
        m[0].weight.add_(1)
    assert not np.array_equal(snapshot["0.weight"].numpy(), m[0].weight.numpy())
    m.load_state_dict(snapshot)  # Tensors
    np.testing.assert_array_equal(m[0].weight.numpy(), snapshot["0.weight"].numpy())
    m.load_state_dict({k: v.numpy() + 1 for k, v in snapshot.items()})  # ndarrays
    np.testing.assert_array_equal(m[1].bias.numpy(), snapshot["1.bias"].numpy() + 1)


def test_saved_state_dict_is_the_same_file_as_arrays(tmp_path):
    m = nn.Linear(3, 2)
    ac.save(m.state_dict(), tmp_path / "t.pt")
    ac.save({k: v.numpy() for k, v in m.state_dict().items()}, tmp_path / "a.pt")
    assert (tmp_path / "t.pt").read_bytes() == (tmp_path / "a.pt").read_bytes()
    loaded = ac.load(tmp_path / "t.pt")
    m2 = nn.Linear(3, 2)
    m2.load_state_dict(loaded)
    np.testing.assert_array_equal(m2.weight.numpy(), m.weight.numpy())


@requires_torch
def test_state_dict_keys_and_types_match_torch():
    ours, theirs = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)), \
        torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    so, st = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st)
    assert all(isinstance(v, ac.Tensor) for v in so.values())
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in so.items()})
    ours.load_state_dict(st)  # torch tensors load too
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(ac.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda p: ac.optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: ac.optim.Adam(p, lr=0.01)])
def test_optimizer_state_dict_holds_tensors_and_round_trips(make, tmp_path):
    m = nn.Linear(2, 2)
    opt = make(m.parameters())
    m(ac.randn(4, 2)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"} and sd["param_groups"][0]["params"] == [0, 1]
    bufs = [v for s in sd["state"].values() for v in s.values() if not np.isscalar(v)]
    assert bufs and all(isinstance(v, ac.Tensor) for v in bufs)
    opt2 = make(m.parameters())
    opt2.load_state_dict(sd)
    ac.save(sd, tmp_path / "opt.pt")
    opt2.load_state_dict(ac.load(tmp_path / "opt.pt"))  # arrays after a save/load round trip
    for a, b in zip(opt.state.values(), opt2.state.values()):
        for k in a:
            np.testing.assert_array_equal(np.asarray(a[k]), np.asarray(b[k]))


@requires_torch
def test_optimizer_state_names_match_torch():
    for ours, theirs in [(ac.optim.SGD, torch.optim.SGD), (ac.optim.Adam, torch.optim.Adam)]:
        kw = {"lr": 0.1, "momentum": 0.9} if ours is ac.optim.SGD else {"lr": 0.1}
        p, q = ac.tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
        o, t = ours([p], **kw), theirs([q], **kw)
        (p * 2).sum().backward(), (q * 2).sum().backward()
        o.step(), t.step()
        assert set(o.state_dict()["state"][0]) == set(t.state_dict()["state"][0])


# ------------------------------------------------------------------------- devices -------
def test_device_objects():
    cpu = ac.device("cpu")
    assert cpu == ac.device(cpu) == ac.device("cpu") and str(cpu) == "cpu"
    assert repr(ac.device("cuda", 0)) == "device(type='cuda', index=0)"
    assert str(ac.device("cuda:1")) == "cuda:1" and ac.device("cuda:1").index == 1
    with pytest.raises(RuntimeError, match="unknown device type"):
        ac.device("gpu")
    with pytest.raises(TypeError):
        ac.device(1.5)
    x = ac.randn(2)
    assert x.device == cpu and x.cpu() is x


@pytest.mark.parametrize("dev", ["cpu", "cpu:0", ac.device("cpu")])
def test_cpu_accepted_everywhere(dev):
    x = ac.randn(2, 3)
    assert x.to(dev) is x and x.to(device=dev) is x
    assert x.to(dev, ac.float64).dtype == np.float64
    assert x.to(dev, dtype=ac.float64).dtype == np.float64
    m = nn.Linear(3, 1)
    assert m.to(dev) is m and m.cpu() is m
    assert m.to(dev, ac.double).weight.dtype == np.float64
    for make in (lambda: ac.zeros(2, device=dev), lambda: ac.randn(2, device=dev),
                 lambda: ac.arange(3, device=dev), lambda: ac.full((2,), 1.0, device=dev),
                 lambda: ac.zeros_like(x, device=dev), lambda: ac.eye(2, device=dev),
                 lambda: ac.tensor([1.0], dtype=ac.float32, device=dev)):
        assert make().device == ac.device("cpu")


@pytest.mark.parametrize("dev", ["cuda", "cuda:0", "mps", ac.device("cuda"), 0])
def test_other_devices_raise_saying_cpu_only(dev):
    x, m = ac.randn(2), nn.Linear(2, 1)
    for call in (lambda: x.to(dev), lambda: m.to(dev), lambda: ac.zeros(2, device=dev),
                 lambda: x.to(device=dev), lambda: ac.tensor([1.0], device=dev)):
        with pytest.raises(RuntimeError, match="runs on CPUs only"):
            call()
    with pytest.raises(RuntimeError, match="CPUs only"):
        x.cuda()
    with pytest.raises(RuntimeError, match="CPUs only"):
        m.cuda()


def test_gpu_queries_say_none():
    assert ac.cuda.is_available() is False and ac.cuda.device_count() == 0
    assert ac.accelerator.is_available() is False
    assert ac.backends.mps.is_available() is False and ac.backends.cudnn.is_available() is False
    ac.cuda.manual_seed(1), ac.cuda.manual_seed_all(1)  # no-ops, as PyTorch without CUDA
    import autograd_cnn.backends.cudnn as cudnn
    old = cudnn.deterministic, cudnn.benchmark
    cudnn.deterministic, cudnn.benchmark = True, False
    assert ac.backends.cudnn.deterministic is True
    cudnn.deterministic, cudnn.benchmark = old
    device = ac.device("cuda" if ac.cuda.is_available() else "cpu")
    assert device.type == "cpu"


def test_as_tensor_shares_when_it_can():
    a = np.arange(3.0)
    assert ac.as_tensor(a).numpy() is a and ac.as_tensor(a, device="cpu").dtype == np.float64
    t = ac.tensor([1.0])
    assert ac.as_tensor(t) is t and ac.as_tensor(t, dtype=ac.float64).dtype == np.float64
    assert ac.as_tensor([1.5, 2.5]).dtype == np.float32
    if torch is not None:
        assert str(torch.as_tensor([1.5, 2.5]).dtype) == "torch.float32"


def test_to_dtype_is_a_differentiable_cast_and_copy():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(ac.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 4.0]
    assert x.to(ac.float32) is x and x.to(ac.float32, copy=True) is not x
    other = ac.zeros(1, dtype=ac.float64)
    assert x.to(other).dtype == np.float64
    with pytest.raises(TypeError, match="dtype"):
        x.to(object())


@requires_torch
def test_device_and_to_match_torch():
    assert str(ac.device("cuda", 1)) == str(torch.device("cuda", 1))
    assert repr(ac.device("cpu")) == repr(torch.device("cpu"))
    a = np.arange(4, dtype=np.float32)
    for args in [("cpu",), ("cpu", np.float64), (np.float64,)]:
        targs = tuple(getattr(torch, np.dtype(v).name) if not isinstance(v, str) else v
                      for v in args)
        theirs = str(torch.tensor(a).to(*targs).dtype).split(".")[1]
        assert str(ac.tensor(a).to(*args).dtype) == theirs


# ------------------------------------------------------------------------- dtype names ---
@pytest.mark.parametrize("name", ["float", "float32", "float64", "double", "half", "float16",
                                  "long", "int64", "int", "int32", "short", "int16", "int8",
                                  "uint8", "bool"])
def test_dtype_names(name):
    expected = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
                "int": "int32", "short": "int16"}.get(name, name)
    assert np.dtype(getattr(ac, name)).name == expected
    assert ac.zeros(1, dtype=getattr(ac, name)).dtype == np.dtype(expected)
    if torch is not None:
        assert str(getattr(torch, name)) == f"torch.{expected}"


# ------------------------------------------------------------------------- small ops -----
def _pair(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_sin_cos_values_and_gradients():
    a = _pair((3, 4))
    x = ac.tensor(a, requires_grad=True)
    np.testing.assert_allclose(ac.sin(x).numpy(), np.sin(a), rtol=1e-12)
    np.testing.assert_allclose(x.cos().numpy(), np.cos(a), rtol=1e-12)
    assert ac.gradcheck(ac.sin, (x,)) and ac.gradcheck(ac.cos, (x,))
    assert ac.gradgradcheck(lambda t: ac.sin(t) * ac.cos(t), (x,))


def test_bmm_and_its_shape_checks():
    a, b = _pair((2, 3, 4)), _pair((2, 4, 5), 1)
    x, y = ac.tensor(a, requires_grad=True), ac.tensor(b, requires_grad=True)
    np.testing.assert_allclose(ac.bmm(x, y).numpy(), a @ b, rtol=1e-12)
    assert ac.gradcheck(ac.bmm, (x, y))
    with pytest.raises(ValueError, match="3-D"):
        ac.bmm(ac.tensor(a[0]), y)
    with pytest.raises(ValueError, match="do not match"):
        ac.bmm(x, ac.tensor(_pair((3, 4, 5))))


def test_meshgrid_matches_numpy_and_has_gradients():
    a, b = _pair(3), _pair(2, 1)
    x, y = ac.tensor(a, requires_grad=True), ac.tensor(b, requires_grad=True)
    for indexing in ("ij", "xy"):
        gx, gy = ac.meshgrid(x, y, indexing=indexing)
        nx, ny = np.meshgrid(a, b, indexing=indexing)
        np.testing.assert_array_equal(gx.numpy(), nx)
        np.testing.assert_array_equal(gy.numpy(), ny)
    assert ac.gradcheck(lambda u, v: ac.meshgrid(u, v)[0] * ac.meshgrid(u, v)[1], (x, y))


def test_t_repeat_split_chunk_match_numpy():
    a = _pair((4, 5))
    x = ac.tensor(a, requires_grad=True)
    np.testing.assert_array_equal(x.t().numpy(), a.T)
    assert ac.tensor([1.0, 2.0]).t().shape == (2,)
    np.testing.assert_array_equal(x.repeat(2, 1, 3).numpy(), np.tile(a, (2, 1, 3)))
    parts = x.split(2, dim=1)
    assert [p.shape for p in parts] == [(4, 2), (4, 2), (4, 1)]
    np.testing.assert_array_equal(np.concatenate([p.numpy() for p in parts], 1), a)
    assert [p.shape[0] for p in x.split([1, 3])] == [1, 3]
    assert [p.shape[1] for p in x.chunk(3, 1)] == [2, 2, 1]
    assert [p.shape[0] for p in ac.chunk(x, 3)] == [2, 2]  # fewer pieces when short, as torch
    with pytest.raises(ValueError, match="sum exactly"):
        x.split([1, 2])
    assert ac.gradcheck(lambda t: t.repeat(2, 2) * t.repeat(2, 2), (x,))
    assert ac.gradcheck(lambda t: t.split(2, 1)[1] * 3, (x,))


def test_normal_forms():
    ac.manual_seed(0)
    assert ac.normal(0.0, 1.0, size=(2, 3)).shape == (2, 3)
    s = ac.normal(ac.full((20000,), 2.0), 0.5)
    assert s.dtype == np.float32 and abs(float(s.mean()) - 2.0) < 0.02
    assert abs(float(s.std()) - 0.5) < 0.02
    m = ac.normal(ac.zeros(3, dtype=ac.float64), ac.tensor([0.0, 0.0, 0.0], dtype=ac.float64))
    assert m.dtype == np.float64 and m.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="size"):
        ac.normal(0.0, 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        ac.normal(ac.zeros(2), -1.0)


@requires_torch
def test_small_ops_match_torch():
    a, b = _pair((2, 3, 4)), _pair((2, 4, 2), 1)
    x, tx = ac.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = ac.tensor(b, requires_grad=True), torch.tensor(b, requires_grad=True)
    pairs = [
        (lambda: ac.bmm(x, y), lambda: torch.bmm(tx, ty)),
        (lambda: ac.sin(x) + x.cos(), lambda: torch.sin(tx) + tx.cos()),
        (lambda: x.repeat(1, 2, 1, 2), lambda: tx.repeat(1, 2, 1, 2)),
        (lambda: x.split(3, 2)[1] * 2, lambda: tx.split(3, 2)[1] * 2),
        (lambda: x.chunk(2, dim=1)[0], lambda: tx.chunk(2, dim=1)[0]),
        (lambda: x[0].t() * 1, lambda: tx[0].t() * 1),
        (lambda: ac.meshgrid(x[0, 0], y[0, 0], indexing="xy")[0],
         lambda: torch.meshgrid(tx[0, 0], ty[0, 0], indexing="xy")[0]),
    ]
    for ours, theirs in pairs:
        x.grad = y.grad = tx.grad = ty.grad = None
        o, t = ours(), theirs()
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), rtol=1e-12)
        g = _pair(o.shape, 5)
        o.backward(ac.tensor(g)), t.backward(torch.tensor(g))
        for ours_t, theirs_t in ((x, tx), (y, ty)):
            if theirs_t.grad is not None:
                np.testing.assert_allclose(ours_t.grad.numpy(), theirs_t.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------------- axis aliases --
REDUCTIONS = ["sum", "mean", "argmax", "argmin", "max", "min", "amax", "amin", "std", "var",
              "softmax", "log_softmax"]


@pytest.mark.parametrize("name", REDUCTIONS)
def test_axis_and_keepdims_aliases(name):
    a = _pair((3, 4))
    x = ac.tensor(a)
    kw = {} if name in ("softmax", "log_softmax") else {"keepdims": True}
    kd = {} if name in ("softmax", "log_softmax") else {"keepdim": True}
    for ours in (getattr(x, name)(axis=1, **kw), getattr(ac, name)(x, axis=1, **kw)):
        ref = getattr(x, name)(dim=1, **kd)
        ours, ref = (ours[0], ref[0]) if isinstance(ref, tuple) else (ours, ref)
        np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    if torch is not None:
        t = getattr(torch.tensor(a), name)(axis=1, **kw)
        t = t[0] if isinstance(t, tuple) else t
        o = getattr(x, name)(axis=1, **kw)
        o = o[0] if isinstance(o, tuple) else o
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="alias"):
        getattr(x, name)(dim=1, axis=1)


def test_shape_functions_take_axis():
    x = ac.zeros(2, 1, 3)
    assert x.squeeze(axis=1).shape == (2, 3) and x.unsqueeze(axis=0).shape == (1, 2, 1, 3)
    assert ac.cat([x, x], axis=2).shape == (2, 1, 6) and ac.stack([x, x], axis=0).shape[0] == 2
    assert ac.argmax(ac.tensor([[1, 3], [4, 2]]), axis=1).tolist() == [1, 0]


# ------------------------------------------------------------------------- pooling forms --
POOL_FORMS = [  # (function, kernel, stride, padding, input rank), PyTorch's OpInfo spellings
    ("avg_pool2d", (2,), (), (1,), 4), ("avg_pool2d", 2, [], 0, 4), ("avg_pool2d", 2, (1,), 0, 4),
    ("max_pool2d", (2,), (), (1,), 4), ("max_pool2d", 3, (2,), 1, 4),
    ("avg_pool1d", (2,), (), (1,), 3), ("max_pool1d", (2,), (), (1,), 3),
]


@pytest.mark.parametrize("fn, kernel, stride, padding, rank", POOL_FORMS)
def test_pooling_tuple_forms(fn, kernel, stride, padding, rank):
    a = _pair((1, 2, 6, 6)[:rank])
    k, s, p = (v[0] if isinstance(v, tuple) and len(v) == 1 else v
               for v in (kernel, stride, padding))
    s = None if s in ((), []) else s
    ours = getattr(F, fn)(ac.tensor(a), kernel, stride, padding)
    ref = getattr(F, fn)(ac.tensor(a), k, s, p)
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())
    if torch is not None:
        theirs = getattr(torch.nn.functional, fn)(torch.tensor(a), kernel, stride, padding)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    mod = {"avg_pool2d": nn.AvgPool2d, "max_pool2d": nn.MaxPool2d, "avg_pool1d": nn.AvgPool1d,
           "max_pool1d": nn.MaxPool1d}[fn](kernel, stride, padding)
    np.testing.assert_array_equal(mod(ac.tensor(a)).numpy(), ref.numpy())


def test_adaptive_pooling_still_wants_full_tuples():
    with pytest.raises(ValueError, match="output_size"):
        F.adaptive_avg_pool2d(ac.zeros(1, 1, 4, 4), (2,))
    with pytest.raises(ValueError, match="kernel_size"):
        F.avg_pool2d(ac.zeros(1, 1, 4, 4), (2, 2, 2))


# ------------------------------------------------------------------------- Generator -----
def test_generator_as_scripts_use_it():
    from autograd_cnn.utils.data import DataLoader, TensorDataset, random_split
    g = ac.Generator().manual_seed(42)
    assert isinstance(g, np.random.Generator) and g.initial_seed() == 42 and g.device.type == "cpu"
    first = g.random()
    assert ac.Generator().manual_seed(42).random() == first
    state = g.get_state()
    a = ac.randn(3, generator=g).numpy()
    g.set_state(state)
    np.testing.assert_array_equal(ac.randn(3, generator=g).numpy(), a)
    ds = TensorDataset(np.arange(20))
    s1 = random_split(ds, [0.8, 0.2], generator=ac.Generator().manual_seed(1))
    s2 = random_split(ds, [0.8, 0.2], generator=ac.Generator().manual_seed(1))
    np.testing.assert_array_equal(s1[1].indices, s2[1].indices)
    orders = [[b[0].tolist() for b in DataLoader(ds, batch_size=20, shuffle=True,
                                                 generator=ac.Generator().manual_seed(5))]
              for _ in range(2)]
    assert orders[0] == orders[1]
    with pytest.raises(RuntimeError, match="CPUs only"):
        ac.Generator(device="cuda")
    if torch is not None:  # the same calls are valid on PyTorch's
        tg = torch.Generator().manual_seed(42)
        assert tg.initial_seed() == 42 and str(tg.device) == "cpu"


# ------------------------------------------------------------------------- d2l batch norm -
def _d2l_batch_norm(torch, nn):
    """d2l.ai's batch normalization from scratch (chapter 8.5), as written there; the module
    keeps ``moving_mean.data`` (a Tensor in PyTorch) and moves it with ``.to(X.device)``."""
    def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
        if not torch.is_grad_enabled():
            X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        else:
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
            X_hat = (X - mean) / torch.sqrt(var + eps)
            moving_mean = (1.0 - momentum) * moving_mean + momentum * mean
            moving_var = (1.0 - momentum) * moving_var + momentum * var
        Y = gamma * X_hat + beta
        return Y, moving_mean.data, moving_var.data

    class BatchNorm(nn.Module):
        def __init__(self, num_features):
            super().__init__()
            shape = (1, num_features, 1, 1)
            self.gamma = nn.Parameter(torch.ones(shape))
            self.beta = nn.Parameter(torch.zeros(shape))
            self.moving_mean = torch.zeros(shape)
            self.moving_var = torch.ones(shape)

        def forward(self, X):
            if self.moving_mean.device != X.device:
                self.moving_mean = self.moving_mean.to(X.device)
                self.moving_var = self.moving_var.to(X.device)
            Y, self.moving_mean, self.moving_var = batch_norm(
                X, self.gamma, self.beta, self.moving_mean,
                self.moving_var, eps=1e-5, momentum=0.1)
            return Y
    return BatchNorm


def test_d2l_batch_norm_chapter_runs_as_written():
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((4, 3, 5, 5)).astype(np.float32) for _ in range(3)]
    results = []
    for lib, nn_mod in ([(ac, nn)] + ([(torch, torch.nn)] if torch is not None else [])):
        bn = _d2l_batch_norm(lib, nn_mod)(3)
        for x in xs:
            y = bn(lib.tensor(x))
            y.sum().backward()
        with lib.no_grad():
            out = bn(lib.tensor(xs[0]))
        assert type(bn.moving_mean) is lib.Tensor and not bn.moving_mean.requires_grad
        results.append((np.asarray(bn.moving_mean.numpy()), out.numpy(), bn.gamma.grad.numpy()))
    x = np.stack(xs)  # the NumPy reference of the moving mean after three steps
    ref = np.zeros((1, 3, 1, 1))
    for b in x:
        ref = 0.9 * ref + 0.1 * b.mean(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(results[0][0], ref, rtol=1e-5, atol=1e-6)
    for theirs in results[1:]:
        for a, b in zip(results[0], theirs):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
