"""ac.save / ac.load by extension: PyTorch's torch.save zip files (.pt/.pth, read without torch and
without running code), .safetensors (through the optional safetensors package) and, where torch
is installed, state dicts moving both ways between PyTorch and our models."""
import collections
import io
import os
import pickle
import pickletools
import struct
import zipfile

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.models import torch_twins


# ------------------------------------------------------------ a torch.save file written by hand
def _str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _int(i):
    return b"J" + struct.pack("<i", i)


def _tuple(*parts):
    return b"(" + b"".join(parts) + b"t"


def _global(module, name):
    return b"c" + f"{module}\n{name}\n".encode()


def _tensor(key, storage, numel, offset, size, stride):
    """_rebuild_tensor_v2(('storage', torch.<storage>, key, 'cpu', numel), offset, size, stride,
    False, OrderedDict()) in pickle protocol 2 opcodes, as torch.save writes it."""
    pid = _tuple(_str("storage"), _global("torch", storage), _str(key), _str("cpu"), _int(numel))
    hooks = _global("collections", "OrderedDict") + b")R"
    args = _tuple(pid + b"Q", _int(offset), _tuple(*map(_int, size)),
                  _tuple(*map(_int, stride)), b"\x89", hooks)
    return _global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def _state_dict_pickle(items):
    body = b"".join(_str(k) + v for k, v in items)
    return (b"\x80\x02" + _global("collections", "OrderedDict") + b")R(" + body + b"u.")


def _zip(pickle_bytes, storages, folder="model", byteorder=b"little"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{folder}/data.pkl", pickle_bytes)
        if byteorder is not None:
            zf.writestr(f"{folder}/byteorder", byteorder)
        for key, raw in storages.items():
            zf.writestr(f"{folder}/data/{key}", raw)
        zf.writestr(f"{folder}/version", b"3\n")
    return buf.getvalue()


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_handmade_pt_reads_views_offsets_and_dtypes(tmp_path):
    storage = np.arange(8, dtype=np.float32)
    items = [
        # a transposed view: size (3, 2), stride (1, 3) of the first 6 elements
        ("w", _tensor("0", "FloatStorage", 8, 0, (3, 2), (1, 3))),
        # a slice that starts at element 5
        ("tail", _tensor("0", "FloatStorage", 8, 5, (3,), (1,))),
        ("steps", _tensor("1", "LongStorage", 2, 0, (2,), (1,))),
        ("half", _tensor("2", "HalfStorage", 2, 0, (2,), (1,))),
        ("bf16", _tensor("3", "BFloat16Storage", 2, 0, (2,), (1,))),
        ("scalar", _tensor("1", "LongStorage", 2, 1, (), ())),
    ]
    bf16 = (np.array([1.5, -2.25], np.float32).view(np.uint32) >> 16).astype("<u2")
    path = _write(tmp_path, "sd.pt", _zip(_state_dict_pickle(items), {
        "0": storage.tobytes(), "1": np.array([7, -3], "<i8").tobytes(),
        "2": np.array([0.5, 2.0], "<f2").tobytes(), "3": bf16.tobytes()}))
    sd = ac.load(path)
    assert list(sd) == ["w", "tail", "steps", "half", "bf16", "scalar"]
    np.testing.assert_array_equal(sd["w"], np.arange(6, dtype=np.float32).reshape(2, 3).T)
    assert sd["w"].flags.c_contiguous and sd["w"].dtype == np.float32
    np.testing.assert_array_equal(sd["tail"], [5, 6, 7])
    assert sd["steps"].dtype == np.int64 and sd["steps"].tolist() == [7, -3]
    assert sd["half"].dtype == np.float16 and sd["half"].tolist() == [0.5, 2.0]
    assert sd["bf16"].dtype == np.float32 and sd["bf16"].tolist() == [1.5, -2.25]
    assert sd["scalar"].shape == () and sd["scalar"] == -3


def test_handmade_big_endian_pt(tmp_path):
    items = [("v", _tensor("0", "DoubleStorage", 2, 0, (2,), (1,)))]
    path = _write(tmp_path, "be.pth", _zip(_state_dict_pickle(items),
                                           {"0": np.array([1.25, -4.0], ">f8").tobytes()},
                                           byteorder=b"big"))
    v = ac.load(path)["v"]
    assert v.dtype == np.float64 and v.dtype.isnative and v.tolist() == [1.25, -4.0]


def test_pt_view_reaching_past_its_storage_is_refused(tmp_path):
    items = [("w", _tensor("0", "FloatStorage", 4, 2, (2, 2), (2, 1)))]  # reaches element 5
    path = _write(tmp_path, "bad.pt", _zip(_state_dict_pickle(items),
                                           {"0": np.zeros(4, np.float32).tobytes()}))
    with pytest.raises(ValueError, match="corrupt"):
        ac.load(path)


def test_pt_expanded_views(tmp_path):
    items = [("row", _tensor("0", "FloatStorage", 2, 0, (3, 2), (0, 1))),   # expand(3, 2)
             ("huge", _tensor("0", "FloatStorage", 2, 0, (1 << 20, 1 << 20), (0, 0)))]
    raw = {"0": np.array([1.5, 2.5], np.float32).tobytes()}
    row = ac.load(_write(tmp_path, "row.pt", _zip(_state_dict_pickle(items[:1]), raw)))["row"]
    np.testing.assert_array_equal(row, [[1.5, 2.5]] * 3)
    with pytest.raises(ValueError, match="expands a storage"):
        ac.load(_write(tmp_path, "huge.pt", _zip(_state_dict_pickle(items[1:]), raw)))


@pytest.mark.parametrize("how", ["opcodes", "reduce_class"])
def test_malicious_pt_is_refused_and_nothing_runs(tmp_path, how):
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    if how == "opcodes":  # GLOBAL os.system, ('touch ...',), REDUCE: written by hand
        payload = b"\x80\x02" + _global("os", "system") + _tuple(_str(command)) + b"R."
    else:  # a class whose __reduce__ calls os.system, pickled the usual way
        class Exploit:
            def __reduce__(self):
                return os.system, (command,)
        payload = pickle.dumps({"weight": Exploit()}, protocol=2)
    path = _write(tmp_path, "evil.pt", _zip(payload, {}))
    with pytest.raises(pickle.UnpicklingError, match=r"(os|posix)\.system"):
        ac.load(path)
    assert not marker.exists()


def test_pt_with_any_other_global_is_refused_by_name(tmp_path):
    payload = b"\x80\x02" + _global("builtins", "eval") + _tuple(_str("1+1")) + b"R."
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        ac.load(_write(tmp_path, "eval.pt", _zip(payload, {})))


def test_broken_pt_files_get_clear_errors(tmp_path):
    items = [("w", _tensor("0", "FloatStorage", 4, 0, (4,), (1,)))]
    good = _zip(_state_dict_pickle(items), {"0": np.ones(4, np.float32).tobytes()})
    assert ac.load(_write(tmp_path, "good.pt", good))["w"].tolist() == [1, 1, 1, 1]
    for cut in (10, len(good) // 2, len(good) - 30):
        with pytest.raises(ValueError, match="load: .*trunc.pt"):
            ac.load(_write(tmp_path, "trunc.pt", good[:cut]))
    with pytest.raises(ValueError, match="legacy"):
        ac.load(_write(tmp_path, "legacy.pt", pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)))
    with pytest.raises(ValueError, match="not a torch.save file"):
        ac.load(_write(tmp_path, "text.pt", b"hello, not a model"))
    missing = _zip(_state_dict_pickle(items), {})
    with pytest.raises(ValueError, match="lacks the storage data/0"):
        ac.load(_write(tmp_path, "missing.pt", missing))
    truncated_pickle = _zip(_state_dict_pickle(items)[:-9], {"0": np.ones(4, np.float32).tobytes()})
    with pytest.raises(ValueError, match="corrupt or truncated"):
        ac.load(_write(tmp_path, "tp.pt", truncated_pickle))


# ------------------------------------------------------------- .pt files written by ac.save
_DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8,
           np.bool_]


def _checkpoint():
    """A training checkpoint: a state dict holding every dtype, views, a 0-d and an empty
    tensor, big-endian data, Tensors and a Parameter, next to optimizer-like state."""
    rng = np.random.default_rng(0)
    model = collections.OrderedDict(
        (f"t_{np.dtype(dt).name}", (rng.standard_normal((3, 4)) * 50).astype(dt))
        for dt in _DTYPES)
    model["transposed"] = np.arange(12, dtype=np.float32).reshape(3, 4).T
    model["strided"] = np.arange(20.0)[::3]
    model["scalar"] = np.array(2.5, np.float64)
    model["empty"] = np.zeros((0, 3), np.int64)
    model["big_endian"] = np.arange(5, dtype=">f4")
    model["tensor"] = ac.tensor([[1.0, -2.0]], dtype=ac.float64)
    model["param"] = ac.nn.Parameter(ac.tensor([0.5, 0.25]))
    optimizer = {"state": {0: {"step": np.int64(3), "exp_avg": ac.zeros(2, 2)},
                           1: {"momentum_buffer": None}},
                 "param_groups": [{"lr": 0.1, "betas": (0.9, np.float32(0.999)), "params": [0, 1],
                                   "nesterov": np.bool_(False), "name": np.str_("main"),
                                   "x": -2**70}]}
    return {"model": model, "optimizer": optimizer, "epoch": 4, "done": True, "note": None}


def _plain(value):
    """What the checkpoint's ``value`` should come back as: arrays for Tensors, Python numbers
    for NumPy scalars, containers of the same type."""
    if isinstance(value, ac.Tensor):
        return value.numpy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):  # OrderedDicts are written as dicts
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _assert_same(got, want, where="obj"):
    assert type(got) is type(want), (where, type(got), type(want))
    if isinstance(want, np.ndarray):
        assert got.dtype == want.dtype.newbyteorder("=") and got.shape == want.shape, where
        np.testing.assert_array_equal(got, want)
    elif isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            _assert_same(got[k], want[k], f"{where}[{k!r}]")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            _assert_same(g, w, f"{where}[{i}]")
    else:
        assert got == want, where


@pytest.mark.parametrize("name", ["ckpt.pt", "ckpt.pth"])
def test_pt_save_round_trips_every_dtype_and_nesting(tmp_path, name):
    ckpt = _checkpoint()
    ac.save(ckpt, tmp_path / name)
    _assert_same(ac.load(tmp_path / name), _plain(ckpt))


def test_pt_save_writes_torch_save_layout(tmp_path):
    """What torch.load needs, checked without torch: one folder, stored entries, storages that
    start at multiples of 64 bytes in the file, a protocol-2 pickle naming only the globals
    torch.load(weights_only=True) allows."""
    ac.save(_checkpoint(), tmp_path / "m.pt")
    raw = (tmp_path / "m.pt").read_bytes()
    with zipfile.ZipFile(tmp_path / "m.pt") as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert {n.split("/")[0] for n in names} == {"archive"}
        assert {"archive/data.pkl", "archive/byteorder", "archive/version"} <= set(names)
        assert zf.read("archive/byteorder") == b"little"
        assert int(zf.read("archive/version")) == 3
        pkl = zf.read("archive/data.pkl")
    storages = [i for i in infos if i.filename.startswith("archive/data/")]
    assert len(storages) == len(_DTYPES) + 7 + 1  # the model's tensors and exp_avg
    for info in infos:
        assert info.compress_type == zipfile.ZIP_STORED
        name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:
                                                       info.header_offset + 30])
        start = info.header_offset + 30 + name_len + extra_len
        assert start % 64 == 0, info.filename
    # storages are numbered in the order the tensors come; their bytes are C-order little-endian
    model, n = _checkpoint()["model"], len(_DTYPES)
    for key, want in [(0, model["t_float32"]), (n, model["transposed"]),
                      (n + 1, model["strided"]), (n + 4, model["big_endian"])]:
        with zipfile.ZipFile(tmp_path / "m.pt") as zf:
            assert zf.read(f"archive/data/{key}") == \
                want.astype(want.dtype.newbyteorder("<")).tobytes(order="C")
    assert pkl[:2] == b"\x80\x02"
    globals_ = {arg for op, arg, _ in pickletools.genops(pkl) if op.name == "GLOBAL"}
    assert globals_ == {"collections OrderedDict", "torch._utils _rebuild_tensor_v2"} | {
        f"torch {s}" for s in ("FloatStorage", "DoubleStorage", "HalfStorage", "LongStorage",
                               "IntStorage", "ShortStorage", "CharStorage", "ByteStorage",
                               "BoolStorage")}
    # the file depends on the values only: the same checkpoint saved again is the same bytes
    ac.save(_checkpoint(), tmp_path / "again.pt")
    assert (tmp_path / "again.pt").read_bytes() == raw


def test_pt_save_refuses_what_torch_load_would_not_read(tmp_path):
    path = tmp_path / "m.pt"
    ac.save({"w": np.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"obj\['opt'\]\['z'\] has dtype complex64"):
        ac.save({"opt": {"z": np.ones(2, np.complex64)}}, path)
    with pytest.raises(TypeError, match=r"obj\['w'\] has dtype uint16"):
        ac.save({"w": np.ones(2, np.uint16)}, path)
    with pytest.raises(TypeError, match=r"obj\[0\] of type set"):
        ac.save([{1, 2}], path)
    with pytest.raises(TypeError, match="dict keys"):
        ac.save({(1, 2): 3}, path)
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        ac.save(loop, path)
    assert path.read_bytes() == before  # a refused save leaves the old file as it was
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # and no temporary


# ------------------------------------------------------------------------------- safetensors
def test_safetensors_round_trip(tmp_path):
    pytest.importorskip("safetensors", reason="the optional safetensors package is not installed")
    sd = {"a.weight": np.arange(6, dtype=np.float32).reshape(2, 3).T, "a.steps": np.array(3),
          "b": ac.tensor([1.0, 2.0], dtype=ac.float64), "mask": np.array([True, False])}
    ac.save(sd, tmp_path / "m.safetensors")
    back = ac.load(tmp_path / "m.safetensors")
    assert set(back) == set(sd)
    for k, v in sd.items():
        v = np.asarray(v.numpy() if isinstance(v, ac.Tensor) else v)
        assert back[k].dtype == v.dtype and back[k].shape == v.shape
        np.testing.assert_array_equal(back[k], v)


def test_safetensors_bad_input_and_files(tmp_path):
    pytest.importorskip("safetensors", reason="the optional safetensors package is not installed")
    with pytest.raises(TypeError, match="flat dict"):
        ac.save([np.ones(2)], tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="only arrays"):
        ac.save({"opt": {"lr": 0.1}}, tmp_path / "x.safetensors")
    ac.save({"w": np.ones((4, 4), np.float32)}, tmp_path / "ok.safetensors")
    good = (tmp_path / "ok.safetensors").read_bytes()
    for data in (good[:5], good[:len(good) - 7], b"\xff" * 64, b""):
        (tmp_path / "bad.safetensors").write_bytes(data)
        with pytest.raises(ValueError, match="not a readable .safetensors file"):
            ac.load(tmp_path / "bad.safetensors")


# ------------------------------------------------------------------- with PyTorch installed
def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed")


def _twin_pair(name):
    torch = _torch()
    torch.manual_seed(0)
    if name == "lenet5":
        return ac.models.LeNet5(), torch_twins.lenet5(), (2, 1, 28, 28)
    twin = torch_twins.cifar_resnet(depth=8)
    for m in twin.modules():  # non-trivial running statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.num_batches_tracked.fill_(7)
    return ac.models.CifarResNet(depth=8), twin, (2, 3, 32, 32)


def _same_outputs(ours, twin, shape):
    torch = _torch()
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    ours.eval()
    twin.eval()
    with torch.no_grad():
        want = twin(torch.from_numpy(x)).numpy()
    got = ours(ac.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


@pytest.mark.parametrize("name", ["lenet5", "resnet"])
def test_torch_save_state_dict_loads_into_our_model(tmp_path, name):
    torch = _torch()
    ours, twin, shape = _twin_pair(name)
    torch.save(twin.state_dict(), tmp_path / "w.pth")
    sd = ac.load(tmp_path / "w.pth")
    assert list(sd) == list(twin.state_dict())
    ours.load_state_dict(sd)
    _same_outputs(ours, twin, shape)


@pytest.mark.parametrize("mmap", [False, True])
def test_our_pt_file_loads_in_torch(tmp_path, mmap):
    torch = _torch()
    ckpt = _checkpoint()
    ac.save(ckpt, tmp_path / "ckpt.pt")
    got = torch.load(tmp_path / "ckpt.pt", mmap=mmap)  # weights_only=True: torch's default

    def same(g, w, where="obj"):
        if isinstance(w, ac.Tensor) or isinstance(w, np.ndarray):
            arr = w.numpy() if isinstance(w, ac.Tensor) else w
            assert isinstance(g, torch.Tensor) and not isinstance(g, torch.nn.Parameter), where
            assert str(g.dtype) == f"torch.{arr.dtype.newbyteorder('=').name}", where
            assert tuple(g.shape) == arr.shape and g.is_contiguous(), where
            np.testing.assert_array_equal(g.detach().numpy(), arr)
            assert g.requires_grad == bool(getattr(w, "requires_grad", False)), where
        elif isinstance(w, dict):
            assert type(g) is dict and list(g) == list(w), where
            for k in w:
                same(g[k], w[k], f"{where}[{k!r}]")
        elif isinstance(w, (list, tuple)):
            assert type(g) is type(w) and len(g) == len(w), where
            for i, (a, b) in enumerate(zip(g, w)):
                same(a, b, f"{where}[{i}]")
        else:
            w = w.item() if isinstance(w, np.generic) else w
            assert type(g) is type(w) and g == w, where

    same(got, ckpt)


@pytest.mark.parametrize("name", ["lenet5", "resnet"])
def test_our_state_dict_saved_as_pt_loads_into_torch_twin(tmp_path, name):
    torch = _torch()
    ours, twin, shape = _twin_pair(name)
    torch.nn.init.normal_(next(twin.parameters()))  # the twin now differs from ours...
    ac.save(ours.state_dict(), tmp_path / "ours.pth")
    twin.load_state_dict(torch.load(tmp_path / "ours.pth"))  # ...until it loads our file
    _same_outputs(ours, twin, shape)


@pytest.mark.parametrize("name", ["lenet5", "resnet"])
def test_safetensors_move_both_ways_with_pytorch(tmp_path, name):
    _torch()
    st = pytest.importorskip("safetensors.torch", reason="safetensors is not installed")
    ours, twin, shape = _twin_pair(name)
    st.save_file(twin.state_dict(), str(tmp_path / "theirs.safetensors"))
    ours.load_state_dict(ac.load(tmp_path / "theirs.safetensors"))
    _same_outputs(ours, twin, shape)
    # ours -> PyTorch: the file is what safetensors.torch.save_file writes for the same weights
    ac.save(ours.state_dict(), tmp_path / "ours.safetensors")
    theirs = st.load_file(str(tmp_path / "ours.safetensors"))
    assert {k: (tuple(v.shape), v.dtype) for k, v in theirs.items()} == \
        {k: (tuple(v.shape), v.dtype) for k, v in twin.state_dict().items()}
    assert (tmp_path / "ours.safetensors").read_bytes() == \
        (tmp_path / "theirs.safetensors").read_bytes()
    twin.load_state_dict(theirs)
    _same_outputs(ours, twin, shape)
