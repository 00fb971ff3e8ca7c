"""Card: selecting elements by index or mask (gather, index_select, masked_fill, topk, sort)."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, TestLink

_X = Operand("x", NCHW)


def _op(name, title, output, call, operands=(_X,)):
    return OpSpec(name=name, title=title, symbols=IMAGE, operands=operands, output=output, call=call,
                  examples=("N=2,C=4,H=3,W=5",))


OPS = (
    _op("gather", "values along dim 1 at an index tensor of the input's shape", NCHW,
        "F.gather(x, 1, idx)", operands=(_X, Operand("idx", NCHW, "indices into dim 1",
                                                     kind="index", high="C"))),
    _op("index_select", "slices of dim 1 in a given order (here C of them)", NCHW,
        "F.index_select(x, 1, idx)", operands=(_X, Operand("idx", ("C",), "indices into dim 1",
                                                           kind="index", high="C"))),
    _op("masked_fill", "a value where a mask holds (here 0 where mask)", NCHW,
        "F.masked_fill(x, mask, 0.0)", operands=(_X, Operand("mask", NCHW, "where to fill",
                                                             kind="bool"))),
    _op("topk", "the k largest along a dim and their indices (here k=1 on dim 1)", ("N", "1", "H", "W"),
        "F.topk(x, 1, 1).values"),
    _op("sort", "sorted along a dim, with the permutation (here dim 1)", NCHW,
        "F.sort(x, 1).values"),
)

CARD = Card(
    key="select",
    title="Selection: gather, index_select, masked_fill, topk, sort",
    summary=r"""
Each output element is one input element, picked by an index (given, or found by sorting)
or replaced by a constant under a mask. Nothing is computed, so the backward sends each
upstream gradient back to the element that was picked, adding where one element was picked
several times: all of these are `x[index]` (the `index` operator of the shape card) with an
index built from the arguments, or `where`.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x$ | input; $y$ the output; $\bar{y} = \partial L / \partial y$ |
| $d$ | `dim`; $i = (i_0, \ldots, i_{n-1})$ an output position, $i[d \leftarrow j]$ it with coordinate $d$ set to $j$ |
| $\mathrm{idx}$ | an integer index tensor; $m$ a boolean mask; $v$ a fill value |
""",
    forward=r"""
| operator | $y$ |
| --- | --- |
| `gather(x, d, idx)` | $y_i = x_{i[d \leftarrow \mathrm{idx}_i]}$, shape of idx (its other sizes at most $x$'s) |
| `index_select(x, d, idx)` | $y_{i} = x_{i[d \leftarrow \mathrm{idx}_{i_d}]}$, idx 1-D: $y$ has $\lvert \mathrm{idx} \rvert$ entries along $d$ |
| `masked_fill(x, m, v)` | $y = v$ where $m$ holds, else $x$ ($m$ and $x$ broadcast together) |
| `topk(x, k, d)` | the $k$ largest (or smallest) entries along $d$ in order, and their indices |
| `sort(x, d)` | the entries along $d$ in order (stable), and the permutation |
""",
    gradients=r"""
Every output element is one input element with coefficient 1 (or the constant $v$), so
$\bar{x}_j = \sum_{i:\, y_i \text{ is } x_j} \bar{y}_i$, a scatter-add:

* `gather`: $\bar{x}_{j} = \sum_{i:\ i[d \leftarrow j_d] = j,\ \mathrm{idx}_i = j_d} \bar{y}_i$; a repeated index accumulates;
* `index_select`: $\bar{x}_{\ldots j \ldots} = \sum_{t:\, \mathrm{idx}_t = j} \bar{y}_{\ldots t \ldots}$;
* `masked_fill`: $\bar{x} = \bar{y} \cdot [\text{not } m]$, and a 0-d tensor $v$ gets $\bar{v} = \sum \bar{y} \cdot [m]$;
* `topk`/`sort`: the values are `gather(x, d, indices)`, so $\bar{x}$ is $\bar{y}$ scattered back to the
  indices (zero for the elements `topk` did not pick); the indices get no gradient.
""",
    pitfalls=r"""
* **Ties in `topk`/`sort`**: equal values can come back in either order from two correct
  implementations; minicnn sorts stably (equal values keep their order; NaN counts as the
  largest, as in PyTorch), so tests compare tie-free inputs.
* **`gather` is not `index_select`**: `gather` takes one index per output element
  (an index tensor of the output's shape), `index_select` one per slice.
* **Repeated indices accumulate**, exactly as in `x[[0, 0]]`.
""",
    ops=OPS,
    code=(CodeLink("minicnn/ops/select.py", ("gather", "index_select", "masked_fill", "topk", "sort"),
                   "Index tensors built from the arguments; the Functions are Index and Where."),),
    tests=(
        TestLink("tests/ops/test_select.py::test_gather", "gather"),
        TestLink("tests/ops/test_select.py::test_index_select", "index_select"),
        TestLink("tests/ops/test_select.py::test_masked_fill_with_a_number_and_a_0d_tensor",
                 "masked_fill"),
        TestLink("tests/ops/test_select.py::test_topk", "topk"),
        TestLink("tests/ops/test_select.py::test_sort_with_ties_and_nan_is_stable_as_torch",
                 "sort's ties"),
    ),
)
