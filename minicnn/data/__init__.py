"""``minicnn.data``: datasets, the DataLoader and image transforms (``torch.utils.data``'s names).

=================  ===========================================================
module             contents
=================  ===========================================================
``dataset``        Dataset, TensorDataset, Subset
``dataloader``     DataLoader (seeded shuffling, resumable mid-epoch, optional
                   background threads), default_collate
``sampler``        DistributedSampler (each rank's share, for data-parallel runs)
``transforms``     Compose, ToFloat, Normalize, RandomCrop, RandomHorizontalFlip
``datasets``       Digits (bundled, offline), MNIST, FashionMNIST, CIFAR10 (local
                   files), get_dataset, DATASETS
=================  ===========================================================
"""
from . import transforms
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset
from .sampler import DistributedSampler
from .datasets import CIFAR10, DATASETS, MNIST, Digits, FashionMNIST, ImageDataset, get_dataset

__all__ = ["Dataset", "TensorDataset", "Subset", "DataLoader", "default_collate", "transforms",
           "DistributedSampler",
           "ImageDataset", "Digits", "MNIST", "FashionMNIST", "CIFAR10", "DATASETS", "get_dataset"]
