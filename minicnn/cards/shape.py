"""Card: shape operators (no arithmetic; the gradient moves back)."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, TestLink

_X = (Operand("x", NCHW),)


def _op(name, title, output, call, operands=_X, aliases=()):
    return OpSpec(name=name, title=title, symbols=IMAGE, operands=operands, output=output, call=call,
                  aliases=aliases, examples=("N=2,C=4,H=3,W=5",))


OPS = (
    _op("reshape", "same elements, new shape (here (N, C*H*W))", ("N", "C * H * W"),
        "F.reshape(x, (N, C * H * W))", aliases=("view",)),
    _op("flatten", "merge dims start_dim..end_dim (here 1..-1)", ("N", "C * H * W"), "F.flatten(x, 1)"),
    _op("permute", "reorder the axes (here NCHW -> NHWC)", ("N", "H", "W", "C"), "F.permute(x, (0, 2, 3, 1))"),
    _op("transpose", "swap two axes (here H and W)", ("N", "C", "W", "H"), "F.transpose(x, 2, 3)"),
    _op("squeeze", "drop a size-1 axis", ("N", "C", "H", "W"), "F.squeeze(F.unsqueeze(x, 1), 1)"),
    _op("unsqueeze", "insert a size-1 axis", ("N", "1", "C", "H", "W"), "F.unsqueeze(x, 1)"),
    _op("expand", "broadcast to a larger shape without copying (here a new leading axis of 2)",
        ("2", "N", "C", "H", "W"), "F.expand(x, (2, N, C, H, W))"),
    _op("repeat", "tile the input (here twice along dim 1)", ("N", "2 * C", "H", "W"),
        "F.repeat(x, (1, 2, 1, 1))"),
    _op("cat", "concatenate along an existing axis (here two inputs on dim 1)", ("N", "2 * C", "H", "W"),
        "F.cat([x, y], 1)", operands=_X + (Operand("y", NCHW),), aliases=("concat",)),
    _op("stack", "stack along a new axis", ("2", "N", "C", "H", "W"), "F.stack([x, y], 0)",
        operands=_X + (Operand("y", NCHW),)),
    _op("split", "pieces of a given size (here the first of size 1 on dim 1)", ("N", "1", "H", "W"),
        "F.split(x, 1, 1)[0]"),
    _op("chunk", "a given number of pieces (here the first of 2 on dim 1; C even)", ("N", "C / 2", "H", "W"),
        "F.chunk(x, 2, 1)[0]"),
    _op("pad", "constant padding (here 1 on each side of H and W)", ("N", "C", "H + 2", "W + 2"),
        "F.pad(x, (1, 1, 1, 1))"),
    _op("index", "NumPy indexing (here x[:, 0])", ("N", "H", "W"), "F.index(x, (slice(None), 0))",
        aliases=("unwrap_index",)),
)

CARD = Card(
    key="shape",
    title="Shape operators: reshape, permute, expand/repeat, cat/stack/split, pad, indexing",
    summary=r"""
None of these computes anything: each moves elements. So each backward moves the
gradient back to where the element came from: the inverse reshape or permutation, the
slice a piece came from, the interior of a padded array, the positions an index read.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x$ | input; $y$ the output; $\bar{y} = \partial L / \partial y$ |
| $\pi$ | the axis permutation of `permute` (`dims`), $\pi^{-1}$ its inverse (`argsort(dims)`) |
""",
    forward=r"""
| operator | $y$ |
| --- | --- |
| `reshape`/`view`, `flatten`, `squeeze`, `unsqueeze` | the same elements in row-major order, another shape |
| layer `nn.Unflatten(dim, sizes)` | `reshape` splitting axis `dim` into `sizes` (one may be $-1$): the inverse of `nn.Flatten` |
| `permute` | $y_{i_0 \ldots i_{k-1}} = x_{j}$ with $j_{\pi_t} = i_t$; `transpose` swaps two axes |
| `expand` | $x$ broadcast to a larger shape (new leading axes; size-1 axes stretched), no copy |
| `repeat` | $x$ tiled $r_k$ times along axis $k$: $y_{i} = x_{(i_k \bmod s_k)_k}$ |
| `cat` | the inputs side by side along an axis; `stack` along a new axis |
| `split`/`chunk` | slices along an axis |
| `pad` | $x$ in the middle of a constant frame (a negative width crops) |
| `pad`, `mode='reflect'`/`'replicate'`/`'circular'` | along each padded axis of size $n$ padded by $(b, a)$: $y_i = x_{r(i)}$, $j = i - b$, with $r = (n-1) - \lvert (n-1) - \lvert j \rvert \rvert$ (reflect: the mirror image, edge not repeated; $b, a < n$), $r = \min(\max(j, 0), n-1)$ (replicate: the edge repeated), $r = j \bmod n$ (circular: wrapped; $b, a \le n$); layers `nn.ZeroPad2d`, `nn.ReflectionPad2d`, `nn.ReplicationPad2d` |
| `index` | $x[\text{index}]$, NumPy's rules (ints, slices, None, Ellipsis, integer or boolean arrays) |
""",
    gradients=r"""
Every output element is one input element with coefficient 1, so
$\bar{x}_j = \sum_{i:\, y_i \text{ is } x_j} \bar{y}_i$:

* reshape family: $\bar{x} = \mathrm{reshape}(\bar{y}, \text{shape}(x))$ (element $k$ in row-major order is the same element);
* `permute`: $\bar{x} = \mathrm{permute}(\bar{y}, \pi^{-1})$;
* `expand`: every stretched copy reads the same element, so $\bar{x}$ sums $\bar{y}$ over the new and the
  stretched axes (the broadcasting rule of the elementwise card);
* `repeat`: $\bar{y}$ viewed as $(r_0, s_0, r_1, s_1, \ldots)$ and summed over the $r$ axes;
* `cat`: each input gets its slice of $\bar{y}$; `split`/`chunk`: each piece's gradient is written into its slice of a zero $\bar{x}$;
* `pad`: $\bar{x}$ is the interior of $\bar{y}$ (the frame's gradient goes nowhere);
  in the copying modes each frame element is a copy of $x_{r(i)}$, so $\bar{x}_k = \sum_{i:\, r(i) = k} \bar{y}_i$
  (a scatter-add per padded axis: the interior plus every copy in the frame);
* `index`: $\bar{x}$ is zero except at the indexed positions, where $\bar{y}$ is **added** ("scatter-add"):
  an integer index that repeats a position accumulates every copy's gradient.
""",
    pitfalls=r"""
* **Repeated integer indices accumulate**: `x[[0, 0]]` reads $x_0$ twice, so $\bar{x}_0 = \bar{y}_0 + \bar{y}_1$;
  an assignment-style scatter (`grad[idx] = g`) would keep only one.
* **`pad` lists widths from the last axis backwards**: `(left, right, top, bottom)`, PyTorch's order.
* **Reflect does not repeat the edge**: `[1 2 3]` padded by 1 is `2 | 1 2 3 | 2` (NumPy's `'reflect'`;
  its `'symmetric'` would repeat it), so a width must be less than the axis; replicate repeats the edge.
* **NCHW vs NHWC**: porting TensorFlow code means moving axis numbers, not just shapes; the
  `permute((0, 2, 3, 1))` above is the conversion.
* `nn.Unflatten`'s sizes must multiply to the axis' length exactly (one $-1$ is inferred); a
  mismatch is an error naming both, before anything is computed.
* `view` is `reshape` here (minicnn has no strided views that could fail to be contiguous).
""",
    ops=OPS,
    code=(CodeLink("minicnn/ops/shape.py", ("Reshape", "Permute", "Expand", "Repeat", "Cat", "Stack",
                                            "Index", "Pad", "PadMode"),
                   "The Functions; split/chunk are slices (Index)."),
          CodeLink("minicnn/nn/shape.py", ("Flatten", "Unflatten"),
                   "The layers: Flatten and its inverse Unflatten, both reshapes."),),
    tests=(
        TestLink("tests/ops/test_shape.py::test_reshape_and_view", "reshape"),
        TestLink("tests/ops/test_shape.py::test_permute", "permute"),
        TestLink("tests/ops/test_shape.py::test_cat", "cat"),
        TestLink("tests/ops/test_expand_repeat_norm.py::test_expand", "expand"),
        TestLink("tests/ops/test_expand_repeat_norm.py::test_repeat", "repeat"),
        TestLink("tests/ops/test_shape.py::test_pad_ordering_is_last_dim_first", "pad's width order"),
        TestLink("tests/ops/test_pad_modes.py::test_pad_modes_match_torch", "reflect/replicate/circular against PyTorch"),
        TestLink("tests/ops/test_pad_modes.py::test_pad_modes_gradcheck", "their gradients (central differences)"),
        TestLink("tests/ops/test_shape.py::test_integer_array_index_accumulates_repeats", "scatter-add"),
        TestLink("tests/ops/test_shape.py::test_indexing_gradcheck_and_torch", "indexing gradients"),
        TestLink("tests/nn/test_layers_activation_loss.py::test_unflatten_matches_torch_and_checks_sizes",
                 "nn.Unflatten against PyTorch, and its size check"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "the output shapes against the engine"),
    ),
)
