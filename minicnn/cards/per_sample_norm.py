"""Card: layer, group and instance normalisation (batch normalisation's core on other axes)."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, Symbol, TestLink

CHW = ("C", "H", "W")

LAYER_NORM = OpSpec(
    name="layer_norm", title="layer normalisation over the last dimensions (here C, H, W)",
    symbols=IMAGE,
    operands=(Operand("x", NCHW, "input"), Operand("weight", CHW, "gamma, one per element"),
              Operand("bias", CHW, "beta, one per element")),
    output=NCHW, params="2 * C * H * W", macs="0",
    call="F.layer_norm(x, (C, H, W), weight, bias)", module="nn.LayerNorm((C, H, W))",
    examples=("N=2,C=8,H=4,W=4", "N=1,C=3,H=1,W=5"),
    notes="The usual transformer form normalises the last dimension only: "
          "`nn.LayerNorm(D)` on an (N, L, D) input, 2D parameters. Cost as batch "
          "normalisation's: about 2 passes for the statistics and 2 operations to normalise, "
          "then 2 for the affine map.",
)

GROUP_NORM = OpSpec(
    name="group_norm", title="group normalisation: G groups of C/G channels per sample",
    symbols=IMAGE + (Symbol("G", "groups (divides C)", 1),),
    operands=(Operand("x", NCHW, "input"), Operand("weight", ("C",), "gamma"),
              Operand("bias", ("C",), "beta")),
    output=NCHW, params="2 * C", macs="0",
    call="F.group_norm(x, G, weight, bias)", module="nn.GroupNorm(G, C)",
    constraints=(("C % G == 0", "G must divide C"),
                 ("N * (C / G) * H * W >= 2", "PyTorch refuses a batch of one value per group")),
    examples=("N=2,C=32,H=8,W=8,G=8", "N=2,C=6,H=3,W=3,G=1", "N=1,C=4,H=2,W=2,G=4"),
    notes="Torchvision-style ResNets take it through `norm_layer` "
          "(`minicnn.models.resnet18(norm_layer=lambda c: nn.GroupNorm(2, c))`); He and Wu "
          "use G = 32.",
)

INSTANCE_NORM = OpSpec(
    name="instance_norm", title="instance normalisation: each sample's channels separately",
    symbols=IMAGE,
    operands=(Operand("x", NCHW, "input"), Operand("weight", ("C",), "gamma"),
              Operand("bias", ("C",), "beta")),
    output=NCHW, params="2 * C", macs="0",
    call="F.instance_norm(x, weight=weight, bias=bias)", module="nn.InstanceNorm2d(C, affine=True)",
    constraints=(("H * W >= 2", "input statistics need more than one value per plane"),),
    examples=("N=2,C=3,H=16,W=16", "N=1,C=2,H=1,W=2"),
    notes="`nn.InstanceNorm2d` defaults to `affine=False` (no parameters) and "
          "`track_running_stats=False`; with tracking it holds $2C$ buffers like batch norm.",
)

CARD = Card(
    key="per_sample_norm",
    title="Layer, group and instance normalisation",
    summary=r"""
Batch normalisation standardises each channel over the batch, so a sample's output
depends on the other samples, and with a batch of 1 or 2 the statistics are noise.
Layer, group and instance normalisation standardise *within each sample* instead:
over all of its features (layer), over groups of $C/G$ channels (group), or over each
channel alone (instance). They are one computation on different axes: minicnn runs
batch normalisation's Function on a view of the input in which each group to
normalise is a "channel", then applies the affine map. None of them depends on the
batch, so they behave the same in training and evaluation (instance norm can
optionally track running statistics as batch norm does).
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x$ | input $(N, C, *)$; $L$ = product of the trailing (spatial) sizes |
| $G$ | `num_groups` of group norm; $G$ divides $C$ |
| $S$ | one *set* of values standardised together; $M$ = its size |
| $x_i$, $i \in S$ | the $M$ values of one set (all statistics are per set) |
| $\gamma, \beta$ | `weight`, `bias`: shape $(C,)$ (group, instance), `normalized_shape` (layer) |
| $\epsilon$ | `eps` ($10^{-5}$ by default) |
| $\mathrm{mean}(a) = \frac{1}{M} \sum_{i \in S} a_i$ | the mean over one set |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
""",
    forward=r"""
**The sets.** Every normalisation standardises sets of values; they differ only in
what a set is. Viewing the input as a 3-D array $(B, R, K)$ and standardising each of
the $R$ rows over its $M = B K$ values (batch norm's reduction over axes 0 and 2):

| normalisation | one set $S$ | view $(B, R, K)$ | sets |
| --- | --- | --- | --- |
| batch norm | channel $c$ over every sample | $(N, C, L)$ | $C$ |
| layer norm | sample $n$, all of `normalized_shape` | $(1, N, C L)$ | $N$ |
| group norm | sample $n$, channels of group $q$ | $(1, N G, (C/G) L)$ | $N G$ |
| instance norm | sample $n$, channel $c$ | $(1, N C, L)$ | $N C$ |

So group norm with $G = 1$ is layer norm over $(C, *)$, and with $G = C$ it is
instance norm; batch norm is the one whose sets cross samples. (The affine maps
differ: layer norm's $\gamma, \beta$ have one entry per element of `normalized_shape`,
the others one per channel, so $G = 1$ equals layer norm exactly when both are
without affine maps or layer norm's parameters are constant over $H, W$.)

**Per set** (biased variance, as in batch norm's training mode):

$$\mu = \frac{1}{M} \sum_{i \in S} x_i, \qquad \sigma^2 = \frac{1}{M} \sum_{i \in S} (x_i - \mu)^2, \qquad \hat{x}_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}}$$

**Affine map**, per position: $y = \gamma \hat{x} + \beta$, with $\gamma, \beta$ broadcast
(per channel for group and instance norm, elementwise over `normalized_shape` for
layer norm).

**Instance norm's running statistics** (`track_running_stats=True`, training): the
statistics of the $N$ planes of a channel are averaged, then blended in as batch norm's,
$\mathrm{running\_mean} \leftarrow (1 - m)\, \mathrm{running\_mean} + m \frac{1}{N} \sum_n \mu_{n,c}$ and
$\mathrm{running\_var} \leftarrow (1 - m)\, \mathrm{running\_var} + m \frac{1}{N} \sum_n \frac{L}{L - 1} \sigma^2_{n,c}$.
In evaluation (`use_input_stats=False`) it is batch norm's evaluation mode: a fixed
affine map per channel.
""",
    gradients=r"""
Write $s = \sqrt{\sigma^2 + \epsilon}$ for the set of position $i$, and
$\bar{\hat{x}}_i = \partial L / \partial \hat{x}_i$.

**Affine map.** $y_i = \gamma_{k(i)} \hat{x}_i + \beta_{k(i)}$, where $k(i)$ is the parameter
entry position $i$ uses (its channel, or its index in `normalized_shape`). Each parameter
entry collects every position that uses it, across samples and sets:

$$\frac{\partial L}{\partial \beta_k} = \sum_{i : k(i) = k} \bar{y}_i, \qquad \frac{\partial L}{\partial \gamma_k} = \sum_{i : k(i) = k} \bar{y}_i \hat{x}_i, \qquad \bar{\hat{x}}_i = \gamma_{k(i)} \bar{y}_i$$

For batch norm the parameter entries and the sets coincide (one channel); here a set
can span several channels (group, layer norm) and a channel several sets (one per
sample), which is why minicnn keeps the affine map out of the core.

**Input.** Within one set the algebra is batch normalisation's, with $M$ the set size:
$\partial \mu / \partial x_j = 1/M$, $\partial s / \partial x_j = \hat{x}_j / M$ (the centred values
sum to zero), hence

$$\frac{\partial \hat{x}_i}{\partial x_j} = \frac{1}{s} \left( \delta_{ij} - \frac{1}{M} - \frac{\hat{x}_i \hat{x}_j}{M} \right) \qquad (i, j \text{ in the same set; } 0 \text{ otherwise})$$

and the chain rule gives, per set,

$$\frac{\partial L}{\partial x} = \frac{1}{s} \left( \bar{\hat{x}} - \mathrm{mean}(\bar{\hat{x}}) - \hat{x} \, \mathrm{mean}(\bar{\hat{x}} \hat{x}) \right), \qquad \bar{\hat{x}} = \gamma \bar{y}$$

the gradient with its components along $1$ and along $\hat{x}$ removed in every set
(a set's output cannot change when that set is shifted or scaled). Sets do not
interact: a sample's gradient never depends on another sample (batch norm's does).

**Instance norm with running statistics.** In training the running statistics are
updated but not used: the gradient is the one above. With `use_input_stats=False` the
statistics are constants: $\partial L / \partial x = \frac{\gamma}{\sqrt{\mathrm{running\_var} + \epsilon}} \bar{y}$.
""",
    pitfalls=r"""
* **Batch size.** Batch norm at batch size 2 normalises every channel with two
  samples: the training output of each is nearly $\pm 1$ whatever the input, and the
  running statistics, estimated from such batches, do not match what evaluation sees;
  at batch size 1 with a $1 \times 1$ map (a ResNet's last stage on 8x8 digits) it is an
  error. Group norm's statistics are per sample: the same at any batch size, the same
  in training and evaluation (`benchmarks/group_norm_digits.py` trains a ResNet-18 on
  the digits at batch size 2 with each; the README gives the figures).
* **Instance norm on small maps.** A $1 \times 1$ plane has one value: its variance is 0,
  so PyTorch (and minicnn) refuse it with input statistics. Late CNN stages with
  small maps carry little per-plane information; group norm pools channels instead.
* **Instance norm forgets contrast.** Each plane loses its mean and scale, which is
  what style transfer wants and a classifier may not.
* **`num_features` unused.** `nn.InstanceNorm2d(C)` without `affine` or running
  statistics does not use `C`: a mismatch only warns, as in PyTorch.
* **Layer norm's parameters are per element.** `nn.LayerNorm((C, H, W))` has
  $2 C H W$ parameters and fixes the input size; `nn.GroupNorm(1, C)` normalises the
  same sets with $2 C$.
* **eps inside the root**, as everywhere: $\sqrt{\sigma^2 + \epsilon}$, not $\sigma + \epsilon$
  (the latter is in some older code and differs near $\sigma = 0$).
""",
    ops=(LAYER_NORM, GROUP_NORM, INSTANCE_NORM),
    code=(
        CodeLink("minicnn/ops/per_sample_norm.py",
                 ("layer_norm", "group_norm", "instance_norm", "_standardize_rows", "_affine"),
                 "The three functionals: the (1, R, M) view, the core, the affine map."),
        CodeLink("minicnn/ops/norm.py", ("BatchNorm",),
                 "The core: forward and backward per set (CPU, Numba and CUDA kernels)."),
        CodeLink("minicnn/nn/norm.py", ("LayerNorm", "GroupNorm", "InstanceNorm2d", "BatchNorm1d"),
                 "The layers, with torch.nn's arguments and state-dict keys."),
        CodeLink("minicnn/models/resnet.py", ("ResNet",), "norm_layer: GroupNorm in a ResNet."),
    ),
    tests=(
        TestLink("tests/ops/test_per_sample_norm.py::test_group_norm_matches_the_reference",
                 "group norm against a loop over samples and groups"),
        TestLink("tests/ops/test_per_sample_norm.py::test_layer_norm_matches_the_reference",
                 "layer norm against a loop over samples"),
        TestLink("tests/ops/test_per_sample_norm.py::"
                 "test_group_norm_relates_to_layer_norm_and_instance_norm_as_the_card_says",
                 "G = 1 is layer norm, G = C is instance norm"),
        TestLink("tests/ops/test_per_sample_norm.py::"
                 "test_instance_norm_is_group_norm_with_one_channel_per_group_and_tracks_statistics",
                 "instance norm and its running statistics"),
        TestLink("tests/ops/test_per_sample_norm.py::test_gradcheck", "every gradient, float64"),
        TestLink("tests/ops/test_per_sample_norm.py::test_matches_torch", "PyTorch parity, float32"),
        TestLink("tests/docs/test_cards.py::test_card_gradient_formulas_match_autograd",
                 "the card's gradient formula against autograd"),
        TestLink("tests/models/test_resnet_group_norm.py::"
                 "test_group_norm_resnet_trains_at_batch_size_2",
                 "a GroupNorm ResNet-18 learns the digits at batch size 2"),
    ),
)
