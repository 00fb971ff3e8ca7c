"""Card: linear layers and matrix products."""
from ._model import Card, CodeLink, OpSpec, Operand, Symbol, TestLink

OPS = (
    OpSpec(name="linear", title="y = x W^T + b",
           symbols=(Symbol("N", "rows (batch)", 1), Symbol("F_in", "in_features"),
                    Symbol("F_out", "out_features"), Symbol("bias", "1 with a bias, 0 without", 1)),
           operands=(Operand("x", ("N", "F_in")), Operand("weight", ("F_out", "F_in")),
                     Operand("b", ("F_out",), "bias")),
           output=("N", "F_out"), params="F_in * F_out + bias * F_out", macs="N * F_in * F_out",
           call="F.linear(x, weight, b if bias else None)",
           module="nn.Linear(F_in, F_out, bias=bool(bias))",
           examples=("N=32,F_in=1280,F_out=1000", "N=4,F_in=3,F_out=2,bias=0")),
    OpSpec(name="matmul", title="matrix product a @ b",
           symbols=(Symbol("n", "rows of a"), Symbol("k", "columns of a = rows of b"),
                    Symbol("m", "columns of b")),
           operands=(Operand("a", ("n", "k")), Operand("b", ("k", "m"))),
           output=("n", "m"), macs="n * k * m",
           call="F.matmul(a, b)", module="nn.Linear(k, m, bias=False)", module_input="a",
           examples=("n=64,k=128,m=32",),
           notes="The MAC count is checked on `nn.Linear(k, m, bias=False)`, which computes the "
                 "same product with its weight as $b^\\top$; `matmul` itself has no parameters."),
)

CARD = Card(
    key="linear",
    title="Linear layers and matrix products",
    summary=r"""
The fully connected layer is one matrix product plus a bias; `matmul` is the product
alone, with NumPy's rules for stacked (batched) operands. Their gradients are again
matrix products, with one operand transposed.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $x$ | input $(N, F_{in})$ (any leading axes for `linear`) |
| $W, b$ | weight $(F_{out}, F_{in})$ and bias $(F_{out},)$ |
| $a, b$ | `matmul` operands $(\ldots, n, k)$ and $(\ldots, k, m)$ |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient |
""",
    forward=r"""
$$y_{r,o} = b_o + \sum_{f} x_{r,f} W_{o,f} \quad (y = x W^\top + b), \qquad (ab)_{i,j} = \sum_{l} a_{i,l} b_{l,j}$$

A 1-D `matmul` operand is a row (left) or a column (right) whose added axis is dropped
from the result; leading axes broadcast.
""",
    gradients=r"""
**Linear.** Step 1: $\partial y_{r,o} / \partial W_{o',f} = [o = o'] \, x_{r,f}$, so
$\bar{W}_{o,f} = \sum_r \bar{y}_{r,o} x_{r,f}$, i.e. $\bar{W} = \bar{y}^\top x$.
Step 2: $\partial y_{r,o} / \partial x_{r,f} = W_{o,f}$, so $\bar{x}_{r,f} = \sum_o \bar{y}_{r,o} W_{o,f}$, i.e. $\bar{x} = \bar{y} W$.
Step 3: $\bar{b}_o = \sum_r \bar{y}_{r,o}$.

**Matmul.** The same two steps give $\bar{a} = \bar{y} \, b^\top$ and $\bar{b} = a^\top \bar{y}$
(transposing the last two axes). When an operand was broadcast along leading axes, its
gradient is summed over them, because each of its elements was used in every broadcast copy.

The shapes check the formulas: $\bar{a}$ must be $(n, k)$ = $(n, m)(m, k)$.
""",
    pitfalls=r"""
* **PyTorch's weight layout is $(F_{out}, F_{in})$** and the layer computes $x W^\top$;
  frameworks that store $(F_{in}, F_{out})$ (TensorFlow's `dense`) need a transpose when weights
  are ported.
* float32 products of long rows accumulate rounding ($\sim \sqrt{k}$ ulps); BLAS orders the sums
  differently from a loop.
* minicnn requires NumPy >= 2: stacked broadcast `matmul` was 25-57x slower in NumPy 1.26.
""",
    ops=OPS,
    code=(
        CodeLink("minicnn/ops/linalg.py", ("MatMul", "Linear", "matmul", "linear"), "The Functions."),
        CodeLink("minicnn/nn/linear.py", ("Linear",), "The layer."),
    ),
    tests=(
        TestLink("tests/ops/test_linalg.py::test_matmul_matches_the_sum_formula", "the product formula"),
        TestLink("tests/ops/test_linalg.py::test_matmul_gradcheck_and_torch", "matmul gradients"),
        TestLink("tests/ops/test_linalg.py::test_linear_gradcheck_and_torch", "linear gradients"),
        TestLink("tests/ops/test_linalg.py::test_linear_is_x_times_weight_transposed_plus_bias", "$y = xW^\\top + b$"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "shape, parameter and MAC formulas against the engine"),
    ),
)
