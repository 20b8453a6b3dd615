"""Making one batch: ``default_collate`` (samples -> batch arrays) and ``fetch_batch``, which the
loader's main process and its workers both call."""
import numpy as np

__all__ = ["default_collate", "fetch_batch"]


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
