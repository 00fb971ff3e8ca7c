"""Card: pooling (max, average, adaptive)."""
from ._common import IMAGE, NCHW, axis_symbols
from ._model import Card, CodeLink, Derived, OpSpec, Operand, Symbol, TestLink


def _out_size(axis, size, dilation):
    """PyTorch's pooling_output_shape for one axis, with ceil_mode ``c`` (0 or 1)."""
    reach = f"d_{axis}*(k_{axis} - 1)" if dilation else f"(k_{axis} - 1)"
    raw = f"{size}_raw"
    return (Derived(raw, f"floor(({size} + 2*p_{axis} - {reach} - 1 + c*(s_{axis} - 1)) / s_{axis}) + 1",
                    f"{size}_out before the ceil_mode correction"),
            Derived(f"{size}_out", f"{raw} - c*((({raw} - 1)*s_{axis}) >= {size} + p_{axis})",
                    "the last window must start inside the input or the left padding"))


_WINDOW = (axis_symbols("k", "kernel size", None)
           # the stride defaults to the kernel size, axis by axis (PyTorch's stride=None)
           + (Symbol("s", "stride (both axes; default: the kernel size)", ()),
              Symbol("s_h", "stride along H", ("s", "k_h")),
              Symbol("s_w", "stride along W", ("s", "k_w")))
           + axis_symbols("p", "padding", 0))
_CEIL = Symbol("c", "ceil_mode (1 rounds the output size up)", 0)
_PAD = (("2*p_h <= k_h", "padding must be at most half the kernel"),
        ("2*p_w <= k_w", "padding must be at most half the kernel"))

MAX_POOL2D = OpSpec(
    name="max_pool2d", title="maximum over each (dilated) window",
    symbols=IMAGE + _WINDOW + axis_symbols("d", "dilation", 1) + (_CEIL,),
    derived=_out_size("h", "H", True) + _out_size("w", "W", True),
    operands=(Operand("x", NCHW, "input"),),
    output=("N", "C", "H_out", "W_out"), params="0", macs="0",
    call="F.max_pool2d(x, (k_h, k_w), (s_h, s_w), (p_h, p_w), (d_h, d_w), ceil_mode=bool(c))",
    module="nn.MaxPool2d((k_h, k_w), (s_h, s_w), (p_h, p_w), (d_h, d_w), ceil_mode=bool(c))",
    constraints=_PAD + (("H_out >= 1", "the window must fit in the padded input"),
                        ("W_out >= 1", "the window must fit in the padded input")),
    examples=("N=1,C=64,H=112,W=112,k=3,s=2,p=1", "N=1,C=3,H=7,W=7,k=2,s=2,c=1",
              "N=1,C=3,H=7,W=7,k=2,s=2,p=1,c=1",
              "N=2,C=3,H=8,W=9,k=3,s=1,p=1,d=2"),
    notes="Cost: $k_h k_w - 1$ comparisons per output (not counted as MACs).",
)

AVG_POOL2D = OpSpec(
    name="avg_pool2d", title="mean over each window",
    symbols=IMAGE + _WINDOW + (_CEIL, Symbol("cip", "count_include_pad (1: padding counts in the divisor)", 1)),
    derived=_out_size("h", "H", False) + _out_size("w", "W", False),
    operands=(Operand("x", NCHW, "input"),),
    output=("N", "C", "H_out", "W_out"), params="0", macs="0",
    call="F.avg_pool2d(x, (k_h, k_w), (s_h, s_w), (p_h, p_w), ceil_mode=bool(c), count_include_pad=bool(cip))",
    module="nn.AvgPool2d((k_h, k_w), (s_h, s_w), (p_h, p_w), ceil_mode=bool(c), count_include_pad=bool(cip))",
    constraints=_PAD + (("H_out >= 1", "the window must fit in the padded input"),
                        ("W_out >= 1", "the window must fit in the padded input")),
    examples=("N=1,C=64,H=56,W=56,k=2", "N=1,C=3,H=7,W=7,k=3,s=2,p=1,c=1,cip=0"),
    notes="Cost: $k_h k_w$ additions and one division per output.",
)

ADAPTIVE_AVG_POOL2D = OpSpec(
    name="adaptive_avg_pool2d", title="mean over bins that tile the input into a fixed output size",
    symbols=IMAGE + (Symbol("H_out", "output height", 1), Symbol("W_out", "output width", "H_out")),
    operands=(Operand("x", NCHW, "input"),),
    output=("N", "C", "H_out", "W_out"), params="0", macs="0",
    call="F.adaptive_avg_pool2d(x, (H_out, W_out))", module="nn.AdaptiveAvgPool2d((H_out, W_out))",
    examples=("N=8,C=1280,H=7,W=7", "N=1,C=3,H=10,W=7,H_out=3,W_out=4"),
    notes="With output size 1 this is global average pooling: the mean of each channel.",
)

ADAPTIVE_MAX_POOL2D = OpSpec(
    name="adaptive_max_pool2d", title="maximum over bins that tile the input into a fixed output size",
    symbols=IMAGE + (Symbol("H_out", "output height", 1), Symbol("W_out", "output width", "H_out")),
    operands=(Operand("x", NCHW, "input"),),
    output=("N", "C", "H_out", "W_out"), params="0", macs="0",
    call="F.adaptive_max_pool2d(x, (H_out, W_out))", module="nn.AdaptiveMaxPool2d((H_out, W_out))",
    examples=("N=2,C=8,H=10,W=7,H_out=3,W_out=4",),
)

CARD = Card(
    key="pooling",
    title="Pooling: max, average, adaptive",
    summary=r"""
Pooling summarises each window of each channel by one number, its maximum or its mean;
channels never mix and there are no parameters. The adaptive forms choose the windows
("bins") so that the output has a requested size, whatever the input's.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x$ | input $(N, C, H, W)$ (or $(C, H, W)$); every channel plane is pooled on its own |
| $k, s, p, d$ | kernel, stride (default $k$), padding ($\le k/2$), dilation (max pooling only) |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
| $D_{ij}$ | the divisor of average pooling at output $(i, j)$ |

Formulas are per plane and written for the height axis where a single axis is meant.
""",
    forward=r"""
Window $(i, j)$ covers the padded positions $(s_h i + d_h u, s_w j + d_w v)$, $u < k_h$, $v < k_w$.

**Max**, padding counted as $-\infty$:

$$y_{i,j} = \max_{u < k_h,\, v < k_w} x^{\text{pad}}_{s_h i + d_h u,\, s_w j + d_w v}$$

**Average**, padding counted as 0:

$$y_{i,j} = \frac{1}{D_{ij}} \sum_{u < k_h,\, v < k_w} x^{\text{pad}}_{s_h i + u,\, s_w j + v}$$

where $D_{ij}$ is the window's area clipped to the padded input (`count_include_pad=True`), or
its intersection with the real input (`False`), or `divisor_override`.

**Output size** (PyTorch's `pooling_output_shape`):

$$H_{out} = \left\lfloor \frac{H + 2p - d(k-1) - 1 + c\,(s - 1)}{s} \right\rfloor + 1 \quad\text{then, if } c = 1 \text{ and } (H_{out} - 1)s \ge H + p, \; H_{out} \leftarrow H_{out} - 1$$

with $c = 1$ for `ceil_mode`: rounding up may not create a window that starts in the right padding.

**Adaptive.** Bin $i$ of $H_{out}$ covers rows $\lfloor iH/H_{out} \rfloor$ to $\lceil (i+1)H/H_{out} \rceil - 1$
(bins may overlap); average or max over the bin. The average factorises:
$y = P_H \, x \, P_W^\top$ with $P_H[i, h] = 1/|\text{bin}_i|$ for $h$ in bin $i$, else 0.
""",
    gradients=r"""
**Max.** Step 1: within its window, $y_{i,j}$ equals one element, the arg-max $(u^*, v^*)$, so
$\partial y_{i,j} / \partial x_{h,w} = [\,(h, w) = \text{argmax of window } (i,j)\,]$ (away from ties).
Step 2: sum over the windows that picked $(h, w)$ (overlapping windows may pick the same element):

$$\frac{\partial L}{\partial x_{h,w}} = \sum_{(i,j):\ \mathrm{argmax}(i,j) = (h,w)} \bar{y}_{i,j}$$

On ties the first maximum in row-major window order takes it all (PyTorch's choice); a
window holding only padding outputs $-\infty$ and passes nothing back.

**Average.** Step 1: $\partial y_{i,j} / \partial x^{\text{pad}}_{s_h i + u, s_w j + v} = 1/D_{ij}$ for every
tap of the window. Step 2: every window spreads its share back:

$$\frac{\partial L}{\partial x_{h,w}} = \sum_{(i,j,u,v):\ (s_h i + u - p_h,\, s_w j + v - p_w) = (h, w)} \frac{\bar{y}_{i,j}}{D_{ij}}$$

and the padding's share is dropped.

**Adaptive average.** $y = P_H x P_W^\top$ is linear with $\partial L/\partial x = P_H^\top \bar{y} P_W$.
**Adaptive max** routes $\bar{y}$ to each bin's arg-max, like max pooling.
""",
    pitfalls=r"""
* **Ties in max pooling**: the gradient goes to one element (the first), not shared; the
  reductions `amax`/`max()` share it evenly instead. Both are PyTorch's conventions.
* **NaN** in a max window wins (the output is NaN, as in PyTorch).
* **`ceil_mode`** adds a last window that overhangs the input; it is dropped when it would start
  in the right padding, and for averages the overhang does not count in the divisor.
* **Padding at most $k/2$**: larger padding would create windows of padding only. For a
  padded max pool the padding is $-\infty$, so it never wins; the seed article's TensorFlow
  `max_pooling2d(..., padding='same')` with $k = 2$ pads one row at the bottom only, which
  PyTorch's symmetric `padding` cannot express (an explicit `F.pad` with $-\infty$ can).
* **`count_include_pad`** changes border outputs: a $3 \times 3$ average at a corner with
  padding 1 divides by 9 (default) or by 4.
* Global average pooling = `adaptive_avg_pool2d(x, 1)` = `x.mean((2, 3), keepdim=True)`.
""",
    ops=(MAX_POOL2D, AVG_POOL2D, ADAPTIVE_AVG_POOL2D, ADAPTIVE_MAX_POOL2D),
    code=(
        CodeLink("minicnn/ops/pooling.py",
                 ("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "_output_size",
                  "_avg_divisor", "_adaptive_bins"),
                 "The Functions: strided views per kernel offset, their backward scatters."),
        CodeLink("minicnn/nn/pooling.py", ("MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"), "The layers."),
        CodeLink("kernels/maxpool.py", (), "CUDA max pooling forward (with flat indices) and backward."),
    ),
    tests=(
        TestLink("tests/ops/test_pooling.py::test_max_pool2d_matches_reference", "max forward vs naive loops"),
        TestLink("tests/ops/test_pooling.py::test_max_pool2d_gradient_with_ties_matches_reference",
                 "the tie rule"),
        TestLink("tests/ops/test_pooling.py::test_max_pool2d_gradcheck", "max gradient"),
        TestLink("tests/ops/test_pooling.py::test_avg_pool2d_matches_reference", "average forward and divisor"),
        TestLink("tests/ops/test_pooling.py::test_avg_pool2d_ceil_mode_divisor_excludes_the_overhang",
                 "ceil_mode divisor"),
        TestLink("tests/ops/test_pooling.py::test_adaptive_pools_match_reference", "adaptive bins"),
        TestLink("tests/ops/test_pooling.py::test_adaptive_pools_gradcheck", "adaptive gradients"),
        TestLink("tests/docs/test_explain.py::test_pool_formulas_agree_with_the_engine_for_drawn_configurations",
                 "the output-size formula with ceil_mode, for drawn configurations"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "the examples above against the engine"),
    ),
)
