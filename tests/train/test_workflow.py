"""Issue 12's workflow items: --version, --init-from, user models by import path and by
registration (rebuilt from the checkpoint in a new process), --threads, --data-dir with the
digits, the non-empty --out message, `minicnn check` without PyTorch."""
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minicnn
from minicnn import cli, manual_seed
from minicnn.cli import main
from minicnn.io import save_safetensors
from minicnn.train import CheckpointError, RunFolderError, TrainConfig, Trainer, load_checkpoint
from minicnn.train.weights import load_weights_file

from . import _tiny  # noqa: F401  (registers tiny_cnn)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--model", "tiny_cnn", "--batch-size", "64", "--schedule", "constant",
        "--warmup-epochs", "0"]


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"minicnn {minicnn.__version__}\n"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    Trainer(TrainConfig(model="tiny_cnn", batch_size=64, epochs=1), out=out,
            stream=io.StringIO()).run()
    return out


def test_init_from_keeps_matching_tensors_and_reinitialises_a_new_head(finished_run, tmp_path):
    """A weights file whose head has 7 classes (the digits have 10) and one extra tensor: the
    body is copied, the head keeps the fresh initialisation the seed gives, the extra is
    reported unused."""
    weights = {k: v + 1.0 for k, v in _tiny.tiny_cnn(num_classes=7).state_dict().items()}
    weights["extra.weight"] = np.zeros(3, np.float32)
    np.savez(tmp_path / "weights.npz", **weights)
    trainer = Trainer(TrainConfig(model="tiny_cnn", init_from=str(tmp_path / "weights.npz")),
                      out=tmp_path / "run", stream=io.StringIO())
    trainer._setup()
    manual_seed(0)
    fresh = _tiny.tiny_cnn(num_classes=10).state_dict()
    state = trainer.model.state_dict()
    head = {"9.weight", "9.bias"}
    for key in state:
        expected = fresh[key] if key in head else weights[key]
        np.testing.assert_array_equal(state[key], expected, err_msg=key)
    report = trainer._init_report
    assert sorted(report.kept) == sorted(set(state) - head)
    assert report.reinitialised == ["9.weight (file (7, 16), model (10, 16))",
                                    "9.bias (file (7,), model (10,))"]
    assert report.unused == ["extra.weight"]
    # A run folder or its checkpoint gives the model state only (everything fits); the other
    # weight formats of minicnn.io come through the same entry point.
    assert load_weights_file(finished_run).keys() == state.keys()
    save_safetensors(weights, tmp_path / "weights.safetensors")
    assert load_weights_file(tmp_path / "weights.safetensors").keys() == weights.keys()
    # Weights of another architecture: refused, naming the file.
    np.savez(tmp_path / "other.npz", **_tiny.tiny_mlp().state_dict())
    with pytest.raises(CheckpointError, match="none of its 4 tensors fits"):
        Trainer(TrainConfig(model="tiny_cnn", init_from=str(tmp_path / "other.npz")),
                out=tmp_path / "run2", stream=io.StringIO())._setup()


def test_cli_init_from_and_threads_start_a_new_recorded_run(finished_run, tmp_path, capsys):
    import numba

    threads_before = numba.get_num_threads()
    out = tmp_path / "tuned"
    assert main(["train", *TINY, "--epochs", "1", "--lr", "0.01", "--threads", "1",
                 "--init-from", str(finished_run / "last.npz"), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    count = len(load_weights_file(finished_run / "last.npz"))
    assert (f"initialised from {finished_run / 'last.npz'}: kept {count} tensors; "
            f"re-initialised 0; unused from the file 0") in text
    with open(out / "config.json") as stream:
        document = json.load(stream)
    assert document["config"]["threads"] == 1 and document["config"]["init_from"] == \
        str(finished_run / "last.npz")
    assert document["threads_in_use"] == {"numba": 1, "blas": 1}
    assert numba.get_num_threads() == threads_before  # restored after the run
    meta, _ = load_checkpoint(out / "last.npz")
    assert meta["progress"]["step"] == 22 and len(meta["history"]) == 1  # a new run
    assert meta["optimizer"]["param_groups"][0]["lr"] == 0.01


@pytest.mark.parametrize("options, match", [
    (dict(threads=0), "--threads must be an integer from 1 to"),
    (dict(threads=10_000), "--threads must be an integer from 1 to"),
    (dict(init_from="/no/such.npz"), "--init-from /no/such.npz: does not exist"),
    (dict(model="tests.train._tiny:nope"), "has no attribute 'nope'"),
    (dict(model="no_such_package.models:net"), "cannot import no_such_package.models"),
])
def test_bad_workflow_options(tmp_path, options, match):
    with pytest.raises(ValueError, match=match):
        Trainer(TrainConfig(**options), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_user_models_are_rebuilt_from_the_checkpoint_in_a_new_process(tmp_path, capsys):
    """--model package.module:callable, and a model registered with register_model (tiny_cnn,
    registered by tests/train/_tiny.py): `minicnn evaluate` in a process that imported
    neither rebuilds both from what the checkpoint recorded (`minicnn export` too)."""
    spec = "tests.train._tiny:tiny_mlp"
    assert main(["train", *TINY, "--model", spec, "--epochs", "1", "--out",
                 str(tmp_path / "mlp")]) == 0
    assert main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path / "cnn")]) == 0
    capsys.readouterr()
    meta, _ = load_checkpoint(tmp_path / "cnn" / "last.npz")
    assert meta["model"]["constructor"] == "tests.train._tiny:tiny_cnn"
    script = ("import sys; from minicnn.cli import main; "
              f"sys.exit(main(['evaluate', {str(tmp_path / 'mlp')!r}]) "
              f"or main(['evaluate', {str(tmp_path / 'cnn' / 'last.npz')!r}]) "
              f"or main(['export', {str(tmp_path / 'cnn' / 'last.npz')!r}, "
              f"{str(tmp_path / 'cnn.onnx')!r}]))")
    process = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    assert process.returncode == 0, process.stdout + process.stderr
    assert f"{spec} on digits" in process.stdout and "tiny_cnn on digits" in process.stdout
    assert (tmp_path / "cnn.onnx").is_file()


def test_non_empty_out_suggests_resume_only_when_there_is_a_checkpoint(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError) as info:
        Trainer(TrainConfig(), out=tmp_path / "notes")
    assert "--resume" not in str(info.value) and "--overwrite" in str(info.value)
    (tmp_path / "notes" / "last.npz").write_bytes(b"")
    with pytest.raises(RunFolderError, match="continue that run with --resume .*last.npz"):
        Trainer(TrainConfig(), out=tmp_path / "notes")


def test_check_without_pytorch_counts_the_skipped_parity_checks(monkeypatch):
    from minicnn.checks import all_cases

    monkeypatch.setattr(cli, "_torch_available", lambda: False)
    out = io.StringIO()
    assert cli.run_check(["relu", "sum"], seed=0, use_torch=True, out=out) == 0
    text = out.getvalue()
    cases = [c for c in all_cases() if c.op in ("relu", "sum")]
    skipped = sum(c.torch_fn is not None for c in cases)
    assert skipped > 0
    assert (f"{skipped} of {len(cases)} configurations skipped their float32 PyTorch parity "
            f"check: PyTorch is not installed") in text
    rows = [line.split() for line in text.splitlines() if " grad f64 " in line]
    assert len(rows) == len(cases)
    for row in rows:  # the relative error is measured, not zeroed out
        assert float(row[-2]) > 0 and float(row[-3]) > 0, row
