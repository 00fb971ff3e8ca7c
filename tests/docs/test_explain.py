"""``minicnn explain``: every formula it evaluates agrees with what the engine computes.

For every operator on every card and every example configuration the card
shows: the output shape formula against the shape of the real engine call, the
parameter formula against the equivalent layer's ``parameters()``, the MAC
formula against ``minicnn.summary`` on that layer. Hypothesis adds drawn
configurations for the formulas with floors in them (convolution, pooling).
"""
import argparse
import io
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn import cards
from minicnn.explain import add_explain_parser, run_explain

from ._engine import layer_counts, run_call

REPO = Path(__file__).resolve().parents[2]
SPECS = [(name, spec) for name, (_, _, spec) in cards.operators().items() if name == spec.name]
EXAMPLES = [(spec, example) for _, spec in SPECS for example in spec.examples]


def check_against_engine(spec, values):
    """Evaluate the card's formulas for ``values`` and compare each with the engine."""
    ev = spec.evaluate(values)
    out = run_call(spec, ev)
    assert tuple(out.shape) == ev.output, (spec.name, values, ev.output, out.shape)
    if spec.module:
        params, macs, layer_shape = layer_counts(spec, ev)
        assert layer_shape == ev.output, (spec.name, values)
        if spec.params is not None:
            assert params == ev.params, (spec.name, values, "params", params, ev.params)
        if spec.macs is not None:
            assert macs == ev.macs, (spec.name, values, "MACs", macs, ev.macs)
    return ev


@pytest.mark.parametrize("spec, example", EXAMPLES,
                         ids=[f"{s.name}[{e}]" for s, e in EXAMPLES])
def test_every_example_agrees_with_the_engine(spec, example):
    check_against_engine(spec, spec.parse_shape(example))


def test_every_operator_has_an_example_and_a_layer_where_it_has_parameters():
    for _, spec in SPECS:
        assert spec.examples, spec.name
        if spec.params is not None:
            assert spec.module, f"{spec.name}: a parameter formula needs a layer to check it on"


@st.composite
def conv_configs(draw, transposed=False):
    groups = draw(st.sampled_from([1, 2, 3]))
    values = {"N": draw(st.integers(1, 2)), "C": groups * draw(st.integers(1, 3)),
              "C_out": groups * draw(st.integers(1, 3)), "g": groups,
              "k_h": draw(st.integers(1, 4)), "k_w": draw(st.integers(1, 4)),
              "s_h": draw(st.integers(1, 3)), "s_w": draw(st.integers(1, 3)),
              "d_h": draw(st.integers(1, 2)), "d_w": draw(st.integers(1, 2)),
              "bias": draw(st.integers(0, 1))}
    for axis, size in (("h", "H"), ("w", "W")):
        reach = values[f"d_{axis}"] * (values[f"k_{axis}"] - 1) + 1
        values[f"p_{axis}"] = draw(st.integers(0, 2))
        smallest = max(1, reach - 2 * values[f"p_{axis}"])  # the kernel must fit (conv2d)
        values[size] = draw(st.integers(1 if transposed else smallest, 9))
        if transposed:
            # output_padding < max(stride, dilation), and the output must be non-empty
            values[f"op_{axis}"] = draw(st.integers(0, max(values[f"s_{axis}"], values[f"d_{axis}"]) - 1))
            length = ((values[size] - 1) * values[f"s_{axis}"] - 2 * values[f"p_{axis}"]
                      + values[f"d_{axis}"] * (values[f"k_{axis}"] - 1) + values[f"op_{axis}"] + 1)
            if length < 1:
                values[f"p_{axis}"] = 0
    return values


@given(conv_configs())
def test_conv_formulas_agree_with_the_engine_for_drawn_configurations(values):
    check_against_engine(cards.find("conv2d")[1], values)


@given(conv_configs(transposed=True))
def test_conv_transpose_formulas_agree_with_the_engine_for_drawn_configurations(values):
    check_against_engine(cards.find("conv_transpose2d")[1], values)


@st.composite
def pool_configs(draw, dilation):
    values = {"N": 1, "C": draw(st.integers(1, 2)), "c": draw(st.integers(0, 1))}
    for axis, size in (("h", "H"), ("w", "W")):
        k = draw(st.integers(1, 4))
        d = draw(st.integers(1, 2)) if dilation else 1
        p = draw(st.integers(0, k // 2))
        values.update({f"k_{axis}": k, f"s_{axis}": draw(st.integers(1, 3)), f"p_{axis}": p})
        if dilation:
            values[f"d_{axis}"] = d
        values[size] = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 11))
    return values


@given(pool_configs(dilation=True))
def test_pool_formulas_agree_with_the_engine_for_drawn_configurations(values):
    check_against_engine(cards.find("max_pool2d")[1], values)
    values.pop("d_h"), values.pop("d_w")
    check_against_engine(cards.find("avg_pool2d")[1], dict(values, cip=0))


# ----------------------------------------------------------------------------- the command
def explain(*argv):
    parser = argparse.ArgumentParser(prog="minicnn")
    add_explain_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["explain", *argv])
    out, err = io.StringIO(), io.StringIO()
    status = run_explain(args, out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_explain_shape_prints_every_formula_with_its_value():
    status, out, _ = explain("conv2d", "--shape", "N=1,C=3,H=32,W=32,C_out=16,k=3,s=1,p=1,d=1,g=1")
    assert status == 0
    # the numbers, derived by hand: (32 + 2 - 2 - 1) // 1 + 1 = 32; 16*3*9 + 16 = 448;
    # 1*16*32*32 * 3*9 = 442368
    assert "H_out  = floor((H + 2*p_h - d_h*(k_h - 1) - 1) / s_h) + 1 = 32" in out
    assert "output : (N, C_out, H_out, W_out) = (1, 16, 32, 32)" in out
    assert "= 448" in out and "= 442,368" in out


def test_explain_shape_may_be_repeated_and_space_separated():
    _, one, _ = explain("conv2d", "--shape", "N=2,C=4,H=8,W=8,C_out=4,k=3")
    _, two, _ = explain("conv2d", "--shape", "N=2 C=4 H=8", "--shape", "W=8,C_out=4,k=3")
    assert one == two


def test_explain_without_shape_prints_the_card_and_markdown_on_request():
    card, _ = cards.find("hardswish")
    status, out, _ = explain("hardswish")
    assert status == 0 and out == cards.text(card)
    assert "Kinks" in out and "\\" not in out
    _, markdown, _ = explain("hardswish", "--markdown")
    assert markdown == cards.markdown(card)


def test_explain_lists_every_operator():
    status, out, _ = explain()
    assert status == 0
    for name in cards.operators():
        assert name in out


@pytest.mark.parametrize("argv, message", [
    (("conv3d",), "no card for 'conv3d'"),
    (("conv2d", "--shape", "N=1,C=3,H=8,W=8,C_out=4,k=3,q=1"), "unknown symbol 'q'"),
    (("conv2d", "--shape", "N=1,C=3,H=8,W=8,k=3"), "give C_out"),
    (("conv2d", "--shape", "C=3,H=8,W=8,C_out=4,k=3,g=2"), "g must divide C"),
    (("conv2d", "--shape", "C=3,H=8,W=8,C_out=4,k=x"), "k must be an integer"),
    (("conv2d", "--shape", "C=3,H=2,W=8,C_out=4,k=5"), "the dilated kernel must fit"),
    (("max_pool2d", "--shape", "C=3,H=8,W=8,k=2,p=2"), "padding must be at most half"),
])
def test_explain_rejects_bad_input_with_a_clear_message(argv, message):
    status, out, err = explain(*argv)
    assert status == 2 and out == ""
    assert message in err


def test_explain_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "minicnn.explain", "depthwise_conv2d", "--shape",
                             "N=8,C=96,H=56,W=56,k=3,p=1,bias=0"], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # 8 * 96 * 56 * 56 * 9 MACs, 96 * 9 weights
    assert f"{8 * 96 * 56 * 56 * 9:,}" in result.stdout and "= 864" in result.stdout


def test_pooling_stride_defaults_to_the_kernel_axis_by_axis():
    spec = cards.find("max_pool2d")[1]
    ev = spec.evaluate(spec.parse_shape("C=1,H=9,W=9,k_h=3,k_w=2"))
    assert ev.output == (1, 1, 3, 4)  # 9 // 3, 9 // 2: PyTorch's stride=None
