"""``DataLoader(num_workers=N)``: batches made in worker processes, in the same order and with the
same random stream as ``num_workers=0``; seeding, ``worker_init_fn``, ``get_worker_info``,
``persistent_workers``, ``prefetch_factor``, ``timeout``; errors come back to the main process
and nothing hangs or outlives the loop. Also: ``autograd_cnn.utils.data`` is
``autograd_cnn.data``."""
import multiprocessing as mp
import os
import time

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.utils.data import (DataLoader, Dataset, IterableDataset, TensorDataset,
                                     get_worker_info, random_split)
from tests._support import requires_torch, torch


class PidDataset(Dataset):
    """Sample i: (i, the pid of the process that loaded it, a draw from the global generator)."""

    def __init__(self, n=24, fail_at=None, die_at=None, sleep=0.0):
        self.n, self.fail_at, self.die_at, self.sleep = n, fail_at, die_at, sleep

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"bad sample {i}")
        if i == self.die_at:
            os._exit(3)
        time.sleep(self.sleep)
        draw = ac.random.default_generator().random()
        return np.int64(i), np.int64(os.getpid()), np.float64(draw)


def _arrays(batches):
    return [tuple(np.asarray(a) for a in b) for b in batches]


def _no_workers_left():
    deadline = time.monotonic() + 5
    while mp.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not mp.active_children()


def test_utils_data_is_the_data_package():
    import autograd_cnn.data as d
    import autograd_cnn.utils.data as ud
    from autograd_cnn.utils.data.dataloader import DataLoader as D
    assert ud is d and D is d.DataLoader is DataLoader and ac.utils.data is d


@pytest.mark.parametrize("kw", [{"seed": 5}, {"generator": "rng"}, {}])
def test_workers_give_the_same_batches_in_the_same_order(kw):
    x = np.arange(50, dtype=np.float32).reshape(25, 2)
    y = np.arange(25)
    epochs = {}
    for workers in (0, 2, 3):
        ac.manual_seed(11)  # the stream used when neither seed nor generator is given
        args = {"generator": np.random.default_rng(7)} if kw.get("generator") else dict(kw)
        loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True,
                            num_workers=workers, **args)
        epochs[workers] = [_arrays(loader) for _ in range(2)]
        epochs[workers].append(ac.random.default_generator().random())  # stream after: same
    for workers in (2, 3):
        assert len(epochs[workers][0]) == 7
        for e in range(2):
            for a, b in zip(epochs[0][e], epochs[workers][e]):
                np.testing.assert_array_equal(a[1], b[1])
                np.testing.assert_array_equal(a[0], b[0])
        assert epochs[0][2] == epochs[workers][2]
    first, second = (np.concatenate([b[1] for b in ep]) for ep in epochs[0][:2])
    assert sorted(first) == list(range(25)) and not np.array_equal(first, second)


def test_batches_are_made_in_worker_processes_seeded_per_worker():
    seen_init = mp.get_context("fork").Queue()

    def init(worker_id):
        info = get_worker_info()
        seen_init.put((worker_id, info.id, info.num_workers, info.seed))

    def run():
        loader = DataLoader(PidDataset(), batch_size=3, num_workers=2, worker_init_fn=init,
                            generator=np.random.default_rng(3))
        return _arrays(loader)

    batches = run()
    assert get_worker_info() is None
    idx = np.concatenate([b[0] for b in batches])
    np.testing.assert_array_equal(idx, np.arange(24))
    pids = [set(b[1].tolist()) for b in batches]
    assert all(len(p) == 1 for p in pids)
    assert os.getpid() not in set.union(*pids) and len(set.union(*pids)) == 2
    assert pids[0] == pids[2] != pids[1]  # batch i goes to worker i % 2
    inits = sorted(seen_init.get(timeout=5) for _ in range(2))
    assert [i[:3] for i in inits] == [(0, 0, 2), (1, 1, 2)] and inits[1][3] == inits[0][3] + 1
    # each worker's generator is seeded with base_seed + worker_id: draws reproduce, differ
    again = run()
    np.testing.assert_array_equal(np.concatenate([b[2] for b in batches]),
                                  np.concatenate([b[2] for b in again]))
    assert batches[0][2][0] != batches[1][2][0]
    assert _no_workers_left()


def test_persistent_workers_serve_every_epoch():
    loader = DataLoader(PidDataset(12), batch_size=4, num_workers=2, persistent_workers=True,
                        prefetch_factor=1)
    e1, e2 = _arrays(loader), _arrays(loader)
    assert set(np.concatenate([b[1] for b in e1])) == set(np.concatenate([b[1] for b in e2]))
    it = iter(loader)
    next(it)
    del it  # an abandoned epoch: its late results must not leak into the next one
    np.testing.assert_array_equal(np.concatenate([b[0] for b in _arrays(loader)]), np.arange(12))
    loader._pool.shutdown()
    assert _no_workers_left()


def test_worker_exception_is_reraised_with_its_traceback():
    loader = DataLoader(PidDataset(fail_at=7), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    text = str(info.value)
    assert "Caught ValueError in DataLoader worker process 1" in text
    assert "bad sample 7" in text and "Traceback" in text and "__getitem__" in text
    assert _no_workers_left()


def test_dead_worker_and_timeout_raise_instead_of_hanging():
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="exited unexpectedly.*exit code 3"):
        list(DataLoader(PidDataset(die_at=2), batch_size=2, num_workers=2))
    with pytest.raises(RuntimeError, match="timed out after 0.3 seconds"):
        list(DataLoader(PidDataset(4, sleep=3.0), batch_size=2, num_workers=1, timeout=0.3))
    assert time.monotonic() - start < 8
    assert _no_workers_left()


def test_leaving_the_loop_early_stops_the_workers():
    loader = DataLoader(PidDataset(40), batch_size=2, num_workers=2)
    for i, _ in enumerate(loader):
        if i == 1:
            break
    assert _no_workers_left()


def test_custom_collate_and_pin_memory():
    def collate(samples):
        return {"idx": [int(s[0]) for s in samples]}

    loader = DataLoader(PidDataset(6), batch_size=4, num_workers=2, collate_fn=collate,
                        pin_memory=True)
    assert [b["idx"] for b in loader] == [[0, 1, 2, 3], [4, 5]]
    assert loader.pin_memory is True


@pytest.mark.parametrize("kw, error", [
    ({"num_workers": -1}, ValueError), ({"prefetch_factor": 2}, ValueError),
    ({"persistent_workers": True}, ValueError), ({"timeout": -1}, ValueError),
    ({"num_workers": 1.5}, ValueError), ({"worker_init_fn": 3, "num_workers": 1}, TypeError),
])
def test_bad_worker_arguments(kw, error):
    with pytest.raises(error):
        DataLoader(PidDataset(4), **kw)
    if torch is not None and kw.get("worker_init_fn") is None and "1.5" not in repr(kw):
        with pytest.raises(error):  # PyTorch refuses the same arguments the same way
            torch.utils.data.DataLoader(list(range(4)), **kw)


def test_a_torch_style_sampler_with_only_iter():
    from autograd_cnn.utils.data import Sampler

    class Backwards(Sampler):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self):
            return self.n

    loader = DataLoader(TensorDataset(np.arange(5)), batch_size=2, sampler=Backwards(5),
                        num_workers=1)
    assert [b[0].tolist() for b in loader] == [[4, 3], [2, 1], [0]]


def test_random_split_follows_manual_seed():
    ac.manual_seed(4)
    a = random_split(TensorDataset(np.arange(10)), [7, 3])[0].indices
    ac.manual_seed(4)
    np.testing.assert_array_equal(random_split(TensorDataset(np.arange(10)), [7, 3])[0].indices, a)


@requires_torch
def test_torch_loader_yields_the_same_batch_structure():
    x, y = np.arange(12, dtype=np.float32).reshape(6, 2), np.arange(6)
    ours = next(iter(DataLoader(TensorDataset(x, y), batch_size=4, num_workers=1)))
    theirs = next(iter(torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=4,
        num_workers=1)))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.numpy(), t.numpy())
        assert o.dtype == np.dtype(str(t.dtype).split(".")[1])


def _shards(n, worker_info):
    """Indices 0..n-1, split over the workers as the PyTorch docs teach (worker w: w, w+k, ...)."""
    w, k = (0, 1) if worker_info is None else (worker_info.id, worker_info.num_workers)
    return range(w, n, k)


class Stream(IterableDataset):
    """Samples (i, i*i) for i < n, each worker its share; ``fail_at`` raises there."""

    def __init__(self, n, fail_at=None, sized=True):
        self.n, self.fail_at, self.sized = n, fail_at, sized

    def __len__(self):
        if not self.sized:
            return super().__len__()
        return self.n

    def __iter__(self):
        for i in _shards(self.n, get_worker_info()):
            if i == self.fail_at:
                raise ValueError(f"bad sample {i}")
            yield np.int64(i), np.int64(i * i)


def _stream_reference(n, batch_size, workers, drop_last):
    """PyTorch's order, written out: each worker's batches of its shard, taken round-robin, a
    worker leaving the rotation when it runs out."""
    per = []
    for w in range(max(workers, 1)):
        idx = list(range(w, n, max(workers, 1)))
        cut = len(idx) - len(idx) % batch_size if drop_last else len(idx)
        per.append([idx[s:s + batch_size] for s in range(0, cut, batch_size)])
    out = []
    while any(per):
        for batches in per:
            if batches:
                out.append(batches.pop(0))
    return out


@pytest.mark.parametrize("workers, batch_size, drop_last", [(0, 3, False), (0, 3, True),
                                                            (2, 2, False), (3, 2, True)])
def test_iterable_dataset_batches_in_pytorchs_order(workers, batch_size, drop_last):
    loader = DataLoader(Stream(11), batch_size=batch_size, num_workers=workers,
                        drop_last=drop_last, persistent_workers=workers > 0)
    want = _stream_reference(11, batch_size, workers, drop_last)
    for _ in range(2):  # every epoch is a new pass over the stream
        got = [(b[0].numpy().tolist(), b[1].numpy().tolist()) for b in loader]
        assert [g[0] for g in got] == want
        assert all(sq == [i * i for i in ids] for ids, sq in got)
    assert len(loader) == (11 // batch_size if drop_last else -(-11 // batch_size))
    assert loader.sampler is None and loader.batch_sampler is None


def test_iterable_dataset_errors():
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(4), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(Stream(4), batch_sampler=[[0]])
    with pytest.raises(TypeError, match="no length"):
        len(DataLoader(Stream(4, sized=False)))
    assert [len(b[0]) for b in DataLoader(Stream(5, sized=False), batch_size=2)] == [2, 2, 1]
    for workers in (0, 2):
        with pytest.raises(ValueError, match="bad sample 3"):
            list(DataLoader(Stream(8, fail_at=3), batch_size=2, num_workers=workers))


def test_fit_trains_from_an_iterable_dataset_without_length():
    class Batches(IterableDataset):
        def __iter__(self):
            rng = np.random.default_rng(0)
            for _ in range(40):
                x = rng.standard_normal(2).astype(np.float32)
                yield x, np.int64(x[0] > 0)

    model = ac.nn.Linear(2, 2)
    history = ac.training.fit(model, ac.nn.CrossEntropyLoss(),
                              ac.optim.SGD(model.parameters(), lr=0.5),
                              DataLoader(Batches(), batch_size=8), epochs=3, verbose=False)
    assert history.epochs_run == 3 and history.train_loss[-1] < history.train_loss[0]


@requires_torch
def test_iterable_dataset_order_matches_torch():
    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            for i in _shards(13, torch.utils.data.get_worker_info()):
                yield i

    # worker 0 has 4 batches, worker 1 three: the order after one leaves the rotation counts too
    theirs = [b.tolist() for b in torch.utils.data.DataLoader(TorchStream(), batch_size=2,
                                                               num_workers=2)]
    ours = [b[0].numpy().tolist() for b in DataLoader(Stream(13), batch_size=2, num_workers=2)]
    assert ours == theirs and len(ours) == 7
