"""Bundled datasets and the IDX reader."""
import gzip
import os

import numpy as np
import pytest

from autograd_cnn import datasets
from autograd_cnn.datasets import load_idx, load_idx_dir

FASHION = "/usr/share/datasets/fashion-mnist"
SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "datasets")


@pytest.mark.parametrize("name,shape,n", [("mnist5k", (1, 28, 28), 5000),
                                          ("mnist_test", (1, 28, 28), 10000),
                                          ("digits", (1, 8, 8), 1797),
                                          ("mnist1d", (1, 40), 4000)])
def test_bundled(name, shape, n):
    d = datasets.load(name)
    assert d.x.shape == (n,) + shape and d.x.dtype == np.float32
    assert d.y.shape == (n,) and d.y.dtype == np.int64
    assert d.images is d.x and d.labels is d.y and len(d) == n
    assert set(np.unique(d.y)) == set(range(10))
    if name != "mnist1d":
        assert d.x.min() == 0.0 and d.x.max() == 1.0


def test_known_contents():
    t = datasets.load("mnist_test")
    np.testing.assert_array_equal(t.y[:5], [7, 2, 1, 0, 4])  # the official test order
    m = datasets.load("mnist5k")
    np.testing.assert_array_equal(np.bincount(m.y), [500] * 10)
    te = datasets.load("mnist1d", split="test")
    assert te.x.shape == (1000, 1, 40)
    with pytest.raises(ValueError, match="split"):
        datasets.load("digits", split="test")
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.load("cifar")
    with pytest.raises(ValueError, match="root"):
        datasets.load("mnist_train60k")


def test_package_data_files_present():
    for f in ("mnist5k.npz", "mnist_test10k.npz", "digits.npz", "mnist1d.npz",
              "DATA_LICENSE.md"):
        assert os.path.isfile(os.path.join(datasets.DATA_DIR, f)), f


def test_load_path_and_root(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(6, 5, 4), dtype=np.uint8)
    np.savez(tmp_path / "mnist_train60k.npz", images=imgs, labels=np.arange(6, dtype=np.uint8))
    d = datasets.load("mnist_train60k", root=tmp_path)
    np.testing.assert_allclose(d.x[:, 0], imgs / 255.0, rtol=1e-6)
    assert d.y.tolist() == list(range(6))
    np.savez(tmp_path / "bad.npz", pixels=imgs)
    with pytest.raises(ValueError, match="images"):
        datasets.load_path(tmp_path / "bad.npz")


# ------------------------------------------------------------------------------------------ IDX
def _idx_bytes(arr, code):
    arr = np.asarray(arr)
    be = arr.astype(arr.dtype.newbyteorder(">"))
    header = bytes([0, 0, code, arr.ndim]) + np.array(arr.shape, dtype=">u4").tobytes()
    return header + be.tobytes()


CODES = [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
         (np.float32, 0x0D), (np.float64, 0x0E)]


@pytest.mark.parametrize("dtype,code", CODES)
@pytest.mark.parametrize("gz", [False, True])
def test_idx_roundtrip(tmp_path, dtype, code, gz):
    rng = np.random.default_rng(code)
    arr = (rng.standard_normal((4, 3, 5)) * 50).astype(dtype)
    raw = _idx_bytes(arr, code)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    got = load_idx(path)
    assert got.dtype == np.dtype(dtype) and got.dtype.isnative and got.shape == (4, 3, 5)
    np.testing.assert_array_equal(got, arr)


def test_idx_one_dim_labels(tmp_path):
    p = tmp_path / "labels"
    p.write_bytes(_idx_bytes(np.array([7, 2, 1], np.uint8), 0x08))
    np.testing.assert_array_equal(load_idx(p), [7, 2, 1])


@pytest.mark.parametrize("mutate,match", [
    (lambda b: b[:2], "too short"),
    (lambda b: b"\x01" + b[1:], "magic"),
    (lambda b: b[:2] + b"\x07" + b[3:], "element type"),
    (lambda b: b[:3] + b"\x00" + b[4:], "0 dimensions"),
    (lambda b: b[:3] + b"\x09" + b[4:], "header"),
    (lambda b: b[:-1], "truncated"),
    (lambda b: b + b"\x00", "after the data"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_corrupt(tmp_path, mutate, match, gz):
    raw = mutate(_idx_bytes(np.zeros((2, 3), np.uint8), 0x08))
    p = tmp_path / "bad"
    p.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(ValueError, match=match):
        load_idx(p)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("code,shape", [
    (0x08, (65536,) * 4),              # 2**64 elements: wrapped to 0 in int64 arithmetic
    (0x0E, (2**32 - 1, 2**32 - 1)),    # 8 * (2**32-1)**2 bytes: wrapped negative in int64
])
def test_idx_huge_declared_shape_named_exactly(tmp_path, code, shape, gz):
    raw = bytes([0, 0, code, len(shape)]) + np.array(shape, ">u4").tobytes() + bytes(8)
    p = tmp_path / "huge.gz"
    p.write_bytes(gzip.compress(raw) if gz else raw)
    itemsize = 1 if code == 0x08 else 8
    needed = itemsize
    for s in shape:
        needed *= s  # Python ints: the exact size the message must give
    with pytest.raises(ValueError, match=f"huge.gz.*{needed}"):
        load_idx(p)


def test_idx_max_bytes(tmp_path):
    p = tmp_path / "a.idx"
    p.write_bytes(_idx_bytes(np.zeros((4, 4), np.float32), 0x0D))
    assert load_idx(p, max_bytes=64).shape == (4, 4)
    with pytest.raises(ValueError, match="a.idx.*64 bytes.*max_bytes=63"):
        load_idx(p, max_bytes=63)


def test_idx_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    """A small gzip file whose header declares 16 bytes but which inflates to 64 MiB is refused
    after reading just past the declared data: memory stays far below the inflated size."""
    import tracemalloc
    zeros = bytes(1 << 20)
    with gzip.open(tmp_path / "bomb.gz", "wb") as f:
        f.write(_idx_bytes(np.zeros((4, 4), np.uint8), 0x08))
        for _ in range(64):
            f.write(zeros)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="bomb.gz.*after the data"):
            load_idx(tmp_path / "bomb.gz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_idx_big_endian_values_in_native_order(tmp_path):
    arr = np.array([1.5, -2.25, 3e38], np.float32)
    p = tmp_path / "f.idx"
    p.write_bytes(_idx_bytes(arr, 0x0D))
    got = load_idx(p)
    assert got.flags.writeable and got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, arr)


def test_idx_truncated_gzip(tmp_path):
    data = gzip.compress(_idx_bytes(np.arange(1000, dtype=np.uint8).reshape(10, 100), 0x08))
    p = tmp_path / "t.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="gzip"):
        load_idx(p)
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "missing")


def test_idx_dir(tmp_path):
    imgs = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(imgs, 8)))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.array([3, 9], np.uint8), 8))
    x, y = load_idx_dir(tmp_path, "test")
    np.testing.assert_array_equal(x, imgs)
    d = datasets.load("idx", split="test", root=tmp_path)
    assert d.x.shape == (2, 1, 4, 4) and d.y.tolist() == [3, 9]
    with pytest.raises(FileNotFoundError, match="train-images"):
        load_idx_dir(tmp_path, "train")


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist():
    x, y = load_idx_dir(FASHION, "test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8 and y.shape == (10000,)
    assert np.bincount(y).tolist() == [1000] * 10


def test_idx_gzip_claiming_gigabytes_with_little_data_allocates_little(tmp_path):
    """A 33-byte gzip file whose header declares 4 GiB: memory follows the data that arrives."""
    import tracemalloc
    p = tmp_path / "liar.gz"
    p.write_bytes(gzip.compress(bytes([0, 0, 0x08, 2]) + np.array([65536, 65535], ">u4").tobytes()
                                + bytes(10)))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="liar.gz.*truncated"):
            load_idx(p, max_bytes=1 << 33)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20
    with pytest.raises(TypeError, match="max_bytes"):
        load_idx(p, max_bytes="big")
