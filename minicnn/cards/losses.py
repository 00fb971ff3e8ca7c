"""Card: regression, binary and distribution losses (mse, l1, smooth l1, Huber, BCE with and
without logits, KL divergence) and one_hot."""
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
    OpSpec(name="l1_loss", title="mean absolute error",
           symbols=_SHAPE, operands=(Operand("x", ("N", "D"), "prediction"), Operand("target", ("N", "D"))),
           output=(), call="F.l1_loss(x, target)", examples=("N=32,D=4",)),
    OpSpec(name="smooth_l1_loss", title="quadratic below beta, absolute error above, over beta",
           symbols=_SHAPE, operands=(Operand("x", ("N", "D"), "prediction"), Operand("target", ("N", "D"))),
           output=(), call="F.smooth_l1_loss(x, target, beta=1.0)", examples=("N=32,D=4",)),
    OpSpec(name="huber_loss", title="quadratic below delta, delta-scaled absolute error above",
           symbols=_SHAPE, operands=(Operand("x", ("N", "D"), "prediction"), Operand("target", ("N", "D"))),
           output=(), call="F.huber_loss(x, target, delta=1.0)", examples=("N=32,D=4",)),
    OpSpec(name="binary_cross_entropy", title="binary cross-entropy of probabilities (logs clamped at -100)",
           symbols=_SHAPE, operands=(Operand("x", ("N", "D"), "probabilities", kind="positive"),
                                     Operand("target", ("N", "D"), "probabilities", kind="positive")),
           output=(), call="F.binary_cross_entropy(x - 0.5, target - 0.5)", examples=("N=32,D=4",),
           notes="(The engine call shifts both operands from $[0.5, 1.5)$ into $[0, 1)$.)"),
    OpSpec(name="kl_div", title="KL divergence of the target from exp(input), per sample",
           symbols=_SHAPE, operands=(Operand("x", ("N", "D"), "log-probabilities"),
                                     Operand("target", ("N", "D"), "probabilities", kind="positive")),
           output=(), call="F.kl_div(x, target, reduction='batchmean')", examples=("N=32,D=4",)),
    OpSpec(name="one_hot", title="class indices as rows of the identity (int64, no gradient)",
           symbols=(Symbol("N", "batch size", 1), Symbol("C", "classes")),
           operands=(Operand("target", ("N",), "class indices", kind="index", high="C"),),
           output=("N", "C"), call="F.one_hot(target, C)", examples=("N=32,C=10",)),
)

CARD = Card(
    key="losses",
    title="Losses: MSE, L1, smooth L1, Huber, binary cross-entropy, KL divergence; one_hot",
    summary=r"""
Elementwise losses reduced to a mean (or a sum, or left per element with
`reduction='none'`): the squared error for regression and its robust relatives (L1, smooth
L1, Huber: quadratic near the target, linear far from it, so an outlier's gradient stays
bounded); the binary cross-entropy for independent yes/no targets, on probabilities or on
logits (where the sigmoid and the logarithm combine into a form that never overflows); and
the KL divergence between distributions (distillation, VAEs). `one_hot` turns class indices
into the dense targets some of these take. (Cross-entropy over classes and NLL are on the
[softmax card](softmax_cross_entropy.md).)
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x, t$ | prediction (or logit) and target, same shape, $n$ elements |
| $s(x) = 1/(1 + e^{-x})$ | the sigmoid |
| $\mathrm{softplus}(z) = \log(1 + e^z)$ | |
| $w$, $p$ | BCE's element weight and positive-class weight (`pos_weight`), 1 when absent |
| $d_i = x_i - t_i$ | the error |
| $\delta$, $\beta$ | Huber's `delta` and smooth L1's `beta`: where quadratic turns linear |
| $q$ (or $\log q$), $\log r$ | KL's target distribution and its input log-probabilities |
| $\bar{L}$ | the upstream gradient of the (scalar) loss |
""",
    forward=r"""
$$\mathrm{mse}(x, t) = \frac{1}{n} \sum_i (x_i - t_i)^2$$

$$\ell_i = -w_i \big[ p \, t_i \log s(x_i) + (1 - t_i) \log(1 - s(x_i)) \big], \qquad \mathrm{bce}(x, t) = \frac{1}{n} \sum_i \ell_i$$

Rewritten with $\log s(x) = -\mathrm{softplus}(-x)$ and $\log(1 - s(x)) = -x - \mathrm{softplus}(-x)$:

$$\ell_i = w_i \big[ (1 - t_i) x_i + (1 + (p - 1) t_i) \, \mathrm{softplus}(-x_i) \big], \qquad \mathrm{softplus}(-x) = \max(-x, 0) + \log(1 + e^{-|x|})$$

which exponentiates only non-positive numbers and never takes the log of 0.

**Robust regression.** With the Huber function $h_\delta(d) = \frac{1}{2} d^2$ for $\lvert d \rvert < \delta$ and
$\delta (\lvert d \rvert - \frac{1}{2} \delta)$ otherwise (the two pieces meet with equal value and slope at $\lvert d \rvert = \delta$):

$$\mathrm{l1}: \ell_i = \lvert d_i \rvert, \qquad \mathrm{huber}: \ell_i = h_\delta(d_i), \qquad \mathrm{smooth\_l1}: \ell_i = \frac{h_\beta(d_i)}{\beta}$$

so smooth L1 is Huber divided by its threshold (equal for $\delta = \beta = 1$), and $\beta = 0$ is L1
exactly. An optional per-element `weight` multiplies $\ell_i$; the weighted `'mean'` divides by
$\sum_i w_i$ for `l1_loss` and `mse_loss` but by $n$ for `huber_loss` (PyTorch 2.13's rules).

**BCE on probabilities** (`binary_cross_entropy`, input $x \in [0, 1]$):

$$\ell_i = -w_i \big[ t_i \max(\log x_i, -100) + (1 - t_i) \max(\log(1 - x_i), -100) \big]$$

The clamp is PyTorch's: a confidently wrong prediction ($x = 0$, $t = 1$) costs 100, not $\infty$.

**KL divergence** (`kl_div`, input $\log r$; target $q$, or $\log q$ with `log_target=True`):

$$\ell_i = q_i (\log q_i - \log r_i), \quad 0 \log 0 = 0; \qquad \text{log\_target}: \ell_i = e^{\log q_i} (\log q_i - \log r_i)$$

and `reduction='batchmean'` gives $\frac{1}{N} \sum_i \ell_i = \frac{1}{N} \sum_n \mathrm{KL}(q_n \| r_n)$, the divergence per
sample; `'mean'` divides by the element count instead (not a KL divergence; both engines warn).

**one_hot**: $\mathrm{onehot}(t)_{n,c} = [c = t_n]$, int64, shape $(N, C)$ with $C$ = `num_classes` or
$\max_n t_n + 1$ for the default $-1$.
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

**L1.** $\frac{d}{dd} \lvert d \rvert = \operatorname{sign}(d)$, with $\operatorname{sign}(0) = 0$ at the kink (PyTorch's):
$\bar{x}_i = \bar{\ell}_i \operatorname{sign}(d_i)$, $\bar{t}_i = -\bar{x}_i$.

**Huber and smooth L1.** Piece by piece, $h_\delta'(d) = d$ for $\lvert d \rvert < \delta$ and $\delta \operatorname{sign}(d)$ otherwise,
which is one formula:

$$h_\delta'(d) = \mathrm{clip}(d, -\delta, \delta), \qquad \bar{x}_i = \bar{\ell}_i \, \mathrm{clip}(d_i, -\delta, \delta) \ (\text{Huber}), \quad \bar{x}_i = \bar{\ell}_i \, \mathrm{clip}(d_i, -\beta, \beta)/\beta \ (\text{smooth L1})$$

continuous at $\lvert d \rvert = \delta$ (no kink convention needed), bounded by $\delta$ (by 1 for smooth L1):
an outlier pulls no harder than any other far point. $\bar{t} = -\bar{x}$.

**BCE on probabilities.** $\frac{\partial}{\partial x} [-t \log x - (1 - t) \log(1 - x)] = -\frac{t}{x} + \frac{1 - t}{1 - x} = \frac{x - t}{x (1 - x)}$,
so $\bar{x}_i = \bar{\ell}_i w_i (x_i - t_i) / \max(x_i (1 - x_i), 10^{-12})$ (PyTorch keeps the denominator at least
$10^{-12}$: finite at $x \in \{0, 1\}$). Linear in $t$: $\bar{t}_i = \bar{\ell}_i w_i [\log(1 - x_i) - \log x_i]$, unclamped.
Composed with a sigmoid, $x = s(z)$, $dx/dz = x(1 - x)$ cancels the denominator and
$\bar{z} = \bar{\ell} w (s(z) - t)$: the logits version's gradient, which is why that version is preferred.

**KL divergence.** $\ell = q \log q - q \log r$ is linear in $\log r$: $\overline{\log r} = -\bar{\ell} \, q$. With respect to the
target, $\frac{\partial}{\partial q} (q \log q - q \log r) = \log q + 1 - \log r$; with `log_target`,
$\ell = e^{u}(u - \log r)$ for $u = \log q$ and the product rule gives $\bar{u} = \bar{\ell} \, e^{u} (u - \log r + 1)$, while
$\overline{\log r} = -\bar{\ell} \, e^{u}$. `'batchmean'` divides every one by $N$.

**one_hot** has no gradient (integers in and out).
""",
    pitfalls=r"""
* **Never `log(sigmoid(x))`**: $s(x)$ rounds to 1 for $x > 17$ in float32 and to 0 for
  $x < -104$, where the log becomes $-\infty$; the softplus form stays exact.
* `reduction='mean'` divides by the number of *elements*, not the batch size.
* **`binary_cross_entropy` on a sigmoid output** saturates: $s(x)$ is exactly 1 in float32 for
  $x > 17$, the clamp then caps the loss at 100 and the gradient vanishes. Use
  `binary_cross_entropy_with_logits` on the logits instead.
* **KL at a zero target**: $0 \log 0 = 0$ (no loss, no input gradient), but the *target* gradient
  $\log q + 1 - \log r$ is $-\infty$ there (minicnn gives the limit; PyTorch gives NaN, from $0/0$ in
  its `xlogy` backward). A learned target distribution should be passed as log-probabilities
  (`log_target=True`).
* **KL's `'mean'`** divides by $N \cdot D$, not $N$: it is $1/D$ of the divergence. Use `'batchmean'`.
* **Huber vs smooth L1**: the same curve up to the factor $\delta$; with $\delta = \beta \ne 1$ their
  values and gradients differ by that factor, which changes the effective learning rate.
* `one_hot` takes int64 indices only (as PyTorch); `num_classes=-1` reads the largest index,
  so a batch that lacks the last class yields fewer columns: pass `num_classes`.
* minicnn's losses refuse operands of different shapes (PyTorch broadcasts them with a
  warning, which silently computes a different loss for a $(N, 1)$ vs $(N,)$ mix-up).
""",
    ops=OPS,
    code=(
        CodeLink("minicnn/ops/loss.py", ("SquaredError", "BCEWithLogits", "LossMean", "mse_loss",
                                         "binary_cross_entropy_with_logits"),
                 "Per-element losses and the reduction."),
        CodeLink("minicnn/ops/loss_regression.py", ("AbsoluteError", "Huber", "l1_loss",
                                                    "smooth_l1_loss", "huber_loss"),
                 "L1 and the Huber family."),
        CodeLink("minicnn/ops/loss_probability.py", ("BinaryCrossEntropy", "KLDivergence",
                                                     "binary_cross_entropy", "kl_div"),
                 "BCE on probabilities (the -100 clamp) and the KL divergence."),
        CodeLink("minicnn/ops/one_hot.py", ("one_hot",), "one_hot."),
        CodeLink("minicnn/nn/loss.py", ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
                                        "BCEWithLogitsLoss", "KLDivLoss"), "The modules."),
    ),
    tests=(
        TestLink("tests/ops/test_loss.py::test_mse_loss_gradcheck", "MSE gradients"),
        TestLink("tests/ops/test_loss.py::test_bce_with_logits_gradcheck", "BCE gradients"),
        TestLink("tests/ops/test_loss.py::test_bce_with_logits_is_finite_for_huge_logits", "the stable form"),
        TestLink("tests/ops/test_loss.py::test_bce_with_logits_matches_torch", "PyTorch parity"),
        TestLink("tests/ops/test_loss.py::test_mse_loss_never_broadcasts", "no silent broadcasting"),
        TestLink("tests/ops/test_loss_regression.py::test_gradcheck", "L1, smooth L1 and Huber gradients"),
        TestLink("tests/ops/test_loss_regression.py::test_the_family_identities",
                 "smooth L1 = Huber / beta, the clip gradient, beta = 0 is L1"),
        TestLink("tests/ops/test_loss_regression.py::test_weighted_means_follow_torch_2_13",
                 "the two weighted means"),
        TestLink("tests/ops/test_loss_probability.py::test_bce_clamp_and_edges_match_torch",
                 "the -100 clamp and the 1e-12 denominator"),
        TestLink("tests/ops/test_loss_probability.py::test_kl_div_gradcheck", "KL gradients, both target forms"),
        TestLink("tests/ops/test_loss_probability.py::test_kl_div_batchmean_is_the_kl_divergence_per_sample",
                 "'batchmean' is the KL divergence"),
        TestLink("tests/ops/test_loss_probability.py::test_one_hot_matches_torch", "one_hot"),
        TestLink("tests/docs/test_cards.py::test_card_gradient_formulas_match_autograd",
                 "the L1, Huber, smooth L1, BCE and KL gradients on this card, coded from the card, "
                 "against autograd"),
    ),
)
