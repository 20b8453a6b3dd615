"""The parts of PyTorch's API that training scripts call around the model: sort / argsort /
topk (top-5 accuracy), ``inference_mode``, ``compile``, ``set_float32_matmul_precision``, and
automatic mixed precision (``autocast``, ``GradScaler``). Checked against NumPy written here
and, where installed, against PyTorch."""
import warnings

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import nn
from tests._support import requires_torch, torch


# ------------------------------------------------------------------ sort / argsort / topk ----
def _distinct(shape, seed=0):
    """Values without ties (their order is then unique)."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64) / 7


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_and_argsort_match_numpy(dim, descending):
    x = _distinct((4, 5, 3))
    want = np.argsort(-x if descending else x, axis=dim)
    got = ac.sort(ac.tensor(x), dim=dim, descending=descending)
    np.testing.assert_array_equal(got.indices.numpy(), want)
    np.testing.assert_array_equal(got.values.numpy(), np.take_along_axis(x, want, axis=dim))
    np.testing.assert_array_equal(ac.tensor(x).argsort(dim, descending).numpy(), want)


def test_sort_is_stable_and_puts_nan_with_the_largest():
    x = ac.tensor([2.0, np.nan, 1.0, 2.0, 1.0])
    np.testing.assert_array_equal(ac.sort(x).indices.numpy(), [2, 4, 0, 3, 1])
    np.testing.assert_array_equal(ac.sort(x, descending=True).indices.numpy(), [1, 0, 3, 2, 4])
    assert np.isnan(ac.topk(x, 1).values.numpy()[0])


@pytest.mark.parametrize("largest", [True, False])
def test_topk_values_indices_and_gradient(largest):
    x = _distinct((3, 6), seed=1)
    got = ac.tensor(x).topk(2, dim=1, largest=largest)
    order = np.argsort(-x if largest else x, axis=1)[:, :2]
    np.testing.assert_array_equal(got.indices.numpy(), order)
    np.testing.assert_array_equal(got.values.numpy(), np.take_along_axis(x, order, axis=1))
    assert got.indices.dtype == np.int64
    t = ac.tensor(x, requires_grad=True)
    assert ac.gradcheck(lambda a: a.topk(3, 0, largest).values * 2.0, (t,))
    (t.topk(2, dim=1, largest=largest).values.sum()).backward()
    want = np.zeros_like(x)
    np.put_along_axis(want, order, 1.0, axis=1)
    np.testing.assert_array_equal(t.grad.numpy(), want)


def test_topk_bad_arguments():
    x = ac.ones(2, 3)
    with pytest.raises(RuntimeError, match="out of range"):
        x.topk(4)
    with pytest.raises(TypeError, match="'k'"):
        x.topk(1.5)
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.topk(1, dim=2)


@requires_torch
def test_imagenet_top5_accuracy_matches_torch():
    # the accuracy() of PyTorch's ImageNet example, written once for either library
    def accuracy(lib, output, target, topk=(1, 5)):
        maxk = max(topk)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        return [float(correct[:k].reshape(-1).float().sum(0, keepdim=True)) for k in topk]

    out, target = _distinct((16, 10), seed=2).astype(np.float32), np.arange(16) % 10
    ours = accuracy(ac, ac.tensor(out), ac.tensor(target))
    theirs = accuracy(torch, torch.tensor(out), torch.tensor(target))
    assert ours == theirs
    for kw in ({"k": 3}, {"k": 2, "dim": 0, "largest": False}):
        a, b = ac.tensor(out).topk(**kw), torch.tensor(out).topk(**kw)
        np.testing.assert_array_equal(a.indices.numpy(), b.indices.numpy())
    a, b = ac.sort(ac.tensor(out), 0, True), torch.sort(torch.tensor(out), 0, True)
    np.testing.assert_array_equal(a.indices.numpy(), b.indices.numpy())


# --------------------------------------------------------- inference_mode, compile, flags ----
def test_inference_mode_records_nothing_and_nests():
    w = ac.ones(2, requires_grad=True)
    with ac.inference_mode():
        assert ac.is_inference_mode_enabled() and not (w * 2).requires_grad
        with ac.enable_grad():
            assert (w * 2).requires_grad
    assert not ac.is_inference_mode_enabled() and (w * 2).requires_grad
    with ac.inference_mode(False):
        assert (w * 2).requires_grad

    @ac.inference_mode()
    def predict():
        return (w * 2).requires_grad

    @ac.inference_mode
    def predict_bare():
        return (w * 2).requires_grad

    assert predict() is False and predict_bare() is False and ac.is_grad_enabled()
    with pytest.raises(TypeError, match="mode"):
        ac.inference_mode("yes")


def test_compile_hands_back_the_model_itself():
    model = nn.Linear(3, 2)
    assert ac.compile(model) is model
    assert ac.compile(model, mode="max-autotune", dynamic=True) is model
    assert ac.compile(mode="reduce-overhead")(model) is model
    assert list(ac.compile(model).state_dict()) == ["weight", "bias"]
    with pytest.raises(RuntimeError, match="mode"):
        ac.compile(model, mode="fastest")
    with pytest.raises(RuntimeError, match="both"):
        ac.compile(model, mode="default", options={})
    with pytest.raises(RuntimeError, match="Module or a function"):
        ac.compile(3)


def test_float32_matmul_precision_is_recorded():
    before = ac.get_float32_matmul_precision()
    try:
        ac.set_float32_matmul_precision("high")
        assert ac.get_float32_matmul_precision() == "high"
        with pytest.raises(RuntimeError, match="precision"):
            ac.set_float32_matmul_precision("low")
    finally:
        ac.set_float32_matmul_precision(before)


# ------------------------------------------------------------------- autocast / GradScaler ----
def _model_and_data(seed=0):
    ac.manual_seed(seed)
    model = nn.Linear(4, 3)
    x = ac.tensor(np.random.default_rng(seed).standard_normal((8, 4)).astype(np.float32))
    y = ac.tensor(np.arange(8) % 3)
    return model, x, y


def test_gpu_amp_script_runs_with_amp_disabled():
    model, x, y = _model_and_data()
    reference = nn.Linear(4, 3)
    reference.load_state_dict(model.state_dict())
    opt, ref_opt = (ac.optim.SGD(m.parameters(), lr=0.1) for m in (model, reference))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scaler = ac.cuda.amp.GradScaler()
        with ac.autocast(device_type="cuda", dtype=ac.float16):
            loss = nn.functional.cross_entropy(model(x), y)
    assert len(caught) == 2 and all("Disabling" in str(w.message) for w in caught)
    assert not scaler.is_enabled() and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    nn.functional.cross_entropy(reference(x), y).backward()
    ref_opt.step()
    np.testing.assert_array_equal(model.weight.numpy(), reference.weight.numpy())


def test_cpu_grad_scaler_unscales_skips_infs_and_adapts_the_scale():
    model, x, y = _model_and_data(1)
    opt = ac.optim.SGD(model.parameters(), lr=0.1)
    scaler = ac.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
    with ac.autocast("cpu"):
        assert ac.is_autocast_enabled()
        loss = nn.functional.cross_entropy(model(x), y)
    scaled = scaler.scale(loss)
    np.testing.assert_allclose(scaled.item(), 8.0 * loss.item(), rtol=1e-6)
    scaled.backward()
    want = model.weight.numpy() - 0.1 * model.weight.grad.numpy() / 8.0
    scaler.step(opt)
    np.testing.assert_allclose(model.weight.numpy(), want, rtol=1e-6)
    scaler.update()
    assert scaler.get_scale() == 8.0  # one clean step of the two before growing
    for _ in range(1):
        opt.zero_grad()
        scaler.scale(nn.functional.cross_entropy(model(x), y)).backward()
        scaler.step(opt)
        scaler.update()
    assert scaler.get_scale() == 16.0
    # an inf gradient: the step is skipped and the scale backs off
    opt.zero_grad()
    scaler.scale(nn.functional.cross_entropy(model(x), y)).backward()
    model.bias.grad.numpy()[0] = np.inf
    before = model.weight.numpy().copy()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    assert scaler.step(opt) is None
    np.testing.assert_array_equal(model.weight.numpy(), before)
    scaler.update()
    assert scaler.get_scale() == 8.0
    state = scaler.state_dict()
    other = ac.amp.GradScaler("cpu")
    other.load_state_dict(state)
    assert other.get_scale() == 8.0 and other.state_dict() == state
    with pytest.raises(RuntimeError, match="No inf checks"):
        scaler.update()
    with pytest.raises(RuntimeError, match="empty"):
        other.load_state_dict({})


@pytest.mark.parametrize("make", [lambda: ac.amp.GradScaler("cpu", growth_factor=0.5),
                                  lambda: ac.amp.GradScaler("cpu", backoff_factor=1.5),
                                  lambda: ac.amp.GradScaler("cpu", growth_interval=0),
                                  lambda: ac.amp.GradScaler("cpu", init_scale=-1.0),
                                  lambda: ac.autocast("cpu", dtype=ac.int64),
                                  lambda: ac.autocast(3)])
def test_amp_bad_arguments(make):
    with pytest.raises((ValueError, TypeError)):
        make()


@requires_torch
def test_cpu_grad_scaler_follows_torchs_scale_sequence():
    ours = ac.amp.GradScaler("cpu", init_scale=4.0, growth_interval=3)
    theirs = torch.amp.GradScaler("cpu", init_scale=4.0, growth_interval=3)
    seq = []
    for finite in (True, True, True, False, True, True, True, True):
        for lib, scaler in ((ac, ours), (torch, theirs)):
            p = (nn.Parameter(np.ones(2, np.float32)) if lib is ac
                 else torch.nn.Parameter(torch.ones(2)))
            opt = (ac.optim.SGD if lib is ac else torch.optim.SGD)([p], lr=0.1)
            (scaler.scale((p * 3.0).sum())).backward()
            if not finite:
                p.grad.numpy()[0] = np.inf
            scaler.step(opt)
            scaler.update()
        seq.append((ours.get_scale(), theirs.get_scale()))
    assert all(a == b for a, b in seq), seq
