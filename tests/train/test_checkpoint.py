"""Checkpoint files: round trip, atomic writes, and clear errors for bad files."""
import os
import zipfile
from collections import Counter

import numpy as np
import pytest

from minicnn.train import CheckpointError, load_checkpoint, save_checkpoint
from minicnn.train.checkpoint import check_state_dict_fits, pack, unpack

from ._tiny import tiny_cnn, tiny_mlp

META = {
    "config": {"lr": 0.1, "milestones": [3, 5]},
    "optimizer": {"state": {0: {"step": 3.0, "exp_avg": np.arange(6, dtype=np.float32).reshape(2, 3)},
                            1: {"momentum_buffer": None}},
                  "param_groups": [{"betas": (0.9, 0.999), "params": [0, 1], "lr": float("inf")}]},
    "scheduler": {"milestones": Counter([3, 5, 5]), "base_lrs": [0.1]},
    "rng": {"state": {"state": 2 ** 127 + 12345, "inc": 99}},
}


def test_pack_unpack_roundtrip_keeps_types():
    arrays = {}
    packed = pack(META, "meta", arrays)
    back = unpack(packed, arrays)
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert isinstance(back["optimizer"]["param_groups"][0]["betas"], tuple)
    assert back["scheduler"]["milestones"] == Counter([3, 5, 5])
    assert set(back["optimizer"]["state"]) == {0, 1}
    np.testing.assert_array_equal(back["optimizer"]["state"][0]["exp_avg"],
                                  META["optimizer"]["state"][0]["exp_avg"])
    assert back["rng"]["state"]["state"] == 2 ** 127 + 12345


def test_save_load_roundtrip_bit_exact(tmp_path):
    model = tiny_cnn()
    state = {k: v.copy() for k, v in model.state_dict().items()}
    path = tmp_path / "c.npz"
    save_checkpoint(path, META, state)
    meta, loaded = load_checkpoint(path)
    assert loaded.keys() == state.keys()
    for key in state:
        assert loaded[key].dtype == state[key].dtype
        np.testing.assert_array_equal(loaded[key], state[key])
    assert meta["optimizer"]["param_groups"][0]["lr"] == float("inf")
    assert meta["format"] == "minicnn-checkpoint"
    assert [p for p in os.listdir(tmp_path) if p != "c.npz"] == []  # no temporary left
    # Nothing in the archive is a pickle: every member loads with allow_pickle=False.
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.npz"
    save_checkpoint(path, {"config": {"n": 1}}, {"w": np.ones(3, np.float32)})
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"config": {"n": 2}}, {"w": np.zeros(3, np.float32)})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["last.npz"]


def test_truncated_file_is_a_clear_error(tmp_path):
    path = tmp_path / "c.npz"
    save_checkpoint(path, META, tiny_cnn().state_dict())
    content = path.read_bytes()
    for cut in (len(content) // 2, len(content) - 30, 10):
        path.write_bytes(content[:cut])
        with pytest.raises(CheckpointError, match="truncated|not a minicnn checkpoint"):
            load_checkpoint(path)


def test_foreign_files_are_clear_errors(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a minicnn checkpoint"):
        load_checkpoint(text)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="no __meta__ entry.*weights"):
        load_checkpoint(other)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __meta__=np.array('{"format": "minicnn-checkpoint", "version": 1}'),
             evil=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CheckpointError, match="pickled"):
        load_checkpoint(pickled)
    newer = tmp_path / "newer.npz"
    np.savez(newer, __meta__=np.array('{"format": "minicnn-checkpoint", "version": 99}'))
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(newer)
    broken = tmp_path / "broken.npz"
    np.savez(broken, __meta__=np.array('{"format": "minicnn-checkpoint", "version": 1, '
                                       '"x": {"__array__": "meta/x"}}'))
    with pytest.raises(CheckpointError, match="missing"):
        load_checkpoint(broken)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "absent.npz")
    assert zipfile.is_zipfile(other)


def test_a_checkpoint_of_another_model_names_the_mismatched_keys():
    state = tiny_cnn(width=4).state_dict()
    with pytest.raises(CheckpointError) as info:
        check_state_dict_fits(tiny_cnn(width=8), state, "c.npz")
    message = str(info.value)
    assert "shape mismatches" in message and "0.weight: checkpoint (4, 1, 3, 3) vs model (8, 1, 3, 3)" \
        in message
    with pytest.raises(CheckpointError) as info:
        check_state_dict_fits(tiny_mlp(), state, "c.npz")
    message = str(info.value)
    # tiny_mlp: 1 and 3 are Linear layers; tiny_cnn: 1 is a BatchNorm2d, 3 is nothing.
    assert "missing in the checkpoint (2): 3.weight, 3.bias" in message
    assert "unexpected (not in the model)" in message and "1.running_mean" in message
    assert "1.weight: checkpoint (4,) vs model (32, 64)" in message
    check_state_dict_fits(tiny_cnn(width=4), state, "c.npz")  # fits: no error
