"""The exercise grader: the shipped stubs are "not started", minicnn's reference solutions
(tests/exercises/solutions/, written from each card's derivation) pass, and each injected
bug fails with a message naming the wrong gradient, the card section and the mistake."""
import shutil
from pathlib import Path

import pytest

from minicnn import exercises
from minicnn.cli import main
from minicnn.exercises.specs import BY_NAME

SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def solved(directory, name, replace=None):
    """Write ``name``'s template followed by its solution (whose functions replace the stubs),
    with ``replace = (old, new)`` applied to the solution (the injected bug)."""
    solution = (SOLUTIONS / f"{name}.py").read_text()
    if replace:
        old, new = replace
        assert solution.count(old) == 1, (name, old)  # the bug lands where intended
        solution = solution.replace(old, new)
    path = Path(directory) / f"{name}.py"
    path.write_text(exercises.template_path(name).read_text() + "\n\n" + solution)
    return path


def test_init_writes_every_exercise_as_a_stub_the_grader_calls_not_started(tmp_path):
    written = exercises.init(tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{name}.py" for name in BY_NAME)
    results = exercises.grade(tmp_path)
    # "not started" is only reported after the given forward matched minicnn's operator
    assert [r.status for r in results] == ["not started"] * len(BY_NAME), results
    for name in BY_NAME:
        text = exercises.template_path(name).read_text()
        assert f"docs/ops/{BY_NAME[name].card}.md" in text and "minicnn explain" in text


@pytest.mark.parametrize("seed", [0, 1])
def test_the_reference_solutions_pass(tmp_path, seed):
    for name in BY_NAME:
        solved(tmp_path, name)
    results = exercises.grade(tmp_path, seed=seed)
    assert all(r.status == "pass" for r in results), "\n".join(r.message for r in results)


BUGS = [
    # (exercise, (old, new) in the solution, wrong gradient, words the message must hold)
    ("cross_entropy_backward", ("return grad_output * probs", "return -grad_output * probs"),
     "grad_input", ["sign error", "docs/ops/softmax_cross_entropy.md", "**Cross-entropy**"]),
    ("cross_entropy_backward", (" / len(target)", ""),
     "grad_input", ["missing or extra factor", "(softmax - one_hot(target)) / N"]),
    ("batch_norm_backward",
     ("\n                              - x_hat * (grad_output * x_hat).mean(axis=axes, "
      "keepdims=True))", ")"),
     "grad_input", ["docs/ops/batch_norm.md", "**Input, training**", "minicnn explain batch_norm"]),
    ("conv2d_backward",
     ('np.einsum("nohw,oc->nchw", grad_output, weight[:, :, u, v])',
      'np.einsum("nohw,oc->nchw", grad_output, weight[:, :, v, u])'),
     "grad_input", ["docs/ops/convolution.md", "**Input**", "not transposed or flipped"]),
    ("conv2d_backward", ("grad_output.sum(axis=(0, 2, 3))", "grad_output.sum(axis=(2, 3))"),
     "grad_bias", ["has shape (2, 4), expected (4,)", "**Bias**"]),
    ("max_pool2d_backward", ("for u in range(k) for v", "for u in range(k - 1) for v"),
     "grad_input", ["docs/ops/pooling.md", "**Max**", "stride i + u, u = 0..k-1"]),
    ("channel_shuffle_backward", ("input.shape[1] // groups)", "groups)"),
     "grad_input", ["docs/ops/channel_shuffle.md", "inverse permutation"]),
    ("squeeze_excitation_backward", (" + grad_z[:, :, None, None] / (h * w)", ""),
     "grad_input", ["docs/ops/squeeze_excitation.md", "the pool path"]),
    ("squeeze_excitation_backward", ("* (u > 0)", ""),
     "grad_fc1_weight", ["steps 4-5", "grad_fc1_bias is wrong", "grad_input is wrong"]),
    ("squeeze_excitation_backward", ("grad_t.T @ a,", "grad_t.T @ u,"),
     "grad_fc2_weight", ["steps 1-3"]),
    ("hardswish_backward", ("(2 * input + 3) / 6", "(2 * input - 3) / 6"),
     "grad_input", ["docs/ops/activations.md", "(2x + 3) / 6"]),
    ("depthwise_conv2d", ("output += x_pad[window]", "output -= x_pad[window]"),
     "the forward output", ["sign error", "groups G = C"]),
]


@pytest.mark.parametrize("name, replace, gradient, words", BUGS,
                         ids=[f"{b[0]}-{b[2]}-{i}" for i, b in enumerate(BUGS)])
def test_an_injected_bug_fails_naming_the_gradient_and_the_card(tmp_path, name, replace,
                                                                 gradient, words):
    solved(tmp_path, name, replace)
    (result,) = exercises.grade(tmp_path, name)
    assert result.status == "fail", result
    assert f"{gradient} is wrong" in result.message or f"{gradient} has shape" in result.message
    # only the wrong gradients are named
    for other in BY_NAME[name].grads:
        if other != gradient and other not in "".join(words):
            assert f"{other} is wrong" not in result.message, (other, result.message)
    for word in words:
        assert word in result.message, (word, result.message)
    if "has shape" not in result.message and gradient != "the forward output":
        # minicnn's value and the central difference of the forward agree at the worst element
        line = next(l for l in result.message.splitlines() if "worst element" in l)
        reference = float(line.split("minicnn's ")[1].split(",")[0])
        numeric = float(line.split("central difference of the forward ")[1].split(" ")[0])
        assert numeric == pytest.approx(reference, rel=1e-5, abs=1e-7)


def test_a_crash_in_the_exercise_is_shown_with_its_traceback(tmp_path):
    solved(tmp_path, "hardswish_backward", ("return grad_output * slope", "return undefined_name"))
    (result,) = exercises.grade(tmp_path, "hardswish_backward")
    assert result.status == "fail" and "NameError" in result.message and "undefined_name" in result.message


def test_the_cli_inits_checks_and_keeps_work(tmp_path, capsys):
    assert main(["exercises", "init", str(tmp_path)]) == 0
    solved(tmp_path, "hardswish_backward")
    assert main(["exercises", "init", str(tmp_path)]) == 0  # keeps the solved file
    assert "kept: already there" in capsys.readouterr().out
    assert main(["exercises", "check", str(tmp_path), "hardswish_backward"]) == 0
    assert "1 of 1 passed" in capsys.readouterr().out
    assert main(["exercises", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "1 of 8 passed" in out and "NOT STARTED conv2d_backward" in out
    assert main(["exercises", "check", str(tmp_path), "conv2d"]) == 2
    assert "no exercise 'conv2d'" in capsys.readouterr().err
    shutil.rmtree(tmp_path)
    assert main(["exercises", "check", str(tmp_path)]) == 2
