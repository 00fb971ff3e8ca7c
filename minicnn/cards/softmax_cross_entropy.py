"""Card: softmax, log-softmax, cross-entropy and the negative log-likelihood."""
from ._model import Card, CodeLink, OpSpec, Operand, Symbol, TestLink

_LOGITS = (Symbol("N", "batch size", 1), Symbol("C", "classes"))

OPS = (
    OpSpec(name="softmax", title="exponentials normalised to sum to 1 along dim 1",
           symbols=_LOGITS, operands=(Operand("x", ("N", "C"), "logits"),), output=("N", "C"),
           params="0", macs="0", call="F.softmax(x, dim=1)", module="nn.Softmax(dim=1)",
           examples=("N=32,C=10",)),
    OpSpec(name="log_softmax", title="the logarithm of softmax, computed stably",
           symbols=_LOGITS, operands=(Operand("x", ("N", "C"), "logits"),), output=("N", "C"),
           params="0", macs="0", call="F.log_softmax(x, dim=1)", module="nn.LogSoftmax(dim=1)",
           examples=("N=32,C=10",)),
    OpSpec(name="cross_entropy", title="mean negative log-probability of the target classes",
           symbols=_LOGITS, operands=(Operand("x", ("N", "C"), "logits"),
                                      Operand("target", ("N",), "class indices", kind="index", high="C")),
           output=(), call="F.cross_entropy(x, target)", examples=("N=32,C=10",),
           notes="A loss is a function of two inputs, so it has no layer to count MACs on; its "
                 "cost is about $3NC$ operations (exp, sum, subtract)."),
    OpSpec(name="nll_loss", title="mean of minus the log-probabilities picked by the targets",
           symbols=_LOGITS, operands=(Operand("x", ("N", "C"), "log-probabilities"),
                                      Operand("target", ("N",), "class indices", kind="index", high="C")),
           output=(), call="F.nll_loss(x, target)", examples=("N=32,C=10",)),
)

CARD = Card(
    key="softmax_cross_entropy",
    title="Softmax, log-softmax, cross-entropy, NLL",
    summary=r"""
Softmax turns a vector of scores (logits) into probabilities; cross-entropy is the
negative log-probability it gives the correct class, averaged over the batch. minicnn
computes cross-entropy as `log_softmax` followed by `nll_loss`, each with its own
backward; composed, they give the famous gradient $\mathrm{softmax}(x) - \mathrm{onehot}(t)$.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x_{n,c}$ | logits, shape $(N, C)$ (or $(N, C, d_1, \ldots)$: the class axis is dim 1) |
| $t_n$ | target class of sample $n$, an integer in $[0, C)$ |
| $p = \mathrm{softmax}(x)$ | probabilities along the class axis |
| $m_n = \max_c x_{n,c}$ | the row maximum (the stabilising shift) |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
| $\delta_{ij}$ | 1 if $i = j$, else 0 |
""",
    forward=r"""
For one row (drop $n$):

$$\mathrm{softmax}(x)_i = \frac{e^{x_i - m}}{\sum_j e^{x_j - m}}, \qquad \mathrm{log\_softmax}(x)_i = x_i - m - \log \sum_j e^{x_j - m}$$

Subtracting $m$ changes nothing mathematically (it cancels between numerator and
denominator) and makes every exponent $\le 0$: no overflow, and the largest term of the
sum is $e^0 = 1$, so the log never sees 0.

$$\mathrm{nll\_loss}(z, t) = -\frac{1}{N} \sum_n z_{n, t_n}, \qquad \mathrm{cross\_entropy}(x, t) = \mathrm{nll\_loss}(\mathrm{log\_softmax}(x), t) = \frac{1}{N} \sum_n \Big( \log \sum_c e^{x_{n,c}} - x_{n,t_n} \Big)$$

With class weights $w$ the mean becomes $\sum_n w_{t_n} \ell_n / \sum_n w_{t_n}$; targets equal
to `ignore_index` are left out of both sums; `label_smoothing` $\varepsilon$ replaces the one-hot
target by $(1 - \varepsilon)\,\mathrm{onehot}(t) + \varepsilon / C$.
""",
    gradients=r"""
**Softmax.** Step 1: differentiate $y_i = e^{x_i} / Z$, $Z = \sum_j e^{x_j}$, by the quotient rule:
$\frac{\partial y_i}{\partial x_j} = \frac{\delta_{ij} e^{x_i} Z - e^{x_i} e^{x_j}}{Z^2} = y_i (\delta_{ij} - y_j)$.
Step 2, chain rule over $i$:

$$\bar{x}_j = \sum_i \bar{y}_i \, y_i (\delta_{ij} - y_j) = y_j \Big( \bar{y}_j - \sum_i \bar{y}_i y_i \Big)$$

(`Softmax.backward`: `y * (g - sum(g * y))`, never forming the $C \times C$ Jacobian).

**Log-softmax.** Step 1: $\frac{\partial}{\partial x_j} \log Z = \frac{e^{x_j}}{Z} = p_j$, so
$\frac{\partial y_i}{\partial x_j} = \delta_{ij} - p_j$. Step 2:

$$\bar{x}_j = \bar{y}_j - p_j \sum_i \bar{y}_i, \qquad p = e^{y}$$

(the backward recovers $p$ from the saved output, $e^{\mathrm{log\_softmax}}$).

**NLL.** Only the picked entries appear, each with coefficient $-1/N$:
$\bar{z}_{n,c} = -\frac{\bar{L}}{N} [c = t_n]$ (times $w_{t_n} / \sum w$ with weights).

**Cross-entropy**, composing the two: $\sum_i \bar{y}_i = -\bar{L}/N$ for every row (one
non-zero entry), so

$$\frac{\partial L}{\partial x_{n,c}} = \frac{1}{N} \big( p_{n,c} - [c = t_n] \big)$$

bounded in $[-1/N, 1/N]$ however large the logits are.
""",
    pitfalls=r"""
* **Never `log(softmax(x))`**: for a logit 100 below the maximum, softmax underflows to 0 in
  float32 and the log gives $-\infty$; `log_softmax` gives $-100$ exactly.
* **Softmax of equal huge logits** (`[1000, 1000]`) is `[0.5, 0.5]` thanks to the shift; without
  it $e^{1000}$ overflows and the result is NaN.
* **`cross_entropy` takes logits**, not probabilities: applying softmax first softmaxes twice
  (the loss still decreases, but the gradient is squashed).
* **The weighted mean divides by the sum of the weights** of the targets, not by $N$
  (PyTorch's rule); with every target ignored the mean is $0/0$ = NaN and the gradient 0.
* **Saturation**: in float32, $p$ rounds to exactly 1 for a dominant class, but the
  gradient $p - \mathrm{onehot}$ stays finite and small, and `log_softmax` stays exact.
* `softmax` without `dim` picks one with PyTorch's deprecated rule and warns.
""",
    ops=OPS,
    code=(
        CodeLink("minicnn/ops/activation.py", ("Softmax", "LogSoftmax", "_shifted", "softmax", "log_softmax"),
                 "Softmax and log-softmax (shifted by the row maximum)."),
        CodeLink("minicnn/ops/loss.py", ("NLLLoss", "SoftTargetNLL", "LossMean", "cross_entropy", "nll_loss"),
                 "NLL per position, the weighted mean, cross_entropy = log_softmax + NLL, label smoothing."),
        CodeLink("minicnn/nn/loss.py", ("CrossEntropyLoss", "NLLLoss"), "The loss modules."),
    ),
    tests=(
        TestLink("tests/ops/test_activation.py::test_gradcheck_softmax", "softmax and log-softmax gradients"),
        TestLink("tests/ops/test_activation.py::test_softmax_is_stable_for_large_inputs", "the shift"),
        TestLink("tests/ops/test_activation.py::test_softmax_sums_to_one_and_log_softmax_is_its_log",
                 "the forward identities"),
        TestLink("tests/ops/test_loss.py::test_cross_entropy_matches_torch", "cross-entropy against PyTorch"),
        TestLink("tests/ops/test_loss.py::test_cross_entropy_gradcheck", "cross-entropy gradient"),
        TestLink("tests/ops/test_loss.py::test_cross_entropy_is_stable_for_huge_logits", "huge logits"),
        TestLink("tests/ops/test_loss.py::test_nll_loss_weighted_mean_divides_by_the_kept_weights",
                 "the weighted mean"),
        TestLink("tests/docs/test_cards.py::test_card_gradient_formulas_match_autograd",
                 "$p - \\mathrm{onehot}(t)$ and the softmax formulas, against autograd"),
    ),
)
