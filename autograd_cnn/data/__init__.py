"""Datasets, samplers and the DataLoader (PyTorch's ``torch.utils.data`` in miniature).

This package is also ``autograd_cnn.utils.data``, PyTorch's path: the same module objects under
both names (see ``autograd_cnn/utils/__init__.py``), one implementation."""
from ._rng import generator_state, set_generator_state
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, IterableDataset, Subset, TensorDataset, random_split
from ._workers import get_worker_info
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "random_split", "DataLoader",
           "default_collate",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler",
           "generator_state", "set_generator_state", "get_worker_info"]
