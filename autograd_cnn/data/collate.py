"""Making batches: ``default_collate`` (samples -> batch arrays), ``fetch_batch`` (a map-style
dataset's batch by indices) and ``iter_batches`` (an iterable dataset's stream in batches), which
the loader's main process and its workers both call."""
import itertools

import numpy as np

__all__ = ["default_collate", "fetch_batch", "iter_batches"]


def default_collate(samples):
    """Stack a list of samples (tuples of arrays / numbers) field by field into batch arrays."""
    first = samples[0]
    if isinstance(first, tuple) or isinstance(first, list):
        return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(first)))
    return (np.stack([np.asarray(s) for s in samples]),)


def fetch_batch(dataset, indices, collate_fn):
    """One batch: ``dataset.get_batch(indices)`` (one fancy-indexing per array) when the dataset
    has it and no ``collate_fn`` is given, else ``collate_fn`` (default: :func:`default_collate`)
    over the samples."""
    if collate_fn is None and hasattr(dataset, "get_batch"):
        arrays = dataset.get_batch(indices)
        return arrays if isinstance(arrays, tuple) else (arrays,)
    return (collate_fn or default_collate)([dataset[int(i)] for i in indices])


def iter_batches(samples, batch_size, drop_last, collate_fn):
    """The batches of an iterator of samples: consecutive groups of ``batch_size``, collated as
    :func:`fetch_batch` does; a final short group unless ``drop_last``."""
    collate = collate_fn or default_collate
    while True:
        group = list(itertools.islice(samples, batch_size))
        if not group or (drop_last and len(group) < batch_size):
            return
        yield collate(group)
