"""``minicnn.save`` / ``minicnn.load``: round trips of nested objects, a model's and an
optimizer's state dicts, and the errors for files that are not minicnn save files."""
import collections

import numpy as np
import pytest

import minicnn
from minicnn import nn
from minicnn.train import CheckpointError


def _same(a, b):
    """Equal values of the same types all the way down (arrays: dtype and bits)."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, minicnn.Tensor):
        assert a.requires_grad == b.requires_grad and a.is_leaf and b.is_leaf
        _same(a.numpy(), b.numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _same(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_nested_objects_round_trip(tmp_path):
    obj = {
        "tensor": minicnn.randn(2, 3), "leaf": minicnn.ones(4, dtype=minicnn.float64,
                                                             requires_grad=True),
        "param": nn.Parameter(minicnn.zeros(2)), "ints": minicnn.arange(5),
        "bools": np.array([True, False]), "empty": np.zeros((0, 3), np.float32),
        "scalar0d": np.array(3.5), 7: [1, 2.5, float("nan"), float("inf"), None, True, "text"],
        "tuple": (1, (2, "x"), []), "nested": {"a": {"b": {"c": [minicnn.tensor([1.0])]}}},
        ("key", 1): "tuple keys", "__array__": "a key that looks like a tag",
    }
    path = tmp_path / "obj.pt"
    minicnn.save(obj, path)
    loaded = minicnn.load(path)
    _same(obj, loaded)
    assert isinstance(loaded["param"], nn.Parameter)
    minicnn.save(obj, str(path))  # str paths too, replacing the file
    _same(obj, minicnn.load(str(path), map_location="cpu", weights_only=True))


def test_model_state_dict_round_trip_restores_the_outputs(tmp_path):
    minicnn.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 3))
    model(minicnn.randn(5, 1, 6, 6))  # training step: the BN running statistics move
    model.eval()
    minicnn.save(model.state_dict(), tmp_path / "model.pt")
    minicnn.manual_seed(1)
    fresh = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 4 * 4, 3)).eval()
    state = minicnn.load(tmp_path / "model.pt")
    assert isinstance(state, collections.OrderedDict) or list(state) == list(model.state_dict())
    fresh.load_state_dict(state)
    x = minicnn.randn(2, 1, 6, 6)
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    _same(dict(model.state_dict()), dict(state))


def test_optimizer_state_dict_round_trip_continues_identically(tmp_path):
    def setup():
        minicnn.manual_seed(0)
        layer = nn.Linear(3, 2)
        return layer, minicnn.optim.Adam(layer.parameters(), lr=0.1, betas=(0.8, 0.9))

    def step(layer, optimizer, x):
        optimizer.zero_grad()
        (layer(x) ** 2).mean().backward()
        optimizer.step()

    x = minicnn.randn(4, 3)
    layer, optimizer = setup()
    step(layer, optimizer, x)
    minicnn.save({"model": layer.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 1},
                 tmp_path / "ckpt.pt")
    step(layer, optimizer, x)  # the reference: a second step without saving

    restored, restored_optimizer = setup()
    checkpoint = minicnn.load(tmp_path / "ckpt.pt")
    _same(checkpoint["optimizer"]["param_groups"], optimizer.state_dict()["param_groups"])
    assert checkpoint["epoch"] == 1 and list(checkpoint["optimizer"]["state"]) == [0, 1]
    restored.load_state_dict(checkpoint["model"])
    restored_optimizer.load_state_dict(checkpoint["optimizer"])
    step(restored, restored_optimizer, x)
    for a, b in zip(restored.parameters(), layer.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_unsupported_objects_fail_before_the_file_is_written(tmp_path):
    path = tmp_path / "x.pt"
    with pytest.raises(TypeError, match=r"save: cannot store a set at 'obj/a/0'"):
        minicnn.save({"a": [{1, 2}]}, path)
    with pytest.raises(TypeError, match="dtype object"):
        minicnn.save({"a": np.array([None])}, path)
    with pytest.raises(TypeError, match="f must be a file path"):
        minicnn.save({}, 3)
    assert not path.exists()


def test_bad_files_are_clear_errors_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        minicnn.load(tmp_path / "missing.pt")
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match=r"notes.pt: not a minicnn save file"):
        minicnn.load(text)
    good = tmp_path / "good.pt"
    minicnn.save({"w": minicnn.randn(50, 50)}, good)
    content = good.read_bytes()
    cut = tmp_path / "cut.pt"
    for size in (10, len(content) // 2, len(content) - 30):
        cut.write_bytes(content[:size])
        with pytest.raises(CheckpointError, match=r"cut.pt: not a minicnn save file, or a truncated"):
            minicnn.load(cut)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(CheckpointError, match=r"other.npz: an .npz archive but not a minicnn save "
                                              r"file \(it has no __meta__ entry; its arrays are weights"):
        minicnn.load(other)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __meta__=np.array('{"format": "minicnn-save", "version": 1, "object": 1}'),
             evil=np.array([object()], dtype=object))
    with pytest.raises(CheckpointError, match="pickled Python objects"):
        minicnn.load(pickled)
    checkpoint = tmp_path / "checkpoint.npz"
    np.savez(checkpoint, __meta__=np.array('{"format": "minicnn-checkpoint", "version": 1}'))
    with pytest.raises(CheckpointError, match="does not say format 'minicnn-save'"):
        minicnn.load(checkpoint)
    missing_array = tmp_path / "missing_array.npz"
    np.savez(missing_array, __meta__=np.array(
        '{"format": "minicnn-save", "version": 1, "object": {"__array__": "obj/w"}}'))
    with pytest.raises(CheckpointError, match="the array 'obj/w' it refers to is missing"):
        minicnn.load(missing_array)
    with pytest.raises(ValueError, match="device must be"):
        minicnn.load(good, map_location="tpu")


def test_a_saved_state_dict_loads_as_weights_and_other_objects_are_refused(tmp_path):
    from minicnn.io import load_state_dict_file

    minicnn.manual_seed(0)
    source = nn.Linear(3, 2)
    minicnn.save(source.state_dict(keep_vars=True), tmp_path / "weights.pt")  # tensors
    loaded = load_state_dict_file(tmp_path / "weights.pt")
    _same(loaded, dict(source.state_dict()))
    minicnn.save({"model": source.state_dict(), "epoch": 3}, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError, match=r"checkpoint.pt: a minicnn.save file, but not of "
                                              r"a state dict.*keys \['model', 'epoch'\]"):
        load_state_dict_file(tmp_path / "checkpoint.pt")
