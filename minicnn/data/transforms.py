"""Image transforms: conversion, normalisation and the two classic augmentations.

Every transform takes an image array of shape ``(C, H, W)`` *or a batch*
``(N, C, H, W)`` and returns a new array (the input is never modified).
Random transforms draw one independent choice per image, from ``rng`` (a
NumPy Generator) when given, else from minicnn's global generator
(``minicnn.manual_seed``). The DataLoader passes each batch its own generator,
derived from the epoch's seed and the batch number, so an augmented epoch is
the same whether it runs in one go, in a background thread, or is resumed
from a checkpoint in its middle.

=========================  ===================================================
ToFloat(scale)             ``x / scale`` as float32 (uint8 pixels to [0, 1])
Normalize(mean, std)       ``(x[c] - mean[c]) / std[c]`` per channel
RandomCrop(size, padding)  zero-pad by ``padding``, cut a ``size`` window at a
                           uniformly drawn offset (a random shift of up to
                           ``padding`` pixels)
RandomHorizontalFlip(p)    mirror left-right with probability ``p``
Resize(size)               antialiased bilinear resize (torchvision's: an int
                           sets the shorter side, keeping the aspect ratio)
CenterCrop(size)           the central ``size`` window
Compose([t1, t2, ...])     apply in order
=========================  ===================================================
"""
import inspect
import numbers

import numpy as np

from .._validation import as_pair
from ..backend import xp_of
from ..random import default_generator

__all__ = ["Compose", "ToFloat", "Normalize", "RandomCrop", "RandomHorizontalFlip", "Resize",
           "CenterCrop"]


def _as_batch(x, op):
    """``(x as (N, C, H, W), was_single)``; a 3-D array is a batch of one."""
    if not hasattr(x, "ndim") or x.ndim not in (3, 4):
        shape = getattr(x, "shape", None)
        raise ValueError(f"{op}: expected an image (C, H, W) or a batch (N, C, H, W), "
                         f"got {'shape ' + str(tuple(shape)) if shape is not None else type(x).__name__}")
    return (x[None], True) if x.ndim == 3 else (x, False)


def _rng(rng):
    return default_generator() if rng is None else rng


def _accepts_rng(transform) -> bool:
    try:
        parameters = inspect.signature(transform).parameters
    except (TypeError, ValueError):
        return False
    return "rng" in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())


class Compose:
    """``Compose([t1, t2])(x) == t2(t1(x))``; the generator is passed to the transforms
    that take one (a plain ``f(x)`` function works too)."""

    def __init__(self, transforms):
        transforms = list(transforms)
        for index, transform in enumerate(transforms):
            if not callable(transform):
                raise TypeError(f"Compose: transforms[{index}] is a {type(transform).__name__}, "
                                f"not a callable")
        self.transforms = transforms
        self._takes_rng = [_accepts_rng(t) for t in transforms]

    def __call__(self, x, rng=None):
        for transform, takes_rng in zip(self.transforms, self._takes_rng):
            x = transform(x, rng=rng) if takes_rng else transform(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose({inner}\n)"


class ToFloat:
    """``x / scale`` as float32: integer pixels (0..255, or 0..16 for digits) to [0, 1]."""

    def __init__(self, scale: float = 255.0):
        if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0:
            raise ValueError(f"ToFloat: scale must be a positive number, got {scale!r}")
        self.scale = float(scale)

    def __call__(self, x, rng=None):
        xp = xp_of(x)
        return xp.asarray(x, dtype=np.float32) * np.float32(1.0 / self.scale)

    def __repr__(self) -> str:
        return f"ToFloat(scale={self.scale:g})"


class Normalize:
    """``(x[c] - mean[c]) / std[c]`` for each channel ``c`` (torchvision's Normalize)."""

    def __init__(self, mean, std):
        mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        std = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if mean.ndim != 1 or std.ndim != 1 or mean.shape != std.shape:
            raise ValueError(f"Normalize: mean and std must be sequences of one value per channel "
                             f"of the same length, got {mean.tolist()} and {std.tolist()}")
        if not np.all(std > 0):
            raise ValueError(f"Normalize: every std must be > 0, got {std.tolist()}")
        self.mean, self.std = mean, std

    def __call__(self, x, rng=None):
        batch, single = _as_batch(x, "Normalize")
        channels = batch.shape[1]
        if channels != self.mean.size:
            raise ValueError(f"Normalize: the image has {channels} channels, mean/std have "
                             f"{self.mean.size}")
        xp = xp_of(batch)
        shape = (1, channels, 1, 1)
        out = (batch - xp.asarray(self.mean).reshape(shape)) / xp.asarray(self.std).reshape(shape)
        out = out.astype(np.result_type(batch.dtype, np.float32), copy=False)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop:
    """Zero-pad each side by ``padding`` pixels, then cut a ``size`` window at a random offset.

    With ``size`` equal to the image size this shifts each image by up to
    ``padding`` pixels in each direction (the CIFAR augmentation of He et al.).
    Offsets ``i, j`` are uniform on ``[0, H + 2 padding - size_h]`` and
    ``[0, W + 2 padding - size_w]``, drawn per image.
    """

    def __init__(self, size, padding=0):
        self.size = as_pair(size, "size", 1, "RandomCrop")
        self.padding = as_pair(padding, "padding", 0, "RandomCrop")

    def __call__(self, x, rng=None):
        batch, single = _as_batch(x, "RandomCrop")
        xp = xp_of(batch)
        n, _, height, width = batch.shape
        (pad_h, pad_w), (size_h, size_w) = self.padding, self.size
        room_h, room_w = height + 2 * pad_h - size_h, width + 2 * pad_w - size_w
        if room_h < 0 or room_w < 0:
            raise ValueError(f"RandomCrop: size {self.size} is larger than the padded image "
                             f"({height + 2 * pad_h}, {width + 2 * pad_w})")
        generator = _rng(rng)
        top = generator.integers(0, room_h + 1, size=n)
        left = generator.integers(0, room_w + 1, size=n)
        padded = xp.pad(batch, ((0, 0), (0, 0), (pad_h, pad_h), (pad_w, pad_w)))
        # Gather each image's window: rows (N, size_h), cols (N, size_w).
        rows = xp.asarray(top[:, None] + np.arange(size_h))
        cols = xp.asarray(left[:, None] + np.arange(size_w))
        images = xp.arange(n)[:, None, None, None]
        channels = xp.arange(batch.shape[1])[None, :, None, None]
        out = padded[images, channels, rows[:, None, :, None], cols[:, None, None, :]]
        return out[0] if single else out  # (N, C, size_h, size_w)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p`` (not for digits: it changes them)."""

    def __init__(self, p: float = 0.5):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, x, rng=None):
        batch, single = _as_batch(x, "RandomHorizontalFlip")
        xp = xp_of(batch)
        flip = xp.asarray(_rng(rng).random(batch.shape[0]) < self.p)
        out = xp.where(flip[:, None, None, None], batch[..., ::-1], batch)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def _resize_matrix(in_size: int, out_size: int):
    """``R`` (out_size, in_size): one axis of the antialiased bilinear resize, ``y = R x``.

    PIL's and PyTorch's ``antialias=True`` rule: output pixel ``i`` sits at
    ``c_i = (i + 1/2) s`` in input coordinates (``s = in_size / out_size``) and
    averages the input pixels with a triangle of half-width ``a = max(s, 1)``::

        R[i, j] = t(j) / sum_j' t(j'),   t(j) = max(0, 1 - |j + 1/2 - c_i| / a)

    Upsampling (``s < 1``, ``a = 1``) is plain bilinear interpolation with
    ``align_corners=False``, the borders clamped; downsampling widens the
    triangle so that every input pixel counts (no aliasing).
    """
    scale = in_size / out_size
    support = max(scale, 1.0)
    centres = (np.arange(out_size) + 0.5) * scale                    # (out,)
    taps = np.arange(in_size) + 0.5                                   # (in,)
    weights = np.maximum(0.0, 1.0 - np.abs(taps[None, :] - centres[:, None]) / support)
    return weights / weights.sum(axis=1, keepdims=True)              # (out, in)


class Resize:
    """Antialiased bilinear resize, torchvision's ``Resize(size)`` (``antialias=True``).

    ``size``: an int sets the shorter side to ``size`` and the longer to
    ``int(size * long / short)`` (torchvision's rule); a pair ``(h, w)`` is the
    output size. Each axis is one matrix product with :func:`_resize_matrix`:
    ``y = R_h x R_w^T`` per plane. Integer images (uint8 pixels) come back in
    their dtype, rounded half to even, as torchvision's float path rounds them.
    """

    def __init__(self, size):
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            if size < 1:
                raise ValueError(f"Resize: size must be a positive int or a pair, got {size!r}")
            self.size = int(size)
        else:
            self.size = as_pair(size, "size", 1, "Resize")

    def output_size(self, height: int, width: int) -> tuple:
        if isinstance(self.size, tuple):
            return self.size
        short, long = sorted((height, width))
        scaled = (self.size, int(self.size * long / short))
        return scaled if height <= width else scaled[::-1]

    def __call__(self, x, rng=None):
        batch, single = _as_batch(x, "Resize")
        xp = xp_of(batch)
        out_h, out_w = self.output_size(*batch.shape[2:])
        # In float64 (the exact weights; torch's float32 kernel is off by ~1e-4 of the range),
        # then back to the input's dtype.
        rows = xp.asarray(_resize_matrix(batch.shape[2], out_h))
        cols = xp.asarray(_resize_matrix(batch.shape[3], out_w))
        out = rows @ batch.astype(np.float64) @ cols.T  # (out_h, H) @ (N, C, H, W) @ (W, out_w)
        if np.issubdtype(batch.dtype, np.integer):
            info = np.iinfo(batch.dtype)
            out = xp.clip(xp.round(out), info.min, info.max)
        out = out.astype(batch.dtype)
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"Resize(size={self.size})"


class CenterCrop:
    """The central ``size`` window (torchvision's CenterCrop; an offset ``(H - h) / 2`` is
    rounded half to even, as torchvision's ``round``). An image smaller than ``size`` is an
    error (torchvision pads it with zeros)."""

    def __init__(self, size):
        self.size = as_pair(size, "size", 1, "CenterCrop")

    def __call__(self, x, rng=None):
        batch, single = _as_batch(x, "CenterCrop")
        height, width = batch.shape[2:]
        size_h, size_w = self.size
        if size_h > height or size_w > width:
            raise ValueError(f"CenterCrop: size {self.size} is larger than the image "
                             f"({height}, {width})")
        top, left = int(round((height - size_h) / 2.0)), int(round((width - size_w) / 2.0))
        out = batch[:, :, top:top + size_h, left:left + size_w]
        return out[0] if single else out

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"
