"""``mpiexec -n 2 minicnn train``: one first line, rank 0's files, a stop on one rank stops
both, resume with the same (bit for bit) or another number of processes, and a rank that dies
ends the job with a message while the last checkpoint stays loadable."""
import os
import subprocess
import sys

import numpy as np

from minicnn.train import load_checkpoint

from ._launch import ROOT, run_mpi

DRIVER = os.path.join(os.path.dirname(__file__), "train_driver.py")
# digits: 1,442 training images; 2 ranks x batch 32 = 64 per step, 1442 // 2 // 32 = 22 steps.
TRAIN = ["train", "--model", "tiny_cnn", "--batch-size", "32", "--epochs", "1"]


def train(ranks, args, fault=None):
    return run_mpi(ranks, [DRIVER] + ([fault] if fault else []) + ["--"] + args)


def weights_difference(path_a, path_b):
    a, b = load_checkpoint(path_a)[1], load_checkpoint(path_b)[1]
    return max(float(np.abs(np.asarray(a[k], float) - np.asarray(b[k], float)).max()) for k in a)


def test_stop_on_one_rank_and_resume_with_the_same_or_another_number(tmp_path):
    full, stopped = str(tmp_path / "full"), str(tmp_path / "stopped")
    result = train(2, TRAIN + ["--out", full])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "global batch 64 = 2 MPI processes x batch 32" in lines[0]
    assert sum(line.startswith("training tiny_cnn") for line in lines) == 1  # rank 0 only
    assert sorted(os.listdir(full)) == ["best.npz", "config.json", "curves.png", "last.npz",
                                        "metrics.csv"]
    assert load_checkpoint(os.path.join(full, "last.npz"))[0]["progress"]["step"] == 22

    # Ctrl-C reaching rank 1 alone after step 3: both ranks stop there, rank 0 saves once.
    result = train(2, TRAIN + ["--out", stopped], fault="sigint@3")
    assert result.returncode == 130, result.stderr
    assert result.stdout.count("interrupted at step 3") == 1
    last = os.path.join(stopped, "last.npz")
    assert load_checkpoint(last)[0]["data_parallel"] == {"world_size": 2, "epoch": 0,
                                                         "samples": 3 * 2 * 32}
    alone = str(tmp_path / "alone")
    os.makedirs(alone)
    for name in os.listdir(stopped):  # the same checkpoint, continued in one process below
        with open(os.path.join(stopped, name), "rb") as src, open(os.path.join(alone, name), "wb") as dst:
            dst.write(src.read())

    result = train(2, ["train", "--resume", last])
    assert result.returncode == 0, result.stderr
    assert weights_difference(last, os.path.join(full, "last.npz")) == 0.0  # bit for bit

    # One process continues at the global position: 192 samples = 6 of its batches of 32.
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, DRIVER, "--", "train", "--resume",
                             os.path.join(alone, "last.npz")], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert "at epoch 1, batch 7 (step 6)" in result.stdout
    meta = load_checkpoint(os.path.join(alone, "last.npz"))[0]
    assert meta["progress"]["step"] == 1442 // 32 and meta["data_parallel"]["world_size"] == 1


def test_a_rank_that_dies_aborts_the_job_and_the_checkpoint_stays_valid(tmp_path):
    out = str(tmp_path / "run")
    result = train(2, TRAIN[:-1] + ["2", "--out", out], fault="raise@25")  # epoch 2, step 3
    assert result.returncode != 0
    assert ("rank 1 of 2 stopped with RuntimeError: injected failure at step 25; aborting "
            "every rank") in result.stderr, result.stderr
    meta, state = load_checkpoint(os.path.join(out, "last.npz"))
    assert meta["progress"]["epoch"] == 1 and meta["reason"] == "epoch" and state


def test_a_batch_larger_than_a_rank_s_share_is_a_clear_error(tmp_path):
    result = train(2, ["train", "--model", "tiny_cnn", "--batch-size", "800", "--out",
                       str(tmp_path / "run")])
    assert result.returncode == 2
    assert ("--batch-size 800 is larger than each of the 2 ranks' share of the training split "
            "(721 of 1442 images)") in result.stderr, result.stderr


def test_sigterm_on_one_rank_stops_both_with_its_status(tmp_path):
    out = str(tmp_path / "run")
    result = train(2, TRAIN + ["--out", out], fault="sigterm@2")
    assert result.returncode == 143, result.stderr  # 128 + SIGTERM, on both ranks
    assert result.stdout.count("interrupted at step 2") == 1
    meta = load_checkpoint(os.path.join(out, "last.npz"))[0]
    assert meta["data_parallel"]["samples"] == 2 * 2 * 32 and meta["progress"]["step"] == 2
