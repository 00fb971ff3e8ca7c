"""The operator cards: complete, current, clean in a terminal, linked to real code and tests,
and their final gradient formulas equal to what the engine computes.

The gradient tests code each card's *derived* formula from the card (not from the
engine's source) in NumPy float64 and compare it with minicnn's autograd under a
random upstream gradient: if the card's derivation or the engine were wrong, they
would disagree.
"""
import ast
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import minicnn
import minicnn.nn as nn
import minicnn.nn.functional as F
from minicnn import cards
from minicnn.cards import Expr, FormulaError, UnknownLatex, markdown_to_text, math_to_text

REPO = Path(__file__).resolve().parents[2]
CARDS = cards.cards()


# ----------------------------------------------------------------------------- completeness
def test_docs_ops_pages_are_generated_from_the_cards():
    stale = cards.stale_pages(REPO / "docs" / "ops")
    assert not stale, (f"docs/ops is out of date for {stale}: run "
                       f"'python -m minicnn.cards --write' and commit the pages")


def test_every_functional_operator_has_a_card():
    table = cards.operators()
    public = [name for name in dir(F) if not name.startswith("_") and callable(getattr(F, name))]
    missing = [name for name in public if name not in table]
    assert not missing, f"operators of minicnn.nn.functional without a card: {missing}"


def test_the_issue_families_have_their_cards():
    keys = {card.key for _, card in CARDS}
    assert {"convolution", "channel_shuffle", "batch_norm", "squeeze_excitation", "activations",
            "pooling", "softmax_cross_entropy"} <= keys
    ops = cards.operators()
    for name in ("conv2d", "conv_transpose2d", "depthwise_conv2d", "hardswish", "hardsigmoid",
                 "relu6", "cross_entropy", "log_softmax", "squeeze_excitation"):
        assert name in ops


@pytest.mark.parametrize("module, card", CARDS, ids=[m for m, _ in CARDS])
def test_every_card_has_every_section(module, card):
    for spec in card.ops:  # titles are printed as they are by `minicnn explain --shape`
        assert not set("$`\\") & set(spec.title), f"{spec.name}: plain-text title please"
    for section in ("summary", "notation", "forward", "gradients", "pitfalls"):
        assert len(getattr(card, section).strip()) > 80, f"{module}: {section} is missing"
    assert card.ops and card.code and card.tests
    markdown = cards.markdown(card)
    for heading in ("## Notation", "## Forward", "## Gradients", "## Shapes, parameters and MACs",
                    "## Numerical pitfalls", "## Code", "## Tests"):
        assert heading in markdown


@pytest.mark.parametrize("module, card", CARDS, ids=[m for m, _ in CARDS])
def test_terminal_text_has_no_latex_or_markdown_left(module, card):
    text = cards.text(card)
    assert "\\" not in text and "$" not in text and "**" not in text and "`" not in text


@pytest.mark.parametrize("module, card", CARDS, ids=[m for m, _ in CARDS])
def test_math_delimiters_are_balanced(module, card):
    # GitHub renders $...$ and $$...$$; an odd count of single $ on a line breaks the page.
    in_code = False
    for line in cards.markdown(card).split("\n"):
        if line.strip().startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        outside_code = re.sub(r"`[^`]*`", "", line)
        singles = re.sub(r"\$\$", "", outside_code).count("$")
        assert singles % 2 == 0, f"{module}: unbalanced $ in {line!r}"
        assert outside_code.count("$$") % 2 == 0, f"{module}: unbalanced $$ in {line!r}"


def _defined_names(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


@pytest.mark.parametrize("module, card", CARDS, ids=[m for m, _ in CARDS])
def test_code_links_point_at_existing_code(module, card):
    for link in card.code:
        path = REPO / link.path
        assert path.is_file(), f"{module}: {link.path} does not exist"
        missing = set(link.names) - _defined_names(path)
        assert not missing, f"{module}: {link.path} defines no {sorted(missing)}"


@pytest.mark.parametrize("module, card", CARDS, ids=[m for m, _ in CARDS])
def test_test_links_point_at_existing_tests(module, card):
    for link in card.tests:
        path, _, function = link.test.partition("::")
        assert (REPO / path).is_file(), f"{module}: {path} does not exist"
        assert function in _defined_names(REPO / path), f"{module}: no {function} in {path}"


# ----------------------------------------------------------------------------- formulas
def test_expr_evaluates_exactly_and_renders_the_same_formula():
    expr = Expr("floor((H + 2*p - d*(k - 1) - 1) / s) + 1")
    values = dict(H=7, p=1, d=1, k=3, s=2)
    assert expr.evaluate(values.get) == (7 + 2 - 2 - 1) // 2 + 1
    assert expr.names == ["H", "p", "d", "k", "s"]
    assert expr.latex() == r"\left\lfloor \frac{H + 2 p - d \left(k - 1\right) - 1}{s} \right\rfloor + 1"
    assert Expr("C / g").evaluate({"C": 3, "g": 2}.get) == Fraction(3, 2)
    assert Expr("x >= 3").evaluate({"x": 3}.get) == 1
    assert Expr("C_out * k").latex() == r"C_{\text{out}} \cdot k"
    with pytest.raises(FormulaError, match="division by zero"):
        Expr("a // b").evaluate({"a": 1, "b": 0}.get)
    with pytest.raises(ValueError, match="unsupported"):
        Expr("__import__('os')")
    with pytest.raises(ValueError, match="integer constants"):
        Expr("0.5 * x")


def test_a_formula_that_is_not_whole_is_reported():
    spec = cards.find("chunk")[1]
    with pytest.raises(FormulaError, match="not a whole number"):
        spec.evaluate(spec.parse_shape("N=1,C=3,H=2,W=2"))


def test_math_to_text_examples():
    assert math_to_text(r"\frac{\partial L}{\partial x}") == "dL/dx"
    assert math_to_text(r"\frac{a + b}{2}") == "(a + b)/2"
    assert math_to_text(r"\left\lfloor \frac{H}{s} \right\rfloor") == "floor(H/s)"
    assert math_to_text(r"\sum_{n,i,j} \bar{y}_{n,o,i,j}") == "sum_{n,i,j} ybar_{n,o,i,j}"
    assert math_to_text(r"\sigma^2 + \epsilon") == "sigma^2 + eps"
    assert math_to_text(r"\text{output\_padding}_h") == "output_padding_h"
    with pytest.raises(UnknownLatex, match="notacommand"):
        math_to_text(r"\notacommand{x}")
    assert markdown_to_text("## A\n\nSee `x*y*z` and $a \\le b$.") == "A\n=\n\nSee x*y*z and a <= b.\n"


# ----------------------------------------------------------------------------- gradients
def _leaf(array):
    return minicnn.tensor(np.array(array, dtype=np.float64), requires_grad=True)


def _backward(out, rng):
    upstream = rng.standard_normal(out.shape)
    out.backward(minicnn.tensor(upstream))
    return upstream


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def grad_batch_norm(rng):
    x = rng.standard_normal((4, 3, 5, 5)) * 3 + 2
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    tx, tg, tb = _leaf(x), _leaf(gamma), _leaf(beta)
    ybar = _backward(F.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5), rng)
    # the card: xhat, s = sqrt(var + eps); dx = gamma/s (ybar - mean(ybar) - xhat mean(ybar xhat))
    axes = (0, 2, 3)
    mu = x.mean(axis=axes, keepdims=True)
    s = np.sqrt(((x - mu) ** 2).mean(axis=axes, keepdims=True) + 1e-5)
    xhat = (x - mu) / s
    g = gamma[None, :, None, None]
    dx = g / s * (ybar - ybar.mean(axis=axes, keepdims=True)
                  - xhat * (ybar * xhat).mean(axis=axes, keepdims=True))
    return [(tx.grad, dx), (tg.grad, (ybar * xhat).sum(axis=axes)), (tb.grad, ybar.sum(axis=axes))]


def grad_group_norm(rng):
    """The per-sample card: dx = (1/s) (xbarhat - mean(xbarhat) - xhat mean(xbarhat xhat)) per
    set (sample n, group q), xbarhat = gamma ybar; dgamma, dbeta summed per channel."""
    n, c, groups = 3, 6, 2
    x = rng.standard_normal((n, c, 4, 5)) * 3 + 2
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    tx, tg, tb = _leaf(x), _leaf(gamma), _leaf(beta)
    ybar = _backward(F.group_norm(tx, groups, tg, tb, eps=1e-5), rng)
    sets = x.reshape(n, groups, -1)  # one row per set: (sample, group)
    mu = sets.mean(axis=2, keepdims=True)
    s = np.sqrt(((sets - mu) ** 2).mean(axis=2, keepdims=True) + 1e-5)
    xhat = ((sets - mu) / s).reshape(x.shape)
    xbarhat = (gamma[None, :, None, None] * ybar).reshape(n, groups, -1)
    xhat_sets = xhat.reshape(n, groups, -1)
    dx = (xbarhat - xbarhat.mean(axis=2, keepdims=True)
          - xhat_sets * (xbarhat * xhat_sets).mean(axis=2, keepdims=True)) / s
    axes = (0, 2, 3)
    return [(tx.grad, dx.reshape(x.shape)), (tg.grad, (ybar * xhat).sum(axis=axes)),
            (tb.grad, ybar.sum(axis=axes))]


def grad_softmax(rng):
    x = rng.standard_normal((3, 5))
    tx = _leaf(x)
    ybar = _backward(F.softmax(tx, dim=1), rng)
    y = _softmax(x)
    return [(tx.grad, y * (ybar - (ybar * y).sum(axis=1, keepdims=True)))]


def grad_log_softmax(rng):
    x = rng.standard_normal((3, 5)) * 10
    tx = _leaf(x)
    ybar = _backward(F.log_softmax(tx, dim=1), rng)
    return [(tx.grad, ybar - _softmax(x) * ybar.sum(axis=1, keepdims=True))]


def grad_cross_entropy(rng):
    x = rng.standard_normal((4, 6)) * 50  # large logits: the formula is still bounded
    target = rng.integers(0, 6, size=4)
    tx = _leaf(x)
    F.cross_entropy(tx, minicnn.tensor(target)).backward()
    return [(tx.grad, (_softmax(x) - np.eye(6)[target]) / 4)]


def _elementwise(fn, slope, values):
    def check(rng):
        x = np.concatenate([rng.uniform(-8, 8, 50), values])
        tx = _leaf(x)
        ybar = _backward(fn(tx), rng)
        return [(tx.grad, ybar * slope(x))]
    return check


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def grad_prelu(rng):
    x = rng.standard_normal((2, 3, 4, 4))
    slopes = rng.uniform(0, 0.5, 3)
    tx, ta = _leaf(x), _leaf(slopes)
    ybar = _backward(F.prelu(tx, ta), rng)
    a = slopes[None, :, None, None]
    # the card: x-bar = ybar (1 or a_c); a-bar_c = sum_{n,h,w} ybar min(x, 0)
    return [(tx.grad, ybar * np.where(x > 0, 1.0, a)),
            (ta.grad, (ybar * np.minimum(x, 0)).sum(axis=(0, 2, 3)))]


def grad_normalize(rng):
    checks = []
    for p in (2.0, 3.0):
        x = rng.standard_normal((3, 5))
        tx = _leaf(x)
        ybar = _backward(F.normalize(tx, p=p, dim=1), rng)
        n = (np.abs(x) ** p).sum(axis=1, keepdims=True) ** (1 / p)
        dn = np.sign(x) * (np.abs(x) / n) ** (p - 1)
        # the card: vbar = ybar / d - (sum ybar v) / d^2 * dn/dv (d = n here: n >> eps)
        checks.append((tx.grad, ybar / n - (ybar * x).sum(axis=1, keepdims=True) / n ** 2 * dn))
        if p == 2.0:  # and its projection form (ybar - y (ybar . y)) / d
            y = x / n
            checks.append((tx.grad, (ybar - y * (ybar * y).sum(axis=1, keepdims=True)) / n))
    return checks


def _loss_gradients(loss, formula, make_inputs):
    """``loss(x, t, reduction='none')``'s gradients against the card's ``formula(x, t, ybar)``
    -> (x-bar, t-bar)."""
    def check(rng):
        x, t = make_inputs(rng)
        tx, tt = _leaf(x), _leaf(t)
        ybar = _backward(loss(tx, tt), rng)
        grad_x, grad_t = formula(x, t, ybar)
        return [(tx.grad, grad_x), (tt.grad, grad_t)]
    return check


def _errors(rng):
    return rng.standard_normal(40) * 2, rng.standard_normal(40)


def _clip_grad(scale, bound):
    def formula(x, t, ybar):
        grad = ybar * np.clip(x - t, -bound, bound) * scale
        return grad, -grad
    return formula


def _bce_grad(x, t, ybar):
    return ybar * (x - t) / (x * (1 - x)), ybar * (np.log(1 - x) - np.log(x))


def _kl_grad(x, t, ybar):
    return -ybar * t, ybar * (np.log(t) + 1 - x)


def _kl_log_target_grad(x, u, ybar):
    return -ybar * np.exp(u), ybar * np.exp(u) * (u - x + 1)


def _probabilities_and_targets(rng):
    return 0.05 + 0.9 * rng.random(30), rng.random(30)


def _log_probabilities(rng):
    return np.log(rng.random(30) + 0.05), rng.random(30) + 0.05


CARD_GRADIENTS = {
    "prelu": grad_prelu,
    "normalize": grad_normalize,
    "softplus": _elementwise(lambda t: F.softplus(t, beta=2.0), lambda x: _sigmoid(2 * x), []),
    "mish": _elementwise(F.mish, lambda x: (np.tanh(np.log1p(np.exp(x)))
                                            + x * (1 - np.tanh(np.log1p(np.exp(x))) ** 2) * _sigmoid(x)),
                         []),
    "l1_loss": _loss_gradients(lambda a, b: F.l1_loss(a, b, reduction="none"),
                               lambda x, t, ybar: (ybar * np.sign(x - t), -ybar * np.sign(x - t)),
                               _errors),
    "huber_loss": _loss_gradients(lambda a, b: F.huber_loss(a, b, reduction="none", delta=1.5),
                                  _clip_grad(1.0, 1.5), _errors),
    "smooth_l1_loss": _loss_gradients(lambda a, b: F.smooth_l1_loss(a, b, reduction="none", beta=0.5),
                                      _clip_grad(1 / 0.5, 0.5), _errors),
    "binary_cross_entropy": _loss_gradients(
        lambda a, b: F.binary_cross_entropy(a, b, reduction="none"), _bce_grad,
        _probabilities_and_targets),
    "kl_div": _loss_gradients(lambda a, b: F.kl_div(a, b, reduction="none"), _kl_grad,
                              _log_probabilities),
    "kl_div log_target": _loss_gradients(
        lambda a, b: F.kl_div(a, b, reduction="none", log_target=True), _kl_log_target_grad,
        lambda rng: (np.log(rng.random(30) + 0.05), np.log(rng.random(30) + 0.05))),
    "batch_norm": grad_batch_norm,
    "group_norm": grad_group_norm,
    "softmax": grad_softmax,
    "log_softmax": grad_log_softmax,
    "cross_entropy": grad_cross_entropy,
    # the kink table: the value used exactly at the kinks is part of each slope below
    "hardswish": _elementwise(F.hardswish, lambda x: np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, x / 3 + 0.5)),
                              [-3.0, 3.0]),
    "hardsigmoid": _elementwise(F.hardsigmoid, lambda x: ((x > -3) & (x < 3)) / 6, [-3.0, 3.0]),
    "relu6": _elementwise(F.relu6, lambda x: ((x > 0) & (x < 6)).astype(float), [0.0, 6.0]),
    "relu": _elementwise(F.relu, lambda x: (x > 0).astype(float), [0.0]),
    "elu": _elementwise(lambda t: F.elu(t, 2.0), lambda x: np.where(x > 0, 1.0, 2.0 * np.exp(x)), [0.0]),
    "sigmoid": _elementwise(F.sigmoid, lambda x: (1 / (1 + np.exp(-x))) * (1 - 1 / (1 + np.exp(-x))), []),
    "silu": _elementwise(F.silu, lambda x: (1 / (1 + np.exp(-x))) * (1 + x * (1 - 1 / (1 + np.exp(-x)))), []),
}


@pytest.mark.parametrize("name", sorted(CARD_GRADIENTS))
def test_card_gradient_formulas_match_autograd(name):
    rng = np.random.default_rng(0)
    for engine, formula in CARD_GRADIENTS[name](rng):
        np.testing.assert_allclose(engine, formula, rtol=1e-9, atol=1e-12, err_msg=name)


def test_se_gradient_chain_matches_autograd():
    """The six steps of the squeeze-excitation card, against autograd."""
    rng = np.random.default_rng(1)
    n, c, s, h, w = 2, 6, 3, 4, 5
    layer = nn.SqueezeExcitation(c, s).double()
    x = rng.standard_normal((n, c, h, w))
    tx = _leaf(x)
    ybar = _backward(layer(tx), rng)
    w1, b1 = layer.fc1.weight.data[:, :, 0, 0], layer.fc1.bias.data
    w2, b2 = layer.fc2.weight.data[:, :, 0, 0], layer.fc2.bias.data
    z = x.mean(axis=(2, 3))                       # (N, C)
    u = z @ w1.T + b1                             # (N, S)
    a = np.maximum(u, 0)
    t = a @ w2.T + b2                             # (N, C)
    e = 1 / (1 + np.exp(-t))
    ebar = (ybar * x).sum(axis=(2, 3))            # step 1
    tbar = ebar * e * (1 - e)                     # step 2
    w2bar, b2bar, abar = tbar.T @ a, tbar.sum(0), tbar @ w2   # step 3
    ubar = abar * (u > 0)                         # step 4
    w1bar, b1bar, zbar = ubar.T @ z, ubar.sum(0), ubar @ w1   # step 5
    xbar = ybar * e[:, :, None, None] + zbar[:, :, None, None] / (h * w)  # step 6
    for engine, formula in [(tx.grad, xbar), (layer.fc2.weight.grad[:, :, 0, 0], w2bar),
                            (layer.fc2.bias.grad, b2bar), (layer.fc1.weight.grad[:, :, 0, 0], w1bar),
                            (layer.fc1.bias.grad, b1bar)]:
        np.testing.assert_allclose(engine, formula, rtol=1e-9, atol=1e-12)


def test_channel_shuffle_gradient_is_a_shuffle_by_c_over_g():
    rng = np.random.default_rng(2)
    x = _leaf(rng.standard_normal((2, 12, 3, 3)))
    ybar = _backward(F.channel_shuffle(x, 3), rng)
    np.testing.assert_array_equal(x.grad, F.channel_shuffle(minicnn.tensor(ybar), 4).numpy())


def test_pixel_shuffle_gradient_is_pixel_unshuffle():
    rng = np.random.default_rng(3)
    x = _leaf(rng.standard_normal((2, 8, 3, 2)))
    ybar = _backward(F.pixel_shuffle(x, 2), rng)
    # the card: xbar[n, c r^2 + a r + b, h, w] = ybar[n, c, h r + a, w r + b]
    expected = ybar.reshape(2, 2, 3, 2, 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(2, 8, 3, 2)
    np.testing.assert_array_equal(x.grad, expected)


def test_unfold_gradient_is_fold_and_fold_gradient_is_unfold():
    rng = np.random.default_rng(4)
    args = dict(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    x = _leaf(rng.standard_normal((2, 3, 5, 6)))
    xbar = _backward(F.unfold(x, **args), rng)
    np.testing.assert_allclose(x.grad, F.fold(minicnn.tensor(xbar), (5, 6), **args).numpy(),
                               rtol=1e-15)
    cols = _leaf(rng.standard_normal(xbar.shape))
    ybar = _backward(F.fold(cols, (5, 6), **args), rng)
    np.testing.assert_array_equal(cols.grad, F.unfold(minicnn.tensor(ybar), **args).numpy())


def test_two_hard_sigmoids_differ_as_the_card_says():
    x = np.array([-3.0, -2.5, 0.0, 1.0, 2.5, 3.0])
    pytorch_style = F.hardsigmoid(minicnn.tensor(x)).numpy()
    keras2_style = np.clip(0.2 * x + 0.5, 0, 1)
    np.testing.assert_allclose(pytorch_style, np.clip(x / 6 + 0.5, 0, 1))
    assert pytorch_style[2] == keras2_style[2] == 0.5      # both 0.5 at 0
    assert keras2_style[4] == 1.0 > pytorch_style[4]       # Keras 2 saturates at 2.5
    np.testing.assert_allclose([pytorch_style[3], keras2_style[3]], [4 / 6, 0.7])
