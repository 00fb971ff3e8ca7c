"""``minicnn.device`` objects (as ``torch.device``) and the ``minicnn.utils.data`` aliases."""
import pytest
import torch

import minicnn
from minicnn import device


@pytest.mark.parametrize("args", [("cpu",), ("cuda",), ("cuda:0",), ("cuda", 0), ("cuda:3",),
                                  ("cuda", 2)])
def test_device_fields_text_and_repr_match_torch(args):
    ours, theirs = device(*args), torch.device(*args)
    assert (ours.type, ours.index) == (theirs.type, theirs.index)
    assert str(ours) == str(theirs) and repr(ours) == repr(theirs)
    assert device(ours) == ours and hash(device(ours)) == hash(ours)


def test_device_equality_with_devices_and_strings():
    assert device("cuda", 0) == device("cuda:0") == "cuda:0"
    assert device("cuda") != device("cuda:0")  # no index is not index 0, as in PyTorch
    assert device("cpu") == "cpu" and device("cpu") != "cuda" and device("cpu") != "nonsense"
    assert device("cpu") != 3
    assert {device("cpu"): 1}["cpu"] == 1  # hashed as its text form


@pytest.mark.parametrize("args, error, match", [
    (("tpu",), ValueError, "expected 'cpu', 'cuda' or 'cuda:N', got 'tpu'"),
    (("cuda:x",), ValueError, "got 'cuda:x'"),
    (("cuda:0", 1), ValueError, "already holds an index"),
    (("cuda", -1), ValueError, "index must be a non-negative int, got -1"),
    (("cpu", 1), ValueError, "no index other than 0"),
    ((0,), TypeError, "expected a string"),
])
def test_bad_devices_raise_naming_the_value(args, error, match):
    with pytest.raises(error, match=match):
        device(*args)


def test_device_objects_are_accepted_where_device_strings_are():
    cpu = device("cpu")
    t = minicnn.ones(2, 3, device=cpu)
    assert t.device == cpu and isinstance(t.device, device) and t.device == "cpu"
    assert t.to(cpu) is t and t.to(cpu, minicnn.float64).dtype == minicnn.float64
    assert minicnn.tensor([1.0], device=cpu).device == cpu
    assert minicnn.zeros_like(t, device=cpu).device == cpu
    layer = minicnn.nn.Linear(2, 3)
    assert layer.to(cpu) is layer and layer.to(device=cpu) is layer
    with pytest.raises(ValueError, match="device"):
        t.to(device="tpu")


def test_utils_data_names_are_minicnn_data_classes():
    from minicnn.utils.data import DataLoader, Dataset, TensorDataset

    assert DataLoader is minicnn.data.DataLoader and Dataset is minicnn.data.Dataset
    assert TensorDataset is minicnn.data.TensorDataset
    assert minicnn.utils.data.DataLoader is DataLoader
