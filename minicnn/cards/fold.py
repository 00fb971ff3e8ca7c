"""Card: unfold and fold (im2col and col2im, exposed)."""
from ._common import IMAGE, NCHW, axis_symbols, window_positions
from ._model import Card, CodeLink, Derived, OpSpec, Operand, Symbol, TestLink

_GEOMETRY = (axis_symbols("k", "kernel size", None) + axis_symbols("d", "dilation", 1)
             + axis_symbols("p", "zero padding (both sides)", 0) + axis_symbols("s", "stride", 1))
_POSITIONS, _FITS = window_positions("H_b", "W_b", ("window positions along H",
                                                     "window positions along W"))
_BLOCKS = _POSITIONS + (Derived("L", "H_b * W_b", "number of windows (blocks)"),)
_ARGS = "(k_h, k_w), (d_h, d_w), (p_h, p_w), (s_h, s_w)"

UNFOLD = OpSpec(
    name="unfold", title="im2col: every window of the image as one column",
    symbols=IMAGE + _GEOMETRY, derived=_BLOCKS,
    operands=(Operand("x", NCHW, "input"),),
    output=("N", "C * k_h * k_w", "L"), params="0", macs="0",
    call=f"F.unfold(x, {_ARGS})", module=f"nn.Unfold({_ARGS})",
    constraints=_FITS,
    examples=("N=1,C=3,H=32,W=32,k=3,p=1", "N=2,C=4,H=9,W=7,k_h=3,k_w=2,d=2,p=1,s_h=2"),
    notes="No arithmetic: a copy that holds every input $k_h k_w$ times (fewer with a stride).",
)

FOLD = OpSpec(
    name="fold", title="col2im: add every column back onto the window it came from",
    symbols=(Symbol("N", "batch size", 1), Symbol("C", "output channels"),
             Symbol("H", "output_size height"), Symbol("W", "output_size width")) + _GEOMETRY,
    derived=_BLOCKS,
    operands=(Operand("cols", ("N", "C * k_h * k_w", "L"), "columns"),),
    # No layer here: minicnn.summary reads a 3-D input shape as an unbatched image, which the
    # columns are not (nn.Fold is tested in tests/ops/test_fold.py).
    output=NCHW, call=f"F.fold(cols, (H, W), {_ARGS})", constraints=_FITS,
    examples=("N=1,C=3,H=32,W=32,k=3,p=1", "N=2,C=2,H=8,W=9,k=2,s=2",
              "N=1,C=4,H=7,W=6,k_h=2,k_w=3,d_h=2,p_w=1,s=2"),
    notes="Each column entry is added once: $C k_h k_w L$ additions (not MACs).",
)

CARD = Card(
    key="fold",
    title="Unfold and fold: im2col and col2im",
    summary=r"""
`unfold` copies every window a convolution would read into one column of a matrix
(im2col); a convolution is then a single matrix product with the flattened kernel.
`fold` is its adjoint (col2im): it adds every column entry back onto the pixel it
stands for, so overlapping windows sum. They are the two halves of minicnn's own
dense convolution ([convolution card](convolution.md), [implementation ladder](../ladder.md)),
exposed with PyTorch's names: the same code, and on a GPU the same CUDA kernels.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x_{n,c,h,w}$ | `unfold`'s input, shape $(N, C, H, W)$ |
| $X_{n,r,l}$ | columns, shape $(N, C k_h k_w, L)$: `unfold`'s output, `fold`'s input |
| $r = (c k_h + u) k_w + v$ | row of channel $c$, kernel tap $(u, v)$ |
| $l = i W_b + j$ | column of window $(i, j)$, $0 \le i < H_b$, $0 \le j < W_b$ |
| $s, p, d$ | stride, padding (the same on both sides), dilation; $h$ and $w$ components |
| $\bar{X}$, $\bar{y}$ | the upstream gradients |

$H_b = \lfloor (H + 2p_h - d_h(k_h-1) - 1)/s_h \rfloor + 1$ and likewise $W_b$: the
window positions, exactly conv2d's output size; $L = H_b W_b$.
""",
    forward=r"""
**unfold.** Window $(i, j)$ reads, at tap $(u, v)$, the pixel $(s_h i + d_h u - p_h,\, s_w j + d_w v - p_w)$
(zero on the padding):

$$X_{n,\, (c k_h + u) k_w + v,\, i W_b + j} = x_{n,\, c,\, s_h i + d_h u - p_h,\, s_w j + d_w v - p_w}$$

**fold** maps columns $X$ of shape $(N, C k_h k_w, L)$ back to images of the given
`output_size` $(H, W)$, adding every entry onto its pixel and dropping those on the padding:

$$y_{n,c,h,w} = \sum_{u,v} \sum_{\substack{i:\, s_h i + d_h u - p_h = h \\ j:\, s_w j + d_w v - p_w = w}} X_{n,\, (c k_h + u) k_w + v,\, i W_b + j}$$

**conv2d is a product of unfold.** conv2d's sum
$y_{n,o,i,j} = \sum_{c,u,v} w_{o,c,u,v} \, x_{n,c,s_h i + d_h u - p_h,\, s_w j + d_w v - p_w}$
is row $o$ of the weight, flattened to $(C k_h k_w)$, times column $(i, j)$ of $X_n$:

$$\mathrm{conv2d}(x, w) = \big(w.\mathrm{view}(C_{out}, C k_h k_w) \; \mathrm{unfold}(x)\big).\mathrm{view}(N, C_{out}, H_b, W_b)$$

**conv_transpose2d is fold of a product.** Its input pixel $(i, j)$ scatters
$\sum_c x_{n,c,i,j} w_{c,o,u,v}$ onto output pixel $(s_h i + d_h u - p_h, \ldots)$: that is
column $l = (i, j)$ of $w.\mathrm{view}(C, C_{out} k_h k_w)^\top x_n.\mathrm{view}(C, L)$, folded:

$$\mathrm{conv\_transpose2d}(x, w) = \mathrm{fold}\big(w.\mathrm{view}(C, C_{out} k_h k_w)^\top \, x.\mathrm{view}(N, C, L),\; (H_{out}, W_{out})\big)$$

(groups 1, no bias; with groups, one product per group.) minicnn's strided input
gradient of conv2d is exactly this product followed by col2im.
""",
    gradients=r"""
Both maps are linear with coefficients 0 or 1, and each is the other's transpose.

**unfold.** Step 1: $X_{n,r,l}$ is one pixel of $x$, with coefficient 1, or a zero of the padding.
Step 2: so $\frac{\partial L}{\partial x_{n,c,h,w}} = \sum_{r,l} \bar{X}_{n,r,l} \frac{\partial X_{n,r,l}}{\partial x_{n,c,h,w}}$
collects $\bar{X}$ from every (row, column) that copied pixel $(h, w)$:

$$\frac{\partial L}{\partial x_{n,c,h,w}} = \sum_{u,v} \sum_{\substack{i:\, s_h i + d_h u - p_h = h \\ j:\, s_w j + d_w v - p_w = w}} \bar{X}_{n,\, (c k_h + u) k_w + v,\, i W_b + j}$$

Step 3: this is the fold formula with $\bar{X}$ in place of $X$:
$\bar{x} = \mathrm{fold}(\bar{X}, (H, W))$ with the same $k, d, p, s$.

**fold.** Step 1: $X_{n,r,l}$ appears in exactly one output, the pixel it is added to (or
none, on the padding), with coefficient 1. Step 2:

$$\frac{\partial L}{\partial X_{n,\, (c k_h + u) k_w + v,\, i W_b + j}} = \bar{y}_{n,\, c,\, s_h i + d_h u - p_h,\, s_w j + d_w v - p_w} \quad (0 \text{ on the padding})$$

Step 3: this is the unfold formula applied to $\bar{y}$: $\bar{X} = \mathrm{unfold}(\bar{y})$.

**Not inverses.** $\mathrm{fold}(\mathrm{unfold}(x))_{n,c,h,w} = m_{h,w} \, x_{n,c,h,w}$, where
$m_{h,w}$ counts the windows that read pixel $(h, w)$ (up to $k_h k_w$ for stride 1, 0 for
pixels no window reaches); dividing by $\mathrm{fold}(\mathrm{unfold}(\mathbf{1}))$ recovers $x$
where $m > 0$.
""",
    pitfalls=r"""
* **fold sums overlaps**: it is the adjoint of unfold, not its inverse (see above).
* **`L` must match `output_size`**: fold recomputes $H_b W_b$ from `output_size`, kernel,
  dilation, padding and stride and refuses columns of another length; the second dimension
  must be divisible by $k_h k_w$.
* **Memory**: unfold's output holds each input $k_h k_w / (s_h s_w)$ times (9x for a 3x3
  stride-1 kernel). minicnn's conv2d builds these columns a few images at a time
  (`_CHUNK_BYTES`); `F.unfold` returns the whole batch's.
* **Row order**: rows run over $(c, u, v)$ with $v$ fastest, columns over $(i, j)$ with $j$
  fastest (PyTorch's layout); a weight flattened in another order (channels last, say) gives
  a wrong convolution without any error.
* **float32 order**: fold adds up to $k_h k_w$ entries per pixel, tap by tap (the CUDA
  kernel: in float64, rounded once), so results agree with PyTorch to a few ulps, not bit for bit.
""",
    ops=(UNFOLD, FOLD),
    code=(
        CodeLink("minicnn/ops/fold.py", ("Unfold", "Fold", "unfold", "fold"),
                 "The Functions (each one's backward is the other) and the argument checks."),
        CodeLink("minicnn/ops/_conv_im2col.py", ("im2col", "col2im", "im2col_chunks", "_col2im_add"),
                 "The im2col and col2im conv2d itself runs on (NumPy or CuPy)."),
        CodeLink("kernels/im2col.py", ("im2col_kernel", "col2im_kernel"),
                 "The CUDA kernels, shared with conv2d (col2im gathers per pixel, no atomics)."),
        CodeLink("minicnn/ops/_gpu.py", ("unfold_forward", "fold_forward"), "The GPU glue."),
        CodeLink("minicnn/nn/fold.py", ("Unfold", "Fold"), "The layers."),
        CodeLink("minicnn/ladder/im2col.py", ("im2col", "col2im"),
                 "The textbook version, built in one piece (a rung of the implementation ladder)."),
    ),
    tests=(
        TestLink("tests/ops/test_fold.py::test_unfold_matches_the_formula",
                 "unfold, element by element, against loops written from the formula"),
        TestLink("tests/ops/test_fold.py::test_fold_is_the_adjoint_of_unfold",
                 r"$\langle \mathrm{unfold}(x), X \rangle = \langle x, \mathrm{fold}(X) \rangle$"),
        TestLink("tests/ops/test_fold.py::test_conv2d_is_a_matrix_product_of_unfold",
                 "conv2d = (w.view(C_out, -1) @ unfold(x)).view(N, C_out, H_out, W_out)"),
        TestLink("tests/ops/test_fold.py::test_conv_transpose2d_is_fold_of_a_matrix_product",
                 "conv_transpose2d = fold(w.view(C, -1)^T @ x.view(N, C, L))"),
        TestLink("tests/ops/test_fold.py::test_fold_of_unfold_multiplies_by_the_window_count",
                 "fold(unfold(x)) = m x"),
        TestLink("tests/ops/test_fold.py::test_unfold_and_fold_gradcheck", "both gradients"),
        TestLink("tests/docs/test_cards.py::test_unfold_gradient_is_fold_and_fold_gradient_is_unfold",
                 "the gradients derived above, against autograd"),
        TestLink("tests/ops/test_fold.py::test_unfold_and_fold_match_torch", "PyTorch parity"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "the shape formulas against the engine"),
    ),
)
