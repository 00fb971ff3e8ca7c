"""Card: dropout and channel dropout (dropout2d)."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, TestLink

DROPOUT = OpSpec(
    name="dropout", title="zero elements at random while training, rescale the rest",
    symbols=IMAGE, operands=(Operand("x", NCHW),), output=NCHW, params="0", macs="0",
    call="F.dropout(x, p=0.5, training=True)", module="nn.Dropout(0.5)",
    examples=("N=32,C=1280,H=1,W=1",),
)

DROPOUT2D = OpSpec(
    name="dropout2d", title="zero whole channels at random while training, rescale the rest",
    symbols=IMAGE, operands=(Operand("x", NCHW),), output=NCHW, params="0", macs="0",
    call="F.dropout2d(x, p=0.5, training=True)", module="nn.Dropout2d(0.5)",
    examples=("N=32,C=64,H=8,W=8",),
)

CARD = Card(
    key="dropout",
    title="Dropout and channel dropout (dropout2d)",
    summary=r"""
Dropout multiplies every element by an independent random mask during training: 0 with
probability $p$, $1/(1 - p)$ otherwise ("inverted" dropout). The rescaling keeps the
expected value of every element, so evaluation needs no correction: there dropout is the identity.
`dropout2d` draws one mask value per channel $x_{n,c}$ instead of per element: neighbouring
pixels of a feature map are strongly correlated, so dropping single pixels removes little
information, while dropping the whole map forces the next layer not to rely on any one channel.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $p$ | drop probability |
| $b_i \sim \mathrm{Bernoulli}(1 - p)$ | keep (1) or drop (0), independently per element |
| $m_i = b_i / (1 - p)$ | the mask |
| $m_{n,c}$ | dropout2d's mask: one value per sample and channel, shared by the $H \times W$ map |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
""",
    forward=r"""
$$y_i = x_i \, m_i, \qquad E[y_i] = x_i (1 - p) \frac{1}{1 - p} = x_i$$

Channel dropout: $y_{n,c,h,w} = x_{n,c,h,w} \, m_{n,c}$, the mask of shape $(N, C, 1, 1)$
broadcast over the map; $E[y] = x$ as before.

In evaluation (`training=False`), or with $p = 0$, $y = x$ (the input itself is returned);
$p = 1$ gives zeros. The mask is drawn from minicnn's global generator, so
`minicnn.manual_seed` repeats it.
""",
    gradients=r"""
For a fixed mask $y$ is linear in $x$ with $\partial y_i / \partial x_i = m_i$:

$$\frac{\partial L}{\partial x_i} = \bar{y}_i \, m_i$$

the same mask as the forward (saved), zero where the element was dropped. The mask is an
input without a gradient. For `dropout2d` the same product rule holds with the broadcast mask,
$\partial L / \partial x_{n,c,h,w} = \bar{y}_{n,c,h,w} \, m_{n,c}$: a dropped channel gets gradient 0 at every pixel.
""",
    pitfalls=r"""
* **Inverted vs original dropout**: the original paper scaled by $1 - p$ at test time instead;
  weights trained one way are off by that factor the other way.
* **Train/eval mode**: forgetting `model.eval()` keeps dropping at inference.
* **The variance changes** even though the mean does not: $\mathrm{Var}[y_i] = x_i^2 \, p / (1 - p)$; this is
  why batch norm after dropout sees different statistics in training and evaluation.
* **`dropout2d` on a 3-D input** treats it as $(N, C, L)$ (channel-wise 1-D dropout), *not* as an
  unbatched $(C, H, W)$: PyTorch 2.13's behaviour, with its warning that this will change, and
  minicnn's. Other ranks than 3 and 4 warn as deprecated; fewer than 2 dims is an error.
* A gradient check must redraw the same mask for every evaluation (reseed), or it compares
  different functions.
""",
    ops=(DROPOUT, DROPOUT2D),
    code=(CodeLink("minicnn/ops/dropout.py", ("Dropout", "dropout", "dropout2d", "_mask"),
                   "The Function and the masks."),
          CodeLink("minicnn/nn/dropout.py", ("Dropout", "Dropout2d"), "The layers.")),
    tests=(
        TestLink("tests/ops/test_dropout.py::test_kept_elements_are_scaled_by_one_over_keep_probability",
                 "the $1/(1-p)$ scaling"),
        TestLink("tests/ops/test_dropout.py::test_mean_and_drop_rate_are_right_statistically", "$E[y] = x$"),
        TestLink("tests/ops/test_dropout.py::test_gradient_is_mask_times_scale", "the gradient"),
        TestLink("tests/ops/test_dropout.py::test_p_zero_and_eval_are_the_identity", "evaluation mode"),
        TestLink("tests/ops/test_dropout.py::test_dropout2d_drops_whole_channels_and_scales_the_rest",
                 "whole channels, scaled by $1/(1-p)$"),
        TestLink("tests/ops/test_dropout.py::test_dropout2d_rank_handling_and_warnings_follow_torch",
                 "the 3-D and other-rank behaviour"),
    ),
)
