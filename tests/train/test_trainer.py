"""The training loop: exact resume, run folders, metrics, progress output, bad input.

A tiny registered CNN (``tests/train/_tiny.py``) keeps each run to a second or two.
"""
import io
import os

import numpy as np
import pytest

from minicnn.train import (CheckpointError, NonFiniteLossError, RunFolderError, TrainConfig,
                           Trainer, evaluate_checkpoint, load_checkpoint)
from minicnn.train.metrics import COLUMNS, read_metrics_csv

from . import _tiny  # noqa: F401  (registers tiny_cnn, tiny_mlp)

FAST = dict(model="tiny_cnn", batch_size=64, eval_batch_size=500)


def train(out, stream=None, **options):
    trainer = Trainer(TrainConfig(**dict(FAST, **options)), out=out, stream=stream or io.StringIO())
    return trainer, trainer.run()


def params_equal(a, b):
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def without_times(history):
    return [{k: v for k, v in row.items() if k not in ("epoch_seconds", "images_per_second")}
            for row in history]


# ------------------------------------------------------------------ exact resume
def test_resume_after_an_epoch_is_bit_identical(tmp_path):
    """2 epochs straight == 1 epoch, stop, resume for 1 (default cosine schedule with warm-up,
    augmentation, Nesterov momentum, weight decay: every piece of state must come back)."""
    straight, _ = train(tmp_path / "a", epochs=2)
    first = Trainer(TrainConfig(**FAST, epochs=2), out=tmp_path / "b", stream=io.StringIO())
    result = first.run(stop_after_epochs=1)
    assert result.status == "stopped" and len(result.history) == 1
    resumed = Trainer(resume=tmp_path / "b" / "last.npz", stream=io.StringIO())
    assert resumed.run().status == "finished"
    assert params_equal(straight, resumed)
    assert without_times(straight.history) == without_times(resumed.history)
    assert straight.optimizer.state_dict()["param_groups"] == \
        resumed.optimizer.state_dict()["param_groups"]


def test_resume_in_the_middle_of_an_epoch_is_bit_identical(tmp_path):
    straight, _ = train(tmp_path / "a", epochs=2, schedule="onecycle", optimizer="adamw",
                        lr=3e-3, label_smoothing=0.1, clip_grad_norm=1.0)
    interrupted = Trainer(TrainConfig(**FAST, epochs=2, schedule="onecycle", optimizer="adamw",
                                      lr=3e-3, label_smoothing=0.1, clip_grad_norm=1.0),
                          out=tmp_path / "b", stream=io.StringIO())

    def stop_at_step_30(trainer):
        if trainer.step == 30:   # epoch 2 (22 steps per epoch), batch 8
            trainer.stop_requested = True

    interrupted.on_step = stop_at_step_30
    result = interrupted.run()
    assert result.status == "interrupted"
    meta, _ = load_checkpoint(result.checkpoint)
    assert meta["progress"]["step"] == 30 and meta["progress"]["batch"] == 30 - 22
    assert meta["reason"] == "interrupted"
    resumed = Trainer(resume=result.checkpoint, stream=io.StringIO())
    resumed.run()
    assert params_equal(straight, resumed)
    assert without_times(straight.history) == without_times(resumed.history)


def test_cli_one_epoch_then_resume_one_more_equals_two_epochs(tmp_path, capsys):
    from minicnn.cli import main

    common = ["--model", "tiny_cnn", "--batch-size", "64", "--schedule", "step", "--step-size",
              "1", "--gamma", "0.5", "--warmup-epochs", "0"]
    assert main(["train", *common, "--epochs", "2", "--out", str(tmp_path / "a")]) == 0
    assert main(["train", *common, "--epochs", "1", "--out", str(tmp_path / "b")]) == 0
    assert main(["train", "--resume", str(tmp_path / "b" / "last.npz"), "--epochs", "2"]) == 0
    _, state_a = load_checkpoint(tmp_path / "a" / "last.npz")
    _, state_b = load_checkpoint(tmp_path / "b" / "last.npz")
    assert all(np.array_equal(state_a[k], state_b[k]) for k in state_a)
    assert len(read_metrics_csv(tmp_path / "b" / "metrics.csv")) == 2
    assert "resuming" in capsys.readouterr().out


def test_plateau_steps_on_the_test_loss_and_resumes_bit_identically(tmp_path):
    """3 epochs straight == 1 epoch, stop, resume for 2, with a warm-up and a plateau schedule
    that halves the lr after every epoch whose test loss is not a new best (patience 0): its
    state (best loss, bad epochs) travels in the checkpoint, as does NAdam's scalar
    mu_product."""
    options = dict(epochs=3, schedule="plateau", patience=0, gamma=0.5, optimizer="nadam",
                   lr=0.2, warmup_epochs=1, batch_size=128)
    straight, _ = train(tmp_path / "a", **options)
    first = Trainer(TrainConfig(**dict(FAST, **options)), out=tmp_path / "b",
                    stream=io.StringIO())
    first.run(stop_after_epochs=1)
    Trainer(resume=tmp_path / "b" / "last.npz", overrides={"epochs": 5})  # may be extended
    resumed = Trainer(resume=tmp_path / "b" / "last.npz", stream=io.StringIO())
    resumed.run()
    assert params_equal(straight, resumed)
    assert without_times(straight.history) == without_times(resumed.history)
    assert straight.plateau.state_dict() == resumed.plateau.state_dict()
    # Each epoch's lr follows the earlier test losses (a row's lr is the one it trained with).
    losses = [row["test_loss"] for row in straight.history]
    expected_lr, best, decays = 0.2, float("inf"), 0
    for row, loss in zip(straight.history[1:], losses):
        if not loss < best * (1 - 1e-4):
            expected_lr, decays = expected_lr * 0.5, decays + 1
        best = min(best, loss)
        assert row["lr"] == pytest.approx(expected_lr, rel=1e-12)
    assert decays >= 1  # lr 0.2 overshoots in epoch 2: the test loss rises


# ------------------------------------------------------------------ run folder and outputs
def test_run_folder_contents_metrics_and_evaluate(tmp_path):
    trainer, result = train(tmp_path / "run", epochs=2)
    names = sorted(os.listdir(tmp_path / "run"))
    assert names == ["best.npz", "config.json", "curves.png", "last.npz", "metrics.csv"]
    assert (tmp_path / "run" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = read_metrics_csv(tmp_path / "run" / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2] and set(rows[0]) == set(COLUMNS)
    assert rows[-1]["step"] == 2 * (1442 // 64)
    assert rows[-1]["test_acc"] == pytest.approx(result.final_test_acc, abs=1e-6)
    scores = evaluate_checkpoint(tmp_path / "run" / "last.npz")
    assert scores["accuracy"] == result.final_test_acc and scores["count"] == 355
    best = max(rows, key=lambda r: r["test_acc"])
    assert evaluate_checkpoint(tmp_path / "run" / "best.npz")["accuracy"] == \
        pytest.approx(best["test_acc"], abs=1e-6)
    counts = np.bincount(trainer.test_set.targets, minlength=10)
    per_class_correct = np.round(np.array(scores["per_class"]) * counts).sum()
    assert per_class_correct == scores["correct"]


def test_refuses_to_overwrite_a_run(tmp_path):
    train(tmp_path / "run", epochs=1)
    before = (tmp_path / "run" / "last.npz").read_bytes()
    with pytest.raises(RunFolderError, match="not empty.*--overwrite"):
        Trainer(TrainConfig(**FAST, epochs=1), out=tmp_path / "run")
    assert (tmp_path / "run" / "last.npz").read_bytes() == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="notes.txt"):
        Trainer(TrainConfig(**FAST, epochs=1), out=tmp_path / "other")
    # --overwrite replaces the run's files and leaves other files alone.
    (tmp_path / "run" / "notes.txt").write_text("mine")
    trainer = Trainer(TrainConfig(**FAST, epochs=1, seed=1), out=tmp_path / "run",
                      overwrite=True, stream=io.StringIO())
    trainer.run()
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "run" / "last.npz").read_bytes() != before


def test_resuming_an_older_checkpoint_in_place_is_refused(tmp_path):
    first = Trainer(TrainConfig(**FAST, epochs=3, schedule="constant"), out=tmp_path / "run",
                    stream=io.StringIO())
    first.run(stop_after_epochs=1)
    os.replace(tmp_path / "run" / "last.npz", tmp_path / "run" / "epoch1.npz")
    Trainer(resume=tmp_path / "run" / "epoch1.npz", stream=io.StringIO()).run()  # to epoch 3
    with pytest.raises(RunFolderError, match="epochs up to 3.*after epoch 1"):
        Trainer(resume=tmp_path / "run" / "epoch1.npz")
    # into a new folder it is fine
    other = Trainer(resume=tmp_path / "run" / "epoch1.npz", out=tmp_path / "new",
                    stream=io.StringIO())
    other.run()
    assert len(read_metrics_csv(tmp_path / "new" / "metrics.csv")) == 3


def test_progress_output_one_line_per_epoch_without_a_terminal(tmp_path):
    stream = io.StringIO()
    train(tmp_path / "run", stream=stream, epochs=2)
    lines = stream.getvalue().splitlines()
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert len(epoch_lines) == 2 and "\r" not in stream.getvalue()
    assert "test loss" in epoch_lines[0] and "img/s" in epoch_lines[0]
    assert lines[-2].startswith("done: test accuracy")


def test_progress_bar_on_a_terminal_redraws_in_place(tmp_path):
    stream = io.StringIO()
    trainer = Trainer(TrainConfig(**FAST, epochs=1), out=tmp_path / "run", stream=stream, tty=True)
    trainer.run()
    text = stream.getvalue()
    assert "\r" in text and "ETA" in text and "img/s" in text and "loss" in text
    assert "epoch 1/1  loss" in text  # the summary replaces the bar


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("options, match", [
    (dict(model="resnet1"), "valid choices: .*resnet18"),
    (dict(dataset="imagenet"), "valid choices: digits, mnist, fashion-mnist, cifar10"),
    (dict(optimizer="adamx"), "valid choices: sgd, adam, adamw, rmsprop"),
    (dict(schedule="linear"), "valid choices: cosine, onecycle"),
    (dict(lr=0.0), "--lr must be > 0"),
    (dict(lr=-1e-3), "--lr must be > 0"),
    (dict(batch_size=0), "--batch-size must be an integer >= 1"),
    (dict(epochs=0), "--epochs"),
    (dict(device="tpu"), "valid choices: cpu, cuda"),
    (dict(epochs=3, warmup_epochs=3), "--warmup-epochs"),
    (dict(label_smoothing=1.5), "--label-smoothing"),
])
def test_bad_options_are_refused_before_anything_is_written(tmp_path, options, match):
    with pytest.raises(ValueError, match=match):
        Trainer(TrainConfig(**dict(FAST, **options)), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_bad_model_arguments_and_oversized_batch(tmp_path):
    with pytest.raises(ValueError, match="cannot be built with arguments"):
        train(tmp_path / "a", model_kwargs={"depth": 3})
    with pytest.raises(ValueError, match="larger than the training split"):
        train(tmp_path / "b", batch_size=5000)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow notes on the way
def test_non_finite_loss_stops_with_the_step_and_keeps_the_checkpoint(tmp_path):
    trainer = Trainer(TrainConfig(**FAST, epochs=3, schedule="constant", warmup_epochs=0,
                                  lr=0.05), out=tmp_path / "run", stream=io.StringIO())
    trainer.run(stop_after_epochs=1)
    checkpoint = tmp_path / "run" / "last.npz"
    before = checkpoint.read_bytes()
    metrics = (tmp_path / "run" / "metrics.csv").read_bytes()

    resumed = Trainer(resume=checkpoint, stream=io.StringIO())

    def explode(trainer):  # after step 25, poison the weights: the next loss is not finite
        if trainer.step == 25:
            for param in trainer.model.parameters():
                param.data[...] = np.inf

    resumed.on_step = explode
    with pytest.raises(NonFiniteLossError) as info:
        resumed.run()
    error = info.value
    assert error.step == 26 and np.isfinite(error.last_finite_loss)
    message = str(error)
    assert "at step 26 (epoch 2, batch 4 of 22)" in message
    assert f"the last finite loss was {error.last_finite_loss:.6g} at step 25" in message
    assert str(checkpoint) in message and "after epoch 1" in message
    assert checkpoint.read_bytes() == before
    assert (tmp_path / "run" / "metrics.csv").read_bytes() == metrics


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_diverging_learning_rate_is_caught(tmp_path):
    with pytest.raises(NonFiniteLossError, match=r"the loss became (nan|inf) at step \d+"):
        train(tmp_path / "run", epochs=1, lr=1e12, warmup_epochs=0, schedule="constant")


def test_resume_refuses_changes_and_foreign_checkpoints(tmp_path):
    train(tmp_path / "run", epochs=1)
    checkpoint = tmp_path / "run" / "last.npz"
    with pytest.raises(ValueError, match="cannot change lr"):
        Trainer(resume=checkpoint, overrides={"lr": 0.5})
    with pytest.raises(ValueError, match="cannot change --epochs .* 'cosine'"):
        Trainer(resume=checkpoint, overrides={"epochs": 5})
    with pytest.raises(ValueError, match="either a config"):
        Trainer(TrainConfig(), resume=checkpoint)
    # A checkpoint whose weights belong to another model: the keys are named.
    meta, state = load_checkpoint(checkpoint)
    from minicnn.train import save_checkpoint
    from ._tiny import tiny_mlp

    meta.pop("format"), meta.pop("version")
    os.makedirs(tmp_path / "swapped")
    save_checkpoint(tmp_path / "swapped" / "last.npz", meta, tiny_mlp().state_dict())
    with pytest.raises(CheckpointError, match="(?s)does not fit this model.*missing in the checkpoint"):
        Trainer(resume=tmp_path / "swapped" / "last.npz", stream=io.StringIO()).run()
    with pytest.raises(CheckpointError, match="does not fit"):
        evaluate_checkpoint(tmp_path / "swapped" / "last.npz")
    (tmp_path / "junk.npz").write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="not a minicnn checkpoint"):
        Trainer(resume=tmp_path / "junk.npz")


def test_the_default_run_reaches_97_percent_on_digits(tmp_path):
    """`minicnn train` with no arguments (TrainConfig()): the README's promise, about 15 s."""
    result = Trainer(TrainConfig(), out=tmp_path / "run", stream=io.StringIO()).run()
    assert result.status == "finished" and result.final_test_acc >= 0.97, result.history


def test_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    from minicnn._device import DeviceUnavailableError, is_available

    if is_available():
        pytest.skip("a GPU is usable here")
    with pytest.raises(DeviceUnavailableError, match="--device cuda: "):
        Trainer(TrainConfig(**FAST, device="cuda"), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_a_zoo_model_learns_digits(tmp_path):
    """The real thing, kept small: a width-4 ResNet-18 beats chance by far in 2 epochs."""
    _, result = train(tmp_path / "run", model="resnet18", model_kwargs={"width": 4}, epochs=2,
                      lr=0.1)
    assert result.final_test_acc > 0.5


# ------------------------------------------------------------------ schedules in epochs
def lrs_of(**options):
    """The learning rate used at every step of a run, from build_scheduler (10 steps/epoch)."""
    from minicnn.nn import Parameter
    from minicnn.train.trainer import build_optimizer, build_scheduler

    config = TrainConfig(**dict(FAST, **options)).resolved()
    optimizer = build_optimizer(config, [Parameter(np.zeros(2, np.float32))])
    scheduler = build_scheduler(config, optimizer, steps_per_epoch=10)
    rates = []
    for _ in range(config.epochs * 10):
        rates.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    return np.array(rates)


def test_added_schedules_in_epochs_follow_their_formulas():
    import math

    steps = np.arange(60)
    # exponential: --gamma per epoch, spread over its steps.
    got = lrs_of(epochs=6, lr=0.1, schedule="exponential", gamma=0.5, warmup_epochs=0)
    np.testing.assert_allclose(got, 0.1 * 0.5 ** (steps / 10), rtol=1e-12)
    # poly after a 1-epoch warm-up: 0.1 (1 - t/50)^2 over the 50 remaining steps.
    got = lrs_of(epochs=6, lr=0.1, schedule="poly", power=2.0, warmup_epochs=1)
    np.testing.assert_allclose(got[10:], 0.1 * (1 - (steps[10:] - 10) / 50) ** 2, rtol=1e-9,
                               atol=1e-15)
    # cosine-restarts: periods of 1, 2 and then 4 epochs (10, 20, 40 steps).
    got = lrs_of(epochs=6, lr=0.1, schedule="cosine-restarts", restart_epochs=1, restart_mult=2,
                 warmup_epochs=0)
    start = np.where(steps < 10, 0, np.where(steps < 30, 10, 30))
    period = np.where(steps < 10, 10, np.where(steps < 30, 20, 40))
    np.testing.assert_allclose(got, 0.1 * (1 + np.cos(math.pi * (steps - start) / period)) / 2,
                               rtol=1e-9, atol=1e-15)
    # plateau: the per-batch part is the warm-up alone; the decays are stepped per epoch.
    got = lrs_of(epochs=6, lr=0.1, schedule="plateau", warmup_epochs=2)
    np.testing.assert_allclose(got, np.where(steps < 20, 0.1 * (0.1 + 0.9 * steps / 20), 0.1),
                               rtol=1e-9)


def test_schedules_in_epochs_follow_their_formulas():
    import math

    steps = np.arange(60)
    # cosine with a 1-epoch warm-up: lr/10 rising linearly to lr over 10 steps, then half a
    # cosine over the remaining 50 steps.
    got = lrs_of(epochs=6, lr=0.1, schedule="cosine", warmup_epochs=1)
    warm = 0.1 * (0.1 + 0.9 * steps[:10] / 10)
    cosine = 0.1 * (1 + np.cos(math.pi * (steps[10:] - 10) / 50)) / 2
    np.testing.assert_allclose(got, np.concatenate([warm, cosine]), rtol=1e-9, atol=1e-12)
    # multistep milestones count epochs from the start of the run, warm-up included.
    got = lrs_of(epochs=6, lr=0.1, schedule="multistep", milestones=[3, 5], gamma=0.5,
                 warmup_epochs=1)
    np.testing.assert_allclose(got[10:], np.where(steps[10:] < 30, 0.1,
                                                  np.where(steps[10:] < 50, 0.05, 0.025)),
                               rtol=1e-12)
    # step: every step_size epochs after the warm-up.
    got = lrs_of(epochs=6, lr=0.1, schedule="step", step_size=2, gamma=0.1, warmup_epochs=0)
    np.testing.assert_allclose(got, 0.1 * 0.1 ** (steps // 20), rtol=1e-12)
    # onecycle: peak lr at 30% of the run, lr/25 at the start, lr/25/1e4 at the last step.
    got = lrs_of(epochs=6, lr=0.1, schedule="onecycle")
    assert got[0] == pytest.approx(0.1 / 25) and got.max() == pytest.approx(0.1)
    assert int(np.argmax(got)) == 17 and got[-1] == pytest.approx(0.1 / 25 / 1e4, rel=1e-9)
