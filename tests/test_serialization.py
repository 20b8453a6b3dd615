"""Checkpoints: round trips of nested structures, pickle-freedom, atomic writes, clear errors."""
import io
import json
import math
import os
import zipfile

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import serialization
from autograd_cnn.serialization import load, save


def _assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


def test_round_trip_nested(tmp_path):
    rng = np.random.default_rng(0)
    obj = {
        "model": {"0.weight": rng.standard_normal((3, 2)).astype(np.float32),
                  "0.bias": np.zeros(3, np.float64),
                  "1.num_batches_tracked": np.array(7, dtype=np.int64)},
        "optimizer": {"state": {0: {"step": 3, "exp_avg": rng.standard_normal(4)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                                        "nesterov": False, "name": None}]},
        "epoch": 12, "best": float("inf"), "nan": float("nan"), "tag": "run-α",
        "flags": [True, False], "empty": {}, "np_scalar": np.float32(1.5),
        "bool_arr": np.array([True, False]), "big": 2 ** 70, "third": 1 / 3,
    }
    path = tmp_path / "ckpt.npz"
    save(obj, path)
    back = load(path)
    _assert_same(obj, back)
    assert back["np_scalar"].dtype == np.float32
    assert back["third"] == 1 / 3  # exact float round trip


def test_exact_path_no_suffix_added(tmp_path):
    path = tmp_path / "weights.ckpt"
    save({"a": np.ones(2)}, str(path))
    assert path.exists() and not (tmp_path / "weights.ckpt.npz").exists()
    assert os.listdir(tmp_path) == ["weights.ckpt"]  # no temporary left behind


def test_file_is_plain_npz_without_pickle(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.arange(3.0), "n": 2}, path)
    with np.load(path, allow_pickle=False) as npz:
        manifest = json.loads(npz[serialization.MANIFEST_KEY].tobytes())
        assert manifest["format"] == serialization.FORMAT
        assert all(npz[k].dtype != object for k in npz.files)


def test_tensor_saved_as_array(tmp_path):
    t = ac.tensor(np.arange(4.0), requires_grad=True)
    save({"t": t}, tmp_path / "t.npz")
    back = load(tmp_path / "t.npz")["t"]
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, np.arange(4.0))


def test_unsupported_values_rejected(tmp_path):
    with pytest.raises(TypeError, match="object"):
        save({"x": np.array([1, "a", None], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="set"):
        save({"x": {1, 2}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="keys"):
        save({(1, 2): 3}, tmp_path / "x.npz")
    assert not os.listdir(tmp_path)


def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    save({"v": np.ones(3)}, path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(serialization.np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        save({"v": np.zeros(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(load(path)["v"], np.ones(3))
    assert os.listdir(tmp_path) == ["c.npz"]


def test_truncated_file(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.random.default_rng(1).standard_normal(1000)}, path)
    raw = path.read_bytes()
    for cut in (len(raw) // 2, 10, len(raw) - 5):
        path.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match="c.npz"):
            load(path)


def test_corrupt_bytes(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.arange(100.0)}, path)
    raw = bytearray(path.read_bytes())
    raw[100:140] = b"\xff" * 40  # inside the first stored array: CRC mismatch
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checkpoint"):
        load(path)


def test_foreign_files(tmp_path):
    p = tmp_path / "plain.npz"
    np.savez(p, x=np.ones(2))
    with pytest.raises(ValueError, match="not an autograd_cnn checkpoint"):
        load(p)
    q = tmp_path / "one.npy"
    np.save(q, np.ones(2))
    with pytest.raises(ValueError, match="single .npy"):
        load(q)
    r = tmp_path / "text.txt"
    r.write_text("hello")
    with pytest.raises(ValueError):
        load(r)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_pickled_entries_are_never_loaded(tmp_path):
    path = tmp_path / "evil.npz"
    manifest = {"format": serialization.FORMAT, "version": 1, "root": {"t": "array", "k": "a0"}}
    with zipfile.ZipFile(path, "w") as z:
        with z.open("a0.npy", "w") as f:
            np.lib.format.write_array(f, np.array([{"x": 1}], dtype=object), allow_pickle=True)
        with z.open(serialization.MANIFEST_KEY + ".npy", "w") as f:
            np.lib.format.write_array(f, np.frombuffer(json.dumps(manifest).encode(), np.uint8))
    with pytest.raises(ValueError, match="evil.npz"):
        load(path)


def test_bad_manifest(tmp_path):
    path = tmp_path / "m.npz"
    manifest = {"format": serialization.FORMAT, "version": 1, "root": {"t": "array", "k": "a9"}}
    np.savez(path, **{serialization.MANIFEST_KEY:
                      np.frombuffer(json.dumps(manifest).encode(), np.uint8)})
    with pytest.raises(ValueError, match="a9"):
        load(path)
    manifest["version"] = 99
    np.savez(path, **{serialization.MANIFEST_KEY:
                      np.frombuffer(json.dumps(manifest).encode(), np.uint8)})
    with pytest.raises(ValueError, match="version"):
        load(path)


# ------------------------------------------------------------ property: any nesting survives
from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

_arrays = hnp.arrays(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]),
                     hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
_leaves = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 80, 2 ** 80),
                    st.floats(allow_nan=False), st.text(max_size=8), _arrays)
_keys = st.one_of(st.text(max_size=6), st.integers(-5, 5))
_trees = st.recursive(_leaves, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.tuples(kids, kids),
    st.dictionaries(_keys, kids, max_size=4)), max_leaves=12)


@settings(max_examples=40, deadline=None)
@given(_trees)
def test_any_tree_round_trips(tmp_path_factory, tree):
    path = tmp_path_factory.mktemp("ckpt") / "t.npz"
    save(tree, path)
    _assert_same(tree, load(path))


# ------------------------------------------------------------ hostile files and odd paths
def _with_manifest(path, root, **arrays):
    manifest = {"format": serialization.FORMAT, "version": 1, "root": root}
    np.savez(path, **arrays, **{serialization.MANIFEST_KEY:
                                np.frombuffer(json.dumps(manifest).encode(), np.uint8)})


@pytest.mark.parametrize("root", [
    {"t": "list", "v": 5},
    {"t": "tuple", "v": "abc"},
    {"t": "dict", "v": {"a": 1}},
    {"t": "bool"},
    {"t": "bool", "v": 1},
    {"t": "int", "v": True},
    {"t": "str", "v": 7},
    {"t": "float", "v": 1.5},
    {"t": "dict", "v": [[{"t": "list", "v": []}, {"t": "none"}]]},  # a list used as a key
    {"t": ["list"], "v": []},
])
def test_hostile_manifest_nodes_give_a_value_error_naming_the_file(tmp_path, root):
    path = tmp_path / "hostile.npz"
    _with_manifest(path, root)
    with pytest.raises(ValueError, match="hostile.npz.*manifest"):
        load(path)


@pytest.mark.parametrize("levels", [serialization.MAX_DEPTH + 5, 5000])
def test_deeply_nested_manifest_is_refused(tmp_path, levels):
    root = '{"t": "list", "v": [' * levels + '{"t": "none"}' + "]}" * levels  # too deep for json.dumps
    path = tmp_path / "deep.npz"
    manifest = '{"format": "%s", "version": 1, "root": %s}' % (serialization.FORMAT, root)
    np.savez(path, **{serialization.MANIFEST_KEY: np.frombuffer(manifest.encode(), np.uint8)})
    with pytest.raises(ValueError, match="deep.npz"):
        load(path)


def test_nesting_at_the_limit_round_trips_and_beyond_it_is_refused_on_save(tmp_path):
    tree = []
    for _ in range(serialization.MAX_DEPTH - 1):
        tree = [tree]
    save(tree, tmp_path / "ok.npz")
    assert load(tmp_path / "ok.npz") == tree
    with pytest.raises(ValueError, match="nested more than"):
        save([[tree]], tmp_path / "deep.npz")


def test_self_containing_structure_is_refused_on_save(tmp_path):
    loop = [1]
    loop.append(loop)
    with pytest.raises(ValueError, match="contains itself"):
        save({"x": loop}, tmp_path / "loop.npz")
    shared = [1, 2]  # the same list twice is a DAG, not a loop: stored twice
    save({"a": shared, "b": shared}, tmp_path / "dag.npz")
    assert load(tmp_path / "dag.npz") == {"a": [1, 2], "b": [1, 2]}
    assert not list(tmp_path.glob(".*.tmp"))


def test_entry_header_claiming_terabytes_is_refused_before_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    save({"w": np.zeros(4, np.float32)}, path)
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    header = np.lib.format.header_data_from_array_1_0(np.zeros(4, np.float32))
    header["shape"] = (2 ** 40,)
    buf = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    members["a0.npy"] = buf.getvalue() + np.zeros(4, np.float32).tobytes()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ValueError, match=r"huge.npz.*'a0'.*1099511627776"):
        load(path)


def test_random_byte_flips_give_value_errors_only(tmp_path):
    path = tmp_path / "c.npz"
    save({"w": np.arange(64.0), "opt": {"lr": 0.1, "betas": (0.9, 0.999)}}, path)
    raw = path.read_bytes()
    rng = np.random.default_rng(0)
    for i in range(200):
        flipped = bytearray(raw)
        at = int(rng.integers(len(raw)))
        flipped[at] ^= 1 << int(rng.integers(8))
        path.write_bytes(bytes(flipped))
        try:
            load(path)  # a flip in ignorable bytes (a zip comment, padding) may load fine
        except ValueError as e:
            assert "c.npz" in str(e)


@pytest.mark.parametrize("kind", [str, bytes, __import__("pathlib").Path])
def test_paths_may_be_str_bytes_or_pathlike(tmp_path, kind):
    path = os.path.join(str(tmp_path), "p.npz")
    save({"x": 1}, kind(path.encode() if kind is bytes else path))
    assert load(kind(path.encode() if kind is bytes else path)) == {"x": 1}
    with pytest.raises(TypeError, match="path"):
        save({"x": 1}, 42)


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="permissions do not bind root")
def test_permission_errors_name_the_target(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match="locked/c.npz"):
            save({"x": 1}, locked / "c.npz")
    finally:
        locked.chmod(0o700)
    unreadable = tmp_path / "u.npz"
    save({"x": 1}, unreadable)
    unreadable.chmod(0)
    with pytest.raises(PermissionError):
        load(unreadable)


def test_temporaries_of_dead_writers_are_removed_by_the_next_save(tmp_path):
    path = tmp_path / "c.npz"
    prefix = serialization._temporary_prefix(str(path))
    dead = tmp_path / (prefix + "999999999.abc.tmp")  # no such process
    alive = tmp_path / (prefix + "%d.def.tmp" % os.getppid())
    other_host = tmp_path / (".c.npz.elsewhere.999999999.ghi.tmp")
    for p in (dead, alive, other_host):
        p.write_bytes(b"partial")
    save({"x": 1}, path)
    assert not dead.exists() and alive.exists() and other_host.exists()
    assert load(path) == {"x": 1}


def test_a_failed_temporary_is_reported_under_the_target_name(tmp_path, monkeypatch):
    """Whatever stops the temporary from being created (here: a refusal like an unwritable
    directory's, which root never meets) is reported with the file asked for."""
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", os.path.join(str(tmp_path), ".c.npz.x.tmp"))

    monkeypatch.setattr(serialization.tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match=r"save: cannot write .*c\.npz' \(Permission denied\)") as info:
        save({"x": 1}, tmp_path / "c.npz")
    assert ".tmp" not in str(info.value)


def test_compressed_entries_are_refused(tmp_path):
    """save() stores entries as they are; a deflated one could inflate far past the file."""
    path = tmp_path / "zipped.npz"
    save({"w": np.zeros(1000)}, path)
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ValueError, match="zipped.npz.*compressed"):
        load(path)


def test_manifest_with_an_endless_integer_names_the_file(tmp_path):
    path = tmp_path / "digits.npz"
    manifest = '{"format": "%s", "version": 1, "root": {"t": "int", "v": %s}}' % (
        serialization.FORMAT, "9" * 5000)
    np.savez(path, **{serialization.MANIFEST_KEY: np.frombuffer(manifest.encode(), np.uint8)})
    with pytest.raises(ValueError, match="digits.npz"):
        load(path)


def test_pytorchs_load_arguments_are_taken(tmp_path):
    state = {"weight": np.arange(6, dtype=np.float32).reshape(2, 3), "step": 4}
    path = str(tmp_path / "m.pth")
    save(state, path)
    for kwargs in ({"map_location": "cpu"}, {"map_location": ac.device("cpu")},
                   {"map_location": {"cuda:0": "cpu"}}, {"map_location": lambda s, loc: s},
                   {"weights_only": True}, {"weights_only": False}, {"mmap": True}):
        got = load(path, **kwargs)
        np.testing.assert_array_equal(got["weight"], state["weight"])
        assert got["step"] == 4
    with pytest.raises(RuntimeError, match="CPUs only"):
        load(path, map_location="cuda:0")
    with pytest.raises(RuntimeError, match="CPUs only"):
        load(path, map_location={"cpu": "cuda"})
    with pytest.raises(TypeError, match="weights_only"):
        load(path, weights_only="yes")
    with pytest.raises(TypeError, match="map_location"):
        load(path, map_location=3.5)


@pytest.mark.parametrize("writer_name, reader_name", [("m.pt", "m.pth.tar"), ("m.pt", "m.ckpt"),
                                                      ("m.npz", "m.bin"),
                                                      ("m.pt", None), ("m.npz", None)])
def test_the_format_is_read_from_the_bytes_where_the_name_does_not_say(tmp_path, writer_name,
                                                                       reader_name):
    state = {"conv.weight": np.ones((2, 1, 3, 3), np.float32), "epoch": 7}
    written = tmp_path / writer_name
    save(state, str(written))
    if reader_name is None:  # a file object: no name to go by
        with open(written, "rb") as f:
            got = load(io.BytesIO(f.read()))
    else:
        renamed = tmp_path / reader_name
        os.replace(written, renamed)
        got = load(str(renamed))
    np.testing.assert_array_equal(got["conv.weight"], state["conv.weight"])
    assert got["epoch"] == 7


def test_file_objects_must_be_binary_and_bad_bytes_stay_value_errors(tmp_path):
    path = tmp_path / "c.npz"
    save({"a": np.zeros(2)}, str(path))
    with open(path, "rb") as f:
        assert list(load(f)) == ["a"]
    with open(path, "r", errors="replace") as f, pytest.raises(TypeError, match="binary"):
        load(f)
    for junk in (b"", b"PK\x03\x04 not a zip", b"\x10\x00\x00\x00\x00\x00\x00\x00{", b"junk"):
        with pytest.raises(ValueError):
            load(io.BytesIO(junk))
