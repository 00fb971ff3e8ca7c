"""``minicnn export CKPT OUT.onnx``: a checkpoint's model rebuilt, exported and run by ONNX Runtime."""
import numpy as np
import onnxruntime

import minicnn
from minicnn.cli import main
from minicnn.train.checkpoint import save_checkpoint
from tests.io import randomize


def write_checkpoint(path, model, name, kwargs, dataset="digits"):
    """A checkpoint as the trainer writes it, reduced to what export reads."""
    meta = {"model": {"name": name, "kwargs": kwargs}, "config": {"dataset": dataset},
            "normalization": {"scale": 16.0, "mean": [0.3], "std": [0.4]}}
    save_checkpoint(path, meta, model.state_dict())


def test_export_a_checkpoint_and_run_it(tmp_path, capsys):
    kwargs = dict(num_classes=10, in_channels=1, small_input=True, width=8)
    model = randomize(minicnn.models.resnet18(**kwargs)).eval()
    write_checkpoint(tmp_path / "best.npz", model, "resnet18", kwargs)
    assert main(["export", str(tmp_path / "best.npz"), str(tmp_path / "model.onnx")]) == 0
    printed = capsys.readouterr().out
    assert "input 'input' of shape (batch, 1, 8, 8)" in printed and "mean [0.3]" in printed
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32)
    with minicnn.no_grad():
        ours = model(minicnn.tensor(x)).numpy()
    # float32 in two engines: see tests/io/test_onnx_export.py for the tolerance
    np.testing.assert_allclose(session.run(None, {"input": x})[0], ours, rtol=0,
                               atol=1e-5 * max(1.0, float(np.abs(ours).max())))


def test_export_errors(tmp_path, capsys):
    kwargs = dict(num_classes=10, in_channels=1, small_input=True, width=8)
    model = minicnn.models.resnet18(**kwargs)
    write_checkpoint(tmp_path / "run.npz", model, "resnet18", kwargs, dataset="my-images")
    assert main(["export", str(tmp_path / "run.npz"), str(tmp_path / "m.onnx")]) == 2
    assert "give --input-shape C,H,W" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "run.npz"), str(tmp_path / "m.onnx"),
                 "--input-shape", "1,16,16", "--static-batch"]) == 0
    assert "shape (1, 1, 16, 16)" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "missing.npz"), str(tmp_path / "m.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "run.npz"), str(tmp_path / "m.onnx"), "--opset", "9",
                 "--input-shape", "1,16,16"]) == 2
    assert "opset_version must be an int from 14" in capsys.readouterr().err
