"""DataLoader: batching, seeded shuffling, mid-epoch state, worker threads, collation."""
import threading

import numpy as np
import pytest

import minicnn
from minicnn.data import DataLoader, Dataset, Subset, TensorDataset, default_collate
from minicnn.data import transforms as T
from minicnn.data.datasets import ImageDataset


def images_dataset(n=23, transform=None):
    images = np.arange(n * 16, dtype=np.uint8).reshape(n, 1, 4, 4)
    return ImageDataset(images, np.arange(n) % 10, [str(i) for i in range(10)], name="toy",
                        train=True, scale=255.0, mean=[0.5], std=[0.25], transform=transform)


def collect(loader):
    return [(x.numpy().copy(), y.numpy().copy()) for x, y in loader]


def test_batches_cover_every_sample_once():
    data = TensorDataset(np.arange(23.0), np.arange(23))
    loader = DataLoader(data, batch_size=5, shuffle=True, generator=0)
    batches = collect(loader)
    assert len(loader) == 5 and [len(b[1]) for b in batches] == [5, 5, 5, 5, 3]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(23))
    assert batches[0][0].dtype == np.float64 and batches[0][1].dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), seen.astype(float))
    dropped = DataLoader(data, batch_size=5, drop_last=True)
    assert len(dropped) == 4 and [len(b[1]) for b in collect(dropped)] == [5] * 4
    ordered = collect(DataLoader(data, batch_size=10))
    np.testing.assert_array_equal(ordered[0][1], np.arange(10))


def test_shuffle_is_seeded_and_changes_between_epochs():
    data = TensorDataset(np.arange(50), np.zeros(50))
    first = DataLoader(data, batch_size=50, shuffle=True, generator=7)
    second = DataLoader(data, batch_size=50, shuffle=True, generator=np.random.default_rng(7))
    a1, a2 = collect(first), collect(first)
    b1 = collect(second)
    np.testing.assert_array_equal(a1[0][0], b1[0][0])
    assert not np.array_equal(a1[0][0], a2[0][0])
    # Without a generator the loader is seeded from minicnn's global generator.
    minicnn.manual_seed(3)
    c = collect(DataLoader(data, batch_size=50, shuffle=True))
    minicnn.manual_seed(3)
    d = collect(DataLoader(data, batch_size=50, shuffle=True))
    np.testing.assert_array_equal(c[0][0], d[0][0])


def test_order_and_augmentation_follow_the_documented_derivation():
    data = images_dataset(transform=T.RandomCrop(4, padding=1))
    loader = DataLoader(data, batch_size=4, shuffle=True, generator=11)
    batches = collect(loader)
    epoch_seed = int(np.random.default_rng(11).integers(2 ** 63))
    order = np.random.default_rng(epoch_seed).permutation(len(data))
    for number, (images, labels) in enumerate(batches):
        indices = order[number * 4:(number + 1) * 4]
        expected = T.RandomCrop(4, padding=1)(data.images[indices],
                                              rng=np.random.default_rng([epoch_seed, number]))
        np.testing.assert_array_equal(images, expected)
        np.testing.assert_array_equal(labels, data.targets[indices])


@pytest.mark.parametrize("workers", [0, 2])
def test_state_dict_resumes_mid_epoch_identically(workers):
    transform = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip()])
    reference = DataLoader(images_dataset(transform=transform), batch_size=3, shuffle=True,
                           generator=5)
    straight = collect(reference) + collect(reference)  # two epochs

    loader = DataLoader(images_dataset(transform=transform), batch_size=3, shuffle=True,
                        generator=5, num_workers=workers)
    got = []
    for number, (x, y) in enumerate(loader):
        got.append((x.numpy().copy(), y.numpy().copy()))
        if number == 2:
            break
    state = loader.state_dict()
    assert state["batches_done"] == 3 and state["epoch_seed"] is not None

    resumed = DataLoader(images_dataset(transform=transform), batch_size=3, shuffle=True,
                         generator=99, num_workers=workers)
    resumed.load_state_dict(state)
    got += collect(resumed)          # the rest of epoch 1
    assert resumed.state_dict()["epoch_seed"] is None
    got += collect(resumed)          # epoch 2
    assert len(got) == len(straight)
    for (x, y), (rx, ry) in zip(got, straight):
        np.testing.assert_array_equal(x, rx)
        np.testing.assert_array_equal(y, ry)


def test_threads_give_the_serial_batches_and_stop_when_abandoned():
    data = images_dataset(n=40, transform=T.RandomCrop(4, padding=1))
    serial = collect(DataLoader(data, batch_size=4, shuffle=True, generator=1))
    threaded = collect(DataLoader(data, batch_size=4, shuffle=True, generator=1, num_workers=2))
    for (x, y), (tx, ty) in zip(serial, threaded):
        np.testing.assert_array_equal(x, tx)
        np.testing.assert_array_equal(y, ty)
    before = threading.active_count()
    iterator = iter(DataLoader(data, batch_size=4, num_workers=2))
    next(iterator)
    iterator.close()
    assert threading.active_count() <= before


class PerSample(Dataset):
    def __len__(self):
        return 7

    def __getitem__(self, index):
        return np.full((2,), index, np.float32), index, {"id": float(index)}


def test_datasets_without_get_batch_are_collated():
    batches = list(DataLoader(PerSample(), batch_size=3))
    x, y, extra = batches[0]
    np.testing.assert_array_equal(x.numpy(), [[0, 0], [1, 1], [2, 2]])
    assert y.dtype == np.int64 and extra["id"].dtype == np.float64
    custom = list(DataLoader(PerSample(), batch_size=3, collate_fn=lambda s: len(s)))
    assert custom == [3, 3, 1]
    assert default_collate([(1, "a"), (2, "b")])[1] == ["a", "b"]


def test_subset_and_tensor_dataset():
    data = TensorDataset(minicnn.arange(10), np.arange(10) * 2)
    subset = Subset(data, [9, 3, 4])
    assert len(subset) == 3 and subset[0][1] == 18
    batch = next(iter(DataLoader(subset, batch_size=3)))
    np.testing.assert_array_equal(batch[1].numpy(), [18, 6, 8])
    plain = Subset(PerSample(), [6, 0])
    np.testing.assert_array_equal(next(iter(DataLoader(plain, batch_size=2)))[1].numpy(), [6, 0])


@pytest.mark.parametrize("make, error, match", [
    (lambda: DataLoader(TensorDataset(np.zeros(3)), batch_size=0), ValueError, "batch_size"),
    (lambda: DataLoader(TensorDataset(np.zeros(3)), batch_size=1.5), TypeError, "batch_size"),
    (lambda: DataLoader(TensorDataset(np.zeros(3)), num_workers=-1), ValueError, "num_workers"),
    (lambda: DataLoader(TensorDataset(np.zeros(3)), generator="seed"), TypeError, "generator"),
    (lambda: DataLoader(object()), TypeError, "__len__"),
    (lambda: TensorDataset(np.zeros(3), np.zeros(4)), ValueError, "size mismatch"),
    (lambda: TensorDataset(), ValueError, "at least one"),
    (lambda: Subset(TensorDataset(np.zeros(3)), [5]), IndexError, "indices"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_state_dict_changes_nothing():
    loader = DataLoader(TensorDataset(np.arange(9)), batch_size=3, shuffle=True, generator=0)
    before = loader.state_dict()
    with pytest.raises(ValueError, match="batches_done"):
        loader.load_state_dict(dict(before, batches_done=10))
    with pytest.raises(ValueError, match="expected the dict"):
        loader.load_state_dict({"generator": 1})
    assert loader.state_dict() == before
