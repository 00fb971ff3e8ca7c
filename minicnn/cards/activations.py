"""Card: activation functions, incl. hard-swish and hard-sigmoid, softplus, Mish, PReLU, and
the vector normalisation F.normalize."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, TestLink


def _activation(name, title, call, module):
    return OpSpec(name=name, title=title, symbols=IMAGE, operands=(Operand("x", NCHW, "input"),),
                  output=NCHW, params="0", macs="0", call=call, module=module,
                  examples=("N=8,C=16,H=32,W=32",))


OPS = (
    _activation("relu", "max(x, 0)", "F.relu(x)", "nn.ReLU()"),
    _activation("relu6", "min(max(x, 0), 6)", "F.relu6(x)", "nn.ReLU6()"),
    _activation("leaky_relu", "x, or a x for x <= 0", "F.leaky_relu(x, 0.01)", "nn.LeakyReLU(0.01)"),
    _activation("elu", "x, or alpha (e^x - 1) for x <= 0", "F.elu(x, 1.0)", "nn.ELU(1.0)"),
    _activation("sigmoid", "1 / (1 + e^-x)", "F.sigmoid(x)", "nn.Sigmoid()"),
    _activation("tanh", "hyperbolic tangent", "F.tanh(x)", "nn.Tanh()"),
    _activation("hardsigmoid", "relu6(x + 3) / 6", "F.hardsigmoid(x)", "nn.Hardsigmoid()"),
    _activation("hardswish", "x relu6(x + 3) / 6", "F.hardswish(x)", "nn.Hardswish()"),
    _activation("silu", "x sigmoid(x) (swish)", "F.silu(x)", "nn.SiLU()"),
    _activation("gelu", "x Phi(x)", "F.gelu(x)", "nn.GELU()"),
    _activation("softplus", "log(1 + e^(beta x)) / beta, the smooth ReLU", "F.softplus(x)",
                "nn.Softplus()"),
    _activation("mish", "x tanh(softplus(x))", "F.mish(x)", "nn.Mish()"),
    OpSpec(name="prelu", title="leaky ReLU with a learned slope per channel",
           symbols=IMAGE, operands=(Operand("x", NCHW, "input"),), output=NCHW, params="C",
           macs="0", call="F.prelu(x, layer.weight)", module="nn.PReLU(C)",
           examples=("N=8,C=16,H=32,W=32",)),
    OpSpec(name="normalize", title="unit p-norm vectors along dim 1",
           symbols=IMAGE, operands=(Operand("x", NCHW, "input"),), output=NCHW,
           call="F.normalize(x, p=2.0, dim=1)", examples=("N=8,C=16,H=4,W=4",),
           notes="No layer: a parameter-free function of the whole vector along `dim`; it costs "
                 "about $3NCHW$ operations (square, sum, divide)."),
)

CARD = Card(
    key="activations",
    title="Activations: ReLU family, sigmoid/tanh, hard-sigmoid and hard-swish, SiLU, GELU, "
          "softplus, Mish, PReLU; F.normalize",
    summary=r"""
An activation acts on every element on its own: $y = f(x)$, so the backward pass is
one multiplication, $\bar{x} = \bar{y} \, f'(x)$, and the whole story of each activation is
its derivative, including what the code does at the points where $f$ has none (the
kinks of the piecewise-linear ones). Two relatives close the card: PReLU, whose negative
slope is a learned parameter (so it has a second gradient, for the slope), and
`F.normalize`, which is not elementwise: it divides a whole vector by its norm.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x, y$ | input and output, same shape |
| $f, f'$ | the activation and its derivative |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
| $s(x) = 1/(1 + e^{-x})$ | the logistic sigmoid |
| $[P]$ | 1 where $P$ holds, else 0 |
| $\mathrm{softplus}(z) = \log(1 + e^z)$ | the smooth ReLU; its derivative is $s(z)$ |
| $a_c$ | PReLU's slope for channel $c$ (dim 1), or one $a$ shared by all |
| $v$, $\|v\|_p$ | one vector along `normalize`'s `dim`, and its p-norm $(\sum_i \lvert v_i \rvert^p)^{1/p}$ |
""",
    forward=r"""
| name | $f(x)$ |
| --- | --- |
| `relu` | $\max(x, 0)$ |
| `relu6` | $\min(\max(x, 0), 6)$ |
| `leaky_relu` | $x$ for $x > 0$, $a x$ otherwise ($a$ = `negative_slope`, 0.01) |
| `elu` | $x$ for $x > 0$, $\alpha (e^x - 1)$ otherwise |
| `sigmoid` | $s(x) = 1/(1 + e^{-x})$ |
| `tanh` | $\tanh x$ |
| `hardsigmoid` | $\mathrm{relu6}(x + 3)/6$: 0 below $-3$, $x/6 + 1/2$ on $[-3, 3]$, 1 above 3 |
| `hardswish` | $x \cdot \mathrm{relu6}(x + 3)/6 = x \cdot \mathrm{hardsigmoid}(x)$ |
| `silu` | $x \, s(x)$ (swish) |
| `gelu` | $x \, \Phi(x)$, $\Phi(x) = \frac{1}{2}(1 + \mathrm{erf}(x/\sqrt{2}))$; `approximate='tanh'`: $\frac{x}{2}(1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))$ |

| `softplus` | $\mathrm{softplus}(\beta x)/\beta$, and $x$ itself where $\beta x >$ `threshold` (20) |
| `mish` | $x \tanh(\mathrm{softplus}(x))$ |
| `prelu` | $x$ for $x > 0$, $a_c x$ otherwise ($a_c$ learned, initialised to 0.25) |

`normalize` acts on vectors: $y = v / \max(\|v\|_p, \epsilon)$ for every vector $v$ along `dim`
(default $p = 2$, `dim` 1, $\epsilon = 10^{-12}$); $p = \infty$ takes $\max_i \lvert v_i \rvert$ ($-\infty$ the minimum),
$p = 0$ the count of non-zeros.

Softplus is evaluated as $\max(z, 0) + \log(1 + e^{-\lvert z \rvert})$ with $z = \beta x$: equal to
$\log(1 + e^z)$, but it exponentiates only non-positive numbers.

Hard-sigmoid and hard-swish (MobileNetV3) replace the exponential of sigmoid and swish
with a clamp: the same shape, cheap on mobile hardware, exactly 0 and 1 outside
$[-3, 3]$.
""",
    gradients=r"""
Every one is $\bar{x} = \bar{y} \odot f'(x)$, since $y_i$ depends on $x_i$ alone. The derivatives,
derived piece by piece:

* `relu`: $f' = [x > 0]$.
* `relu6`: $f' = [0 < x < 6]$.
* `leaky_relu`: $f' = 1$ for $x > 0$, $a$ otherwise.
* `elu`: $f' = 1$ for $x > 0$; for $x \le 0$, $\frac{d}{dx} \alpha(e^x - 1) = \alpha e^x$.
* `sigmoid`: $s = (1 + e^{-x})^{-1}$, so $s' = e^{-x} (1 + e^{-x})^{-2} = s \cdot \frac{e^{-x}}{1 + e^{-x}} = s (1 - s)$;
  the code reuses the saved output: $f' = y(1 - y)$.
* `tanh`: $f' = 1 - \tanh^2 x = 1 - y^2$.
* `hardsigmoid`: the middle piece $x/6 + 1/2$ has slope $\frac{1}{6}$, the flat pieces 0:
  $f' = \frac{1}{6} [-3 < x < 3]$.
* `hardswish`: product rule on the middle piece, $\frac{d}{dx} \frac{x(x + 3)}{6} = \frac{2x + 3}{6} = \frac{x}{3} + \frac{1}{2}$;
  below $-3$ $f = 0$, above 3 $f = x$:

$$f'(x) = \begin{cases} 0 & x \le -3 \\ x/3 + 1/2 & -3 < x < 3 \\ 1 & x \ge 3 \end{cases}$$

* `silu`: product rule, $f' = s(x) + x \, s(x)(1 - s(x)) = s(x)(1 + x(1 - s(x)))$.
* `gelu`: $f' = \Phi(x) + x \, \phi(x)$ with the normal density $\phi(x) = e^{-x^2/2}/\sqrt{2\pi}$; the tanh
  form differentiates its own formula (chain rule through $\tanh$).
* `softplus`: $\frac{d}{dz} \log(1 + e^z) = \frac{e^z}{1 + e^z} = s(z)$; with $z = \beta x$ the chain rule's
  $\beta$ cancels the $1/\beta$: $f' = s(\beta x)$, and 1 on the linear piece $\beta x >$ `threshold`.
* `mish`: with $t = \tanh(\mathrm{softplus}(x))$, the product rule and $\tanh' = 1 - \tanh^2$ give
  $f' = t + x (1 - t^2) \, s(x)$.
* `prelu`, input: $f' = 1$ for $x > 0$, $a_c$ otherwise (at the kink: $a_c$, as `leaky_relu`).
  Slope: $y$ depends on $a_c$ through $a_c \min(x, 0)$ only, so every element of channel $c$
  contributes, and

$$\frac{\partial L}{\partial a_c} = \sum_{n, h, w} \bar{y}_{n,c,h,w} \min(x_{n,c,h,w}, 0)$$

  (a shared $a$ sums over every element).
* `normalize`: with $n = \|v\|_p$ and $d = \max(n, \epsilon)$, the quotient rule gives
  $\frac{\partial y_i}{\partial v_j} = \frac{\delta_{ij}}{d} - \frac{v_i}{d^2} \frac{\partial d}{\partial v_j}$, so

$$\bar{v}_j = \frac{\bar{y}_j}{d} - \frac{\sum_i \bar{y}_i v_i}{d^2} [n \ge \epsilon] \frac{\partial n}{\partial v_j}, \qquad \frac{\partial n}{\partial v_j} = \operatorname{sign}(v_j) \Big(\frac{\lvert v_j \rvert}{n}\Big)^{p - 1}$$

  (below $\epsilon$ the clamp passes no gradient to the norm). For $p = 2$, $\partial n / \partial v_j = v_j / n$ and
  $\bar{v} = (\bar{y} - y (\bar{y} \cdot y)) / d$: the component of $\bar{y}$ along $y$ is removed, because
  scaling $v$ does not move $y$. For $p = \infty$ the derivative $\operatorname{sign}(v_j)$ is shared evenly by the
  entries that tie for the maximum (PyTorch's choice); for $p = 0$ it is 0.
""",
    extra=(("Kinks: which gradient is used", r"""
At a kink $f$ has no derivative, and any value between the one-sided slopes is a valid
subgradient; a framework has to pick one. minicnn takes PyTorch's (checked against
PyTorch 2.13 at exactly these points):

| function | kinks | gradient used there | middle formula there |
| --- | --- | --- | --- |
| `relu` | $x = 0$ | 0 | |
| `relu6` | $x = 0$, $x = 6$ | 0 at both (PyTorch computes it as `hardtanh(x, 0, 6)`, which passes the gradient strictly inside only) | |
| `leaky_relu` | $x = 0$ | $a$ | |
| `elu` | $x = 0$ | $\alpha$ (the left piece; smooth only when $\alpha = 1$) | |
| `prelu` | $x = 0$ | $a_c$ (and 0 to the slope's gradient, since $\min(0, 0) = 0$) | |
| `hardsigmoid` | $x = \pm 3$ | 0 at both | $1/6$ |
| `hardswish` | $x = -3$, $x = 3$ | 0 at $-3$, 1 at $3$ (the outer pieces) | $-1/2$ and $3/2$ |

The hard-swish case is the one to remember. At $x = -3$ the one-sided slopes are 0
(left) and $-1/2$ (right, the middle formula); at $x = 3$ they are $3/2$ (left, the middle
formula) and 1 (right). PyTorch takes the outer pieces, 0 and 1. Code that writes the
slope as `where(abs(x) <= 3, x/3 + 1/2, ...)` takes the middle formula's $-1/2$ and $3/2$
and disagrees with PyTorch exactly there; exact kink values are not rare (clipped or
quantised inputs, integer-valued test data).
"""), ("Two hard-sigmoids in the wild", r"""
| definition | used by | slope | saturates at |
| --- | --- | --- | --- |
| $\mathrm{relu6}(x + 3)/6 = \mathrm{clip}(x/6 + 1/2, 0, 1)$ | MobileNetV3 paper, PyTorch, Keras 3 | $1/6$ | $\pm 3$ |
| $\mathrm{clip}(0.2 x + 0.5, 0, 1)$ | Keras 2 (`tf.keras` up to TF 2.15), Theano, ONNX `HardSigmoid` with its default $\alpha = 0.2, \beta = 0.5$ | $1/5$ | $\pm 2.5$ |

Both are 0.5 at 0, but they differ everywhere else (at $x = 1$: 0.667 vs 0.7), so a
MobileNetV3 ported from Keras 2 code, or exported to ONNX with default attributes,
computes different gates and different hard-swish values. minicnn implements the first
(the paper's); the seed article's `Hsigmoid` is also the first.
""")),
    pitfalls=r"""
* **Kinks** (above): the gradient at a kink is a convention. minicnn's tests pin PyTorch's
  at the exact kink points.
* **Sigmoid tails.** $1/(1 + e^{-x})$ overflows $e^{-x}$ for $x < -88$ in float32; the result
  is still the correct limit 0 (minicnn silences the warning); $\frac{1}{2}(1 + \tanh(x/2))$
  would lose all relative accuracy in the tail instead.
* **ELU** uses `expm1` ($e^x - 1$ without cancellation near 0) on $\min(x, 0)$, so no
  positive argument ever reaches the exponential.
* **NaN** in gives NaN out; the gradient at NaN follows the comparisons in each formula and
  can differ from PyTorch's.
* **`inplace=True`** is accepted and ignored: minicnn has no version counters to detect an
  input that a later in-place write would corrupt.
* **Softplus' threshold**: above $\beta x = 20$ PyTorch (and minicnn) return $x$ itself, a jump of
  $\log(1 + e^{-20})/\beta \approx 2 \cdot 10^{-9}/\beta$: invisible in float32, but a gradient check must not
  straddle the switch for small thresholds. $\beta = 0$ is refused (PyTorch returns inf).
* **Mish** far left: $y \approx x e^x$ underflows to a float32 denormal near $x = -100$; harmless.
* **`normalize` of a zero vector** gives 0 (divided by $\epsilon$), with gradient $\bar{y}/\epsilon = 10^{12} \bar{y}$:
  finite but huge. A negative $p$ gives no norm (a zero entry makes it 0), but PyTorch accepts it
  and so does minicnn.
* **GELU** has two definitions (exact erf, tanh approximation) that differ by up to about
  $10^{-3}$; a model must be evaluated with the one it was trained with.
""",
    ops=OPS,
    code=(
        CodeLink("minicnn/ops/activation.py",
                 ("ReLU", "ReLU6", "LeakyReLU", "ELU", "Sigmoid", "Tanh", "SiLU", "GELU",
                  "Hardsigmoid", "Hardswish", "_hardswish_slope"),
                 "The Functions: each docstring gives f, f' and the kink convention."),
        CodeLink("minicnn/ops/_activation_numba.py", (),
                 "Fused multi-threaded Numba loops for large float32 arrays (tested bit for bit against the NumPy formulas)."),
        CodeLink("kernels/activation.py", (), "CUDA hardswish / hardsigmoid forward and backward."),
        CodeLink("minicnn/ops/softplus.py", ("Softplus", "Mish", "_softplus", "softplus", "mish"),
                 "Softplus (stable form, threshold) and Mish."),
        CodeLink("minicnn/ops/prelu.py", ("PReLU", "prelu"), "PReLU: both gradients."),
        CodeLink("minicnn/ops/normalize.py", ("Normalize", "_p_norm", "_norm_gradient", "normalize"),
                 "F.normalize and the norm's derivative per p."),
        CodeLink("minicnn/nn/activation.py", ("ReLU", "Hardswish", "Hardsigmoid", "Softplus", "Mish",
                                              "PReLU"), "The layers."),
    ),
    tests=(
        TestLink("tests/ops/test_activation.py::test_gradcheck_elementwise", "every $f'$ (gradcheck)"),
        TestLink("tests/ops/test_activation.py::test_torch_parity_random", "values and gradients against PyTorch"),
        TestLink("tests/ops/test_activation.py::test_torch_parity_at_kinks", "the kink gradients against PyTorch"),
        TestLink("tests/ops/test_activation.py::test_kink_gradients_are_pytorchs_convention",
                 "the kink table above"),
        TestLink("tests/ops/test_activation.py::test_hardswish_is_x_times_hardsigmoid",
                 "hardswish = x hardsigmoid(x)"),
        TestLink("tests/ops/test_activation.py::test_sigmoid_is_accurate_and_quiet_in_the_tails", "sigmoid tails"),
        TestLink("tests/docs/test_cards.py::test_card_gradient_formulas_match_autograd",
                 "the derivatives on this card, coded from the card, against autograd"),
        TestLink("tests/docs/test_cards.py::test_two_hard_sigmoids_differ_as_the_card_says",
                 "the two hard-sigmoid definitions"),
        TestLink("tests/ops/test_softplus_mish_prelu.py::test_softplus_threshold_switch_and_tails_match_torch",
                 "softplus' threshold and tails"),
        TestLink("tests/ops/test_softplus_mish_prelu.py::test_prelu_gradcheck_input_and_slope",
                 "both PReLU gradients"),
        TestLink("tests/ops/test_softplus_mish_prelu.py::test_prelu_slope_gradient_is_the_sum_of_negative_parts_per_channel",
                 "the slope's gradient formula"),
        TestLink("tests/ops/test_normalize.py::test_normalize_gradcheck", "normalize for every p"),
        TestLink("tests/ops/test_normalize.py::test_unit_norm_and_the_p2_gradient_is_a_projection",
                 "the projection form for p = 2"),
        TestLink("tests/ops/test_normalize.py::test_zero_vectors_and_the_eps_clamp_match_torch",
                 "the eps clamp"),
    ),
)
