"""``minicnn.utils.data``: the names of ``torch.utils.data``, the same classes as :mod:`minicnn.data`.

A ported script's ``from torch.utils.data import DataLoader, TensorDataset``
becomes ``from minicnn.utils.data import ...`` and gets minicnn's own loader.
"""
from ..data import DataLoader, Dataset, DistributedSampler, Subset, TensorDataset, default_collate

__all__ = ["DataLoader", "Dataset", "DistributedSampler", "Subset", "TensorDataset",
           "default_collate"]
