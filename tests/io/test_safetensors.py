"""safetensors read and write through the safetensors package's NumPy API (``minicnn[io]``)."""
import sys

import numpy as np
import pytest
import torch

import minicnn
from minicnn.io import load_safetensors, save_safetensors


def test_round_trip_of_a_model(tmp_path):
    model = minicnn.models.resnet18(num_classes=10, width=8, small_input=True)
    save_safetensors(model, tmp_path / "model.safetensors", metadata={"source": "minicnn"})
    loaded = load_safetensors(tmp_path / "model.safetensors")
    state = model.state_dict()
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        assert loaded[key].dtype == value.dtype and np.array_equal(loaded[key], value), key


def test_files_written_by_the_torch_api_load_identical(tmp_path):
    import safetensors.torch

    base = torch.randn(4, 3, generator=torch.Generator().manual_seed(0))
    state = {"float32": base, "float16": base.half(), "bfloat16": base.bfloat16(),
             "int64": torch.arange(6), "bool": base > 0, "scalar": torch.tensor(2.5)}
    safetensors.torch.save_file(state, tmp_path / "t.safetensors")
    loaded = load_safetensors(tmp_path / "t.safetensors")
    for key, value in state.items():
        # bfloat16 comes back widened to float32, exactly (torch's .float() is the same widening)
        want = (value.float() if value.dtype == torch.bfloat16 else value).numpy()
        assert loaded[key].dtype == want.dtype and np.array_equal(loaded[key], want), key


def test_non_contiguous_and_device_free_input(tmp_path):
    array = np.arange(12, dtype=np.float32).reshape(3, 4).T  # not C-contiguous
    save_safetensors({"t": array, "w": minicnn.ones(2)}, tmp_path / "v.safetensors")
    loaded = load_safetensors(tmp_path / "v.safetensors")
    assert np.array_equal(loaded["t"], array) and np.array_equal(loaded["w"], np.ones(2, np.float32))


def test_errors(tmp_path, monkeypatch):
    save_safetensors({"w": np.ones(100, np.float32)}, tmp_path / "w.safetensors")
    data = (tmp_path / "w.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[:-10])
    with pytest.raises(ValueError, match="cut.safetensors: not a readable safetensors file, or a "
                                         "truncated one"):
        load_safetensors(tmp_path / "cut.safetensors")
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors"):
        load_safetensors(tmp_path / "nowhere.safetensors")
    with pytest.raises(TypeError, match=r"state\['w'\] is a list"):
        save_safetensors({"w": [1.0]}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="metadata must map str to str"):
        save_safetensors({"w": np.ones(1)}, tmp_path / "x.safetensors", metadata={"epoch": 3})
    # Without the optional package: one sentence saying what to install.
    monkeypatch.setitem(sys.modules, "safetensors", None)
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    with pytest.raises(ImportError, match=r'pip install "minicnn\[io\]"'):
        load_safetensors(tmp_path / "w.safetensors")
    with pytest.raises(ImportError, match=r'pip install "minicnn\[io\]"'):
        save_safetensors({"w": np.ones(1)}, tmp_path / "x.safetensors")
