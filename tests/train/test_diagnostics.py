"""``minicnn train --diagnostics``: every recorded number is checked against the same
quantity computed directly from the layer's output, its gradients or the SGD update rule."""
import io
import json
import math

import numpy as np
import pytest

import minicnn
import minicnn.nn.functional as F
from minicnn.cli import main
from minicnn.optim import SGD
from minicnn.train import TrainConfig, Trainer
from minicnn.train.diagnostics import (COLUMNS, DIAGNOSTICS_CSV, DIAGNOSTICS_PNG, Diagnostics,
                                       read_csv)

from . import _tiny


def test_each_statistic_equals_the_quantity_computed_directly(tmp_path):
    minicnn.manual_seed(0)
    model = _tiny.tiny_cnn().double()
    rng = np.random.default_rng(0)
    batches = [(minicnn.Tensor(rng.standard_normal((8, 1, 8, 8))),
                minicnn.Tensor(rng.integers(0, 10, 8))) for _ in range(2)]
    lr = 0.1
    optimizer = SGD(model.parameters(), lr=lr)  # plain SGD: the update is -lr * grad
    model.train()
    # The ReLU at index 2 (after conv, BN): its outputs, kept by a hook of the test's own
    seen = []
    model[2].register_forward_hook(lambda module, inputs, output: seen.append(output.data.copy()))
    diagnostics = Diagnostics(model)
    expected_grad, expected_ratio = {"0": [], "1": []}, {"0": [], "1": []}
    for images, labels in batches:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        diagnostics.after_backward()
        for name in ("0", "1"):  # conv (weight only) and BN (weight and bias)
            params = list(model[int(name)].parameters())
            grad = math.sqrt(sum(float(np.sum(p.grad ** 2)) for p in params))
            size = math.sqrt(sum(float(np.sum(p.data ** 2)) for p in params))
            expected_grad[name].append(grad)
            expected_ratio[name].append(lr * grad / size)
        optimizer.step()
        diagnostics.after_step()
    relu_out = np.concatenate(seen)
    model.eval()
    model(batches[0][0])  # evaluation passes are not counted
    diagnostics.end_epoch(1, str(tmp_path))
    rows = {row["layer"]: row for row in read_csv(tmp_path / DIAGNOSTICS_CSV)}
    relu = rows["2"]
    assert relu["type"] == "ReLU"
    assert relu["zero_fraction"] == pytest.approx(np.mean(relu_out == 0), rel=1e-5)
    assert relu["act_mean"] == pytest.approx(relu_out.mean(), rel=1e-5)
    assert relu["act_std"] == pytest.approx(relu_out.std(), rel=1e-5)
    for name in ("0", "1"):
        assert rows[name]["grad_norm"] == pytest.approx(np.mean(expected_grad[name]), rel=1e-5)
        assert rows[name]["update_ratio"] == pytest.approx(np.mean(expected_ratio[name]),
                                                           rel=1e-5)
        assert rows[name]["zero_fraction"] is None  # not a ReLU-like layer
    assert rows["2"]["grad_norm"] is None  # no parameters
    diagnostics.remove()
    assert len(model[2]._forward_hooks) == 1  # the test's own hook is left


def test_a_tiny_run_writes_a_row_per_layer_and_epoch_and_resumes_them(tmp_path):
    options = dict(model="tiny_cnn", batch_size=64, eval_batch_size=500, epochs=2,
                   diagnostics=True)
    first = Trainer(TrainConfig(**options), out=tmp_path / "run", stream=io.StringIO())
    first.run(stop_after_epochs=1)
    after_one = read_csv(tmp_path / "run" / DIAGNOSTICS_CSV)
    Trainer(resume=tmp_path / "run" / "last.npz", stream=io.StringIO()).run()
    with open(tmp_path / "run" / DIAGNOSTICS_CSV) as stream:
        assert stream.readline().strip().split(",") == list(COLUMNS)
    rows = read_csv(tmp_path / "run" / DIAGNOSTICS_CSV)
    layers = ["0", "1", "2", "4", "5", "6", "9"]  # tiny_cnn's layers with parameters or a ReLU
    assert [(r["epoch"], r["layer"]) for r in rows] == [(e, l) for e in (1, 2) for l in layers]
    assert rows[:len(layers)] == after_one  # the resumed run kept epoch 1's rows
    for row in rows:
        assert 0 < row["act_std"] and (row["zero_fraction"] is None) == (row["type"] != "ReLU")
        assert (row["grad_norm"] is None) == (row["type"] == "ReLU")
    png = (tmp_path / "run" / DIAGNOSTICS_PNG).read_bytes()
    assert png.startswith(b"\x89PNG")


def test_the_cli_flag_turns_them_on_and_is_recorded(tmp_path, capsys):
    base = ["train", "--model", "tiny_cnn", "--batch-size", "256", "--epochs", "1"]
    assert main(base + ["--out", str(tmp_path / "off")]) == 0
    assert main(base + ["--diagnostics", "--out", str(tmp_path / "on")]) == 0
    assert "diagnostics.csv, diagnostics.png" in capsys.readouterr().out  # the files listed
    assert not (tmp_path / "off" / DIAGNOSTICS_CSV).exists()
    assert json.loads((tmp_path / "on" / "config.json").read_text())["config"]["diagnostics"]
    assert {row["epoch"] for row in read_csv(tmp_path / "on" / DIAGNOSTICS_CSV)} == {1}
