"""Image datasets: the bundled ``digits``, and MNIST, Fashion-MNIST and CIFAR-10 from local files.

Nothing is ever downloaded. Each dataset holds its images in memory as uint8
``(N, C, H, W)`` with int64 labels, and returns them raw unless given a
``transform`` (see :mod:`minicnn.data.transforms`; the trainer uses
``ToFloat(scale)`` then ``Normalize(mean, std)`` with the training split's
per-channel statistics, which every dataset here carries as ``.mean``/``.std``).

=================  ============  =======  =======  ============================
name               train / test  shape    classes  where the data come from
=================  ============  =======  =======  ============================
``digits``         1,442 / 355   1x8x8    10       bundled (see below)
``mnist``          60k / 10k     1x28x28  10       IDX files in a folder you name
``fashion-mnist``  60k / 10k     1x28x28  10       IDX files in a folder you name
``cifar10``        50k / 10k     3x32x32  10       "python version" batches
=================  ============  =======  =======  ============================

digits
    ``digits.csv.gz`` ships inside minicnn: 1,797 8x8 images of handwritten
    digits, pixel values 0..16 (counts of "on" pixels in 4x4 blocks of a
    32x32 bitmap), copied from scikit-learn (BSD-3-Clause), which ships the
    test portion of the UCI "Optical Recognition of Handwritten Digits" data
    set (E. Alpaydin, C. Kaynak, 1998; UCI ML Repository, CC BY 4.0).
    minicnn does not depend on scikit-learn. The split is fixed and uses no
    random numbers: within each class, in file order, every fifth image
    (the 5th, 10th, ...) is a test image, the rest are training images,
    which gives 1,442 training and 355 test images (34-36 per class) with
    the classes in the same proportions in both.
mnist / fashion-mnist
    ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each optionally
    ``.gz``), looked for in ``root``, then ``root/MNIST/raw`` (or
    ``root/FashionMNIST/raw``: torchvision's layout).
cifar10
    ``data_batch_1`` .. ``data_batch_5`` and ``test_batch`` (and optionally
    ``batches.meta``) in ``root/cifar-10-batches-py`` or ``root``. These are
    Python pickles; they are read with an unpickler that only accepts dicts,
    lists, strings, numbers and NumPy arrays, so a tampered file cannot run
    code.
"""
import gzip
import importlib
import io
import os
import pickle
import struct

import numpy as np

from .dataset import Dataset, _check_index

__all__ = ["ImageDataset", "Digits", "MNIST", "FashionMNIST", "CIFAR10", "DATASETS",
           "get_dataset", "read_idx", "load_cifar_batch"]


class ImageDataset(Dataset):
    """Labelled images in memory: ``images`` uint8 ``(N, C, H, W)``, ``targets`` int64 ``(N,)``.

    ``dataset[i]`` is ``(image, label)``; ``get_batch(indices, rng)`` gives the
    stacked batch. ``transform`` (applied to each image, or to a whole batch
    in ``get_batch``) receives ``rng``. Attributes: ``classes`` (names),
    ``scale`` (the largest pixel value: 255, or 16 for digits), ``mean`` and
    ``std`` (per channel, of the *training* split's pixels divided by
    ``scale``), ``train`` and ``name``.
    """

    def __init__(self, images, targets, classes, *, name, train, scale, mean, std, transform=None):
        images, targets = np.asarray(images), np.asarray(targets, dtype=np.int64)
        if images.ndim != 4 or targets.shape != images.shape[:1]:
            raise ValueError(f"{name}: expected images (N, C, H, W) and N labels, got "
                             f"{images.shape} and {targets.shape}")
        self.images, self.targets = images, targets
        self.classes = list(classes)
        self.name, self.train, self.scale = name, train, float(scale)
        self.mean, self.std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
        self.transform = transform

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def image_shape(self) -> tuple:
        return tuple(self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __getitem__(self, index):
        index = _check_index(index, len(self), self.name)
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def get_batch(self, indices, rng=None):
        images = self.images[indices]
        if self.transform is not None:
            images = self.transform(images, rng=rng)
        return images, self.targets[indices]

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return (f"{type(self).__name__}({self.name}, {split}, {len(self)} images of "
                f"{'x'.join(map(str, self.image_shape))}, {self.num_classes} classes)")


def _channel_stats(images, scale):
    """Per-channel mean and std of ``images / scale`` (float64 accumulation)."""
    pixels = images.transpose(1, 0, 2, 3).reshape(images.shape[1], -1).astype(np.float64) / scale
    return pixels.mean(axis=1), pixels.std(axis=1)


# ------------------------------------------------------------------ digits
_DIGITS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv.gz")


def _load_digits_arrays():
    """All 1,797 digits: images uint8 (N, 1, 8, 8) with values 0..16, labels int64."""
    with gzip.open(_DIGITS_FILE, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise ValueError(f"digits: {_DIGITS_FILE} should hold 1797 rows of 64 pixels and a "
                         f"label, it holds {table.shape}")
    return table[:, :64].astype(np.uint8).reshape(-1, 1, 8, 8), table[:, 64]


def digits_split(labels):
    """Boolean mask of the test images: every fifth image of each class, in file order."""
    test = np.zeros(labels.shape, dtype=bool)
    for label in np.unique(labels):
        positions = np.flatnonzero(labels == label)
        test[positions[4::5]] = True
    return test


class Digits(ImageDataset):
    """``Digits(train=True, transform=None)``: the bundled 8x8 digits (see the module docstring)."""

    def __init__(self, train: bool = True, transform=None):
        images, labels = _load_digits_arrays()
        test = digits_split(labels)
        mean, std = _channel_stats(images[~test], 16.0)
        keep = ~test if train else test
        super().__init__(images[keep], labels[keep], [str(d) for d in range(10)], name="digits",
                         train=train, scale=16.0, mean=mean, std=std, transform=transform)


# ------------------------------------------------------------------ IDX (MNIST)
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path):
    """An array from an IDX file (``.gz`` or not): 2 zero bytes, a type code, the number of
    dimensions, each dimension as a big-endian uint32, then the values in row-major order."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            content = handle.read()
    except (OSError, EOFError) as error:  # gzip raises these for a truncated or foreign file
        raise ValueError(f"{path}: cannot read it as an IDX file ({error})") from error
    if len(content) < 4 or content[0] != 0 or content[1] != 0 or content[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (the first bytes should be 00 00, a type "
                         f"code 08..0E and the number of dimensions; got {content[:4].hex(' ')})")
    dtype, ndim = _IDX_TYPES[content[2]], content[3]
    if len(content) < 4 + 4 * ndim:
        raise ValueError(f"{path}: truncated IDX file (the header promises {ndim} dimensions)")
    shape = struct.unpack(">" + "I" * ndim, content[4:4 + 4 * ndim])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = content[4 + 4 * ndim:]
    if len(body) != expected:
        raise ValueError(f"{path}: truncated or corrupt IDX file: its header says shape {shape} "
                         f"({expected} bytes of data) but it holds {len(body)} bytes")
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _find_file(folders, names):
    for folder in folders:
        for name in names:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                return path
    return None


def _data_folder(name, root, holds) -> str:
    """``root`` with ``~`` expanded; an OSError saying what happened when it is not a readable
    folder (``holds``: what the folder should hold, for the message)."""
    root = os.path.expanduser(str(root))
    if not os.path.isdir(root):
        what = "is a file, not a folder" if os.path.exists(root) else "does not exist"
        raise FileNotFoundError(f"{name}: the data folder {root} {what}; it should hold {holds}. "
                                f"minicnn downloads nothing")
    if not os.access(root, os.R_OK | os.X_OK):
        raise PermissionError(f"{name}: the data folder {root}: permission denied")
    return root


class _IDXDataset(ImageDataset):
    _name = "mnist"
    _folder = "MNIST"
    _classes = [str(d) for d in range(10)]

    def __init__(self, root, train: bool = True, transform=None):
        if root is None:
            raise ValueError(f"{self._name}: give the folder holding the IDX files (root=..., "
                             f"or --data-dir on the command line); minicnn downloads nothing")
        root = _data_folder(self._name, root, "the four IDX files train-images-idx3-ubyte, "
                            "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                            f"t10k-labels-idx1-ubyte (or .gz), in it or in {self._folder}/raw")
        folders = [root, os.path.join(root, self._folder, "raw"), os.path.join(root, "raw")]
        images_train, labels_train = self._load(folders, "train", root)
        mean, std = _channel_stats(images_train, 255.0)
        if train:
            images, labels = images_train, labels_train
        else:
            images, labels = self._load(folders, "t10k", root)
        super().__init__(images, labels, self._classes, name=self._name, train=train, scale=255.0,
                         mean=mean, std=std, transform=transform)

    def _load(self, folders, prefix, root):
        wanted = {"images": f"{prefix}-images-idx3-ubyte", "labels": f"{prefix}-labels-idx1-ubyte"}
        paths = {}
        for kind, name in wanted.items():
            variants = [name, name + ".gz", name.replace("-idx", ".idx"),
                        name.replace("-idx", ".idx") + ".gz"]
            paths[kind] = _find_file(folders, variants)
        missing = [wanted[k] for k, p in paths.items() if p is None]
        if missing:
            where = ", ".join(dict.fromkeys(folders))
            raise FileNotFoundError(
                f"{self._name}: cannot find {' and '.join(missing)} (or .gz) under {root}. "
                f"Expected the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                f"t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz) in one of: "
                f"{where}. minicnn downloads nothing: copy them there (torchvision's "
                f"{self._name} download puts them in ROOT/{self._folder}/raw).")
        images, labels = read_idx(paths["images"]), read_idx(paths["labels"])
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{paths['images']}: expected uint8 images of shape (N, H, W), got "
                             f"{images.dtype} {images.shape}")
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(f"{paths['labels']}: expected {images.shape[0]} labels (one per image "
                             f"in {paths['images']}), got shape {labels.shape}")
        if labels.size and not 0 <= labels.min() <= labels.max() < len(self._classes):
            raise ValueError(f"{paths['labels']}: labels must lie in 0..{len(self._classes) - 1}, "
                             f"got {labels.min()}..{labels.max()}")
        return images[:, None], labels.astype(np.int64)


class MNIST(_IDXDataset):
    """``MNIST(root, train=True, transform=None)`` from the four IDX files in ``root``."""


class FashionMNIST(_IDXDataset):
    """``FashionMNIST(root, train=True, transform=None)``: Zalando's clothing images, MNIST's
    file format."""

    _name = "fashion-mnist"
    _folder = "FashionMNIST"
    _classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                "Sneaker", "Bag", "Ankle boot"]


# ------------------------------------------------------------------ CIFAR-10
_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
}


class _DataOnlyUnpickler(pickle.Unpickler):
    """Unpickles containers, strings, numbers and NumPy arrays; refuses every other global
    (so a pickle cannot call arbitrary functions)."""

    def find_class(self, module, name):
        if (module, name) not in _PICKLE_ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}: a "
                                         f"CIFAR-10 batch holds only dicts, lists and arrays")
        module = module.replace("numpy.core", "numpy._core")  # NumPy 1 pickles, NumPy 2 names
        return getattr(importlib.import_module(module), name)


def load_cifar_batch(path):
    """One CIFAR-10 python batch: ``(images uint8 (N, 3, 32, 32), labels int64 (N,))``."""
    try:
        with open(path, "rb") as handle:
            content = handle.read()
        batch = _DataOnlyUnpickler(io.BytesIO(content), encoding="latin1").load()
    except pickle.UnpicklingError as error:
        raise ValueError(f"{path}: not a CIFAR-10 python batch ({error})") from error
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as error:
        raise ValueError(f"{path}: not a readable CIFAR-10 python batch (truncated or corrupt: "
                         f"{type(error).__name__}: {error})") from error
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: not a CIFAR-10 python batch (it holds a "
                         f"{type(batch).__name__}, not a dict)")
    batch = {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or ("labels" not in batch and "fine_labels" not in batch):
        raise ValueError(f"{path}: not a CIFAR-10 python batch (no 'data'/'labels' entries; "
                         f"found {sorted(map(str, batch))})")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch.get("labels", batch.get("fine_labels")), dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: 'data' must be uint8 of shape (N, 3072), got {data.dtype} "
                         f"{data.shape}")
    if labels.shape != (data.shape[0],):
        raise ValueError(f"{path}: {data.shape[0]} images but {labels.size} labels")
    if labels.size and not 0 <= labels.min() <= labels.max() < 10:
        raise ValueError(f"{path}: labels must lie in 0..9, got {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32), labels


_CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                  "truck"]


class CIFAR10(ImageDataset):
    """``CIFAR10(root, train=True, transform=None)`` from the python-version batches."""

    _train_files = [f"data_batch_{i}" for i in range(1, 6)]
    _test_files = ["test_batch"]

    def __init__(self, root, train: bool = True, transform=None):
        if root is None:
            raise ValueError("cifar10: give the folder holding cifar-10-batches-py (root=..., or "
                             "--data-dir on the command line); minicnn downloads nothing")
        root = _data_folder("cifar10", root, "cifar-10-batches-py (data_batch_1 .. data_batch_5 "
                            "and test_batch, from cifar-10-python.tar.gz)")
        folder = next((f for f in (os.path.join(root, "cifar-10-batches-py"), root)
                       if all(os.path.isfile(os.path.join(f, n))
                              for n in self._train_files + self._test_files)), None)
        if folder is None:
            raise FileNotFoundError(
                f"cifar10: cannot find the CIFAR-10 python batches under {root}. Expected "
                f"data_batch_1 .. data_batch_5 and test_batch in {root}/cifar-10-batches-py "
                f"(as unpacked from cifar-10-python.tar.gz) or in {root} itself. minicnn "
                f"downloads nothing: copy them there.")
        train_parts = [load_cifar_batch(os.path.join(folder, n)) for n in self._train_files]
        images_train = np.concatenate([p[0] for p in train_parts])
        mean, std = _channel_stats(images_train, 255.0)
        if train:
            images = images_train
            labels = np.concatenate([p[1] for p in train_parts])
        else:
            images, labels = load_cifar_batch(os.path.join(folder, self._test_files[0]))
        classes = _CIFAR_CLASSES
        meta = os.path.join(folder, "batches.meta")
        if os.path.isfile(meta):
            try:
                with open(meta, "rb") as handle:
                    info = _DataOnlyUnpickler(handle, encoding="latin1").load()
                names = info.get("label_names", info.get(b"label_names"))
                if names is not None and len(names) == 10:
                    classes = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
            except Exception:  # noqa: BLE001 - the class names are cosmetic; keep the defaults
                pass
        super().__init__(images, labels, classes, name="cifar10", train=train, scale=255.0,
                         mean=mean, std=std, transform=transform)


# ------------------------------------------------------------------ registry
DATASETS = {
    "digits": lambda root, train, transform: Digits(train=train, transform=transform),
    "mnist": lambda root, train, transform: MNIST(root, train=train, transform=transform),
    "fashion-mnist": lambda root, train, transform: FashionMNIST(root, train=train,
                                                                 transform=transform),
    "cifar10": lambda root, train, transform: CIFAR10(root, train=train, transform=transform),
}


def get_dataset(name: str, train: bool = True, root=None, transform=None) -> ImageDataset:
    """A dataset by name (``digits``, ``mnist``, ``fashion-mnist``, ``cifar10``)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid choices: {', '.join(DATASETS)}")
    if name == "digits" and root is not None:  # refused, not ignored: the user meant some data
        raise ValueError(f"--data-dir {root}: the digits are bundled with minicnn and read from "
                         f"no folder; drop --data-dir (root=...), which is for mnist, "
                         f"fashion-mnist and cifar10")
    return DATASETS[name](root, train, transform)
