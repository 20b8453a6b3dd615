"""Datasets, samplers, DataLoader and random_split."""
import numpy as np
import pytest

from autograd_cnn.data import (BatchSampler, DataLoader, Dataset, RandomSampler,
                               SequentialSampler, Subset, TensorDataset, WeightedRandomSampler,
                               random_split)


def _ds(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(x, y)


def _epoch(loader):
    return [tuple(np.asarray(a) for a in b) for b in loader]


def test_tensor_dataset_items_and_batches():
    ds = _ds()
    assert len(ds) == 10
    x, y = ds[4]
    np.testing.assert_array_equal(x, [12, 13, 14])
    assert y == 4
    xb, yb = ds.get_batch(np.array([3, 1]))
    np.testing.assert_array_equal(yb, [3, 1])
    with pytest.raises(ValueError, match="samples"):
        TensorDataset(np.zeros((3, 2)), np.zeros(4))


def test_sequential_batches_and_drop_last():
    loader = DataLoader(_ds(), batch_size=4, as_tensor=False)
    batches = _epoch(loader)
    assert len(loader) == 3 == len(batches)
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), np.arange(10))
    np.testing.assert_array_equal(batches[0][0], np.arange(12).reshape(4, 3))
    loader = DataLoader(_ds(), batch_size=4, drop_last=True, as_tensor=False)
    assert len(loader) == 2 == len(_epoch(loader))


def test_full_batch_and_single_sample():
    full = _epoch(DataLoader(_ds(), batch_size=10, as_tensor=False))
    assert len(full) == 1 and full[0][0].shape == (10, 3)
    single = _epoch(DataLoader(_ds(), batch_size=1, shuffle=True, seed=0, as_tensor=False))
    assert len(single) == 10 and all(b[0].shape == (1, 3) for b in single)
    assert sorted(int(b[1][0]) for b in single) == list(range(10))


def test_shuffle_fresh_permutation_each_epoch_and_deterministic():
    loader = DataLoader(_ds(50), batch_size=8, shuffle=True, seed=3, as_tensor=False)
    e1 = np.concatenate([b[1] for b in _epoch(loader)])
    e2 = np.concatenate([b[1] for b in _epoch(loader)])
    assert sorted(e1) == list(range(50)) and sorted(e2) == list(range(50))
    assert not np.array_equal(e1, e2)
    again = DataLoader(_ds(50), batch_size=8, shuffle=True, seed=3, as_tensor=False)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in _epoch(again)]), e1)
    # rows stay aligned across fields
    for xb, yb in _epoch(loader):
        np.testing.assert_array_equal(xb[:, 0], yb * 3)


def test_sampling_with_replacement():
    ds = _ds(20)
    sampler = RandomSampler(ds, replacement=True, num_samples=200, seed=1)
    loader = DataLoader(ds, batch_size=32, sampler=sampler, as_tensor=False)
    ys = np.concatenate([b[1] for b in _epoch(loader)])
    assert len(ys) == 200 and len(loader) == 7
    assert len(np.unique(ys)) < 200  # repeats
    assert ys.min() >= 0 and ys.max() < 20
    np.testing.assert_array_equal(SequentialSampler(ds).epoch_indices(), np.arange(20))


def test_batch_sampler_groups_any_index_source():
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(SequentialSampler(range(7)), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    # as the loader's batch_sampler: exactly the given batches, in order, with workers too
    for workers in (0, 2):
        loader = DataLoader(_ds(), batch_sampler=[[0, 1], [9, 5, 7], [3]], num_workers=workers,
                            as_tensor=False)
        assert len(loader) == 3 and loader.batch_size is None
        assert [b[1].tolist() for b in _epoch(loader)] == [[0, 1], [9, 5, 7], [3]]
    # a shuffling batch sampler: a fresh order per epoch, replayable from the loader's state
    loader = DataLoader(_ds(20), batch_sampler=BatchSampler(RandomSampler(_ds(20), seed=4), 6,
                                                            False), as_tensor=False)
    state = loader.state_dict()
    first = [b[1].tolist() for b in _epoch(loader)]
    assert [len(b) for b in first] == [6, 6, 6, 2]
    assert sorted(sum(first, [])) == list(range(20))
    assert [b[1].tolist() for b in _epoch(loader)] != first
    loader.load_state_dict(state)
    assert [b[1].tolist() for b in _epoch(loader)] == first
    # the default loader's own batch sampler is PyTorch's attribute
    default = DataLoader(_ds(), batch_size=4, drop_last=True)
    assert isinstance(default.batch_sampler, BatchSampler) and len(default.batch_sampler) == 2


def test_weighted_random_sampler_draws_by_weight():
    w = np.array([0.0, 1.0, 0.0, 3.0])
    draws = WeightedRandomSampler(w, 20000, seed=5).epoch_indices()
    counts = np.bincount(draws, minlength=4)
    assert counts[0] == counts[2] == 0  # zero weight: never drawn
    assert abs(counts[3] / counts.sum() - 0.75) < 0.02  # 0.75 +- 7 standard deviations
    once = WeightedRandomSampler([5, 1, 1, 0, 2], 4, replacement=False, seed=1).epoch_indices()
    assert sorted(once.tolist()) == [0, 1, 2, 4]  # every non-zero index once
    loader = DataLoader(_ds(4), batch_size=8, sampler=WeightedRandomSampler(w, 16, seed=0),
                        as_tensor=False)
    assert set(np.concatenate([b[1] for b in _epoch(loader)]).tolist()) <= {1, 3}


@pytest.mark.parametrize("make, match", [
    (lambda: DataLoader(_ds(), batch_size=2, batch_sampler=[[0]]), "mutually exclusive"),
    (lambda: DataLoader(_ds(), shuffle=True, batch_sampler=[[0]]), "mutually exclusive"),
    (lambda: DataLoader(_ds(), batch_sampler=3), "batch_sampler"),
    (lambda: BatchSampler(range(3), 0, False), "batch_size"),
    (lambda: BatchSampler(range(3), 2, 1), "drop_last"),
    (lambda: WeightedRandomSampler([1.0, -1.0], 2), "weights"),
    (lambda: WeightedRandomSampler([[1.0]], 2), "weights"),
    (lambda: WeightedRandomSampler([1.0, np.nan], 2), "weights"),
    (lambda: WeightedRandomSampler([1.0, 0.0], 2, replacement=False), "num_samples"),
    (lambda: WeightedRandomSampler([1.0], 0), "num_samples"),
])
def test_sampler_bad_arguments(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_loader_state_replays_future_epochs():
    loader = DataLoader(_ds(30), batch_size=7, shuffle=True, seed=11, as_tensor=False)
    _epoch(loader)
    state = loader.state_dict()
    want = [_epoch(loader) for _ in range(2)]
    other = DataLoader(_ds(30), batch_size=7, shuffle=True, seed=999, as_tensor=False)
    other.load_state_dict(state)
    got = [_epoch(other) for _ in range(2)]
    for w, g in zip(want, got):
        for (wx, wy), (gx, gy) in zip(w, g):
            np.testing.assert_array_equal(wy, gy)


def test_generic_dataset_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float64), i

    batches = _epoch(DataLoader(Squares(), batch_size=2, as_tensor=False))
    assert [b[0].shape for b in batches] == [(2, 2), (2, 2), (1, 2)]
    np.testing.assert_array_equal(batches[1][0], [[2, 4], [3, 9]])


def test_loader_yields_tensors():
    ac = pytest.importorskip("autograd_cnn")
    if not hasattr(ac, "Tensor"):
        pytest.skip("engine not merged")
    xb, yb = next(iter(DataLoader(_ds(), batch_size=4)))
    assert isinstance(xb, ac.Tensor) and xb.shape == (4, 3) and xb.dtype == np.float32
    assert yb.dtype == np.int64 and not xb.requires_grad


def test_random_split():
    ds = _ds(10)
    a, b = random_split(ds, [7, 3], seed=0)
    assert isinstance(a, Subset) and len(a) == 7 and len(b) == 3
    ids = np.concatenate([a.get_batch(np.arange(7))[1], b.get_batch(np.arange(3))[1]])
    assert sorted(ids) == list(range(10))
    a2, _ = random_split(ds, [7, 3], seed=0)
    np.testing.assert_array_equal(a.indices, a2.indices)
    c, d, e = random_split(ds, [0.5, 0.3, 0.2], seed=1)
    assert (len(c), len(d), len(e)) == (5, 3, 2)
    f, g = random_split(_ds(11), [0.5, 0.5], seed=1)
    assert (len(f), len(g)) == (6, 5)  # remainder goes to the first
    with pytest.raises(ValueError, match="sum"):
        random_split(ds, [5, 6])
    # a subset works in a loader and keeps rows aligned
    for xb, yb in _epoch(DataLoader(a, batch_size=3, shuffle=True, seed=2, as_tensor=False)):
        np.testing.assert_array_equal(xb[:, 0], yb * 3)


@pytest.mark.parametrize("kwargs,match", [
    (dict(batch_size=0), "batch_size"), (dict(batch_size=2.5), "batch_size"),
    (dict(shuffle=True, sampler=SequentialSampler(range(3))), "exclusive"),
    (dict(shuffle=1), "shuffle"), (dict(sampler=[0, 1]), "sampler"), (dict(seed="a"), "seed"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        DataLoader(_ds(), **kwargs)
    with pytest.raises(ValueError, match="num_samples"):
        RandomSampler(_ds(), num_samples=0)
