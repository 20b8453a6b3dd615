"""Datasets, samplers and the DataLoader (PyTorch's ``torch.utils.data`` in miniature)."""
from ._rng import generator_state, set_generator_state
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split
from .sampler import RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate",
           "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "generator_state", "set_generator_state"]
