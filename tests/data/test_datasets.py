"""Datasets: the bundled digits and its split; MNIST IDX and CIFAR-10 python batches written
here in their exact formats (nothing is downloaded); errors for missing, truncated and
foreign files."""
import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from minicnn.data import CIFAR10, MNIST, Digits, FashionMNIST, get_dataset
from minicnn.data.datasets import read_idx


# ------------------------------------------------------------------ digits
def test_digits_split_is_fixed_stratified_and_disjoint():
    train, test = Digits(train=True), Digits(train=False)
    assert len(train) + len(test) == 1797
    assert train.image_shape == test.image_shape == (1, 8, 8)
    assert train.images.dtype == np.uint8 and train.images.max() <= 16
    everything = np.concatenate([train.targets, test.targets])
    for label in range(10):
        total = int((everything == label).sum())
        # Every fifth image of each class (in file order) is a test image: total // 5 of them.
        assert int((test.targets == label).sum()) == total // 5
    again = Digits(train=False)
    np.testing.assert_array_equal(again.images, test.images)


def test_digits_match_scikit_learn_and_split_rule():
    from sklearn.datasets import load_digits  # a test extra: the copy the bundled file came from

    reference = load_digits()
    images = reference.images.astype(np.uint8)
    labels = reference.target
    test_mask = np.zeros(len(labels), bool)
    for label in range(10):
        test_mask[np.flatnonzero(labels == label)[4::5]] = True
    train, test = Digits(train=True), Digits(train=False)
    np.testing.assert_array_equal(test.images[:, 0], images[test_mask])
    np.testing.assert_array_equal(test.targets, labels[test_mask])
    np.testing.assert_array_equal(train.images[:, 0], images[~test_mask])
    np.testing.assert_array_equal(train.targets, labels[~test_mask])


def test_digits_statistics_are_the_training_split_ones():
    train, test = Digits(train=True), Digits(train=False)
    pixels = train.images.astype(np.float64) / 16
    assert train.mean[0] == pytest.approx(pixels.mean())
    assert train.std[0] == pytest.approx(pixels.std())
    assert test.mean == train.mean and test.std == train.std and train.scale == 16


def test_getitem_and_get_batch_agree():
    data = Digits(train=False, transform=lambda x, rng=None: x.astype(np.float32) * 2)
    image, label = data[5]
    images, labels = data.get_batch(np.array([5, 7]))
    np.testing.assert_array_equal(images[0], image)
    assert labels[0] == label and isinstance(label, int)
    with pytest.raises(IndexError, match="out of range"):
        data[len(data)]


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(ValueError, match="digits, mnist, fashion-mnist, cifar10"):
        get_dataset("imagenet")


# ------------------------------------------------------------------ IDX
def write_idx(path, array, type_code=0x08):
    """An IDX file as the format's documentation describes it (written here independently)."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(">" + "I" * array.ndim,
                                                                *array.shape)
    body = array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(header + body)


def make_mnist(folder, n_train=12, n_test=5, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{suffix}"), images)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{suffix}"), labels)
        arrays[prefix] = (images, labels)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_idx_files(tmp_path, gz):
    arrays = make_mnist(tmp_path, gz=gz)
    train, test = MNIST(tmp_path, train=True), MNIST(tmp_path, train=False)
    np.testing.assert_array_equal(train.images[:, 0], arrays["train"][0])
    np.testing.assert_array_equal(train.targets, arrays["train"][1])
    np.testing.assert_array_equal(test.images[:, 0], arrays["t10k"][0])
    assert test.targets.dtype == np.int64 and train.image_shape == (1, 28, 28)
    assert train.mean[0] == pytest.approx(arrays["train"][0].mean() / 255)
    assert test.mean == train.mean  # normalisation always from the training split


def test_fashion_mnist_in_torchvision_layout(tmp_path):
    arrays = make_mnist(tmp_path / "FashionMNIST" / "raw")
    data = get_dataset("fashion-mnist", train=True, root=str(tmp_path))
    assert isinstance(data, FashionMNIST) and data.classes[0] == "T-shirt/top"
    np.testing.assert_array_equal(data.targets, arrays["train"][1])


def test_idx_other_types_roundtrip(tmp_path):
    values = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    write_idx(tmp_path / "x.idx", values.astype(">i4"), type_code=0x0C)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.idx"), values)


def test_missing_mnist_folder_names_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        MNIST(tmp_path / "nowhere")
    message = str(info.value)
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "MNIST/raw", "nowhere"):
        assert name in message
    with pytest.raises(ValueError, match="data-dir"):
        MNIST(None)


def test_truncated_and_foreign_idx_files(tmp_path):
    make_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    content = path.read_bytes()
    path.write_bytes(content[:-7])
    with pytest.raises(ValueError, match="truncated"):
        MNIST(tmp_path)
    path.write_bytes(b"PK\x03\x04 this is a zip, not an IDX file")
    with pytest.raises(ValueError, match="not an IDX file"):
        MNIST(tmp_path)
    gz = tmp_path / "trunc.gz"
    with gzip.open(gz, "wb") as handle:
        handle.write(content)
    gz.write_bytes(gz.read_bytes()[:100])
    with pytest.raises(ValueError, match="cannot read"):
        read_idx(gz)


def test_label_count_mismatch(tmp_path):
    make_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="expected 12 labels"):
        MNIST(tmp_path)


# ------------------------------------------------------------------ CIFAR-10
def write_cifar_batch(path, images, labels, protocol=2):
    """A python-version batch: a pickled dict with bytes keys, data (N, 3072) uint8 with the
    1024 red, then green, then blue values of each image in row-major order."""
    batch = {b"batch_label": b"testing batch", b"labels": [int(v) for v in labels],
             b"data": images.reshape(len(images), 3 * 32 * 32),
             b"filenames": [f"img{i}.png".encode() for i in range(len(images))]}
    with open(path, "wb") as handle:
        pickle.dump(batch, handle, protocol=protocol)


def make_cifar(root, per_batch=3, seed=0):
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    parts = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, size=(per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_batch)
        write_cifar_batch(os.path.join(folder, name), images, labels)
        parts.append((images, labels))
    with open(os.path.join(folder, "batches.meta"), "wb") as handle:
        pickle.dump({b"label_names": [f"class{i}".encode() for i in range(10)]}, handle, protocol=2)
    return folder, parts


def test_cifar10_reads_python_batches(tmp_path):
    folder, parts = make_cifar(tmp_path)
    train, test = CIFAR10(tmp_path, train=True), CIFAR10(tmp_path, train=False)
    np.testing.assert_array_equal(train.images, np.concatenate([p[0] for p in parts[:5]]))
    np.testing.assert_array_equal(train.targets, np.concatenate([p[1] for p in parts[:5]]))
    np.testing.assert_array_equal(test.images, parts[5][0])
    assert train.classes[3] == "class3" and train.image_shape == (3, 32, 32)
    # The channel layout: data row r, value c*1024 + i*32 + j is pixel (c, i, j).
    row = parts[5][0][1].reshape(-1)
    assert test.images[1, 2, 5, 7] == row[2 * 1024 + 5 * 32 + 7]
    assert CIFAR10(folder).images.shape == train.images.shape  # the batches directly in root


def test_cifar_pickle_that_would_run_code_is_refused(tmp_path):
    folder, _ = make_cifar(tmp_path)

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    with open(os.path.join(folder, "test_batch"), "wb") as handle:
        pickle.dump({b"data": Evil(), b"labels": []}, handle, protocol=2)
    with pytest.raises(ValueError, match="refusing"):
        CIFAR10(tmp_path, train=False)
    assert not (tmp_path / "pwned").exists()


def test_cifar_truncated_missing_and_wrong_shape(tmp_path):
    with pytest.raises(FileNotFoundError, match="data_batch_1 .. data_batch_5 and test_batch"):
        CIFAR10(tmp_path)
    folder, _ = make_cifar(tmp_path)
    path = os.path.join(folder, "data_batch_3")
    content = open(path, "rb").read()
    with open(path, "wb") as handle:
        handle.write(content[: len(content) // 2])
    with pytest.raises(ValueError, match="data_batch_3.*(truncated|not a CIFAR)"):
        CIFAR10(tmp_path)
    write_cifar_batch(path, np.zeros((2, 3, 32, 32), np.uint8), [0, 1])
    with open(os.path.join(folder, "test_batch"), "wb") as handle:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, handle, protocol=2)
    with pytest.raises(ValueError, match=r"\(N, 3072\)"):
        CIFAR10(tmp_path, train=False)
