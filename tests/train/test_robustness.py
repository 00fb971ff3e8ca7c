"""Issue 12's bugs: a kill at each write of an epoch's end, two runs started in the same
second, SIGTERM, unwritable folders, stale temporaries, a mid-epoch checkpoint's description.

Every run is the tiny registered CNN on the digits (22 steps an epoch at batch 64).
"""
import errno
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from minicnn.cli import main
from minicnn.train import RunFolderError, TrainConfig, Trainer, load_checkpoint
from minicnn.train import trainer as trainer_module
from minicnn.train.metrics import read_metrics_csv

from . import _tiny  # noqa: F401  (registers tiny_cnn)
from ._process import ROOT, signal_after_first_epoch

RUN = dict(model="tiny_cnn", batch_size=64, epochs=2, schedule="constant", warmup_epochs=0)
WRITES = ("best.npz", "last.npz", "metrics.csv", "curves.png")  # an improving epoch's writes


def quiet_trainer(**kwargs):
    return Trainer(stream=io.StringIO(), **kwargs)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run stopped after epoch 1 of 2 ("half") and the same run finished ("full")."""
    base = tmp_path_factory.mktemp("runs")
    quiet_trainer(config=TrainConfig(**RUN), out=base / "half").run(stop_after_epochs=1)
    shutil.copytree(base / "half", base / "full")
    quiet_trainer(resume=base / "full" / "last.npz").run()
    meta, _ = load_checkpoint(base / "full" / "last.npz")
    assert meta["best"]["epoch"] == 2, "the test needs an epoch 2 better than epoch 1"
    return base


def assert_consistent(folder):
    """best.npz holds the epoch last.npz records as the best, or an epoch past last.npz (one a
    resume recomputes bit for bit); metrics.csv never runs ahead of last.npz."""
    last, _ = load_checkpoint(folder / "last.npz")
    best, _ = load_checkpoint(folder / "best.npz")
    held = best["progress"]["epoch"]
    assert held == last["best"]["epoch"] or held > last["progress"]["epoch"], (
        f"best.npz holds epoch {held}, last.npz (epoch {last['progress']['epoch']}) records "
        f"epoch {last['best']['epoch']} as the best")
    epochs = [row["epoch"] for row in read_metrics_csv(folder / "metrics.csv")]
    assert max(epochs) <= last["progress"]["epoch"]


@pytest.mark.parametrize("killed_before", WRITES)
def test_a_kill_at_each_write_of_an_epoch_leaves_consistent_files_and_resume_repairs(
        runs, tmp_path, monkeypatch, killed_before):
    """The process dies (an injected fault: nothing after it runs, as with SIGKILL) just before
    the rename that would publish ``killed_before`` at the end of the last epoch; the files
    must agree, and a resume must end with the uninterrupted run's best.npz."""
    folder = tmp_path / "run"
    shutil.copytree(runs / "half", folder)

    class Killed(BaseException):
        pass

    real_replace = os.replace

    def replace(source, target):
        if os.path.basename(target) == killed_before:
            raise Killed
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        quiet_trainer(resume=folder / "last.npz").run()
    monkeypatch.setattr(os, "replace", real_replace)
    assert_consistent(folder)

    quiet_trainer(resume=folder / "last.npz").run()
    assert_consistent(folder)
    want_meta, want = load_checkpoint(runs / "full" / "best.npz")
    got_meta, got = load_checkpoint(folder / "best.npz")
    assert got_meta["progress"] == want_meta["progress"]
    assert got.keys() == want.keys() and all(np.array_equal(got[k], want[k]) for k in want)
    assert [r["epoch"] for r in read_metrics_csv(folder / "metrics.csv")] == [1, 2]


def test_resume_repairs_a_best_npz_left_behind_by_the_old_write_order(runs, tmp_path):
    """The issue's folder: last.npz says "best is epoch 2", best.npz holds epoch 1, and the run
    has finished all its epochs. --resume has nothing to train but rewrites best.npz."""
    folder = tmp_path / "run"
    shutil.copytree(runs / "full", folder)
    shutil.copy(runs / "half" / "best.npz", folder / "best.npz")
    stream = io.StringIO()
    Trainer(resume=folder / "last.npz", stream=stream).run()
    assert "repaired" in stream.getvalue() and "nothing to do" in stream.getvalue()
    meta, _ = load_checkpoint(folder / "best.npz")
    assert meta["progress"]["epoch"] == 2
    assert_consistent(folder)


def test_a_sigkill_during_a_write_leaves_a_temporary_that_resume_removes(runs, tmp_path):
    """A real SIGKILL in the middle of writing best.npz (after its temporary is complete,
    before the rename): the temporary stays; resuming removes it (and only it)."""
    folder = tmp_path / "run"
    shutil.copytree(runs / "half", folder)
    script = ("import os, signal, sys, tests.train._tiny\n"
              "real = os.replace\n"
              "def replace(source, target):\n"
              "    if target.endswith('best.npz'):\n"
              "        os.kill(os.getpid(), signal.SIGKILL)\n"
              "    real(source, target)\n"
              "os.replace = replace\n"
              "from minicnn.cli import main\n"
              f"sys.exit(main(['train', '--resume', {str(folder / 'last.npz')!r}]))\n")
    process = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                             text=True, timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    assert process.returncode == -signal.SIGKILL, process.stdout + process.stderr
    stale = [name for name in os.listdir(folder) if name.endswith(".tmp")]
    assert len(stale) == 1 and re.fullmatch(r"\.best\.npz\.\w+\.tmp", stale[0])
    (folder / ".notes.tmp").write_text("not ours")
    assert_consistent(folder)
    stream = io.StringIO()
    Trainer(resume=folder / "last.npz", stream=stream).run()
    assert f"removed {stale[0]}" in stream.getvalue()
    assert sorted(n for n in os.listdir(folder) if n.endswith(".tmp")) == [".notes.tmp"]
    assert_consistent(folder)


def test_two_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    """Both runs are created before either makes its folder (as two processes started in the
    same second would be); each must end with its own files."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(trainer_module, "_timestamp", lambda: "20260101-120000")
    first = quiet_trainer(config=TrainConfig(**dict(RUN, epochs=1)))
    second = quiet_trainer(config=TrainConfig(**dict(RUN, epochs=1, lr=0.01)))
    first.run(), second.run()
    assert first.run_dir != second.run_dir
    for trainer in (first, second):
        with open(os.path.join(trainer.run_dir, "config.json")) as stream:
            assert json.load(stream)["config"]["lr"] == trainer.config.lr
        meta, _ = load_checkpoint(os.path.join(trainer.run_dir, "last.npz"))
        assert meta["config"]["lr"] == trainer.config.lr
    assert sorted(os.listdir(tmp_path / "runs")) == ["20260101-120000-tiny_cnn-digits",
                                                     "20260101-120000-tiny_cnn-digits-2"]
    # The same explicit --out: the second run is refused, the first's files stay its own.
    third = quiet_trainer(config=TrainConfig(**dict(RUN, epochs=1)), out=tmp_path / "same")
    fourth = quiet_trainer(config=TrainConfig(**dict(RUN, epochs=1)), out=tmp_path / "same")
    third._setup(), third._create_run_dir()
    with pytest.raises(RunFolderError, match="another run started in this folder"):
        fourth.run()


def test_sigterm_saves_a_checkpoint_and_exits_143(tmp_path):
    out = tmp_path / "run"
    returncode, stdout, stderr = signal_after_first_epoch(out, signal.SIGTERM,
                                                          ["--batch-size", "64"])
    assert returncode == 143, stdout + stderr
    assert "Traceback" not in stderr and "SIGTERM: finishing this step" in stdout
    assert f"continue with: minicnn train --resume {out / 'last.npz'}" in stdout
    meta, _ = load_checkpoint(out / "last.npz")
    assert meta["reason"] == "interrupted" and meta["progress"]["step"] > 22


def test_unwritable_folders_are_one_line_errors_with_exit_2(tmp_path, monkeypatch, capsys):
    tiny = ["train", "--model", "tiny_cnn", "--batch-size", "64", "--epochs", "1"]
    (tmp_path / "file").write_text("")
    assert main([*tiny, "--out", str(tmp_path / "file" / "run")]) == 2
    assert capsys.readouterr().err == (f"minicnn train: cannot create the run folder "
                                       f"{tmp_path / 'file' / 'run'}: a part of the path is a "
                                       f"file, not a folder\n")
    # A current folder without write permission (tests run as root, which chmod cannot stop:
    # the refusal the OS would give is injected).
    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "mkdir", refuse)
    assert main(tiny) == 2
    error = capsys.readouterr().err
    assert re.fullmatch(r"minicnn train: cannot create the run folder \S+/runs: permission "
                        r"denied\n", error), error
    monkeypatch.undo()


def test_a_full_disk_while_saving_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    import tempfile

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), kwargs.get("dir"))

    monkeypatch.setattr(tempfile, "mkstemp", full)
    assert main(["train", "--model", "tiny_cnn", "--batch-size", "64", "--epochs", "1",
                 "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err == (f"minicnn train: cannot use {tmp_path / 'run'}: no space "
                                       f"left on the device\n")


def test_evaluate_says_where_a_mid_epoch_checkpoint_stands(tmp_path, capsys):
    trainer = quiet_trainer(config=TrainConfig(**RUN), out=tmp_path / "run")

    def stop_at_step_25(trainer):   # epoch 2, batch 3
        if trainer.step == 25:
            trainer.stop_requested = True

    trainer.on_step = stop_at_step_25
    assert trainer.run().status == "interrupted"
    assert main(["evaluate", str(tmp_path / "run" / "last.npz")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "checkpoint in epoch 2, after batch 3 (step 25):" in first, first
    # A run folder stands for its best.npz.
    assert main(["evaluate", str(tmp_path / "run")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.endswith(f"checkpoint after epoch 1 (step 22): {tmp_path / 'run' / 'best.npz'}")
