"""The train / evaluate / models / summary subcommands, and Ctrl-C on a real process."""
import re
import signal

import numpy as np
import pytest

from minicnn.cli import _model_kwargs, main
from minicnn.train import load_checkpoint

from . import _tiny  # noqa: F401
from ._process import signal_after_first_epoch

TINY = ["--model", "tiny_cnn", "--batch-size", "64"]


def test_train_then_evaluate(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "training tiny_cnn" in text and "epoch 2/2" in text and "done: test accuracy" in text
    assert main(["evaluate", str(out / "last.npz")]) == 0
    text = capsys.readouterr().out
    assert "accuracy" in text and "/355)" in text and "per class:" in text
    assert main(["evaluate", str(out / "last.npz"), "--split", "train"]) == 0
    assert "/1442)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, match", [
    (["--model", "nope"], "unknown choice 'nope'; valid choices:.*resnet18"),
    (["--dataset", "svhn"], "valid choices: digits, mnist, fashion-mnist, cifar10"),
    (["--optimizer", "lbfgs"], "valid choices: sgd, adam, adamw, rmsprop, adadelta, adagrad, "
                               "nadam, radam"),
    (["--schedule", "cyclic"], "valid choices: .*plateau, exponential, cosine-restarts, poly"),
    (["--schedule", "plateau", "--patience", "-1"], "--patience must be an integer >= 0"),
    (["--schedule", "plateau", "--gamma", "1.5"], "--gamma must be < 1 with the plateau"),
    (["--schedule", "cosine-restarts", "--restart-epochs", "0"], "--restart-epochs"),
    (["--schedule", "poly", "--power", "0"], "--power must be > 0"),
    (["--lr", "0"], "--lr must be > 0"),
    (["--batch-size", "0"], "--batch-size must be an integer >= 1"),
    (["--model-kw", "width"], "KEY=VALUE"),
    (["--dataset", "mnist", "--data-dir", "/no/such/folder"], "/no/such/folder does not exist; it should hold.*train-images-idx3-ubyte"),
    (["--data-dir", "/tmp"], "--data-dir /tmp: the digits are bundled"),
    (["--resume", "/no/such/ckpt.npz"], "checkpoint /no/such/ckpt.npz does not exist"),
])
def test_train_bad_input_exits_2_with_a_message(tmp_path, capsys, argv, match):
    assert main(["train", *argv, "--out", str(tmp_path / "run")]) == 2
    assert re.search(match, capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv", [
    ["--optimizer", "adadelta"], ["--optimizer", "adagrad"], ["--optimizer", "nadam"],
    ["--optimizer", "radam"], ["--schedule", "plateau", "--patience", "0", "--min-lr", "1e-3"],
    ["--schedule", "exponential", "--gamma", "0.5"],
    ["--schedule", "cosine-restarts", "--restart-epochs", "1", "--restart-mult", "2"],
    ["--schedule", "poly", "--power", "0.9"],
])
def test_train_with_each_added_optimizer_and_schedule(tmp_path, capsys, argv):
    """One short epoch (22 steps of the tiny CNN, no warm-up) with each choice: it trains, and
    the checkpoint holds the chosen optimizer's state and the schedule's options."""
    out = tmp_path / "run"
    assert main(["train", *TINY, "--epochs", "1", "--warmup-epochs", "0", *argv,
                 "--out", str(out)]) == 0
    assert "epoch 1/1" in capsys.readouterr().out
    meta, _ = load_checkpoint(out / "last.npz")
    config = meta["config"]
    assert config[argv[0].lstrip("-")] == argv[1]
    for flag, value in zip(argv[2::2], argv[3::2]):
        assert config[flag.lstrip("-").replace("-", "_")] == float(value)
    assert meta["optimizer"]["state"]  # the optimizer took steps (and saved its state)
    assert (meta["plateau"] is not None) == (argv[1] == "plateau")


def test_model_kw_parsing():
    assert _model_kwargs(["width=16", "small_input=false", "name=abc", "mult=0.5"]) == \
        {"width": 16, "small_input": False, "name": "abc", "mult": 0.5}


def test_models_lists_the_zoo_with_parameter_counts(capsys):
    assert main(["models"]) == 0
    text = capsys.readouterr().out
    # torchvision's published counts (issue 3): the zoo's ImageNet configurations.
    for name, count in [("resnet18", "11,689,512"), ("mobilenet_v3_small", "2,542,856"),
                        ("shufflenet_v2_x0_5", "1,366,792"), ("efficientnet_b0", "5,288,548")]:
        line = next(line for line in text.splitlines() if line.startswith(name + " "))
        assert count in line
    assert "tiny_cnn" in text


def test_summary_of_a_model(capsys):
    from minicnn.models import resnet18

    assert main(["summary", "resnet18", "--dataset", "digits", "--model-kw", "width=8"]) == 0
    text = capsys.readouterr().out
    expected = resnet18(num_classes=10, in_channels=1, small_input=True, width=8).num_parameters()
    assert f"total params: {expected:,}" in text
    assert "small_input=True" in text and "[1, 10]" in text
    assert main(["summary", "nope"]) == 2
    assert "valid choices" in capsys.readouterr().err


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    """SIGINT to a real training process: it finishes the step, saves, says how to resume and
    exits with status 130 (no traceback); the checkpoint resumes."""
    out = tmp_path / "run"
    returncode, stdout, stderr = signal_after_first_epoch(out, signal.SIGINT)
    assert returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert "interrupted at step" in stdout and "--resume" in stdout
    meta, _ = load_checkpoint(out / "last.npz")
    assert meta["reason"] == "interrupted" and meta["progress"]["step"] >= 45
    # It resumes (the constant schedule may be shortened to end sooner).
    assert main(["train", "--resume", str(out / "last.npz"), "--epochs", "2"]) == 0
    _, state = load_checkpoint(out / "last.npz")
    assert all(np.isfinite(v).all() for v in state.values())
