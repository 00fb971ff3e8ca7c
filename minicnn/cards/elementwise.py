"""Card: elementwise arithmetic and math functions, with broadcasting."""
from ._common import IMAGE, NCHW
from ._model import Card, CodeLink, OpSpec, Operand, TestLink

_B = ("C", "1", "1")  # the second operand broadcasts against (N, C, H, W)


def _unary(name, title, call, kind="float"):
    return OpSpec(name=name, title=title, symbols=IMAGE, operands=(Operand("x", NCHW, kind=kind),),
                  output=NCHW, call=call, examples=("N=2,C=3,H=4,W=4",))


def _binary(name, title, call, aliases=()):
    return OpSpec(name=name, title=title, symbols=IMAGE,
                  operands=(Operand("a", NCHW), Operand("b", _B, "broadcast over N, H, W", kind="positive")),
                  output=NCHW, call=call, aliases=aliases, examples=("N=2,C=3,H=4,W=4",))


OPS = (
    _binary("add", "a + b", "F.add(a, b)"),
    _binary("sub", "a - b", "F.sub(a, b)"),
    _binary("mul", "a * b", "F.mul(a, b)"),
    _binary("div", "a / b", "F.div(a, b)"),
    _binary("maximum", "elementwise max(a, b)", "F.maximum(a, b)"),
    _binary("minimum", "elementwise min(a, b)", "F.minimum(a, b)"),
    _unary("pow", "power, here x squared (any exponent, tensor or number)", "F.pow(x, 2)"),
    _unary("neg", "-x", "F.neg(x)"),
    _unary("exp", "e^x", "F.exp(x)"),
    _unary("log", "ln x", "F.log(x)", kind="positive"),
    _unary("sqrt", "square root", "F.sqrt(x)", kind="positive"),
    _unary("abs", "|x|", "F.abs(x)"),
    OpSpec(name="clamp", title="clip into [min, max]", symbols=IMAGE, operands=(Operand("x", NCHW),),
           output=NCHW, call="F.clamp(x, -0.5, 0.5)", aliases=("clip",), examples=("N=2,C=3,H=4,W=4",)),
    OpSpec(name="where", title="a where cond holds, else b", symbols=IMAGE,
           operands=(Operand("cond", NCHW, kind="bool"), Operand("a", NCHW), Operand("b", _B, kind="positive")),
           output=NCHW, call="F.where(cond, a, b)", examples=("N=2,C=3,H=4,W=4",)),
    _unary("cast", "conversion to another dtype", "F.cast(x, minicnn.float64)"),
    _unary("clone", "a copy that stays in the graph", "F.clone(x)"),
)

CARD = Card(
    key="elementwise",
    title="Elementwise arithmetic and math functions (with broadcasting)",
    summary=r"""
Arithmetic between tensors and the elementary functions, applied element by element.
Two things are worth studying here: each function's derivative (including its
conventions at the points where it has none), and what broadcasting does to the
gradient of the operand that was stretched.
""",
    notation=r"""
| symbol | meaning |
| --- | --- |
| $a, b$ | operands; their shapes broadcast to $B$ (align on the right, a size-1 or missing axis is stretched) |
| $y$ | the result, shape $B$ |
| $\bar{y} = \partial L / \partial y$ | the upstream gradient, shape $B$ |
| $\mathrm{unbroadcast}(g, S)$ | $g$ summed over the axes along which shape $S$ was stretched, reshaped to $S$ |
| $[P]$ | 1 where $P$ holds, else 0 |
""",
    forward=r"""
| operator | $y$ | $\partial y / \partial a$ | $\partial y / \partial b$ |
| --- | --- | --- | --- |
| `add` | $a + b$ | 1 | 1 |
| `sub` | $a - b$ | 1 | $-1$ |
| `mul` | $a b$ | $b$ | $a$ |
| `div` | $a / b$ | $1/b$ | $-a/b^2$ |
| `pow` | $a^b$ | $b a^{b-1}$ | $a^b \ln a$ |
| `maximum` | $\max(a, b)$ | $[a > b] + \frac{1}{2}[a = b]$ | $[b > a] + \frac{1}{2}[a = b]$ |
| `minimum` | $\min(a, b)$ | $[a < b] + \frac{1}{2}[a = b]$ | $[b < a] + \frac{1}{2}[a = b]$ |
| `where` | $a$ where cond, else $b$ | $[\text{cond}]$ | $[\text{not cond}]$ |
| `neg`, `exp`, `log`, `sqrt`, `abs` | $-x$, $e^x$, $\ln x$, $\sqrt{x}$, $\lvert x \rvert$ | $-1$, $e^x$, $1/x$, $1/(2\sqrt{x})$, $\mathrm{sign}(x)$ | |
| `clamp` | $\min(\max(x, lo), hi)$ | $[lo \le x \le hi]$ | |
| `cast`, `clone` | $x$ (converted / copied) | 1 | |

Broadcasting: $b$ of shape $(C, 1, 1)$ against $a$ of shape $(N, C, H, W)$ is read as if
copied to $(N, C, H, W)$: $y_{n,c,h,w} = a_{n,c,h,w} + b_{c,0,0}$.
""",
    gradients=r"""
For an unbroadcast elementwise op, $\bar{a} = \bar{y} \odot \partial y / \partial a$ (the table above):
$y_i$ depends on $a_i$ only.

**Broadcasting.** Step 1: when $b$ is stretched, one element $b_{c,0,0}$ feeds every output
$y_{n,c,h,w}$ with that $c$. Step 2: the chain rule sums over all of them:

$$\frac{\partial L}{\partial b_{c,0,0}} = \sum_{n,h,w} \bar{y}_{n,c,h,w} \frac{\partial y_{n,c,h,w}}{\partial b_{c,0,0}}$$

Step 3: in general $\bar{b} = \mathrm{unbroadcast}(\bar{y} \odot \partial y/\partial b, \text{shape}(b))$: sum over the
leading axes that broadcasting added and over the axes where $b$ had size 1, keeping
those as size 1. Broadcasting in the forward is a sum in the backward (and the other
way round: a reduction's backward broadcasts; see the [reductions card](reduce.md)).
""",
    pitfalls=r"""
* **Ties in `maximum`/`minimum` split the gradient in half** between the operands
  (PyTorch's rule), so the two gradients still add up to $\bar{y}$.
* **`abs` at 0** has gradient 0 ($\mathrm{sign}(0) = 0$), as PyTorch.
* **`clamp` bounds are inclusive**: at $x = lo$ the gradient passes. With $lo > hi$ every
  element becomes $hi$ and no gradient passes.
* **`sqrt` at 0** has an infinite gradient, `log` at 0 gives $-\infty$; `pow` at $a = 0$
  follows PyTorch's conventions ($0^0 = 1$; the $\ln a$ term of $\partial/\partial b$ is taken as 0
  where $a = 0$ and $b \ge 0$...). See the tests.
* **dtypes**: float32 and float64 never mix silently (an error names both); a Python number
  takes the tensor's dtype; an integer tensor meeting a float one takes the float dtype.
* Shapes that do not broadcast raise an error naming both shapes (nothing is tiled silently).
""",
    ops=OPS,
    code=(
        CodeLink("minicnn/ops/elementwise.py",
                 ("Add", "Sub", "Mul", "Div", "Pow", "Exp", "Log", "Sqrt", "Abs", "Clamp", "Maximum",
                  "Minimum", "Where", "Cast", "Clone"),
                 "The Functions."),
        CodeLink("minicnn/autograd.py", ("unbroadcast",), "The sum that undoes broadcasting."),
    ),
    tests=(
        TestLink("tests/ops/test_elementwise.py::test_binary_gradcheck_float64", "binary gradients"),
        TestLink("tests/ops/test_elementwise.py::test_unary_gradcheck_float64", "unary gradients"),
        TestLink("tests/ops/test_elementwise.py::test_maximum_minimum_ties_split_the_gradient_like_torch",
                 "the tie rule"),
        TestLink("tests/ops/test_elementwise.py::test_abs_gradient_at_zero_is_zero_like_torch", "abs at 0"),
        TestLink("tests/ops/test_elementwise.py::test_clamp_bounds_are_inclusive_like_torch", "clamp bounds"),
        TestLink("tests/ops/test_elementwise.py::test_pow_conventions_at_zero_match_torch", "pow at 0"),
        TestLink("tests/test_autograd.py::test_unbroadcast_is_the_adjoint_of_broadcasting",
                 "unbroadcast is the adjoint of broadcasting"),
        TestLink("tests/docs/test_explain.py::test_every_example_agrees_with_the_engine",
                 "the broadcast output shapes against the engine"),
    ),
)
