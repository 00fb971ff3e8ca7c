"""``Dataset``, ``TensorDataset`` and ``Subset``, as in ``torch.utils.data``.

A dataset is anything with ``__len__`` and ``__getitem__(index) -> sample``
(a sample is usually ``(image, label)``). minicnn adds one optional method
the DataLoader uses when it is there:

``get_batch(indices, rng=None) -> tuple of arrays``
    the samples at ``indices`` already stacked (``(images (B, ...),
    labels (B,))``), fetched with one fancy-indexing operation instead of
    ``B`` calls to ``__getitem__``; ``rng`` is the generator for random
    transforms. The in-memory datasets here implement it.
"""
import numbers

import numpy as np

from ..tensor import Tensor

__all__ = ["Dataset", "TensorDataset", "Subset"]


class Dataset:
    """Base class: subclasses define ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _check_index(index, length, owner):
    if isinstance(index, bool) or not isinstance(index, (numbers.Integral, np.integer)):
        raise TypeError(f"{owner}: index must be an int, got {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"{owner}: index {index} is out of range for {length} samples")
    return int(index) % length


class TensorDataset(Dataset):
    """Samples are the rows of the given arrays (or Tensors): ``dataset[i] = (a[i], b[i], ...)``.

    All arrays must have the same first dimension.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one array")
        arrays = [t.numpy() if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
        sizes = [a.shape[0] if a.ndim else None for a in arrays]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dimensions "
                             f"{sizes}")
        self.tensors = tuple(arrays)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index):
        index = _check_index(index, len(self), "TensorDataset")
        return tuple(a[index] for a in self.tensors)

    def get_batch(self, indices, rng=None):
        return tuple(a[indices] for a in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        if self.indices.ndim != 1:
            raise ValueError("Subset: indices must be a 1-D sequence of ints")
        if self.indices.size and (self.indices.min() < -len(dataset)
                                  or self.indices.max() >= len(dataset)):
            raise IndexError(f"Subset: indices must lie in [0, {len(dataset)}) for a dataset of "
                             f"{len(dataset)} samples")

    def __len__(self) -> int:
        return int(self.indices.size)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[_check_index(index, len(self), "Subset")])]

    @property
    def get_batch(self):
        """The wrapped dataset's ``get_batch`` at our indices (absent when it has none)."""
        inner = getattr(self.dataset, "get_batch", None)
        if inner is None:
            raise AttributeError(f"{type(self.dataset).__name__} has no get_batch")
        return lambda indices, rng=None: inner(self.indices[indices], rng)
