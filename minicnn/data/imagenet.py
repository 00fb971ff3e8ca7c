"""ImageNet-1k inference helpers: the class names, the evaluation preprocessing, image files.

* :func:`imagenet_classes`: the 1000 names, index ``k`` naming output ``k`` of a
  torchvision classifier (torchvision's list, shipped as ``imagenet_classes.txt``;
  provenance in ``IMAGENET-CLASSES-LICENSE.txt``).
* :func:`imagenet_eval_transform`: torchvision's evaluation preset for its
  ImageNet weights, written out: resize the shorter side to 256 (antialiased
  bilinear, pixels rounded to uint8), crop the central 224x224, scale to
  [0, 1], normalise with the ImageNet mean and std.
* :func:`load_image`: an image file as uint8 (3, H, W) RGB, decoded by Pillow
  (an optional dependency: ``pip install "minicnn[images]"``).
"""
import functools
import os

import numpy as np

from .transforms import CenterCrop, Compose, Normalize, Resize, ToFloat

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "imagenet_classes", "imagenet_eval_transform",
           "load_image"]

#: The per-channel (R, G, B) mean and std of ImageNet's training images, in [0, 1] units:
#: the constants of torchvision's ImageNet weights.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_CLASSES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagenet_classes.txt")
_NO_PILLOW = ("reading image files needs Pillow: pip install \"minicnn[images]\" (or pip install "
              "pillow)")


@functools.lru_cache(maxsize=1)
def _classes() -> tuple:
    with open(_CLASSES_FILE, encoding="utf-8") as stream:
        names = tuple(line.rstrip("\n") for line in stream)
    if len(names) != 1000:
        raise RuntimeError(f"{_CLASSES_FILE}: expected 1000 class names, found {len(names)}")
    return names


def imagenet_classes() -> list:
    """The 1000 ImageNet-1k class names, in the order of a classifier's outputs."""
    return list(_classes())


def imagenet_eval_transform(resize_size=256, crop_size=224):
    """uint8 images (3, H, W) or batches -> normalised float32 ``(3, crop, crop)`` inputs."""
    return Compose([Resize(resize_size), CenterCrop(crop_size), ToFloat(255.0),
                    Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def load_image(path) -> np.ndarray:
    """The image file ``path`` as a uint8 array (3, H, W), RGB (grey and RGBA converted)."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(_NO_PILLOW) from None
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image not found: {path}")
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)  # (H, W, 3)
    except OSError as error:  # Pillow's UnidentifiedImageError and truncated files
        raise ValueError(f"{path}: not an image Pillow can read ({error})") from error
    return np.ascontiguousarray(pixels.transpose(2, 0, 1))
