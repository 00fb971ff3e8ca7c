"""The implementation ladder: every rung computes the same convolution and the same gradients.

The naive loops are written from the formula (docs/ops/convolution.md) and are checked
against PyTorch and by a float64 gradient check; every other rung is then held to them
for drawn strides, paddings, dilations, groups and channel multipliers. The CUDA rung
runs under Numba's CUDA simulator in a child process (and on a real GPU where CuPy finds
one).
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.ladder as ladder
from minicnn.testing import gradcheck

REPO = Path(__file__).resolve().parents[2]
CPU_RUNGS = {op: [impl for impl in impls if impl != "cuda"] for op, impls in ladder.IMPLEMENTATIONS.items()}


@st.composite
def geometry(draw, depthwise=False):
    """A small convolution: arrays and (stride, padding, dilation, groups), every rung valid."""
    groups = draw(st.sampled_from([1, 2, 3]))
    if depthwise:
        channels, out_channels = groups, groups * draw(st.integers(1, 2))  # multiplier M
        group_channels = 1
    else:
        channels = groups * draw(st.integers(1, 2))
        out_channels = groups * draw(st.integers(1, 2))
        group_channels = channels // groups
    k_h, k_w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = (draw(st.integers(0, 1)), draw(st.integers(0, 1)))
    size = [draw(st.integers(max(1, dilation[a] * ((k_h, k_w)[a] - 1) + 1 - 2 * pad[a]), 6))
            for a in range(2)]
    n_batch = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n_batch, channels, *size))
    w = rng.standard_normal((out_channels, group_channels, k_h, k_w))
    padding = ((pad[0], pad[0]), (pad[1], pad[1]))
    return x, w, (stride, padding, dilation, groups)


def _run(op, impl, x, w, gy, conf):
    rung = ladder.rung(op, impl)
    stride, padding, dilation, groups = conf
    return (rung.forward(x, w, None, stride, padding, dilation, groups),
            rung.grad_input(gy, w, x.shape, stride, padding, dilation, groups),
            rung.grad_weight(x, gy, w.shape, stride, padding, dilation, groups))


def _compare_rungs(op, x, w, conf):
    reference = ladder.rung(op, "naive")
    stride, padding, dilation, groups = conf
    y = reference.forward(x, w, None, stride, padding, dilation, groups)
    gy = np.random.default_rng(1).standard_normal(y.shape)
    expected = _run(op, "naive", x, w, gy, conf)
    for impl in CPU_RUNGS[op][1:]:
        for name, got, want in zip(("forward", "grad_input", "grad_weight"),
                                   _run(op, impl, x, w, gy, conf), expected):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=f"{op} {impl} {name}")


@given(geometry())
def test_every_rung_agrees_with_the_naive_loops(case):
    x, w, conf = case
    _compare_rungs("conv2d", x, w, conf)


@given(geometry(depthwise=True))
def test_every_depthwise_rung_agrees_with_the_naive_loops(case):
    x, w, conf = case
    _compare_rungs("depthwise_conv2d", x, w, conf)


@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 1, 1, 1), (2, 0, 2, 2), ((2, 1), (1, 0), (1, 2), 3)])
def test_naive_loops_match_torch(stride, padding, dilation, groups):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 7, 6))
    w = rng.standard_normal((groups * 2, 6 // groups, 3, 2))
    y = ladder.conv2d(minicnn.tensor(x), minicnn.tensor(w), stride=stride, padding=padding,
                      dilation=dilation, groups=groups, impl="naive")
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=stride,
                                          padding=padding, dilation=dilation, groups=groups)
    np.testing.assert_allclose(y.numpy(), expected.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op, impl", [(op, impl) for op, impls in CPU_RUNGS.items() for impl in impls])
def test_each_rung_passes_a_gradient_check(op, impl):
    rng = np.random.default_rng(4)
    channels, weight_shape = (2, (2, 2, 3, 3)) if op == "conv2d" else (2, (4, 1, 3, 3))
    x = minicnn.tensor(rng.standard_normal((1, channels, 5, 4)), requires_grad=True)
    w = minicnn.tensor(rng.standard_normal(weight_shape), requires_grad=True)
    b = minicnn.tensor(rng.standard_normal(weight_shape[0]), requires_grad=True)
    fn = ladder.conv2d if op == "conv2d" else ladder.depthwise_conv2d
    gradcheck(lambda x, w, b: fn(x, w, b, stride=(2, 1), padding=1, impl=impl), [x, w, b])


def test_fast_rung_is_what_the_engine_runs():
    rng = np.random.default_rng(5)
    x = minicnn.tensor(rng.standard_normal((2, 8, 9, 9)).astype(np.float32))
    w = minicnn.tensor(rng.standard_normal((8, 1, 3, 3)).astype(np.float32))
    engine = minicnn.nn.functional.conv2d(x, w, stride=2, padding=1, groups=8)
    np.testing.assert_array_equal(ladder.depthwise_conv2d(x, w, stride=2, padding=1).numpy(), engine.numpy())


def test_unknown_or_unavailable_rungs_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="'shifted'.*naive, im2col, fast, cuda"):
        ladder.rung("conv2d", "shifted")
    with pytest.raises(ValueError, match="winograd"):
        ladder.rung("depthwise_conv2d", "winograd")
    ok, reason = ladder.available("cuda")
    if not ok:
        assert reason
        with pytest.raises(RuntimeError, match="not available here"):
            ladder.rung("conv2d", "cuda")


def test_bad_arguments_name_the_argument():
    x, w = minicnn.randn(1, 4, 5, 5), minicnn.randn(4, 2, 3, 3)
    with pytest.raises(ValueError, match="groups=1"):
        ladder.conv2d(x, w, impl="im2col")
    with pytest.raises(ValueError, match="depthwise weight"):
        ladder.depthwise_conv2d(x, w)


SIMULATOR_CHECK = textwrap.dedent("""
    import numpy as np, minicnn, minicnn.ladder as ladder
    ok, how = ladder.available("cuda")
    assert ok and "simulator" in how, how
    rng = np.random.default_rng(0)
    cases = [("conv2d", (1, 4, 4, 3), (4, 2, 3, 2), ((2, 1), ((1, 1), (1, 1)), (1, 2), 2)),
             ("depthwise_conv2d", (1, 2, 4, 3), (4, 1, 2, 2), ((2, 2), ((1, 1), (0, 0)), (1, 1), 2))]
    for op, x_shape, w_shape, conf in cases:
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = rng.standard_normal(w_shape).astype(np.float32)
        naive, cuda = ladder.rung(op, "naive"), ladder.rung(op, "cuda")
        y = naive.forward(x, w, None, *conf)
        gy = rng.standard_normal(y.shape).astype(np.float32)
        pairs = [(cuda.forward(x, w, None, *conf), y),
                 (cuda.grad_input(gy, w, x.shape, *conf), naive.grad_input(gy, w, x.shape, *conf)),
                 (cuda.grad_weight(x, gy, w.shape, *conf), naive.grad_weight(x, gy, w.shape, *conf))]
        for got, want in pairs:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    print("simulator ok")
""")


def test_cuda_rung_matches_the_naive_loops_under_the_cuda_simulator():
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-c", SIMULATOR_CHECK], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "simulator ok" in result.stdout, result.stdout + result.stderr


_CUDA_OK, _CUDA_HOW = ladder.available("cuda")


@pytest.mark.skipif(not _CUDA_OK or "simulator" in _CUDA_HOW, reason="no GPU: " + _CUDA_HOW)
def test_cuda_rung_matches_the_fast_rung_on_a_gpu():  # pragma: no cover (needs a GPU)
    import cupy

    rng = np.random.default_rng(6)
    for op, x_shape, w_shape, groups in [("conv2d", (4, 16, 20, 20), (32, 8, 3, 3), 2),
                                         ("depthwise_conv2d", (4, 16, 20, 20), (32, 1, 3, 3), 16)]:
        x = rng.standard_normal(x_shape).astype(np.float32)
        w = rng.standard_normal(w_shape).astype(np.float32)
        conf = ((2, 2), ((1, 1), (1, 1)), (1, 1), groups)
        fast, cuda = ladder.rung(op, "fast"), ladder.rung(op, "cuda")
        y = fast.forward(x, w, None, *conf)
        got = cupy.asnumpy(cuda.forward(cupy.asarray(x), cupy.asarray(w), None, *conf))
        np.testing.assert_allclose(got, y, rtol=1e-4, atol=1e-4)


def test_ladder_page_has_the_measured_table_and_its_command():
    page = (REPO / "docs" / "ladder.md").read_text(encoding="utf-8")
    measured = page.split("<!-- ladder-table:start -->")[1].split("<!-- ladder-table:end -->")[0]
    assert "Command: `python benchmarks/ladder.py" in measured and "Measured " in measured
    for op in ladder.IMPLEMENTATIONS:
        table = measured.split(f"**{op}**")[1].split("\n\n**")[0]
        for impl in ladder.IMPLEMENTATIONS[op]:
            assert f"\n| {impl} |" in table, (op, impl)


def test_the_benchmark_runs(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("before\n<!-- ladder-table:start -->\nold\n<!-- ladder-table:end -->\nafter\n")
    result = subprocess.run([sys.executable, "benchmarks/ladder.py", "--quick", "--repeats", "1",
                             "--rounds", "1", "--op", "depthwise_conv2d", "--write", str(page)],
                            cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert "| fast |" in text and "| naive |" in text
