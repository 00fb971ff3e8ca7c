"""Card: batch normalisation."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, TestLink

BATCH_NORM = OpSpec(
    name="batch_norm", title="batch normalisation (training mode: batch statistics)",
    symbols=IMAGE,
    operands=(Operand("x", NCHW, "input"), Operand("running_mean", ("C",)),
              Operand("running_var", ("C",), kind="positive"), Operand("weight", ("C",), "gamma"),
              Operand("bias", ("C",), "beta")),
    output=NCHW, params="2 * C", macs="0",
    call="F.batch_norm(x, running_mean, running_var, weight, bias, training=True)",
    module="nn.BatchNorm2d(C)",
    constraints=(("N * H * W >= 2", "training needs more than one value per channel"),),
    examples=("N=8,C=64,H=56,W=56", "N=2,C=3,H=1,W=1"),
    notes="The layer also holds $2C$ buffers (running mean and variance) and a batch counter. "
          "Cost per element: about 2 passes for the statistics and 2 operations to normalise in "
          "training; in evaluation $y = x \\cdot \\text{scale}_c + \\text{shift}_c$ (2 operations), "
          "and after a convolution it can be folded into the conv's weights (0).",
)

CARD = Card(
    key="batch_norm",
    title="Batch normalisation",
    summary=r"""
Batch normalisation standardises every channel with the mean and variance of the
current batch, then applies a learned per-channel scale $\gamma$ and shift $\beta$. In
evaluation the batch statistics are replaced by running averages collected during
training, and the layer becomes a fixed affine map per channel. `nn.BatchNorm1d` ((N, C)
MLP features or (N, C, L) sequences) and `nn.BatchNorm2d` are this one operator. Its
Function is also the core of layer, group and instance normalisation
([per_sample_norm.md](per_sample_norm.md)), which standardise within each sample.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x$ | input $(N, C, *)$; channel $c$ holds $M = N \cdot L$ values, $L$ = product of the trailing sizes |
| $x_i$ | the $i$-th of the $M$ values of one channel (all formulas are per channel) |
| $\gamma, \beta$ | `weight` and `bias`, shape $(C,)$ |
| $\epsilon$ | `eps` ($10^{-5}$ by default) |
| $m$ | `momentum` (0.1 by default) |
| $\mathrm{mean}(a) = \frac{1}{M} \sum_i a_i$ | the per-channel mean over the $M$ values |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
""",
    forward=r"""
**Training** (batch statistics):

$$\mu = \frac{1}{M} \sum_{i=1}^{M} x_i, \qquad \sigma^2 = \frac{1}{M} \sum_{i=1}^{M} (x_i - \mu)^2, \qquad \hat{x}_i = \frac{x_i - \mu}{\sqrt{\sigma^2 + \epsilon}}, \qquad y_i = \gamma \hat{x}_i + \beta$$

The variance is the *biased* one (divided by $M$). The running statistics are updated
in place, and store the *unbiased* variance:

$$\mathrm{running\_mean} \leftarrow (1 - m)\, \mathrm{running\_mean} + m \mu, \qquad \mathrm{running\_var} \leftarrow (1 - m)\, \mathrm{running\_var} + m \frac{M}{M - 1} \sigma^2$$

**Evaluation**: $y_i = \gamma \frac{x_i - \mathrm{running\_mean}}{\sqrt{\mathrm{running\_var} + \epsilon}} + \beta$,
i.e. $y = x \cdot \text{scale} + \text{shift}$ with $\text{scale} = \gamma / \sqrt{\mathrm{running\_var} + \epsilon}$
and $\text{shift} = \beta - \mathrm{running\_mean} \cdot \text{scale}$.
""",
    gradients=r"""
Write $s = \sqrt{\sigma^2 + \epsilon}$ and $\bar{\hat{x}}_i = \partial L / \partial \hat{x}_i = \gamma \bar{y}_i$.

**Shift and scale.** $y_i = \gamma \hat{x}_i + \beta$ gives

$$\frac{\partial L}{\partial \beta} = \sum_i \bar{y}_i, \qquad \frac{\partial L}{\partial \gamma} = \sum_i \bar{y}_i \hat{x}_i$$

**Input, training.** $x_j$ moves $\hat{x}_i$ three ways: directly, through $\mu$ and through $s$.

Step 1, the statistics: $\frac{\partial \mu}{\partial x_j} = \frac{1}{M}$, and
$\frac{\partial \sigma^2}{\partial x_j} = \frac{2}{M}(x_j - \mu) - \frac{2}{M} \sum_i (x_i - \mu) \frac{1}{M} = \frac{2}{M}(x_j - \mu)$
because centred values sum to zero. Hence
$\frac{\partial s}{\partial x_j} = \frac{1}{2s} \frac{2}{M}(x_j - \mu) = \frac{\hat{x}_j}{M}$.

Step 2, the normalised value: $\hat{x}_i = (x_i - \mu) s^{-1}$, so

$$\frac{\partial \hat{x}_i}{\partial x_j} = \frac{\delta_{ij} - \frac{1}{M}}{s} - \frac{x_i - \mu}{s^2} \frac{\hat{x}_j}{M} = \frac{1}{s} \left( \delta_{ij} - \frac{1}{M} - \frac{\hat{x}_i \hat{x}_j}{M} \right)$$

Step 3, the chain rule: $\bar{x}_j = \sum_i \bar{\hat{x}}_i \frac{\partial \hat{x}_i}{\partial x_j} = \frac{1}{s} \left( \bar{\hat{x}}_j - \mathrm{mean}(\bar{\hat{x}}) - \hat{x}_j \, \mathrm{mean}(\bar{\hat{x}} \hat{x}) \right)$.

Step 4, with $\bar{\hat{x}} = \gamma \bar{y}$:

$$\frac{\partial L}{\partial x} = \frac{\gamma}{s} \left( \bar{y} - \mathrm{mean}(\bar{y}) - \hat{x} \, \mathrm{mean}(\bar{y} \hat{x}) \right)$$

The upstream gradient with its components along $1$ and along $\hat{x}$ removed: $y$
cannot change when $x$ is shifted or scaled, so neither direction gets a gradient.
The code evaluates the last term on the centred input kept from the forward,
$\hat{x} \, \mathrm{mean}(\bar{y} \hat{x}) = (x - \mu) \frac{\sum_i \bar{y}_i (x_i - \mu)}{M s^2}$,
and $\partial L / \partial \gamma = \frac{1}{s} \sum_i \bar{y}_i (x_i - \mu)$ from the same sum.

**Input, evaluation.** $\mu$ and $s$ are constants: $\frac{\partial L}{\partial x} = \frac{\gamma}{\sqrt{\mathrm{running\_var} + \epsilon}} \bar{y}$.
""",
    pitfalls=r"""
* **Biased for normalising, unbiased for the running variance.** Training divides by
  $M$; `running_var` accumulates $\frac{M}{M-1} \sigma^2$ (PyTorch's convention, which
  minicnn follows). Comparing a batch's variance with `running_var` after one step with
  `momentum=1` shows the factor $M/(M-1)$.
* **One value per channel** ($M = 1$) in training is an error: the biased variance is 0
  and the unbiased one is undefined. Evaluation mode accepts it.
* **Cancellation in float32.** $E[x^2] - E[x]^2$ loses every digit when $|\mu| \gg \sigma$
  (activations with a large offset); so does the backward's
  $\sum \bar{y} x - \mu \sum \bar{y}$. minicnn centres first (two passes) in both.
* **Momentum conventions differ.** PyTorch: $\text{new} = (1 - m)\,\text{old} + m\,\text{batch}$ with
  $m = 0.1$. TensorFlow/Keras: $\text{new} = m\,\text{old} + (1 - m)\,\text{batch}$ with $m = 0.99$:
  TensorFlow's 0.99 is PyTorch's 0.01. `eps` defaults differ too ($10^{-5}$ vs $10^{-3}$).
* **Training flag.** TensorFlow 1's `tf.layers.batch_normalization` defaults to
  `training=False` (moving statistics, which start at 0 and 1): code that never passes
  `training=True`, like the seed article's, normalises with $x / \sqrt{1 + \epsilon}$.
* **Several processes.** Data-parallel training with $N$ ranks of batch $b$ and plain
  BatchNorm normalises each rank's $b$ samples by their own $\mu, \sigma$: a different
  (noisier) model than BN over the global batch $Nb$, with a different gradient.
  `nn.SyncBatchNorm` all-reduces $(\sum x, \sum x^2, M)$ forward and
  $(\sum \bar{y}, \sum \bar{y}(x - \mu))$ backward so the formulas above run over the global
  batch; derivation in [docs/distributed.md](../distributed.md).
* **A bias before BN is wasted**, as the mean subtraction removes it.
* **Folding** for inference: after `conv -> BN`, $w' = w \cdot \text{scale}$,
  $b' = (b - \mathrm{running\_mean}) \cdot \text{scale} + \beta$.
""",
    ops=(BATCH_NORM,),
    code=(
        CodeLink("minicnn/ops/norm.py", ("BatchNorm", "batch_norm", "_channel_sum", "_channel_dot"),
                 "The Function: training and evaluation, forward and backward, running statistics."),
        CodeLink("minicnn/nn/norm.py", ("BatchNorm1d", "BatchNorm2d", "_BatchNorm"),
                 "The layers, one code path (momentum=None: cumulative average)."),
        CodeLink("minicnn/ops/sync_norm.py", ("SyncBatchNorm", "sync_batch_norm"),
                 "SyncBatchNorm: the statistics and the two gradient sums all-reduced over the ranks."),
        CodeLink("kernels/batchnorm.py", (), "CUDA statistics (two-pass, Chan merge), normalisation, backward."),
        CodeLink("kernels/fused.py", (), "CUDA batch norm + hardswish in one pass."),
    ),
    tests=(
        TestLink("tests/ops/test_batch_norm.py::test_training_output_has_mean_zero_and_biased_variance_one",
                 "the normalisation uses the biased variance"),
        TestLink("tests/ops/test_batch_norm.py::test_training_matches_the_formula_and_updates_running_stats",
                 "the forward formula and the unbiased running variance"),
        TestLink("tests/ops/test_batch_norm.py::test_eval_uses_running_stats_and_leaves_them",
                 "evaluation mode"),
        TestLink("tests/ops/test_batch_norm.py::test_batch_norm_gradcheck", "the three gradients"),
        TestLink("tests/ops/test_batch_norm.py::test_gradient_on_offset_inputs_stays_accurate_in_float32",
                 "no cancellation on offset inputs"),
        TestLink("tests/ops/test_batch_norm.py::test_batch_norm_matches_torch", "PyTorch parity"),
        TestLink("tests/distributed/test_mpi.py::test_two_ranks",
                 "SyncBatchNorm on 2 ranks equals BatchNorm on the joined batch (mpiexec -n 2)"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "shape and parameter formulas against the engine"),
    ),
)
