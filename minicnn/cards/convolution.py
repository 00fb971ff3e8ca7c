"""Card: convolution (conv2d, its depthwise/grouped/separable forms, conv_transpose2d)."""
from ._common import IMAGE, NCHW, axis_symbols, window_positions
from ._model import Card, CodeLink, Derived, OpSpec, Operand, Symbol, TestLink

_GEOMETRY = (axis_symbols("k", "kernel size", None) + axis_symbols("s", "stride", 1)
             + axis_symbols("p", "zero padding", 0) + axis_symbols("d", "dilation", 1))
_BIAS = Symbol("bias", "1 with a bias, 0 without", 1)
_OUT_SIZE, _FITS = window_positions()
_ARGS = "stride=(s_h, s_w), padding=(p_h, p_w), dilation=(d_h, d_w)"

CONV2D = OpSpec(
    name="conv2d", title="2-D convolution (dense, grouped or depthwise by groups)",
    symbols=IMAGE + (Symbol("C_out", "output channels"),) + _GEOMETRY
    + (Symbol("g", "groups (divides C and C_out)", 1), _BIAS),
    derived=_OUT_SIZE,
    operands=(Operand("x", NCHW, "input"), Operand("weight", ("C_out", "C / g", "k_h", "k_w")),
              Operand("b", ("C_out",), "bias")),
    output=("N", "C_out", "H_out", "W_out"),
    params="C_out * (C / g) * k_h * k_w + bias * C_out",
    macs="N * C_out * H_out * W_out * (C / g) * k_h * k_w",
    call=f"F.conv2d(x, weight, b if bias else None, {_ARGS}, groups=g)",
    module=f"nn.Conv2d(C, C_out, (k_h, k_w), {_ARGS}, groups=g, bias=bool(bias))",
    constraints=(("C % g == 0", "g must divide C"), ("C_out % g == 0", "g must divide C_out"))
    + _FITS,
    examples=("N=1,C=3,H=32,W=32,C_out=16,k=3,s=1,p=1,d=1,g=1",
              "N=8,C=64,H=56,W=56,C_out=128,k=3,s=2,p=1",
              "N=2,C=6,H=9,W=7,C_out=4,k_h=3,k_w=2,s_h=2,s_w=1,p_h=1,p_w=0,d=2,g=2,bias=0"),
)

DEPTHWISE = OpSpec(
    name="depthwise_conv2d", title="depthwise convolution: conv2d with groups = C",
    symbols=IMAGE + (Symbol("M", "channel multiplier (C_out = M C)", 1),) + _GEOMETRY + (_BIAS,),
    derived=_OUT_SIZE,
    operands=(Operand("x", NCHW, "input"), Operand("weight", ("M * C", "1", "k_h", "k_w")),
              Operand("b", ("M * C",), "bias")),
    output=("N", "M * C", "H_out", "W_out"),
    params="M * C * k_h * k_w + bias * M * C",
    macs="N * M * C * H_out * W_out * k_h * k_w",
    call=f"F.conv2d(x, weight, b if bias else None, {_ARGS}, groups=C)",
    module=f"nn.Conv2d(C, M * C, (k_h, k_w), {_ARGS}, groups=C, bias=bool(bias))",
    constraints=_FITS,
    examples=("N=8,C=96,H=56,W=56,k=3,s=1,p=1,bias=0", "N=1,C=32,H=112,W=112,k=3,s=2,p=1,M=2"),
    notes="Output channel $o = cM + m$ reads input channel $c$ only: the sum over input "
          "channels of `conv2d` has a single term, so a depthwise conv costs $C_{out}/C$ "
          "MACs per output pixel and tap instead of $C$.",
)

SEPARABLE = OpSpec(
    name="separable_conv2d",
    title="depthwise separable convolution: depthwise k x k, then pointwise 1 x 1",
    symbols=IMAGE + (Symbol("C_out", "output channels"), Symbol("k", "kernel size"),
                     Symbol("s", "stride", 1), Symbol("p", "zero padding", 0)),
    derived=(Derived("H_out", "floor((H + 2*p - k) / s) + 1", "output height"),
             Derived("W_out", "floor((W + 2*p - k) / s) + 1", "output width")),
    operands=(Operand("x", NCHW, "input"), Operand("dw", ("C", "1", "k", "k"), "depthwise"),
              Operand("pw", ("C_out", "C", "1", "1"), "pointwise")),
    output=("N", "C_out", "H_out", "W_out"),
    params="C * k * k + C * C_out",
    macs="N * H_out * W_out * (C * k * k + C * C_out)",
    call="F.conv2d(F.conv2d(x, dw, stride=s, padding=p, groups=C), pw)",
    module="blocks.SeparableConv2d(C, C_out, k, stride=s, padding=p)",
    constraints=(("k <= H + 2*p", "the kernel must fit in the padded input"),
                 ("k <= W + 2*p", "the kernel must fit in the padded input")),
    examples=("N=1,C=3,H=300,W=300,C_out=64,k=3,p=1", "N=1,C=64,H=56,W=56,C_out=128,k=3,p=1"),
    notes="Against a dense conv with the same shapes ($C C_{out} k^2$ weights) the ratio is "
          r"$\frac{1}{C_{out}} + \frac{1}{k^2}$, for parameters and MACs alike: about "
          r"$\frac{1}{9}$ for $3 \times 3$ kernels and many output channels. "
          "(The seed article's TensorFlow count, $3 \\cdot 3 \\cdot 3 + (1 \\cdot 1 \\cdot 3 + 1) "
          "\\cdot 64 = 283$, adds the pointwise bias TensorFlow's `separable_conv2d` has.)",
)

CONV_TRANSPOSE2D = OpSpec(
    name="conv_transpose2d", title="2-D transposed convolution (the adjoint of conv2d)",
    symbols=IMAGE + (Symbol("C_out", "output channels"),) + _GEOMETRY
    + axis_symbols("op", "output_padding", 0) + (Symbol("g", "groups", 1), _BIAS),
    derived=(Derived("H_out", "(H - 1)*s_h - 2*p_h + d_h*(k_h - 1) + op_h + 1", "output height"),
             Derived("W_out", "(W - 1)*s_w - 2*p_w + d_w*(k_w - 1) + op_w + 1", "output width")),
    operands=(Operand("x", NCHW, "input"), Operand("weight", ("C", "C_out / g", "k_h", "k_w")),
              Operand("b", ("C_out",), "bias")),
    output=("N", "C_out", "H_out", "W_out"),
    params="C * (C_out / g) * k_h * k_w + bias * C_out",
    macs="N * C * H * W * (C_out / g) * k_h * k_w",
    call=("F.conv_transpose2d(x, weight, b if bias else None, stride=(s_h, s_w), "
          "padding=(p_h, p_w), output_padding=(op_h, op_w), groups=g, dilation=(d_h, d_w))"),
    module=("nn.ConvTranspose2d(C, C_out, (k_h, k_w), stride=(s_h, s_w), padding=(p_h, p_w), "
            "output_padding=(op_h, op_w), groups=g, bias=bool(bias), dilation=(d_h, d_w))"),
    constraints=(("C % g == 0", "g must divide C"), ("C_out % g == 0", "g must divide C_out"),
                 ("op_h < max(s_h, d_h)", "output_padding must be smaller than stride or dilation"),
                 ("op_w < max(s_w, d_w)", "output_padding must be smaller than stride or dilation")),
    examples=("N=1,C=16,H=16,W=16,C_out=8,k=4,s=2,p=1", "N=2,C=4,H=5,W=5,C_out=6,k=3,s=2,p=1,op=1,g=2"),
    notes="Every input pixel scatters $C_{out}/G \\cdot k_h k_w$ products, hence the MAC count "
          "in terms of the *input* size.",
)

CARD = Card(
    key="convolution",
    title="Convolution: conv2d, grouped and depthwise, separable, conv_transpose2d",
    summary=r"""
A convolution slides a small kernel over the image and takes, at every output
position, a weighted sum over a window of the input: over the window's $k_h k_w$
positions and over the input channels of its group. Grouped, depthwise and
pointwise convolutions are the same sum with fewer channels in it; the
transposed convolution is the same linear map read backwards, and it is also
what the input gradient of a convolution is.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x_{n,c,h,w}$ | input, shape $(N, C, H, W)$ |
| $w_{o,c,u,v}$ | weight, shape $(C_{out}, C/G, k_h, k_w)$; for `conv_transpose2d` $(C, C_{out}/G, k_h, k_w)$ |
| $b_o$ | bias, shape $(C_{out},)$ |
| $y_{n,o,i,j}$ | output, shape $(N, C_{out}, H_{out}, W_{out})$ |
| $G$ | groups (`g` on the `minicnn explain` command line); $G = C$ is depthwise |
| $g(o) = \lfloor o / (C_{out}/G) \rfloor$ | the group of output channel $o$ |
| $s, p, d$ | stride, padding, dilation; each has an $h$ and a $w$ component |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient (same shape as $y$) |

Indices run from 0. The formulas below are written for the height axis; the
width axis is the same with $(j, v, s_w, p_w, d_w)$ in place of $(i, u, s_h, p_h, d_h)$.
""",
    forward=r"""
Output row $i$ reads the input rows $s_h i + d_h u - p_h$ for the kernel rows
$u = 0, \ldots, k_h - 1$; reading outside $0 \le h < H$ reads a zero (the padding):

$$y_{n,o,i,j} = b_o + \sum_{c=0}^{C/G-1} \sum_{u=0}^{k_h-1} \sum_{v=0}^{k_w-1} w_{o,c,u,v} \, x_{n,\, g(o) C/G + c,\, s_h i + d_h u - p_h,\, s_w j + d_w v - p_w}$$

This is a cross-correlation (the kernel is not flipped), as in every deep
learning framework.

**Output size.** The last kernel row of output row $i$ sits at padded row
$s_h i + d_h (k_h - 1)$, which must be at most $H + 2p_h - 1$. So
$i \le (H + 2p_h - d_h(k_h - 1) - 1)/s_h$, and counting $i = 0, 1, \ldots$ gives

$$H_{out} = \left\lfloor \frac{H + 2p_h - d_h(k_h-1) - 1}{s_h} \right\rfloor + 1$$

**As a matrix product (im2col).** Copy, for every output pixel, the
$K = (C/G) k_h k_w$ inputs its sum reads into one column:
$\mathrm{cols}_n[(c,u,v), (i,j)] = x_{n,c,s_h i + d_h u - p_h, s_w j + d_w v - p_w}$.
Then each group is one matrix product,
$Y_n^{(g)} = W^{(g)} \, \mathrm{cols}_n^{(g)}$ with $W^{(g)}$ of shape $(C_{out}/G, K)$
and $\mathrm{cols}_n^{(g)}$ of shape $(K, H_{out} W_{out})$. minicnn's dense and
grouped path is exactly this, chunked over the batch; see the
[implementation ladder](../ladder.md). The column matrix is `F.unfold(x)` and its
adjoint, col2im, is `F.fold` ([unfold and fold](fold.md)).

**Special cases.**

* *Pointwise* ($1 \times 1$, stride 1, no padding): $y_n = W x_n$ on the $(C, HW)$
  matrix of the image, no copying at all.
* *Depthwise* ($G = C$, $C_{out} = MC$): output channel $o = cM + m$ sees only input
  channel $c$: $y_{n,o,i,j} = b_o + \sum_{u,v} w_{o,0,u,v} x_{n,c,s_h i + d_h u - p_h, s_w j + d_w v - p_w}$.
* *Separable*: a depthwise $k \times k$ followed by a pointwise $1 \times 1$
  (MobileNet): it factors the dense kernel into a spatial filter per channel and a
  channel mix.

**conv_transpose2d** is the adjoint of `conv2d` seen as a linear map of $x$ (weight
$(C, C_{out}/G, k_h, k_w)$): every input pixel scatters a weighted copy of the kernel,

$$y_{n,\, g C_{out}/G + o,\, s_h i + d_h u - p_h,\, s_w j + d_w v - p_w} \mathrel{+}= x_{n,c,i,j} \, w_{c,o,u,v} \quad (c \text{ in group } g)$$

plus $b$, dropping positions outside the output, whose size inverts the conv's:

$$H_{out} = (H - 1) s_h - 2 p_h + d_h (k_h - 1) + \mathrm{output\_padding}_h + 1$$
""",
    gradients=r"""
Write the forward sum with the full chain rule: for any quantity $q$ that $y$ depends
on, $\frac{\partial L}{\partial q} = \sum_{n,o,i,j} \bar{y}_{n,o,i,j} \frac{\partial y_{n,o,i,j}}{\partial q}$.

**Bias.** $b_o$ appears once, with coefficient 1, in every $y_{n,o,i,j}$ of channel $o$:

$$\frac{\partial L}{\partial b_o} = \sum_{n,i,j} \bar{y}_{n,o,i,j}$$

**Weight.** Step 1: $w_{o,c,u,v}$ appears only in the outputs of channel $o$.
Step 2: in each of them exactly once, multiplied by the input it reads. So

$$\frac{\partial y_{n,o',i,j}}{\partial w_{o,c,u,v}} = [o' = o] \; x_{n,\, g(o) C/G + c,\, s_h i + d_h u - p_h,\, s_w j + d_w v - p_w}$$

Step 3: sum over what remains:

$$\frac{\partial L}{\partial w_{o,c,u,v}} = \sum_{n,i,j} \bar{y}_{n,o,i,j} \; x_{n,\, g(o) C/G + c,\, s_h i + d_h u - p_h,\, s_w j + d_w v - p_w}$$

This is again a correlation, of $x$ with $\bar{y}$: $\bar{y}$ plays the kernel, with
dilation $s$ (the roles of stride and dilation swap). In im2col form it is one product
per group: $\bar{W}^{(g)} = \sum_n \bar{Y}_n^{(g)} (\mathrm{cols}_n^{(g)})^\top$, which is what
`conv_grad_weight` computes.

**Input.** Step 1: $x_{n,c',h,w}$ (channel $c'$ in group $g$, $c = c' - g C/G$) appears in
the outputs $o$ of group $g$, once for every tap $(u, v)$ and output pixel $(i, j)$ with
$s_h i + d_h u - p_h = h$ and $s_w j + d_w v - p_w = w$, with coefficient $w_{o,c,u,v}$.
Step 2:

$$\frac{\partial L}{\partial x_{n,c',h,w}} = \sum_{o \in g} \sum_{u,v} \sum_{\substack{i:\, s_h i + d_h u - p_h = h \\ j:\, s_w j + d_w v - p_w = w}} \bar{y}_{n,o,i,j} \, w_{o,c,u,v}$$

Step 3: read as a scatter, every $\bar{y}_{n,o,i,j}$ sends $\bar{y} \, w_{o,c,u,v}$ back to the
pixel tap $(u, v)$ read, which is exactly the transposed convolution:
$\bar{x} = \mathrm{conv\_transpose2d}(\bar{y}, w)$ with the same $s, p, d, G$. In im2col form:
$\overline{\mathrm{cols}}_n^{(g)} = (W^{(g)})^\top \bar{Y}_n^{(g)}$, then *col2im* adds every
entry back to the pixel it was copied from (`_grad_input_col2im`).

Step 4 (stride 1): the condition $i = h + p_h - d_h u$ has one solution per tap, so with
$u' = k_h - 1 - u$

$$\frac{\partial L}{\partial x_{n,c',h,w}} = \sum_{o \in g} \sum_{u',v'} \bar{y}_{n,o,\, h - (d_h(k_h-1) - p_h) + d_h u',\, w - (d_w(k_w-1) - p_w) + d_w v'} \; w_{o,c,k_h-1-u',k_w-1-v'}$$

a plain `conv2d` of $\bar{y}$ (padded by $d(k-1) - p$) with the kernel flipped in $(u, v)$
and transposed in $(o, c)$ (`_grad_input_flipped`: the stride-1 input gradient reuses
the forward code).

**conv_transpose2d.** Its forward *is* the map $\bar{y} \mapsto \bar{x}$ above, so its
gradients are the other two pieces of `conv2d`: $\partial L/\partial x = \text{conv2d}(\bar{y}, w)$
(cropped to $x$'s size) and
$\partial L/\partial w_{c,o,u,v} = \sum_{n,i,j} x_{n,c,i,j} \, \bar{y}_{n,\, gC_{out}/G + o,\, s_h i + d_h u - p_h,\, s_w j + d_w v - p_w}$,
`conv2d`'s weight gradient with input and output gradient swapped.
""",
    pitfalls=r"""
* **Cross-correlation, not convolution.** No kernel flip. A kernel taken from signal
  processing code (`scipy.signal.convolve2d`) must be flipped in $(u, v)$ to give the same
  result.
* **The floor in $H_{out}$ loses information.** With stride 2, inputs of height 7 and 8
  both give $H_{out} = 4$ (3x3, padding 1). A transposed convolution cannot know which one
  it should rebuild: `output_padding` (smaller than the stride or the dilation) picks it.
* **`padding='same'` with an even $d(k-1)$ is asymmetric**: PyTorch (and minicnn) put the
  extra row at the bottom and the extra column at the right. TensorFlow's `'same'` does too,
  but also allows strides, where it pads $\max((\lceil H/s \rceil - 1)s + d(k-1) + 1 - H, 0)$
  in total; PyTorch refuses `'same'` with a stride, so code ported from TensorFlow needs an
  explicit `F.pad` (see `minicnn.article`).
* **Two weight layouts.** `conv2d` weights are $(C_{out}, C/G, k_h, k_w)$,
  `conv_transpose2d` weights $(C_{in}, C_{out}/G, k_h, k_w)$: the transposed weight of a
  conv is the same array, not a transposed one.
* **float32 summation order.** The im2col product sums $K = (C/G) k_h k_w$ terms in BLAS
  order, the naive loop in index order, the depthwise kernel tap by tap: results agree to
  a few float32 ulps times $\sqrt{K}$, not bit for bit. Compare with a tolerance, or in
  float64.
* **A bias before batch norm is wasted**: BN subtracts the per-channel mean, which
  removes $b$ exactly (it changes neither the output nor any other gradient). Blocks
  followed by BN use `bias=False`.
* **im2col memory.** The column matrix holds every input $k_h k_w$ times (9x for 3x3):
  minicnn builds it a few images at a time (`_CHUNK_BYTES`); the depthwise kernels build
  none. See [the ladder](../ladder.md) for measured peak memory.
""",
    ops=(CONV2D, DEPTHWISE, SEPARABLE, CONV_TRANSPOSE2D),
    code=(
        CodeLink("minicnn/ops/conv.py", ("Conv2d", "ConvTranspose2d", "conv2d", "conv_transpose2d"),
                 "The Functions (forward and backward side by side), argument checks, output size."),
        CodeLink("minicnn/ops/_conv_im2col.py",
                 ("im2col_chunks", "conv_forward", "conv_grad_weight", "conv_grad_input",
                  "_grad_input_flipped", "_grad_input_col2im"),
                 "Dense and grouped convolution as chunked im2col + batched matrix products (NumPy or CuPy)."),
        CodeLink("minicnn/ops/_conv_depthwise.py",
                 ("forward_reference", "grad_input_reference", "grad_weight_reference"),
                 "Depthwise convolution as one shifted multiply-add per tap (the readable formulation; the CuPy path)."),
        CodeLink("minicnn/ops/_conv_depthwise_numba.py", ("forward", "grad_input", "grad_weight"),
                 "Direct depthwise kernels in Numba (NumPy arrays)."),
        CodeLink("kernels/im2col.py", ("im2col_kernel", "col2im_kernel"),
                 "CUDA im2col and col2im (one thread per element, col2im gathers without atomics)."),
        CodeLink("kernels/depthwise.py",
                 ("depthwise_forward_kernel", "depthwise_grad_input_kernel", "depthwise_grad_weight_kernel"),
                 "CUDA depthwise forward and both gradients."),
        CodeLink("minicnn/nn/conv.py", ("Conv2d", "ConvTranspose2d"), "The layers (PyTorch's initialisation)."),
        CodeLink("minicnn/nn/blocks/densenet.py", ("SeparableConv2d",), "Depthwise separable convolution."),
        CodeLink("minicnn/ladder/naive.py", ("conv2d_forward", "conv2d_grad_input", "conv2d_grad_weight"),
                 "The formulas above as plain loops, one term at a time (the first rung of the ladder)."),
    ),
    tests=(
        TestLink("tests/ops/test_conv2d.py::test_conv2d_matches_reference",
                 "the forward sum, against naive loops written from it"),
        TestLink("tests/ops/test_conv2d.py::test_conv2d_output_size_formula", "$H_{out}$"),
        TestLink("tests/ops/test_conv2d.py::test_conv2d_gradcheck",
                 "all three gradients (float64 central differences)"),
        TestLink("tests/ops/test_conv2d.py::test_conv2d_matches_torch",
                 "output and gradients against PyTorch"),
        TestLink("tests/ops/test_conv_transpose2d.py::test_conv_transpose2d_matches_reference",
                 "the scatter form of conv_transpose2d"),
        TestLink("tests/ops/test_conv_transpose2d.py::test_conv_transpose2d_output_size_formula",
                 "conv_transpose2d's $H_{out}$"),
        TestLink("tests/ops/test_conv_identities.py::test_conv_transpose2d_is_the_adjoint_of_conv2d",
                 r"$\langle \mathrm{conv}(x), y \rangle = \langle x, \mathrm{conv}^\top(y) \rangle$"),
        TestLink("tests/ops/test_conv_identities.py::test_depthwise_kernels_equal_grouped_im2col",
                 "depthwise kernels = the grouped im2col formula"),
        TestLink("tests/ops/test_conv_identities.py::test_separable_convolution_parameter_count",
                 "separable parameter count"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "every shape, parameter and MAC formula on this page, against the engine"),
        TestLink("tests/docs/test_explain.py::test_conv_formulas_agree_with_the_engine_for_drawn_configurations",
                 "the output-size, parameter and MAC formulas for drawn configurations"),
        TestLink("tests/docs/test_ladder.py::test_every_rung_agrees_with_the_naive_loops",
                 "naive loops, im2col, the fast kernels (and CUDA where present) agree"),
    ),
)
