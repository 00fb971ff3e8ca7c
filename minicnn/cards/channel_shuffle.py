"""Card: channel shuffle (ShuffleNet)."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, Symbol, TestLink

CHANNEL_SHUFFLE = OpSpec(
    name="channel_shuffle", title="permute channels between groups",
    symbols=IMAGE + (Symbol("g", "groups (divides C)", 2),),
    operands=(Operand("x", NCHW, "input"),),
    output=NCHW, params="0", macs="0",
    call="F.channel_shuffle(x, g)", module="nn.ChannelShuffle(g)",
    constraints=(("C % g == 0", "g must divide C"),),
    examples=("N=1,C=116,H=28,W=28,g=2", "N=2,C=12,H=4,W=4,g=3"),
    notes="No arithmetic at all: the cost is one read and one write of every element "
          "(the memory traffic ShuffleNetV2 counts).",
)

CARD = Card(
    key="channel_shuffle",
    title="Channel shuffle",
    summary=r"""
A grouped convolution only mixes channels inside each group, so stacking grouped
convolutions would keep the groups apart forever. ShuffleNet interleaves the groups
between two such layers: a fixed permutation of the channels, no parameters, no
arithmetic. ShuffleNetV2 uses it (with 2 groups) after concatenating its two
branches, so that the next unit's channel split mixes both.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x$ | input, shape $(N, C, *)$ (any trailing spatial axes) |
| $g$ | groups; $C = g m$ with $m = C/g$ channels per group |
| $c = q m + r$ | input channel $c$ is channel $r$ ($0 \le r < m$) of group $q$ ($0 \le q < g$) |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
""",
    forward=r"""
Write the channel index as a $(g, m)$ matrix index $(q, r)$ and transpose it:

$$y_{n,\, r g + q,\, \ldots} = x_{n,\, q m + r,\, \ldots} \qquad 0 \le q < g,\; 0 \le r < m$$

Output channels $0, 1, \ldots, g - 1$ are channel 0 of groups $0, 1, \ldots, g - 1$:
neighbouring output channels come from different groups. In code it is a reshape, a
transpose and a reshape (one copy):
$(N, C, L) \to (N, g, m, L) \to (N, m, g, L) \to (N, C, L)$.
""",
    gradients=r"""
$y = P x$ for a permutation matrix $P$ acting on channels.

Step 1: each output element is one input element, with coefficient 1:
$\frac{\partial y_{n, r g + q}}{\partial x_{n, q' m + r'}} = [q = q'][r = r']$.

Step 2: so every input receives exactly the gradient of the one output it went to:

$$\frac{\partial L}{\partial x_{n,\, q m + r}} = \bar{y}_{n,\, r g + q}$$

Step 3: recognise the map. Index $\bar{y}$'s channels as an $(m, g)$ matrix,
$r g + q \leftrightarrow (r, q)$: the formula sends entry $(r, q)$ to $q m + r$, the
transpose of an $(m, g)$ matrix. So the gradient is a channel shuffle with $m = C/g$
groups, $\bar{x} = \mathrm{channel\_shuffle}(\bar{y}, C/g)$, which is how `backward` computes it
($P^{-1} = P^\top$ for a permutation).
""",
    pitfalls=r"""
* $g$ must divide $C$. The seed article's own ShuffleNetV2 example concatenates 3 channels
  and shuffles them in 2 groups, which fails (see [the article's errata](../article-errata.md)).
* Not an involution: shuffling by $g$ twice is not the identity unless $g = C/g$ (or
  $g \in \{1, C\}$); the inverse of shuffling by $g$ is shuffling by $C/g$.
* The same permutation in NHWC code reshapes the last axis, $(N, H, W, g, m) \to (N, H, W, m, g)$:
  a port to NCHW must move the reshape to axis 1, not keep the axis numbers.
* Cost is memory traffic only; in ShuffleNetV2's analysis (where "MAC" means *memory access
  cost*, not multiply-accumulates) such "free" operations are not free.
""",
    ops=(CHANNEL_SHUFFLE,),
    code=(
        CodeLink("minicnn/ops/shuffle.py", ("ChannelShuffle", "channel_shuffle", "_shuffle"),
                 "The Function and its argument checks."),
        CodeLink("minicnn/nn/shape.py", ("ChannelShuffle",), "The layer."),
        CodeLink("kernels/shuffle.py", (), "CUDA channel shuffle and its inverse."),
        CodeLink("minicnn/nn/blocks/shufflenet.py", ("ShuffleV2Block",), "Where ShuffleNetV2 uses it."),
    ),
    tests=(
        TestLink("tests/ops/test_channel_shuffle.py::test_channel_shuffle_is_the_channel_permutation",
                 "the forward permutation, element by element"),
        TestLink("tests/ops/test_channel_shuffle.py::test_shuffle_by_groups_then_by_channels_over_groups_restores_input",
                 "the inverse is a shuffle by $C/g$"),
        TestLink("tests/ops/test_channel_shuffle.py::test_channel_shuffle_gradcheck", "the gradient"),
        TestLink("tests/ops/test_channel_shuffle.py::test_channel_shuffle_matches_torch", "PyTorch parity"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "the shape formula against the engine"),
    ),
)
