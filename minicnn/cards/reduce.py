"""Card: reductions."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, TestLink

_OUT = ("N", "H", "W")  # reducing (N, C, H, W) over dim 1


def _reduction(name, title, call):
    return OpSpec(name=name, title=f"{title}, here over dim 1", symbols=IMAGE,
                  operands=(Operand("x", NCHW),), output=_OUT, call=call, examples=("N=2,C=3,H=4,W=4",))


OPS = (
    _reduction("sum", "sum", "F.sum(x, dim=1)"),
    _reduction("mean", "mean", "F.mean(x, dim=1)"),
    _reduction("var", "variance (correction 1 by default)", "F.var(x, dim=1)"),
    _reduction("std", "standard deviation", "F.std(x, dim=1)"),
    _reduction("norm", "vector p-norm (p=2 by default)", "F.norm(x, dim=1)"),
    _reduction("amax", "maximum (ties share the gradient)", "F.amax(x, dim=1)"),
    _reduction("amin", "minimum (ties share the gradient)", "F.amin(x, dim=1)"),
    _reduction("max", "maximum and its index (the gradient goes to the index)", "F.max(x, dim=1).values"),
    _reduction("min", "minimum and its index", "F.min(x, dim=1).values"),
    _reduction("argmax", "index of the maximum (no gradient)", "F.argmax(x, dim=1)"),
    _reduction("argmin", "index of the minimum (no gradient)", "F.argmin(x, dim=1)"),
)

CARD = Card(
    key="reduce",
    title="Reductions: sum, mean, var/std, norm, max/min, argmax/argmin",
    summary=r"""
A reduction collapses the axes $D$ of its input into one number per remaining
position. Its backward does the opposite of its forward: it broadcasts the upstream
gradient back over the reduced axes, weighted by how much each input element counted.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x$ | input of shape $S$ |
| $D$ | the reduced axes (`dim`; None or `()` means all) |
| $n = \prod_{d \in D} S_d$ | elements per output element |
| $\mathrm{bcast}(g)$ | $g$ with the reduced axes re-inserted (size 1) and stretched back to $S$ |
| $c$ | `correction` of `var`/`std` (1 by default: Bessel's; 0: the biased variance) |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
""",
    forward=r"""
$$\mathrm{sum}_D\, x, \qquad \mathrm{mean} = \frac{1}{n} \sum_D x, \qquad \mathrm{var} = \frac{1}{n - c} \sum_D (x - \mathrm{mean})^2, \qquad \mathrm{std} = \sqrt{\mathrm{var}}$$

$$\mathrm{norm}_p = \Big(\sum_D \lvert x \rvert^p\Big)^{1/p} \quad (p > 0;\ p = \infty: \max_D \lvert x \rvert,\ p = 0: \text{the count of non-zeros})$$

`amax`/`amin` take the extreme value over $D$ (several axes allowed); `max(x, dim)` /
`min(x, dim)` return `(values, indices)` along one axis; `argmax`/`argmin` the first index
of the extremum. The output has shape $S$ without $D$ (`keepdim=True`: with size 1 there).
""",
    gradients=r"""
* **sum**: every input element counts once: $\bar{x} = \mathrm{bcast}(\bar{y})$.
* **mean**: each counts $1/n$: $\bar{x} = \mathrm{bcast}(\bar{y}) / n$.
* **var**: Step 1, write $v = \frac{1}{n - c} \sum_i (x_i - m)^2$ with $m$ the mean. Step 2,
  $\frac{\partial v}{\partial x_j} = \frac{2}{n - c} \Big[ (x_j - m) - \frac{1}{n} \sum_i (x_i - m) \Big]$,
  the second term from $m$'s dependence on $x_j$. Step 3, centred values sum to zero, so it vanishes:
  $\bar{x} = \mathrm{bcast}(\bar{y}) \cdot \frac{2 (x - m)}{n - c}$.
* **std**: chain rule through the square root: $\bar{x} = \mathrm{bcast}\big(\bar{y} / (2\,\mathrm{std})\big) \cdot \frac{2(x - m)}{n - c}$.
* **norm**: Step 1, $\partial \lvert x_j \rvert^p / \partial x_j = p\, \mathrm{sign}(x_j) \lvert x_j \rvert^{p-1}$.
  Step 2, the chain rule through the power $1/p$: $\frac{\partial y}{\partial x_j} = \frac{1}{p} y^{1-p} \cdot p\, \mathrm{sign}(x_j) \lvert x_j \rvert^{p-1}$,
  so $\bar{x} = \mathrm{bcast}(\bar{y}) \cdot \mathrm{sign}(x) \lvert x \rvert^{p-1} / \mathrm{bcast}(y)^{p-1}$
  ($p = 2$: $\bar{y}\, x / y$; $p = 1$: $\bar{y}\, \mathrm{sign}(x)$). Where $y = 0$ this is $0/0$: the gradient is taken
  as 0 there, the subgradient PyTorch uses. $p = \infty$ is `amax` of $\lvert x \rvert$ (ties share).
* **amax/amin** and full `max()`/`min()`: $\bar{x} = \mathrm{bcast}(\bar{y}) \cdot \frac{[x = y]}{\#\{x = y\}}$,
  tied extrema share the gradient evenly.
* **max/min along a dim**: the whole gradient goes to the returned index (the first extremum).
* **argmax/argmin** are piecewise constant: no gradient.
""",
    pitfalls=r"""
* **Biased or unbiased.** `var`/`std` default to $c = 1$ (divide by $n - 1$), as PyTorch;
  batch norm normalises with $c = 0$ (see the [batch norm card](batch_norm.md)). $n - c \le 0$
  divides by zero (inf or NaN, as PyTorch).
* **One pass is not enough**: $E[x^2] - E[x]^2$ cancels catastrophically in float32;
  minicnn centres first.
* **std at zero variance** has an infinite slope: its gradient is NaN there (PyTorch too).
* **Two tie rules**: `amax` (and `max()` without dim) share the gradient among ties,
  `max(x, dim)` gives it all to one index; both are PyTorch's.
""",
    ops=OPS,
    code=(CodeLink("minicnn/ops/reduce.py", ("Sum", "Mean", "Var", "Norm", "AMax", "MaxAlongDim",
                                             "_expand"),
                   "The Functions and their broadcasting backward."),),
    tests=(
        TestLink("tests/ops/test_reduce.py::test_sum_mean_gradcheck_and_torch", "sum and mean"),
        TestLink("tests/ops/test_reduce.py::test_var_matches_the_textbook_formula", "the variance formula"),
        TestLink("tests/ops/test_reduce.py::test_var_std_gradcheck_and_torch", "var and std gradients"),
        TestLink("tests/ops/test_reduce.py::test_ties_match_torch", "the tie rules"),
        TestLink("tests/ops/test_expand_repeat_norm.py::test_norm", "norm"),
        TestLink("tests/ops/test_reduce.py::test_max_with_dim_returns_values_and_indices", "max along a dim"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "the output shapes against the engine"),
    ),
)
