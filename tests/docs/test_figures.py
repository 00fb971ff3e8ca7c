"""The card pictures (minicnn.figures): every card has them and links them, the committed
manifest matches what they compute now, and what they draw comes from engine calls (checked
against quantities derived independently, and by swapping the operator they call)."""
import argparse
import io
import json
from pathlib import Path

import numpy as np
import pytest

import minicnn
import minicnn.nn as nn
import minicnn.nn.functional as F
from minicnn import cards, figures
from minicnn.explain import add_explain_parser, run_explain
from minicnn.figures import convolution, curves, layers

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "docs" / "ops" / "figures"


def test_every_card_has_pictures_linked_and_written():
    for module, card in cards.cards():
        pictures = figures.for_card(module)
        assert pictures, f"card {module} has no picture"
        markdown = cards.markdown(card)
        for picture in pictures:
            assert f"![{picture.name}](figures/{picture.name}.png)" in markdown
            assert (FIGURES / f"{picture.name}.png").is_file(), picture.name
    assert {p.card for p in figures.PICTURES} <= set(cards.MODULES)


def test_pictures_are_small():
    sizes = {p.name: (FIGURES / f"{p.name}.png").stat().st_size for p in figures.PICTURES}
    assert max(sizes.values()) < 80_000, sizes
    assert sum(sizes.values()) < 2_000_000


def test_manifest_is_current_with_the_generating_code():
    committed = json.loads((FIGURES / "manifest.json").read_text(encoding="utf-8"))
    assert committed == json.loads(figures.manifest_text(figures.current_manifest())), (
        "docs/ops/figures is out of date: run 'python -m minicnn.cards --write' and commit it")
    pngs = {path.stem for path in FIGURES.glob("*.png")}
    assert pngs == set(committed) == set(figures.by_name())


def test_fingerprint_changes_with_the_quantities():
    a = {"m": np.eye(3)}
    assert figures.fingerprint(a) == figures.fingerprint({"m": np.eye(3) * (1 + 1e-9)})
    assert figures.fingerprint(a) != figures.fingerprint({"m": np.eye(3) * 2})
    assert figures.fingerprint({"z": np.array([-0.0])}) == figures.fingerprint({"z": np.zeros(1)})


@pytest.mark.parametrize("C, g", [(8, 4), (6, 2), (6, 6)])
def test_grouped_connectivity_is_the_block_diagonal_implied_by_groups(C, g):
    matrix = convolution.connectivity(C=C, C_out=C, g=g)[f"groups={g}"]
    expected = np.kron(np.eye(g), np.ones((C // g, C // g)))
    np.testing.assert_array_equal(matrix, expected)


def test_connectivity_is_read_off_the_engine_conv(monkeypatch):
    calls = []
    real = F.conv2d

    def dense_instead(input, weight, *args, groups=1, **kwargs):  # a wrong conv: ignores groups
        calls.append(groups)
        return real(input, weight.repeat(1, groups, 1, 1) if groups > 1 else weight, *args,
                    **kwargs)

    monkeypatch.setattr(F, "conv2d", dense_instead)
    matrix = convolution.connectivity(C=4, C_out=4, g=2)["groups=2"]
    assert calls and 2 in calls
    np.testing.assert_array_equal(matrix, np.ones((4, 4)))  # the picture follows the engine


def test_conv_window_taps_are_where_the_index_arithmetic_puts_them():
    H, k, s, p, d = 7, 3, 2, 1, 2  # a 3x3 output
    q = convolution.conv_window(H=H, W=H, k=k, s=s, p=p, d=d, oh=1, ow=2)
    expected = np.zeros((H, H))
    for i in range(k):
        for j in range(k):
            r, c = 1 * s - p + i * d, 2 * s - p + j * d
            if 0 <= r < H and 0 <= c < H:
                expected[r, c] = i * k + j + 1
    np.testing.assert_array_equal(q["tap_on_pixel"], expected)
    # over the explicitly padded input, every tap shows (the padding ones too), same places
    padded = q["tap_on_padded"]
    assert np.count_nonzero(padded) == k * k and q["max_abs_diff_padded_vs_padding"] == 0
    np.testing.assert_array_equal(padded[p:p + H, p:p + H], expected)


def test_im2col_product_equals_conv2d_with_the_real_shapes():
    q = convolution.im2col(C=2, H=4, W=5, C_out=3, k=3, s=2, p=1)
    L = ((4 + 2 - 3) // 2 + 1) * ((5 + 2 - 3) // 2 + 1)
    assert q["weight_matrix"].shape == (3, 18) and q["columns"].shape == (18, L)
    assert q["product"].shape == (3, L) and q["max_abs_diff_vs_conv2d"] < 1e-12
    assert q["folded"].shape == (3, 2, 3)


def test_receptive_field_grows_and_starts_as_the_stem_kernel():
    stages = convolution.receptive_field("resnet18", size=32)
    extents = []
    for mask in stages.values():
        rows, cols = np.nonzero(mask)
        extents.append(np.ptp(rows) + 1)
    assert extents[0] == 7 and mask.shape == (32, 32)  # conv1 is 7x7
    assert extents == sorted(extents) and extents[-1] == 32


def test_shuffle_picture_follows_the_engine(monkeypatch):
    monkeypatch.setattr(F, "channel_shuffle", lambda input, groups: input)  # a shuffle that isn't
    np.testing.assert_array_equal(layers.channel_shuffle(C=6, g=2)["source"], np.arange(6))


def test_channel_shuffle_permutation():
    q = layers.channel_shuffle(C=12, g=3)
    np.testing.assert_array_equal(q["source"], np.arange(12).reshape(3, 4).T.ravel())
    np.testing.assert_array_equal(q["permutation"].sum(axis=0), np.ones(12))


def test_pixel_shuffle_lands_each_element_at_r_times_its_position():
    q = layers.pixel_shuffle(C=1, r=2, H=2, W=3)
    out = q["shuffled"][0]
    for c in range(4):
        for h in range(2):
            for w in range(3):
                assert out[2 * h + c // 2, 3 * 0 + 2 * w + c % 2] == c * 6 + h * 3 + w
    assert q["round_trip_equal"] == 1


def test_pooling_windows():
    q = layers.pooling(H=6, W=6, k=3, s=2, p=1)
    # the last avg window without ceil_mode: rows/cols 3..5, divisor 9 (count_include_pad)
    expected = np.zeros((6, 6))
    expected[3:6, 3:6] = 1 / 9
    np.testing.assert_allclose(q["avg ceil_mode=False"], expected)
    # ceil_mode adds a window starting at 2*3-1 = 5, clipped to the padded input: pixel (5, 5)
    assert np.count_nonzero(q["avg ceil_mode=True"]) == 1 and q["avg ceil_mode=True"][5, 5] > 0
    assert q["max ceil_mode=False"].sum() == 9 and q["max ceil_mode=True"].sum() == 16


def test_batch_norm_train_vs_eval_statistics():
    q = layers.batch_norm(N=16, C=4, steps=20)
    np.testing.assert_allclose(q["train mean"], 0, atol=1e-12)
    np.testing.assert_allclose(q["train std"], 1, atol=1e-3)
    assert np.abs(q["eval after 1 step mean"] - q["input mean"]).max() < np.abs(
        q["input mean"]).max()  # running stats have moved only 10% of the way
    assert np.abs(q["eval after 20 steps mean"]).max() < 0.5


def test_norm_groups_read_off_gradients():
    q = layers.norm_groups(N=2, C=6, groups=3)
    np.testing.assert_array_equal(q["batch_norm (train)"], [[1, 0, 0, 0, 0, 0]] * 2)
    np.testing.assert_array_equal(q["layer_norm"], [[1] * 6, [0] * 6])
    np.testing.assert_array_equal(q["group_norm (3 groups)"], [[1, 1, 0, 0, 0, 0], [0] * 6])


def test_se_gates_are_the_module_scale():
    q = layers.se_gates(C=8, S=2)
    minicnn.manual_seed(0)  # the same initial weights as the picture's module
    se = nn.SqueezeExcitation(8, 2).double()
    w1, b1 = se.fc1.weight.data[:, :, 0, 0], se.fc1.bias.data
    w2, b2 = se.fc2.weight.data[:, :, 0, 0], se.fc2.bias.data
    hidden = np.maximum(w1 @ q["channel_mean"] + b1, 0)   # the card's formula, in NumPy
    np.testing.assert_allclose(q["gate"], 1 / (1 + np.exp(-(w2 @ hidden + b2))), rtol=1e-10)


def test_activation_kinks_where_the_hard_functions_bend():
    q = curves.activations()
    for name, expected in (("relu6", [0, 6]), ("hardsigmoid", [-3, 3]), ("hardswish", [-3, 3])):
        np.testing.assert_allclose(curves.kinks(q["x"], q[f"d {name}"]), expected, atol=0.05)
    for smooth in ("silu", "gelu"):
        assert curves.kinks(q["x"], q[f"d {smooth}"]).size == 0
    sigma = 1 / (1 + np.exp(-q["x"]))
    np.testing.assert_allclose(q["d silu"], sigma * (1 + q["x"] * (1 - sigma)), atol=1e-12)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    q = curves.softmax_cross_entropy()
    np.testing.assert_allclose(q["d cross_entropy (target 2)"],
                               q["softmax T=1"] - np.eye(5)[2], atol=1e-12)


def _explain(*argv):
    parser = argparse.ArgumentParser()
    add_explain_parser(parser.add_subparsers(dest="command"))
    out, err = io.StringIO(), io.StringIO()
    status = run_explain(parser.parse_args(["explain", *argv]), out, err)
    return status, out.getvalue(), err.getvalue()


def test_explain_plot_draws_the_picture(tmp_path):
    path = tmp_path / "w.png"
    status, out, _ = _explain("conv2d", "--plot", str(path), "--shape", "k=3,s=1", "--shape", "d=1")
    assert status == 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "k=3, s=1, p=1, d=1" in out
    status, _, err = _explain("pixel_shuffle", "--plot", str(tmp_path / "p.png"))
    assert status == 0 and (tmp_path / "p.png").exists()
    status, _, err = _explain("conv2d", "--plot", str(tmp_path / "x.png"), "--shape", "q=1")
    assert status == 2 and "'q=1'" in err and "['H', 'W', 'd', 'k', 'p', 's']" in err
    status, _, err = _explain("conv2d", "--plot", str(tmp_path / "x.png"), "--shape", "k=a")
    assert status == 2 and "k must be int, got 'a'" in err
