"""Card: regression and binary losses (mse_loss, binary_cross_entropy_with_logits)."""
from ._model import Card, CodeLink, OpSpec, Operand, Symbol, TestLink

_SHAPE = (Symbol("N", "batch size", 1), Symbol("D", "values per sample", 1))

OPS = (
    OpSpec(name="mse_loss", title="mean squared error",
           symbols=_SHAPE, operands=(Operand("x", ("N", "D"), "prediction"), Operand("target", ("N", "D"))),
           output=(), call="F.mse_loss(x, target)", examples=("N=32,D=4",)),
    OpSpec(name="binary_cross_entropy_with_logits", title="binary cross-entropy of logits (stable form)",
           symbols=_SHAPE, operands=(Operand("x", ("N", "D"), "logits"),
                                     Operand("target", ("N", "D"), "probabilities", kind="positive")),
           output=(), call="F.binary_cross_entropy_with_logits(x, target - 0.5)", examples=("N=32,D=4",),
           notes="(The engine call shifts the operand from $[0.5, 1.5)$ into $[0, 1)$.)"),
)

CARD = Card(
    key="losses",
    title="Losses: mean squared error, binary cross-entropy with logits",
    summary=r"""
Two elementwise losses reduced to a mean: the squared error for regression, and the
binary cross-entropy for independent yes/no targets, taken on logits so that the
sigmoid and the logarithm can be combined into a form that never overflows. (Cross-entropy
over classes and NLL are on the [softmax card](softmax_cross_entropy.md).)
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x, t$ | prediction (or logit) and target, same shape, $n$ elements |
| $s(x) = 1/(1 + e^{-x})$ | the sigmoid |
| $\mathrm{softplus}(z) = \log(1 + e^z)$ | |
| $w$, $p$ | BCE's element weight and positive-class weight (`pos_weight`), 1 when absent |
| $\bar{L}$ | the upstream gradient of the (scalar) loss |
""",
    forward=r"""
$$\mathrm{mse}(x, t) = \frac{1}{n} \sum_i (x_i - t_i)^2$$

$$\ell_i = -w_i \big[ p \, t_i \log s(x_i) + (1 - t_i) \log(1 - s(x_i)) \big], \qquad \mathrm{bce}(x, t) = \frac{1}{n} \sum_i \ell_i$$

Rewritten with $\log s(x) = -\mathrm{softplus}(-x)$ and $\log(1 - s(x)) = -x - \mathrm{softplus}(-x)$:

$$\ell_i = w_i \big[ (1 - t_i) x_i + (1 + (p - 1) t_i) \, \mathrm{softplus}(-x_i) \big], \qquad \mathrm{softplus}(-x) = \max(-x, 0) + \log(1 + e^{-|x|})$$

which exponentiates only non-positive numbers and never takes the log of 0.
""",
    gradients=r"""
**MSE.** $\frac{\partial}{\partial x_i} \frac{1}{n}(x_i - t_i)^2 = \frac{2}{n}(x_i - t_i)$, and
$\partial / \partial t_i$ is its negative: $\bar{x} = \frac{2 \bar{L}}{n} (x - t)$, $\bar{t} = -\bar{x}$.

**BCE with logits.** Step 1: $\frac{d}{dx} \mathrm{softplus}(-x) = -\frac{e^{-x}}{1 + e^{-x}} = -s(-x)$.
Step 2: differentiate the stable form term by term:

$$\frac{\partial \ell_i}{\partial x_i} = w_i \big[ (1 - t_i) - (1 + (p - 1) t_i) \, s(-x_i) \big]$$

Step 3: for $p = 1$, $(1 - t) - s(-x) = (1 - t) - (1 - s(x)) = s(x) - t$: the same
"prediction minus target" as softmax cross-entropy. With respect to the target:
$\partial \ell_i / \partial t_i = w_i [(p - 1)\,\mathrm{softplus}(-x_i) - x_i]$. Both are divided by $n$ for the mean.
""",
    pitfalls=r"""
* **Never `log(sigmoid(x))`**: $s(x)$ rounds to 1 for $x > 17$ in float32 and to 0 for
  $x < -104$, where the log becomes $-\infty$; the softplus form stays exact.
* `reduction='mean'` divides by the number of *elements*, not the batch size.
* minicnn's `mse_loss` refuses operands of different shapes (PyTorch broadcasts them with a
  warning, which silently computes a different loss for a $(N, 1)$ vs $(N,)$ mix-up).
""",
    ops=OPS,
    code=(
        CodeLink("minicnn/ops/loss.py", ("SquaredError", "BCEWithLogits", "LossMean", "mse_loss",
                                         "binary_cross_entropy_with_logits"),
                 "Per-element losses and the reduction."),
        CodeLink("minicnn/nn/loss.py", ("MSELoss",), "The module."),
    ),
    tests=(
        TestLink("tests/ops/test_loss.py::test_mse_loss_gradcheck", "MSE gradients"),
        TestLink("tests/ops/test_loss.py::test_bce_with_logits_gradcheck", "BCE gradients"),
        TestLink("tests/ops/test_loss.py::test_bce_with_logits_is_finite_for_huge_logits", "the stable form"),
        TestLink("tests/ops/test_loss.py::test_bce_with_logits_matches_torch", "PyTorch parity"),
        TestLink("tests/ops/test_loss.py::test_mse_loss_never_broadcasts", "no silent broadcasting"),
    ),
)
