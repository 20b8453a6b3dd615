"""ONNX export checked by the ecosystem's own tools (onnx.checker, ONNX Runtime), ONNX import of
our exports and of torch.onnx.export's, fine-tuning an imported model, and the ops either side
cannot express. Skipped, with the reason, without the optional onnx / onnxruntime packages."""
import warnings

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import nn
from autograd_cnn.models import torch_twins

onnx = pytest.importorskip("onnx", reason="the optional onnx package is not installed")


def _ort():
    return pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")


def _randomize_batch_norm(model, seed=0):
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.numpy()[...] = rng.uniform(-0.5, 0.5, m.num_features)
            m.running_var.numpy()[...] = rng.uniform(0.5, 1.5, m.num_features)
            m.weight.numpy()[...] = rng.uniform(0.5, 1.5, m.num_features)
            m.bias.numpy()[...] = rng.uniform(-0.2, 0.2, m.num_features)
    return model


def _close(got, want, rtol=1e-5):
    """Equal to ``rtol`` relative to the output's largest magnitude."""
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * max(np.abs(want).max(), 1e-30))


NETWORKS = {
    "lenet5": (lambda: ac.models.LeNet5(), (1, 28, 28)),
    "lenet5_classic": (lambda: ac.models.LeNet5(activation="tanh", pooling="avg"), (1, 28, 28)),
    "resnet": (lambda: _randomize_batch_norm(ac.models.CifarResNet(depth=8)), (3, 32, 32)),
    "conv1dnet": (lambda: _randomize_batch_norm(ac.models.Conv1DNet(batch_norm=True)), (1, 40)),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_export_checks_and_runs_in_onnx_runtime(tmp_path, name):
    ort = _ort()
    make, shape = NETWORKS[name]
    ac.manual_seed(0)
    model = make()
    x = np.random.default_rng(1).standard_normal((2,) + shape).astype(np.float32)
    path = tmp_path / f"{name}.onnx"
    model.train()
    ac.onnx.export(model, ac.tensor(x), path, input_names=["x"], output_names=["logits"],
                   dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    assert model.training  # the mode is restored
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 17
    assert {p.name for p in proto.graph.initializer} >= set(dict(model.named_parameters()))
    model.eval()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (2, 5):  # the batch axis is dynamic
        xb = np.random.default_rng(batch).standard_normal((batch,) + shape).astype(np.float32)
        (got,) = session.run(None, {"x": xb})
        _close(got, model(ac.tensor(xb)).numpy())
    # and back: our importer runs our export to the same values
    back = ac.onnx.load(path)
    _close(back(ac.tensor(x)).numpy(), model(ac.tensor(x)).numpy())


def test_export_writes_batch_norm_and_gemm_as_single_operators(tmp_path):
    proto = ac.onnx.export(NETWORKS["resnet"][0](), ac.randn(1, 3, 32, 32), tmp_path / "r.onnx")
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("BatchNormalization") == 9 and ops.count("Conv") == 9
    assert ops.count("Add") == 3 and "Gemm" in ops and "GlobalAveragePool" in ops
    names = {n.name for n in proto.graph.initializer}
    assert {"bn1.running_mean", "layer2.0.downsample.1.running_var", "fc.weight"} <= names


class _Zoo(nn.Module):
    """The other exportable layers and ops in one network."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, stride=2, padding=(1, 2), dilation=(1, 2), groups=2)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.adaptive = nn.AdaptiveAvgPool2d((1, 3))  # (3, 3) maps: windows of 3 x 1
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(12, 6)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        y = self.act(self.conv(x))
        y = self.avg(self.pool(y) * 2.0 + 1.0) - y.mean(dim=(2, 3), keepdim=True)[:, :, :1, :1]
        y = ac.sigmoid(self.adaptive(y)) / 3.0
        y = self.drop(y.reshape(y.shape[0], -1))
        z = self.fc(y)
        return ac.softmax(z, 1), ac.log_softmax(ac.tanh(z) - 0.5, -1)


def test_export_other_layers_and_two_outputs(tmp_path):
    ort = _ort()
    ac.manual_seed(3)
    model = _Zoo()
    x = np.random.default_rng(0).standard_normal((3, 2, 13, 11)).astype(np.float32)
    path = tmp_path / "zoo.onnx"
    ac.onnx.export(model, ac.tensor(x), path, output_names=["p", "logp"])
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    model.eval()
    want = [t.numpy() for t in model(ac.tensor(x))]
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})
    for g, w in zip(got, want):
        _close(g, w)
    for g, w in zip(ac.onnx.load(path)(ac.tensor(x)), want):
        _close(g.numpy(), w)


def test_export_1d_pooling(tmp_path):
    ort = _ort()
    model = nn.Sequential(nn.Conv1d(1, 3, 5, padding=2), nn.MaxPool1d(2),
                          nn.AvgPool1d(3, stride=1, padding=1), nn.Flatten())
    x = np.random.default_rng(0).standard_normal((2, 1, 20)).astype(np.float32)
    path = tmp_path / "pool1d.onnx"
    ac.onnx.export(model, ac.tensor(x), path)
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})
    _close(got, model(ac.tensor(x)).numpy())


@pytest.mark.skipif(not hasattr(nn, "ConvTranspose2d"), reason="nn.ConvTranspose2d is not in "
                    "this autograd_cnn (branch api-nn adds it)")
def test_export_conv_transpose(tmp_path):
    ort = _ort()
    ac.manual_seed(0)
    model = nn.Sequential(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1,
                                             groups=2), nn.ReLU(),
                          nn.ConvTranspose2d(6, 2, (2, 3), stride=(1, 2), dilation=2))
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 6)).astype(np.float32)
    path = tmp_path / "ct.onnx"
    ac.onnx.export(model, ac.tensor(x), path)
    want = model(ac.tensor(x)).numpy()
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})
    _close(got, want)
    _close(ac.onnx.load(path)(ac.tensor(x)).numpy(), want)
    # the functional form: the engine's transposed convolution, a crop, a zero extension, a bias
    w, bias = ac.randn(4, 3, 3, 3), ac.randn(3)
    functional = _Functional(lambda t: ac.functional.conv_transpose2d(
        t, w, bias, stride=2, padding=(2, 0), output_padding=(1, 1)))
    ac.onnx.export(functional, ac.tensor(x), path)
    want = functional(ac.tensor(x)).numpy()
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})
    _close(got, want)
    _close(ac.onnx.load(path)(ac.tensor(x)).numpy(), want)
    # PyTorch's transposed convolution, exported by PyTorch, runs here
    torch = torch_twins.import_torch()
    if torch is not None:
        twin = torch.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
        _torch_export(torch, twin, torch.from_numpy(x), path, dynamo=False)
        with torch.no_grad():
            want = twin(torch.from_numpy(x)).numpy()
        _close(ac.onnx.load(path)(ac.tensor(x)).numpy(), want)


class _Functional(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def test_unsupported_op_is_named(tmp_path):
    class UsesVar(nn.Module):
        def forward(self, x):
            return x.var(dim=1)

    with pytest.raises(ac.onnx.UnsupportedOperatorError, match="Var"):
        ac.onnx.export(UsesVar(), ac.randn(2, 3), tmp_path / "v.onnx")
    with pytest.raises(ac.onnx.UnsupportedOperatorError, match="divisor_override"):
        ac.onnx.export(_Functional(lambda x: ac.functional.avg_pool2d(x, 2, divisor_override=3)),
                       ac.randn(1, 1, 4, 4), tmp_path / "d.onnx")


def test_export_argument_errors(tmp_path):
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="opset_version"):
        ac.onnx.export(model, ac.randn(1, 3), tmp_path / "m.onnx", opset_version=7)
    with pytest.raises(ValueError, match="dynamic_axes names"):
        ac.onnx.export(model, ac.randn(1, 3), tmp_path / "m.onnx", dynamic_axes={"y": [0]})
    with pytest.raises(TypeError, match="args"):
        ac.onnx.export(model, "x", tmp_path / "m.onnx")


def test_imported_model_fine_tunes():
    ac.manual_seed(0)
    model = _randomize_batch_norm(ac.models.Conv1DNet(batch_norm=True))
    proto = ac.onnx.export(model, ac.randn(2, 1, 40), __import__("io").BytesIO())
    loaded = ac.onnx.load(proto)
    assert not loaded.training
    names = dict(loaded.named_parameters())
    assert set(names) == set(dict(model.named_parameters()))
    assert set(loaded.state_dict()) == set(model.state_dict()) - {
        k for k in model.state_dict() if k.endswith("num_batches_tracked")}
    loaded.train()
    x, y = ac.randn(8, 1, 40), ac.tensor(np.arange(8) % 10)
    opt = ac.optim.SGD(loaded.parameters(), lr=0.05)
    losses = []
    for _ in range(5):
        loss = nn.functional_cross_entropy(loaded(x), y) if hasattr(nn, "functional_cross_entropy") \
            else ac.functional.cross_entropy(loaded(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert not np.allclose(loaded.state_dict()["features.1.running_mean"],
                           model.state_dict()["features.1.running_mean"])


def test_import_refuses_unknown_operators(tmp_path):
    h = onnx.helper
    node = h.make_node("Erf", ["x"], ["y"])
    graph = h.make_graph([node], "g", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])])
    with pytest.raises(ValueError, match="Erf"):
        ac.onnx.load(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]))
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x07junk" * 3)
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        ac.onnx.load(tmp_path / "junk.onnx")


# -------------------------------------------------------------- models torch.onnx.export wrote
def _torch_export(torch, twin, x, path, dynamo, **kwargs):
    """torch.onnx.export with a dynamic batch axis, by either exporter."""
    if dynamo:
        kwargs["dynamic_shapes"] = ({0: torch.export.Dim("batch")},)
    else:
        kwargs["dynamic_axes"] = {"x": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(twin, (x,), str(path), input_names=["x"], dynamo=dynamo, **kwargs)


@pytest.mark.parametrize("name,dynamo", [("lenet5", False), ("conv1dnet", False),
                                         ("resnet", False), ("resnet", True)])
def test_torch_onnx_export_loads_and_matches_pytorch(tmp_path, name, dynamo):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    if dynamo:
        pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")
    torch.manual_seed(0)
    twin, shape = {"lenet5": (lambda: torch_twins.lenet5(), (1, 28, 28)),
                   "conv1dnet": (lambda: torch_twins.conv1dnet(batch_norm=True), (1, 40)),
                   "resnet": (lambda: torch_twins.cifar_resnet(depth=8), (3, 32, 32))}[name]
    twin = twin()
    for m in twin.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    twin.eval()
    x = torch.randn((2,) + shape)
    path = tmp_path / "torch.onnx"
    _torch_export(torch, twin, x, path, dynamo)
    loaded = ac.onnx.load(path)
    for batch in (2, 3):
        xb = torch.randn((batch,) + shape)
        with torch.no_grad():
            want = twin(xb).numpy()
        _close(loaded(ac.tensor(xb.numpy())).numpy(), want, rtol=1e-5)


# ------------------------------------------------------------------------------- the command
@pytest.mark.parametrize("name", ["lenet5", "conv1d"])
def test_export_command_on_training_files(tmp_path, name, capsys):
    ort = _ort()
    from autograd_cnn import cli
    ac.manual_seed(0)
    model = cli.build_model(name, num_classes=7)
    # a --checkpoint file: the state dict without the model's name (inferred from the weights)
    ac.save({"format": "autograd_cnn-training", "epoch": 1, "model": model.state_dict()},
            tmp_path / "ck.npz")
    out = tmp_path / "m.onnx"
    assert cli.main(["export", "--checkpoint", str(tmp_path / "ck.npz"), "--onnx", str(out)]) == 0
    assert f"wrote {out}: {name}" in capsys.readouterr().out
    model.eval()
    shape = {"lenet5": (1, 28, 28), "conv1d": (1, 40)}[name]
    x = np.random.default_rng(0).standard_normal((4,) + shape).astype(np.float32)
    (got,) = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})
    _close(got, model(ac.tensor(x)).numpy())


def test_export_command_errors(tmp_path, capsys):
    from autograd_cnn import cli
    ac.save({"model": {"w": np.ones(3)}}, tmp_path / "odd.npz")
    argv = ["export", "--checkpoint", str(tmp_path / "odd.npz"), "--onnx", str(tmp_path / "o")]
    assert cli.main(argv) == 2
    assert "do not fit" in capsys.readouterr().err
    argv[2] = str(tmp_path / "missing.npz")
    assert cli.main(argv) == 2
    assert "no checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("dynamo", [False, True])
def test_torch_export_of_view_slice_and_batch_norm_loads(tmp_path, dynamo):
    """x.reshape(x.size(0), -1) with a dynamic batch (the TorchScript exporter writes it as
    Shape -> Gather -> Unsqueeze -> Concat -> Reshape, with Constant nodes), slicing, an
    unfolded BatchNormalization, a ceil-mode average pool, Dropout and LogSoftmax."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    if dynamo:
        pytest.importorskip("onnxscript", reason="torch.onnx.export(dynamo=True) needs onnxscript")

    class ViewNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(2, 3, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(3)
            self.fc = torch.nn.Linear(36, 5)
            self.drop = torch.nn.Dropout(0.2)

        def forward(self, x):
            y = torch.nn.functional.avg_pool2d(torch.relu(self.bn(self.conv(x))), 2, padding=1,
                                               ceil_mode=True)
            y = y[:, :, 1:, :-1]
            return torch.log_softmax(self.fc(self.drop(y.reshape(y.size(0), -1))), dim=1)

    torch.manual_seed(0)
    twin = ViewNet().eval()
    twin.bn.running_var.uniform_(0.5, 2.0)
    twin.bn.running_mean.uniform_(-1, 1)
    path = tmp_path / "view.onnx"
    _torch_export(torch, twin, torch.randn(2, 2, 6, 8), path, dynamo,
                  **({} if dynamo else {"do_constant_folding": False}))
    if not dynamo:
        ops = {n.op_type for n in onnx.load(str(path)).graph.node}
        assert {"Shape", "Gather", "Concat", "BatchNormalization"} <= ops
    loaded = ac.onnx.load(path)
    for batch in (2, 3):
        xb = torch.randn(batch, 2, 6, 8)
        with torch.no_grad():
            want = twin(xb).numpy()
        _close(loaded(ac.tensor(xb.numpy())).numpy(), want)


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("count_include_pad", [False, True])
def test_export_average_and_max_pooling_modes(tmp_path, ceil_mode, count_include_pad):
    """ceil_mode windows hanging past the input, with and without the padding counted."""
    ort = _ort()
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8)).astype(np.float32)
    for k, s, p in [(2, 2, 1), (3, 2, 1), (3, 3, 1), (2, 3, 0)]:
        model = nn.Sequential(nn.AvgPool2d(k, s, p, ceil_mode=ceil_mode,
                                           count_include_pad=count_include_pad),
                              nn.MaxPool2d(2, 1, 1, ceil_mode=ceil_mode))
        path = tmp_path / "pool.onnx"
        ac.onnx.export(model, ac.tensor(x), path)
        (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
            None, {"input": x})
        want = model(ac.tensor(x)).numpy()
        assert got.shape == want.shape
        _close(got, want)


def test_export_padding_wider_than_the_window(tmp_path):
    ort = _ort()
    ac.manual_seed(0)
    model = nn.Conv2d(2, 3, (2, 3), padding=(3, 1), stride=(2, 1))  # crop + conv + Pad + bias
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 6)).astype(np.float32)
    path = tmp_path / "far.onnx"
    ac.onnx.export(model, ac.tensor(x), path, dynamic_axes={"input": [0], "output": [0]})
    want = model(ac.tensor(x)).numpy()
    (got,) = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})
    _close(got, want)
    _close(ac.onnx.load(path)(ac.tensor(x)).numpy(), want)


def test_float64_export_round_trips_through_our_importer(tmp_path):
    ac.manual_seed(0)
    model = ac.models.LeNet5(dtype=np.float64).eval()
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28))
    proto = ac.onnx.export(model, ac.tensor(x), tmp_path / "f64.onnx")
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    got = ac.onnx.load(tmp_path / "f64.onnx")(ac.tensor(x)).numpy()
    assert got.dtype == np.float64
    _close(got, model(ac.tensor(x)).numpy(), rtol=1e-12)


def test_import_handmade_graph_matches_onnx_runtime():
    """Nodes PyTorch's exporters rarely write: asymmetric pads, Gemm's alpha/beta/transA, Clip,
    Squeeze/Unsqueeze, Transpose, ReduceMean with axes as an attribute (opset 17), Pad, Cast,
    Slice with steps, Max/Min, Sigmoid, Div, Softmax on axis 1."""
    ort = _ort()
    h, T = onnx.helper, onnx.TensorProto
    rng = np.random.default_rng(0)
    inits = {"w": rng.standard_normal((4, 2, 3, 2)).astype(np.float32),
             "cb": rng.standard_normal(4).astype(np.float32),
             "g": rng.standard_normal((5, 24)).astype(np.float32),
             "gc": rng.standard_normal(5).astype(np.float32),
             "lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32),
             "pads": np.array([0, 0, 1, 0, 0, 0, 0, 2], np.int64),
             "ax": np.array([2], np.int64), "st": np.array([0], np.int64),
             "en": np.array([100], np.int64), "sp": np.array([2], np.int64),
             "two": np.array(2.0, np.float32)}
    nodes = [
        h.make_node("Conv", ["x", "w", "cb"], ["c"], pads=[1, 0, 0, 1], strides=[1, 2]),
        h.make_node("Clip", ["c", "lo", "hi"], ["c2"]),
        h.make_node("MaxPool", ["c2"], ["p"], kernel_shape=[2, 2], pads=[0, 1, 1, 0]),
        h.make_node("Pad", ["p", "pads"], ["pp"], mode="constant"),
        h.make_node("Slice", ["pp", "st", "en", "ax", "sp"], ["s"]),
        h.make_node("ReduceMean", ["s"], ["r"], axes=[2], keepdims=0),          # (N, 4, W)
        h.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),               # (N, W, 4)
        h.make_node("Unsqueeze", ["t", "ax"], ["u"]),                          # (N, W, 1, 4)
        h.make_node("Squeeze", ["u", "ax"], ["q"]),
        h.make_node("Flatten", ["q"], ["f"], axis=1),
        h.make_node("Sigmoid", ["f"], ["sg"]),
        h.make_node("Div", ["sg", "two"], ["d"]),
        h.make_node("Gemm", ["g", "d"], ["gm"], alpha=0.5, beta=2.0, transB=1),   # (5, N)
        h.make_node("Transpose", ["gm"], ["gt"]),
        h.make_node("Add", ["gt", "gc"], ["a"]),
        h.make_node("Max", ["a", "lo"], ["mx"]),
        h.make_node("Cast", ["mx"], ["cd"], to=T.DOUBLE),
        h.make_node("Cast", ["cd"], ["cf"], to=T.FLOAT),
        h.make_node("Softmax", ["cf"], ["y"], axis=1),
    ]
    x = rng.standard_normal((3, 2, 6, 7)).astype(np.float32)
    graph = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", T.FLOAT, [None, 2, 6, 7])],
                         [h.make_tensor_value_info("y", T.FLOAT, [None, 5])],
                         [onnx.numpy_helper.from_array(v, k) for k, v in inits.items()])
    proto = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(proto)
    (want,) = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"]).run(None, {"x": x})
    model = ac.onnx.load(proto)
    _close(model(ac.tensor(x)).numpy(), want)
    assert set(dict(model.named_parameters())) == {"w", "cb", "g"}  # Conv's and Gemm's


@pytest.mark.parametrize("bias", [True, False])
def test_export_linear_on_3d_inputs_runs_in_onnx_runtime(tmp_path, bias):
    """Linear on 3-D inputs is one node of ours (ops.matmul.Linear), exported as Transpose,
    MatMul and Add (Gemm is 2-D)."""
    ort = _ort()
    ac.manual_seed(0)
    model = nn.Linear(4, 3, bias=bias)
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    path = tmp_path / "linear3d.onnx"
    ac.onnx.export(model, ac.tensor(x), path, input_names=["x"], output_names=["y"])
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert "Gemm" not in {n.op_type for n in proto.graph.node}
    (got,) = ort.InferenceSession(proto.SerializeToString(),
                                  providers=["CPUExecutionProvider"]).run(None, {"x": x})
    _close(got, model(ac.tensor(x)).numpy())


def test_import_matmul_plus_bias_is_trainable():
    """A Linear on 3-D inputs, as exporters write it: MatMul then Add of the bias."""
    h, T = onnx.helper, onnx.TensorProto
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    bias = np.array([1.0, -1.0, 0.5], np.float32)
    graph = h.make_graph([h.make_node("MatMul", ["x", "fc.weight_t"], ["m"]),
                          h.make_node("Add", ["m", "fc.bias"], ["y"])], "g",
                         [h.make_tensor_value_info("x", T.FLOAT, [2, 5, 4])],
                         [h.make_tensor_value_info("y", T.FLOAT, [2, 5, 3])],
                         [onnx.numpy_helper.from_array(w, "fc.weight_t"),
                          onnx.numpy_helper.from_array(bias, "fc.bias")])
    model = ac.onnx.load(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]))
    assert set(dict(model.named_parameters())) == {"fc.weight_t", "fc.bias"}
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    _close(model(ac.tensor(x)).numpy(), x @ w + bias)


def test_export_names_a_tensor_computed_before_the_export(tmp_path):
    class Cached(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(np.ones(3, np.float32))
            self.cached = self.w * 2.0  # graph history from outside the traced run

        def forward(self, x):
            return x * self.cached

    with pytest.raises(ac.onnx.UnsupportedOperatorError, match="before the export ran"):
        ac.onnx.export(Cached(), ac.randn(2, 3), tmp_path / "c.onnx")
