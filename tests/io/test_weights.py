"""``weights=PATH`` on every zoo constructor, and the one loader behind it (load_state_dict_file)."""
import numpy as np
import pytest
import torch

import minicnn
from minicnn.io import load_state_dict_file, save_safetensors
from minicnn.train.checkpoint import save_checkpoint
from tests.io import SMALL_ZOO, small_model


def save_in(fmt, state, path):
    """``state`` (name -> array) written as ``fmt`` by that format's own writer."""
    if fmt == "npz":
        with open(path, "wb") as stream:  # np.savez(path) would append ".npz" to other names
            np.savez(stream, **state)
    elif fmt == "pth":
        torch.save({k: torch.from_numpy(np.array(v)) for k, v in state.items()}, path)
    elif fmt == "safetensors":
        save_safetensors(state, path)
    elif fmt == "save":
        minicnn.save(state, path)
    else:
        save_checkpoint(path, {"epoch": 1}, state)


FORMATS = ["npz", "pth", "safetensors", "checkpoint", "save"]


@pytest.mark.parametrize("name", sorted(SMALL_ZOO))
def test_every_zoo_constructor_loads_weights_in_every_format(tmp_path, name):
    minicnn.manual_seed(1)
    source = small_model(name)
    state = {k: np.array(v) for k, v in source.state_dict().items()}
    # Give the BN buffers values a fresh model does not have, so each entry is checked.
    for key, value in state.items():
        if key.endswith(("running_mean", "running_var", "num_batches_tracked")):
            state[key] = value + np.arange(1, value.size + 1, dtype=value.dtype).reshape(value.shape)
    for index, fmt in enumerate(FORMATS):
        path = tmp_path / f"weights{index}.{'npz' if fmt in ('checkpoint', 'save') else fmt}"
        save_in(fmt, state, path)
        minicnn.manual_seed(2 + index)  # a different initialisation, replaced by the file's
        build = getattr(minicnn.models, name)
        loaded = build(num_classes=10, small_input=True, weights=str(path), **SMALL_ZOO[name])
        for key, value in loaded.state_dict().items():
            assert np.array_equal(value, state[key]) and value.dtype == state[key].dtype, \
                (name, fmt, key)


def test_formats_are_told_apart_by_content(tmp_path):
    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3)}
    for index, fmt in enumerate(FORMATS):
        path = tmp_path / f"weights{index}.bin"  # the name says nothing
        save_in(fmt, state, path)
        assert np.array_equal(load_state_dict_file(path)["w"], state["w"]), fmt


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights='IMAGENET1K_V1' is not a file.*downloads "
                                                "nothing"):
        minicnn.models.resnet18(weights="IMAGENET1K_V1")
    with pytest.raises(TypeError, match="weights must be None or the path of a weight file, got "
                                        "bool True"):
        minicnn.models.mobilenet_v2(weights=True)
    np.savez(tmp_path / "other.npz", w=np.ones(3, np.float32))
    with pytest.raises(RuntimeError, match=r"(?s)other.npz: Error\(s\) in loading state_dict.*Missing "
                                           r"key\(s\).*Unexpected key\(s\) in state_dict: \"w\""):
        minicnn.models.shufflenet_v2_x0_5(num_classes=10, weights=tmp_path / "other.npz")
    (tmp_path / "text.bin").write_text("hello")
    with pytest.raises(ValueError, match="text.bin: not a weight file minicnn reads"):
        load_state_dict_file(tmp_path / "text.bin")
    data = (tmp_path / "other.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:-30])
    with pytest.raises(ValueError, match="not a weight file minicnn reads .or a truncated one"):
        load_state_dict_file(tmp_path / "cut.npz")
    np.savez(tmp_path / "pickled.npz", w=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled objects; it is refused"):
        load_state_dict_file(tmp_path / "pickled.npz")


def test_train_init_from_reads_a_torch_save_file(tmp_path):
    """``minicnn train --init-from`` goes through the same loader: a torch.save file of a torch
    twin's state fills the model (every key fits, so everything is kept)."""
    import io

    from minicnn.train import TrainConfig, Trainer
    from tests.train import _tiny

    source = _tiny.tiny_cnn()
    state = {k: np.asarray(v + 0.5 if v.dtype.kind == "f" else v + 3)
             for k, v in source.state_dict().items()}
    torch.save({"state_dict": {k: torch.from_numpy(v) for k, v in state.items()}, "epoch": 3},
               tmp_path / "weights.pth")
    trainer = Trainer(TrainConfig(model="tiny_cnn", init_from=str(tmp_path / "weights.pth")),
                      out=tmp_path / "run", stream=io.StringIO())
    trainer._setup()
    for key, value in trainer.model.state_dict().items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)
    assert sorted(trainer._init_report.kept) == sorted(state)
