"""minicnn.load_torch_state_dict: torch.save files read without torch, and nothing else run.

Every file here is written by torch.save in the test itself (nothing is
downloaded); the expected arrays are torch's own ``tensor.numpy()``, so a
loaded array must equal it exactly (no arithmetic happens on the way: bytes
are viewed, strided and copied; bfloat16 is widened exactly).
"""
import zipfile

import numpy as np
import pytest
import torch

import minicnn
from minicnn.io import TorchFileError, UnsafePickleError, load_torch_state_dict, read_torch_file
from tests.models import randomize_torch_bn, torch_one_thread  # noqa: F401  (autouse fixture)
from tests.models import test_mobilenet as mobilenet_tests
from tests.models import test_resnet as resnet_tests


def torch_numpy(tensor):
    tensor = tensor.detach()
    return (tensor.float() if tensor.dtype == torch.bfloat16 else tensor).numpy()


def assert_identical(loaded, expected):
    assert list(loaded) == list(expected)
    for key, value in expected.items():
        want = torch_numpy(value)
        assert loaded[key].dtype == want.dtype, key
        assert loaded[key].shape == want.shape, key
        assert np.array_equal(loaded[key], want), key
        assert loaded[key].flags.c_contiguous and loaded[key].flags.writeable, key


@pytest.mark.parametrize("make, ours", [
    # torchvision's resnet50 key layout (layer1.0.downsample.1.running_var, ...) at width 8
    (lambda: resnet_tests.TWINS["resnet50"](num_classes=10, width=8), "resnet50"),
    (lambda: mobilenet_tests.torch_twin("mobilenet_v3_small", num_classes=10, width_mult=0.25),
     "mobilenet_v3_small"),
])
def test_torch_twin_state_dicts_load_identical_and_run_like_torch(tmp_path, make, ours):
    torch.manual_seed(0)
    twin = randomize_torch_bn(make()).eval()
    path = tmp_path / "weights.pth"
    torch.save(twin.state_dict(), path)
    loaded = load_torch_state_dict(path)
    assert_identical(loaded, twin.state_dict())
    # The loaded dict fills the minicnn model (strictly) and computes what torch computes:
    # float32, so rounding of ~1e-6 relative grows over ~50 layers; 1e-4 rejects any real error.
    model = minicnn.models.get_model(ours, num_classes=10, **(
        dict(width=8) if ours == "resnet50" else dict(width_mult=0.25))).eval()
    model.load_state_dict(loaded, strict=True)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with minicnn.no_grad(), torch.no_grad():
        np.testing.assert_allclose(model(minicnn.tensor(x)).numpy(),
                                   twin(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-4)


def test_dtypes(tmp_path):
    generator = torch.Generator().manual_seed(0)
    base = torch.randn(3, 5, generator=generator)
    state = {"float32": base, "float16": base.half(), "bfloat16": base.bfloat16(),
             "float64": base.double(), "int64": torch.arange(-4, 4), "int32": torch.arange(3).int(),
             "uint8": torch.arange(250, 256).to(torch.uint8), "bool": base > 0,
             "scalar": torch.tensor(7), "empty": torch.zeros(0, 4)}
    torch.save(state, tmp_path / "dtypes.pt")
    assert_identical(load_torch_state_dict(tmp_path / "dtypes.pt"), state)


def test_views_and_shared_storages(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    # Five tensors on one storage: offsets, negative-free strides, a 0-stride broadcast.
    state = {"base": base, "transposed": base.t(), "sliced": base[1:, 2::2],
             "row": base[2], "expanded": base[0, :1].expand(3, 4)}
    torch.save(state, tmp_path / "views.pth")
    with zipfile.ZipFile(tmp_path / "views.pth") as archive:
        assert sum("/data/" in name for name in archive.namelist()) == 1  # one shared storage
    loaded = load_torch_state_dict(tmp_path / "views.pth")
    assert_identical(loaded, state)
    loaded["base"][0, 0] = -1.0  # each array is its own copy
    assert loaded["transposed"][0, 0] == 0.0 and loaded["expanded"][0, 0] == 0.0


def test_big_endian_file(tmp_path):
    # torch writes the machine's byte order and a byteorder record; a big-endian file is
    # made here by byte-swapping each storage and rewriting that record.
    state = {"w": torch.randn(3, 4, generator=torch.Generator().manual_seed(1)),
             "n": torch.arange(5), "h": torch.arange(4).half()}
    torch.save(state, tmp_path / "little.pth")
    itemsize = {}
    with zipfile.ZipFile(tmp_path / "little.pth") as source, \
            zipfile.ZipFile(tmp_path / "big.pth", "w") as target:
        for key, value in state.items():
            itemsize[key] = value.element_size()
        sizes = iter(itemsize[k] for k in state)  # storages are numbered in save order
        for name in source.namelist():
            data = source.read(name)
            if name.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in name and not name.endswith("serialization_id"):
                size = next(sizes)
                data = np.frombuffer(data, dtype=f"u{size}").byteswap().tobytes()
            target.writestr(name, data)
    assert_identical(load_torch_state_dict(tmp_path / "big.pth"), state)


def test_whole_checkpoints_and_data_parallel_prefix(tmp_path):
    state = {"conv.weight": torch.randn(2, 1, 3, 3), "bn.num_batches_tracked": torch.tensor(4)}
    for key in ("state_dict", "model"):
        checkpoint = {"epoch": 12, key: state, "optimizer": {"state": {}, "lr": [0.1]},
                      "best_acc": 76.1, "arch": "resnet50", "flags": {1, 2}, "bytes": b"\x00\xff"}
        torch.save(checkpoint, tmp_path / f"{key}.pth")
        assert_identical(load_torch_state_dict(tmp_path / f"{key}.pth"), state)
        everything = read_torch_file(tmp_path / f"{key}.pth")
        assert everything["epoch"] == 12 and everything["optimizer"]["lr"] == [0.1]
        assert everything["flags"] == {1, 2} and everything["bytes"] == b"\x00\xff"
    torch.save({"module." + k: v for k, v in state.items()}, tmp_path / "parallel.pth")
    assert_identical(load_torch_state_dict(tmp_path / "parallel.pth"), state)
    parameters = {"weight": torch.nn.Parameter(torch.randn(3))}  # _rebuild_parameter
    torch.save(parameters, tmp_path / "parameters.pth")
    assert_identical(load_torch_state_dict(tmp_path / "parameters.pth"), parameters)


class CreatesAFile:
    """Unpickling this calls open(path, "w"): the payload of a malicious checkpoint."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


class CallsSystem:
    def __reduce__(self):
        import os

        return os.system, ("touch should-never-exist",)


def test_malicious_pickle_is_refused_without_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned.txt"
    torch.save({"weight": torch.ones(2), "payload": CreatesAFile(marker)}, tmp_path / "evil.pth")
    with pytest.raises(UnsafePickleError, match=r"global io\.open, .*not loaded"):
        load_torch_state_dict(tmp_path / "evil.pth")
    assert not marker.exists()
    # The payload is real: torch's own unrestricted loader runs it and creates the file.
    torch.load(tmp_path / "evil.pth", weights_only=False)
    assert marker.exists()

    torch.save({"payload": CallsSystem()}, tmp_path / "system.pth")
    with pytest.raises(UnsafePickleError, match=r"(posix|os|nt)\.system"):
        load_torch_state_dict(tmp_path / "system.pth")
    assert not (tmp_path / "should-never-exist").exists()


def test_truncated_and_wrong_files(tmp_path):
    torch.save({"w": torch.randn(64, 64)}, tmp_path / "good.pth")
    data = (tmp_path / "good.pth").read_bytes()
    (tmp_path / "truncated.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(TorchFileError, match="truncated"):
        load_torch_state_dict(tmp_path / "truncated.pth")

    # A complete zip whose storage record is cut short, and one that lacks it.
    with zipfile.ZipFile(tmp_path / "good.pth") as source, \
            zipfile.ZipFile(tmp_path / "short.pth", "w") as short, \
            zipfile.ZipFile(tmp_path / "missing.pth", "w") as missing:
        for name in source.namelist():
            record = source.read(name)
            if name.endswith("/data/0"):
                short.writestr(name, record[:100])
                continue
            short.writestr(name, record)
            missing.writestr(name, record)
    with pytest.raises(TorchFileError, match=r"truncated: the storage .*data/0 holds 100 bytes"):
        load_torch_state_dict(tmp_path / "short.pth")
    with pytest.raises(TorchFileError, match=r"storage .*data/0 is missing"):
        load_torch_state_dict(tmp_path / "missing.pth")

    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    with pytest.raises(TorchFileError, match="legacy torch.save file"):
        load_torch_state_dict(tmp_path / "legacy.pth")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(TorchFileError, match="not a torch.save file"):
        load_torch_state_dict(tmp_path / "text.pth")
    np.savez(tmp_path / "arrays.npz", w=np.ones(2))
    with pytest.raises(TorchFileError, match="0 data.pkl records"):
        load_torch_state_dict(tmp_path / "arrays.npz")
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        load_torch_state_dict(tmp_path / "nowhere.pth")
    torch.save([torch.ones(2)], tmp_path / "list.pth")
    with pytest.raises(TorchFileError, match="holds a list, not a state dict"):
        load_torch_state_dict(tmp_path / "list.pth")
    torch.save({"epoch": 3}, tmp_path / "no_state.pth")
    with pytest.raises(TorchFileError, match="entry 'epoch' is a int"):
        load_torch_state_dict(tmp_path / "no_state.pth")
    # The pickle itself corrupted (an opcode cut off) inside a valid zip.
    with zipfile.ZipFile(tmp_path / "good.pth") as source, \
            zipfile.ZipFile(tmp_path / "bad_pickle.pth", "w") as target:
        for name in source.namelist():
            record = source.read(name)
            target.writestr(name, record[:20] if name.endswith("data.pkl") else record)
    with pytest.raises(TorchFileError, match="reading its pickle failed"):
        load_torch_state_dict(tmp_path / "bad_pickle.pth")
    assert issubclass(UnsafePickleError, TorchFileError) and issubclass(TorchFileError, ValueError)
