"""Card: squeeze-and-excitation."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, Symbol, TestLink

SQUEEZE_EXCITATION = OpSpec(
    name="squeeze_excitation", title="channel gates from globally pooled features (a layer)",
    symbols=IMAGE + (Symbol("S", "squeeze channels (C/r for a reduction ratio r)"),),
    operands=(Operand("x", NCHW, "input"),),
    output=NCHW,
    params="2 * C * S + S + C", macs="2 * N * C * S",
    call="layer(x)", module="nn.SqueezeExcitation(C, S)",
    examples=("N=1,C=64,H=56,W=56,S=16", "N=8,C=96,H=28,W=28,S=24"),
    notes="The two $1 \\times 1$ convolutions act on $1 \\times 1$ maps, so SE adds few MACs "
          "by the convolution count; its real cost is two passes over the feature map: "
          "$NCHW$ additions for the pool and $NCHW$ multiplications for the gating.",
)

CARD = Card(
    key="squeeze_excitation",
    title="Squeeze-and-excitation",
    summary=r"""
Squeeze-and-excitation (Hu et al., 2018) rescales every channel by a gate in $(0, 1)$
computed from the whole image: average-pool each channel to one number ("squeeze"),
pass the $C$ numbers through a small two-layer bottleneck ("excitation"), and multiply
each channel by its gate. It is a composition of operators minicnn already has
(adaptive average pooling, $1 \times 1$ convolutions, an activation, a broadcast
multiply), so autograd derives its gradient; this card spells that chain out.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x$ | input $(N, C, H, W)$ |
| $S$ | squeeze width; $r = C/S$ is the reduction ratio |
| $W_1, b_1$ | `fc1`: $(S, C)$ and $(S,)$ ($1 \times 1$ conv with bias, torchvision's layout) |
| $W_2, b_2$ | `fc2`: $(C, S)$ and $(C,)$ |
| $\delta$ | the inner activation (ReLU; SiLU in EfficientNet) |
| $\sigma$ | the gate: sigmoid, or hardsigmoid $\mathrm{relu6}(t + 3)/6$ in MobileNetV3 |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
""",
    forward=r"""
Per sample $n$ (vectors over channels):

$$z_c = \frac{1}{HW} \sum_{h,w} x_{c,h,w}, \qquad u = W_1 z + b_1, \qquad a = \delta(u), \qquad t = W_2 a + b_2, \qquad e = \sigma(t)$$

$$y_{c,h,w} = e_c \, x_{c,h,w}$$

$z$ is $(C,)$, $u$ and $a$ are $(S,)$, $t$ and $e$ are $(C,)$: one gate per channel,
broadcast over the image.
""",
    gradients=r"""
$x$ reaches $y$ twice: directly, and through the gate (via $z$). Follow the chain
backwards.

Step 1, the product: $\bar{x}^{\text{direct}}_{c,h,w} = \bar{y}_{c,h,w} \, e_c$ and
$\bar{e}_c = \sum_{h,w} \bar{y}_{c,h,w} \, x_{c,h,w}$ (the gate was broadcast over $(h, w)$, so its
gradient sums over them).

Step 2, the gate: $\bar{t} = \bar{e} \odot \sigma'(t)$ with $\sigma'(t) = e (1 - e)$ for the sigmoid,
and $\frac{1}{6}[-3 < t < 3]$ for the hardsigmoid.

Step 3, the second layer: $\bar{W}_2 = \bar{t} \, a^\top$, $\bar{b}_2 = \bar{t}$, $\bar{a} = W_2^\top \bar{t}$.

Step 4, the inner activation: $\bar{u} = \bar{a} \odot \delta'(u)$ ($[u > 0]$ for ReLU).

Step 5, the first layer: $\bar{W}_1 = \bar{u} \, z^\top$, $\bar{b}_1 = \bar{u}$, $\bar{z} = W_1^\top \bar{u}$
(all weight gradients summed over the batch).

Step 6, the pool spreads $\bar{z}_c$ evenly over the $HW$ pixels it averaged, and the two paths add:

$$\frac{\partial L}{\partial x_{c,h,w}} = \bar{y}_{c,h,w} \, e_c + \frac{\bar{z}_c}{HW}$$
""",
    pitfalls=r"""
* **The gate must be able to close.** With $\sigma$ applied directly to $t$ the gate covers
  $(0, 1)$. Putting a ReLU on $t$ first (the seed article's excitation) clamps
  $t \ge 0$, so every gate is at least $\sigma(0) = 0.5$ (and hardsigmoid's $\mathrm{relu6}(3)/6 = 0.5$):
  the block can only halve a channel, never switch it off
  ([erratum 8](../article-errata.md)).
* **Saturated gates learn nothing through the gate**: hardsigmoid has zero slope outside
  $(-3, 3)$, the sigmoid almost zero for large $|t|$.
* **The squeeze width has three conventions**: SENet uses $S = C/16$; MobileNetV3
  `make_divisible(E/4, 8)` of the *expanded* width $E$; EfficientNet $\max(1, C_{in}/4)$ of the
  block's *input* width (not of $E$, not of the output width).
* **Two hardsigmoids** exist (see the [activations card](activations.md)): MobileNetV3's
  $\mathrm{relu6}(t+3)/6$ and Keras 2's $\mathrm{clip}(0.2 t + 0.5, 0, 1)$; weights trained with one
  gate give different gates with the other.
* `fc1`/`fc2` as $1 \times 1$ convolutions (torchvision) or as `Linear` layers hold the same
  numbers in different shapes: $(S, C, 1, 1)$ vs $(S, C)$.
""",
    ops=(SQUEEZE_EXCITATION,),
    code=(
        CodeLink("minicnn/nn/squeeze_excitation.py", ("SqueezeExcitation",),
                 "The layer (torchvision's names: avgpool, fc1, fc2, activation, scale_activation)."),
        CodeLink("minicnn/ops/pooling.py", ("AdaptiveAvgPool2d",), "The squeeze."),
        CodeLink("minicnn/ops/activation.py", ("Sigmoid", "Hardsigmoid"), "The gates."),
        CodeLink("kernels/se.py", (), "CUDA channel scaling and its backward."),
        CodeLink("minicnn/article/se.py", ("ArticleSEBlock",), "The seed article's SE, as its code computes it."),
    ),
    tests=(
        TestLink("tests/nn/test_layers.py::test_squeeze_excitation_matches_torchvision_structure",
                 "the layer against torchvision's"),
        TestLink("tests/docs/test_article.py::test_article_se_gates_never_go_below_one_half",
                 "the article's gates $\\ge 0.5$, the paper's reach below"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "shape, parameter and MAC formulas against the engine"),
        TestLink("tests/docs/test_cards.py::test_se_gradient_chain_matches_autograd",
                 "the six-step gradient above, against autograd"),
    ),
)
