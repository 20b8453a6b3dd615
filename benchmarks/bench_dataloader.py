"""An epoch of a DataLoader over a dataset whose samples cost work to make (a stand-in for decoding
an image file and transforming it: ~0.5 ms of NumPy per sample), with ``num_workers`` 0 and 2,
next to PyTorch's DataLoader with the same dataset and settings when it is importable. Workers
pay off when making samples costs more than sending the batch back; the ratio also shows what
the worker machinery itself costs. Run with::

    python -m pytest benchmarks/bench_dataloader.py --benchmark-only
"""
import numpy as np
import pytest

from autograd_cnn import benchmarking as bm
from autograd_cnn.models.torch_twins import import_torch
from autograd_cnn.utils.data import DataLoader, Dataset

torch = import_torch()

SAMPLES, BATCH = 128, 32


class Decoding(Dataset):
    """Sample i: a 1x28x28 float32 image computed from a 4 KiB "file" (repeated smoothing)."""

    def __len__(self):
        return SAMPLES

    def __getitem__(self, i):
        raw = np.random.default_rng(int(i)).integers(0, 256, 28 * 28 * 5, dtype=np.uint8)
        img = raw[:784].reshape(28, 28).astype(np.float32) / 255
        for _ in range(40):  # the "transform": work per sample, not per batch
            img = 0.5 * img + 0.125 * (np.roll(img, 1, 0) + np.roll(img, -1, 0)
                                       + np.roll(img, 1, 1) + np.roll(img, -1, 1))
        return img[None], np.int64(i % 10)


def _epoch(make_loader):
    loader = make_loader()

    def run():
        n = 0
        for x, _ in loader:
            n += len(x)
        assert n == SAMPLES
    return run


@pytest.mark.parametrize("workers", [0, 2])
def test_epoch_autograd_cnn(benchmark, workers):
    benchmark.group = f"dataloader epoch, {SAMPLES} samples, num_workers={workers}"
    benchmark.pedantic(_epoch(lambda: DataLoader(
        Decoding(), batch_size=BATCH, shuffle=True, num_workers=workers,
        persistent_workers=bool(workers))), rounds=5, warmup_rounds=1)
    bm.record_rate(benchmark, "samples_per_s", SAMPLES)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("workers", [0, 2])
def test_epoch_torch(benchmark, workers):
    benchmark.group = f"dataloader epoch, {SAMPLES} samples, num_workers={workers}"
    benchmark.pedantic(_epoch(lambda: torch.utils.data.DataLoader(
        Decoding(), batch_size=BATCH, shuffle=True, num_workers=workers,
        persistent_workers=bool(workers))), rounds=5, warmup_rounds=1)
    bm.record_rate(benchmark, "samples_per_s", SAMPLES)
