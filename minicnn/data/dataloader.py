"""``DataLoader``: batches from a dataset, shuffled reproducibly, optionally prefetched.

``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
generator=None, num_workers=0, prefetch_factor=2, sampler=None)`` with ``torch.utils.data``'s
names. A ``sampler`` (e.g. :class:`~minicnn.data.DistributedSampler`) gives the
order of the indices instead of ``shuffle``. Iterating gives one batch per step: a tuple of minicnn Tensors
(``(images (B, C, H, W) float32, labels (B,) int64)`` for the image datasets).

Randomness, and why a run can stop and resume in the middle of an epoch
----------------------------------------------------------------------
The loader owns a NumPy generator (``generator``: a ``numpy.random.Generator``
or an int seed; by default one seeded from minicnn's global generator, so
``minicnn.manual_seed`` fixes it). Each pass over the data draws one 63-bit
*epoch seed* from it; from that seed alone come

* the epoch's order: ``default_rng(epoch_seed).permutation(len(dataset))``;
* batch ``b``'s generator for random transforms: ``default_rng([epoch_seed, b])``.

So batch ``b`` of an epoch is a pure function of ``(epoch_seed, b)``: it does
not matter whether batches are built in order, in a background thread, or
after a restart. ``state_dict()`` records the generator, the epoch seed of the
pass in progress and how many of its batches were handed out;
``load_state_dict()`` makes the next ``iter()`` continue that pass from the
next batch (the trainer's checkpoints use this).

Workers are threads (``num_workers``, default 0: batches are built in the
loop itself). NumPy's copying and fancy indexing release the GIL, so one
worker overlaps building the next batch with the training step; batches still
come out in order.
"""
import numbers
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .._validation import as_int
from ..random import default_generator
from ..tensor import Tensor

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples):
    """Stack a list of samples into a batch: tuples field by field, arrays and Tensors with
    ``np.stack``, Python ints to int64 and floats to float64 (as PyTorch's default_collate)."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        if any(len(s) != len(first) for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, Tensor):
        return np.stack([s.numpy() for s in samples])
    if isinstance(first, (np.ndarray, np.generic)):
        return np.stack([np.asarray(s) for s in samples])
    if isinstance(first, bool):
        return np.array(samples, dtype=bool)
    if isinstance(first, numbers.Integral):
        return np.array(samples, dtype=np.int64)
    if isinstance(first, numbers.Real):
        return np.array(samples, dtype=np.float64)
    return list(samples)  # strings and other objects stay a list


def _to_tensors(batch):
    if isinstance(batch, np.ndarray):
        return Tensor._wrap(batch)
    if isinstance(batch, tuple):
        return tuple(_to_tensors(b) for b in batch)
    if isinstance(batch, list) and batch and isinstance(batch[0], np.ndarray):
        return [_to_tensors(b) for b in batch]
    if isinstance(batch, dict):
        return {k: _to_tensors(v) for k, v in batch.items()}
    return batch


class DataLoader:
    """Iterate over ``dataset`` in batches (see the module docstring for the randomness)."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None,
                 generator=None, num_workers=0, prefetch_factor=2, sampler=None):
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must define __len__ and __getitem__, got a "
                            f"{type(dataset).__name__}")
        self.dataset = dataset
        self.batch_size = as_int(batch_size, "batch_size", 1, "DataLoader")
        self.shuffle = bool(shuffle)
        if sampler is not None and self.shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle "
                             "(the sampler gives the order; shuffle it there)")
        if sampler is not None and not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
            raise TypeError(f"DataLoader: sampler must define __iter__ and __len__, got a "
                            f"{type(sampler).__name__}")
        self.sampler = sampler
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.num_workers = as_int(num_workers, "num_workers", 0, "DataLoader")
        self.prefetch_factor = as_int(prefetch_factor, "prefetch_factor", 1, "DataLoader")
        if generator is None:
            generator = np.random.default_rng(int(default_generator().integers(2 ** 63)))
        elif isinstance(generator, (numbers.Integral, np.integer)) and not isinstance(generator, bool):
            generator = np.random.default_rng(int(generator))
        elif not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, an int "
                            f"seed or None, got {type(generator).__name__}")
        self.generator = generator
        self._epoch_seed = None     # seed of the pass in progress (None: no pass in progress)
        self._batches_done = 0      # batches of that pass handed out so far
        self._resume = None         # (epoch_seed, batches_done) to continue at the next iter()

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """The generator's state and the position in the pass in progress (JSON-serialisable)."""
        return {"generator": self.generator.bit_generator.state,
                "epoch_seed": self._epoch_seed, "batches_done": self._batches_done}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``: the next ``iter()`` continues the pass it recorded (if any)."""
        try:
            generator_state = state["generator"]
            epoch_seed, done = state["epoch_seed"], int(state["batches_done"])
        except (KeyError, TypeError) as error:
            raise ValueError(f"DataLoader.load_state_dict: expected the dict state_dict() "
                             f"returns, got {state!r}") from error
        if not 0 <= done <= len(self):
            raise ValueError(f"DataLoader.load_state_dict: batches_done={done} is outside "
                             f"[0, {len(self)}] for this loader")
        self.generator.bit_generator.state = generator_state
        self._epoch_seed, self._batches_done = None, 0
        self._resume = (int(epoch_seed), done) if epoch_seed is not None else None

    # -------------------------------------------------------------- iteration
    def _order(self, epoch_seed):
        n = len(self.dataset)
        if self.sampler is not None:
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        if self.shuffle:
            return np.random.default_rng(epoch_seed).permutation(n)
        return np.arange(n)

    def _make_batch(self, order, epoch_seed, number):
        indices = order[number * self.batch_size:(number + 1) * self.batch_size]
        rng = np.random.default_rng([epoch_seed, number])
        get_batch = getattr(self.dataset, "get_batch", None)
        if get_batch is not None and self.collate_fn is None:
            batch = tuple(get_batch(indices, rng))
        else:
            samples = [self.dataset[int(i)] for i in indices]
            batch = (self.collate_fn or default_collate)(samples)
        return _to_tensors(batch)

    def __iter__(self):
        if self._resume is not None:
            epoch_seed, start = self._resume
            self._resume = None
        else:
            epoch_seed, start = int(self.generator.integers(2 ** 63)), 0
        self._epoch_seed, self._batches_done = epoch_seed, start
        order = self._order(epoch_seed)
        if self.num_workers == 0:
            return self._serial(order, epoch_seed, start)
        return self._threaded(order, epoch_seed, start)

    def _serial(self, order, epoch_seed, start):
        for number in range(start, len(self)):
            batch = self._make_batch(order, epoch_seed, number)
            self._batches_done = number + 1
            yield batch
        self._epoch_seed, self._batches_done = None, 0

    def _threaded(self, order, epoch_seed, start):
        pool = ThreadPoolExecutor(max_workers=self.num_workers, thread_name_prefix="minicnn-data")
        pending = deque()
        upcoming = iter(range(start, len(self)))
        try:
            for number in upcoming:
                pending.append(pool.submit(self._make_batch, order, epoch_seed, number))
                if len(pending) >= self.num_workers * self.prefetch_factor:
                    break
            while pending:
                batch = pending.popleft().result()
                for number in upcoming:  # keep the queue full: submit one more
                    pending.append(pool.submit(self._make_batch, order, epoch_seed, number))
                    break
                self._batches_done += 1
                yield batch
            self._epoch_seed, self._batches_done = None, 0
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, num_workers={self.num_workers})")
