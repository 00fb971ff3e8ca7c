"""Card: dropout."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, TestLink

DROPOUT = OpSpec(
    name="dropout", title="zero elements at random while training, rescale the rest",
    symbols=IMAGE, operands=(Operand("x", NCHW),), output=NCHW, params="0", macs="0",
    call="F.dropout(x, p=0.5, training=True)", module="nn.Dropout(0.5)",
    examples=("N=32,C=1280,H=1,W=1",),
)

CARD = Card(
    key="dropout",
    title="Dropout",
    summary=r"""
Dropout multiplies every element by an independent random mask during training: 0 with
probability $p$, $1/(1 - p)$ otherwise ("inverted" dropout). The rescaling keeps the
expected value of every element, so evaluation needs no correction: there dropout is the identity.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $p$ | drop probability |
| $b_i \sim \mathrm{Bernoulli}(1 - p)$ | keep (1) or drop (0), independently per element |
| $m_i = b_i / (1 - p)$ | the mask |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
""",
    forward=r"""
$$y_i = x_i \, m_i, \qquad E[y_i] = x_i (1 - p) \frac{1}{1 - p} = x_i$$

In evaluation (`training=False`), or with $p = 0$, $y = x$ (the input itself is returned);
$p = 1$ gives zeros. The mask is drawn from minicnn's global generator, so
`minicnn.manual_seed` repeats it.
""",
    gradients=r"""
For a fixed mask $y$ is linear in $x$ with $\partial y_i / \partial x_i = m_i$:

$$\frac{\partial L}{\partial x_i} = \bar{y}_i \, m_i$$

the same mask as the forward (saved), zero where the element was dropped. The mask is an
input without a gradient.
""",
    pitfalls=r"""
* **Inverted vs original dropout**: the original paper scaled by $1 - p$ at test time instead;
  weights trained one way are off by that factor the other way.
* **Train/eval mode**: forgetting `model.eval()` keeps dropping at inference.
* **The variance changes** even though the mean does not: $\mathrm{Var}[y_i] = x_i^2 \, p / (1 - p)$; this is
  why batch norm after dropout sees different statistics in training and evaluation.
* A gradient check must redraw the same mask for every evaluation (reseed), or it compares
  different functions.
""",
    ops=(DROPOUT,),
    code=(CodeLink("minicnn/ops/dropout.py", ("Dropout", "dropout", "_mask"), "The Function and the mask."),
          CodeLink("minicnn/nn/dropout.py", ("Dropout",), "The layer.")),
    tests=(
        TestLink("tests/ops/test_dropout.py::test_kept_elements_are_scaled_by_one_over_keep_probability",
                 "the $1/(1-p)$ scaling"),
        TestLink("tests/ops/test_dropout.py::test_mean_and_drop_rate_are_right_statistically", "$E[y] = x$"),
        TestLink("tests/ops/test_dropout.py::test_gradient_is_mask_times_scale", "the gradient"),
        TestLink("tests/ops/test_dropout.py::test_p_zero_and_eval_are_the_identity", "evaluation mode"),
    ),
)
