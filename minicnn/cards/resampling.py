"""Card: resampling (interpolate: nearest and bilinear; pixel shuffle and unshuffle)."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, Symbol, TestLink

INTERPOLATE = OpSpec(
    name="interpolate", title="resize by nearest neighbour or bilinear interpolation",
    symbols=IMAGE + (Symbol("f", "integer scale factor (both axes)", 2),
                     Symbol("H_out", "output height", "f * H"),
                     Symbol("W_out", "output width", "f * W"),
                     Symbol("b", "mode: 1 bilinear, 0 nearest", 0),
                     Symbol("a", "align_corners (bilinear only)", 0)),
    operands=(Operand("x", NCHW, "input"),),
    output=("N", "C", "H_out", "W_out"), params="0", macs="0",
    call="F.interpolate(x, size=(H_out, W_out), mode=('bilinear' if b else 'nearest'), "
         "align_corners=(bool(a) if b else None))",
    module="nn.Upsample(size=(H_out, W_out), mode=('bilinear' if b else 'nearest'), "
           "align_corners=(bool(a) if b else None))",
    constraints=(("a <= b", "align_corners is a bilinear option"),),
    examples=("N=1,C=64,H=28,W=28", "N=2,C=3,H=7,W=5,H_out=4,W_out=9,b=1",
              "N=1,C=3,H=4,W=4,f=3,b=1,a=1"),
    notes="Nearest copies; bilinear costs 3 multiply-adds per output and axis (not counted "
          "as MACs).",
)

PIXEL_SHUFFLE = OpSpec(
    name="pixel_shuffle", title="channels to space: (C r^2, H, W) to (C, H r, W r)",
    symbols=(Symbol("N", "batch size", 1), Symbol("C", "output channels"),
             Symbol("H", "input height"), Symbol("W", "input width"),
             Symbol("r", "upscale_factor", 2)),
    operands=(Operand("x", ("N", "C * r * r", "H", "W"), "input"),),
    output=("N", "C", "H * r", "W * r"), params="0", macs="0",
    call="F.pixel_shuffle(x, r)", module="nn.PixelShuffle(r)",
    examples=("N=1,C=3,H=56,W=56,r=4", "N=2,C=2,H=3,W=5,r=3"),
    notes="A permutation: no arithmetic, one read and one write per element.",
)

PIXEL_UNSHUFFLE = OpSpec(
    name="pixel_unshuffle", title="space to channels: (C, H r, W r) to (C r^2, H, W)",
    symbols=(Symbol("N", "batch size", 1), Symbol("C", "input channels"),
             Symbol("H", "output height"), Symbol("W", "output width"),
             Symbol("r", "downscale_factor", 2)),
    operands=(Operand("x", ("N", "C", "H * r", "W * r"), "input"),),
    output=("N", "C * r * r", "H", "W"), params="0", macs="0",
    call="F.pixel_unshuffle(x, r)", module="nn.PixelUnshuffle(r)",
    examples=("N=1,C=3,H=56,W=56,r=4", "N=2,C=2,H=3,W=5,r=3"),
    notes="The inverse permutation of pixel_shuffle (and its gradient).",
)

CARD = Card(
    key="resampling",
    title="Resampling: interpolate (nearest, bilinear), pixel shuffle",
    summary=r"""
Decoders, feature pyramids and super-resolution networks change the spatial size of a
feature map without a convolution. `interpolate` (the layer `nn.Upsample`) resizes each
channel by reading, for every output pixel, the nearest input pixel or a bilinear blend
of the four around it. `pixel_shuffle` (ESPCN, super-resolution) trades channels for
resolution: $r^2$ channels of an $H \times W$ map become one channel of $Hr \times Wr$;
`pixel_unshuffle` undoes it.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x_{n,c,h,w}$ | input, shape $(N, C, H, W)$ |
| $y_{n,c,i,j}$ | output, shape $(N, C, H_{out}, W_{out})$ |
| $n_{in}, n_{out}$ | input and output length along one axis ($H$ and $H_{out}$, or $W$ and $W_{out}$) |
| $\rho$ | the index ratio of one axis (below) |
| $A$ | the $(n_{out}, n_{in})$ resampling matrix of one axis |
| $r$ | pixel shuffle's factor |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |

The formulas are written for one axis; the image is resampled along $W$, then along $H$.
""",
    forward=r"""
**Output size.** With `size`, $n_{out}$ is given. With `scale_factor` $f$,
$n_{out} = \lfloor n_{in} f \rfloor$, and the index ratio is $\rho = 1/f$; with
`recompute_scale_factor=True` (or `size`) it is $\rho = n_{in}/n_{out}$.

**nearest.** Output $o$ copies input

$$i_0(o) = \min\left(\lfloor o \rho \rfloor,\; n_{in} - 1\right)$$

computed in float32, as PyTorch's `nearest_idx` does, with its two special cases:
$n_{out} = n_{in}$ copies ($i_0 = o$) and $n_{out} = 2 n_{in}$ takes $i_0 = \lfloor o/2 \rfloor$.

**bilinear.** Output $o$ sits at the source coordinate

$$\sigma(o) = \begin{cases} o \, \frac{n_{in} - 1}{n_{out} - 1} & \text{align\_corners} \\ \max\left((o + \tfrac{1}{2}) \rho - \tfrac{1}{2},\; 0\right) & \text{otherwise} \end{cases}$$

(0 when $n_{out} = 1$ with align_corners). Without align_corners the pixel *centres*
$o + \frac{1}{2}$ and $i + \frac{1}{2}$ are matched, so the images' outer edges line up;
with it, the centres of the corner pixels do. The two neighbours and their weights are
$i_0 = \min(\lfloor \sigma \rfloor, n_{in} - 1)$, $i_1 = \min(i_0 + 1, n_{in} - 1)$,
$\lambda_1 = \min(\max(\sigma - i_0, 0), 1)$, $\lambda_0 = 1 - \lambda_1$, computed in the input's
precision; $n_{out} = n_{in}$ copies.

**As a matrix.** Along one axis the output is $A x$ with $A_{o,i_0(o)} = \lambda_0(o)$ and
$A_{o,i_1(o)} \mathrel{+}= \lambda_1(o)$ (nearest: $A_{o,i_0(o)} = 1$). Both modes are
separable, so the whole image is

$$y_{n,c} = A_H \, x_{n,c} \, A_W^\top \qquad A_H: (H_{out}, H), \; A_W: (W_{out}, W)$$

The forward does not multiply by $A$: it gathers rows $i_0, i_1$ and blends them,
$\lambda_0 x_{i_0} + \lambda_1 x_{i_1}$, along $W$ and then along $H$ (PyTorch's operations
in PyTorch's order; nearest is a pure copy, so infinities stay where they were).

**pixel_shuffle** with factor $r$ writes channel $c r^2 + a r + b$ ($0 \le a, b < r$) of
pixel $(h, w)$ to pixel $(h r + a, w r + b)$ of channel $c$:

$$y_{n,\, c,\, h r + a,\, w r + b} = x_{n,\, c r^2 + a r + b,\, h,\, w}$$

In code: view the channels as $(C, r, r)$ and move the two $r$ axes next to $H$ and $W$:
$(N, C, r, r, H, W) \to (N, C, H, r, W, r)$, then merge. `pixel_unshuffle` is the inverse
transpose. **A channel shuffle's cousin:** both are permutations that view an axis as a
matrix and transpose it. Channel shuffle views the channels as $(g, C/g)$ and transposes,
so channels trade places *between groups* and the image is untouched; pixel shuffle views
them as $(C, r \cdot r)$ and transposes the $r \cdot r$ factor *into the spatial axes*, so
channels become space. Neither computes anything, and the gradient of each is its inverse
permutation.
""",
    gradients=r"""
**interpolate.** Step 1: $y_{n,c} = A_H x_{n,c} A_W^\top$ is linear in $x$, with
$\frac{\partial y_{n,c,i,j}}{\partial x_{n,c,h,w}} = (A_H)_{i,h} (A_W)_{j,w}$.
Step 2: sum over the outputs:

$$\frac{\partial L}{\partial x_{n,c,h,w}} = \sum_{i,j} \bar{y}_{n,c,i,j} \, (A_H)_{i,h} \, (A_W)_{j,w}, \qquad \bar{x}_{n,c} = A_H^\top \, \bar{y}_{n,c} \, A_W$$

Step 3: read as a scatter, each output's gradient goes back to the (at most four) pixels
it blended, weighted by $\lambda$; for nearest, to the one pixel it copied, so a pixel copied
$m$ times receives the sum of $m$ gradients. minicnn computes it as the two small products
$(H, H_{out}) \cdot (N, C, H_{out}, W_{out}) \cdot (W_{out}, W)$ (a scatter-add with no loop
and no atomics).

**pixel_shuffle.** Each input lands in exactly one output with coefficient 1, so

$$\frac{\partial L}{\partial x_{n,\, c r^2 + a r + b,\, h,\, w}} = \bar{y}_{n,\, c,\, h r + a,\, w r + b}, \qquad \bar{x} = \mathrm{pixel\_unshuffle}(\bar{y}, r)$$

and likewise $\bar{x} = \mathrm{pixel\_shuffle}(\bar{y}, r)$ for `pixel_unshuffle`.
""",
    pitfalls=r"""
* **align_corners changes the result**, not just the edges: with align_corners=False
  (PyTorch's default since 0.4.0) upsampling by 2 gives the weights $\frac{3}{4}, \frac{1}{4}$,
  with True the step is $(n_{in} - 1)/(n_{out} - 1)$. Models trained with one setting degrade
  with the other. TensorFlow 1's `resize_bilinear` (the seed article's era) used a third
  convention: $\sigma = o \, n_{in}/n_{out}$ without the half-pixel shift (see `minicnn.article`).
* **`nearest` is not the rounding nearest**: it takes $\lfloor o \rho \rfloor$, which shifts the
  image by up to half an input pixel (PyTorch's `nearest-exact` rounds; minicnn does not have it).
  PyTorch itself is inconsistent at the special cases: its 1-D and 3-D forward kernels skip
  them (5 pixels scaled by 1.0001 copy input 0 twice) while its 2-D kernels and every
  backward keep them; minicnn resizes 4-D images only and follows the 2-D kernels.
* **scale_factor vs size**: a non-integer scale factor floors the output size, and without
  `recompute_scale_factor=True` the index ratio stays $1/f$, not $n_{in}/n_{out}$: resizing 5
  pixels by 1.5 reads with $\rho = 0.667$, not $5/7$.
* **Bilinear downsampling aliases**: each output reads at most 2 x 2 pixels, however small
  the output (PyTorch's `antialias=True` widens the filter; minicnn does not have it).
* **Pixel shuffle's channel order**: the $r^2$ channels of one output channel are
  *consecutive* ($c r^2 + a r + b$). TensorFlow's `depth_to_space` uses the channels-last
  order ($(a r + b) C + c$), so weights ported across need their output channels permuted.
""",
    ops=(INTERPOLATE, PIXEL_SHUFFLE, PIXEL_UNSHUFFLE),
    code=(
        CodeLink("minicnn/ops/resample.py",
                 ("Interpolate", "interpolate", "AxisMap", "nearest_map", "linear_map",
                  "resize_arguments"),
                 "The index arithmetic per axis, the gather-and-blend forward, the matrix backward."),
        CodeLink("minicnn/ops/shuffle.py",
                 ("PixelShuffle", "PixelUnshuffle", "pixel_shuffle", "pixel_unshuffle",
                  "_pixel_shuffle", "_pixel_unshuffle"),
                 "Pixel shuffle next to channel shuffle: two reshape-transposes."),
        CodeLink("minicnn/nn/resample.py",
                 ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle",
                  "PixelUnshuffle"), "The layers."),
    ),
    tests=(
        TestLink("tests/ops/test_interpolate.py::test_interpolate_matches_the_index_formulas",
                 "forward against loops written from the index formulas above"),
        TestLink("tests/ops/test_interpolate.py::test_interpolate_gradcheck", "the gradient"),
        TestLink("tests/ops/test_interpolate.py::test_interpolate_matches_torch",
                 "PyTorch parity, output and gradient"),
        TestLink("tests/ops/test_interpolate.py::test_interpolate_gradient_is_the_transposed_matrix",
                 r"$\bar{x} = A_H^\top \bar{y} A_W$"),
        TestLink("tests/ops/test_pixel_shuffle.py::test_pixel_shuffle_is_the_permutation",
                 "the permutation, element by element"),
        TestLink("tests/ops/test_pixel_shuffle.py::test_pixel_unshuffle_inverts_pixel_shuffle",
                 "the inverse"),
        TestLink("tests/docs/test_cards.py::test_pixel_shuffle_gradient_is_pixel_unshuffle",
                 "pixel shuffle's gradient as derived above, against autograd"),
        TestLink("tests/ops/test_pixel_shuffle.py::test_pixel_shuffles_match_torch",
                 "PyTorch parity"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "the shape formulas against the engine"),
    ),
)
