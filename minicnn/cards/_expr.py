"""Integer formulas that are shown and evaluated from one source string.

A card's shape, parameter and MAC formulas are written once, as a small
Python expression (``"floor((H + 2*p_h - d_h*(k_h - 1) - 1) / s_h) + 1"``).
The same parsed expression is

* evaluated exactly (``/`` gives a :class:`~fractions.Fraction`, so ``floor``
  of a quotient never suffers from float rounding) by ``minicnn explain``
  and by the tests that hold every formula to what the engine computes;
* rendered as LaTeX for the Markdown cards (``\\left\\lfloor \\frac{...}{s_h}
  \\right\\rfloor + 1``) and as plain text for the terminal.

So the formula a reader sees is, character for character, the one that was
checked. The grammar is deliberately tiny: integers, names, ``+ - * / // %
**``, unary minus, one comparison (an Iverson bracket: 1 if it holds, else 0)
and the functions ``floor``, ``ceil``, ``min``, ``max``.
"""
import ast
import math
from fractions import Fraction

_FUNCTIONS = {
    "floor": lambda v: math.floor(v),
    "ceil": lambda v: math.ceil(v),
    "min": min,
    "max": max,
}
_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_COMPARE = {ast.Lt: (lambda a, b: a < b, "<"), ast.LtE: (lambda a, b: a <= b, r"\le"),
            ast.Gt: (lambda a, b: a > b, ">"), ast.GtE: (lambda a, b: a >= b, r"\ge"),
            ast.Eq: (lambda a, b: a == b, "="), ast.NotEq: (lambda a, b: a != b, r"\ne")}


class FormulaError(ValueError):
    """A formula could not be evaluated (a missing symbol, a division by zero...)."""


def latex_name(name):
    """``C_out`` -> ``C_{\\text{out}}``, ``k_h`` -> ``k_h``, ``bias`` -> ``\\text{bias}``."""
    base, _, sub = name.partition("_")
    if len(base) > 1:
        base = rf"\text{{{base}}}"
    if not sub:
        return base
    return f"{base}_{{{sub}}}" if len(sub) == 1 else rf"{base}_{{\text{{{sub}}}}}"


class Expr:
    """One formula: ``Expr("C_out * (C / g) * k_h * k_w")``."""

    def __init__(self, source):
        self.source = " ".join(str(source).split())
        try:
            self._tree = ast.parse(self.source, mode="eval").body
        except SyntaxError as error:
            raise ValueError(f"Expr: cannot parse {source!r}: {error}") from None
        self._check(self._tree)

    def __repr__(self):
        return f"Expr({self.source!r})"

    # ------------------------------------------------------------------ structure
    def _check(self, node):
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int):
                raise ValueError(f"Expr {self.source!r}: only integer constants, got {node.value!r}")
        elif isinstance(node, ast.Name):
            if node.id in _FUNCTIONS:
                raise ValueError(f"Expr {self.source!r}: {node.id} is a function")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, _BINARY):
            self._check(node.left)
            self._check(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            self._check(node.operand)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 \
                and type(node.ops[0]) in _COMPARE:
            self._check(node.left)
            self._check(node.comparators[0])
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in _FUNCTIONS and not node.keywords):
            for arg in node.args:
                self._check(arg)
        else:
            raise ValueError(f"Expr {self.source!r}: unsupported syntax "
                             f"{ast.unparse(node)!r}")

    @property
    def names(self):
        """The symbols the formula reads, in order of first use."""
        callees = {id(node.func) for node in ast.walk(self._tree) if isinstance(node, ast.Call)}
        found = sorted((node.col_offset, node.id) for node in ast.walk(self._tree)
                       if isinstance(node, ast.Name) and id(node) not in callees)
        seen = []
        for _, name in found:
            if name not in seen:
                seen.append(name)
        return seen

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, lookup):
        """The exact value, with ``lookup(name)`` giving each symbol's value.

        Integers stay integers; ``/`` makes a Fraction, which is returned as an
        int when it is whole.
        """
        value = self._eval(self._tree, lookup)
        if isinstance(value, Fraction) and value.denominator == 1:
            return int(value)
        return value

    def _eval(self, node, lookup):
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return lookup(node.id)
        if isinstance(node, ast.UnaryOp):
            return -self._eval(node.operand, lookup)
        if isinstance(node, ast.Compare):
            test = _COMPARE[type(node.ops[0])][0]
            return int(test(self._eval(node.left, lookup),
                            self._eval(node.comparators[0], lookup)))
        if isinstance(node, ast.Call):
            return _FUNCTIONS[node.func.id](*(self._eval(a, lookup) for a in node.args))
        left, right = self._eval(node.left, lookup), self._eval(node.right, lookup)
        op = node.op
        try:
            if isinstance(op, ast.Add):
                return left + right
            if isinstance(op, ast.Sub):
                return left - right
            if isinstance(op, ast.Mult):
                return left * right
            if isinstance(op, ast.Div):
                return Fraction(left) / Fraction(right)
            if isinstance(op, ast.FloorDiv):
                return left // right
            if isinstance(op, ast.Mod):
                return left % right
            return left ** right
        except ZeroDivisionError:
            raise FormulaError(f"division by zero in {ast.unparse(node)} "
                               f"(formula {self.source})") from None

    # ------------------------------------------------------------------ rendering
    def latex(self):
        return _Latex().visit(self._tree)

    def text(self):
        return self.source


# Precedence for parenthesising the LaTeX (fractions and brackets group by themselves).
_PREC = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Mod: 2, ast.Pow: 4}


class _Latex:
    def visit(self, node):
        return getattr(self, "visit_" + type(node).__name__)(node)

    def visit_Constant(self, node):
        return str(node.value)

    def visit_Name(self, node):
        return latex_name(node.id)

    def visit_UnaryOp(self, node):
        inner = self.visit(node.operand)
        if isinstance(node.operand, ast.BinOp) and type(node.operand.op) in (ast.Add, ast.Sub):
            inner = rf"\left({inner}\right)"
        return "-" + inner

    def visit_Compare(self, node):
        symbol = _COMPARE[type(node.ops[0])][1]
        return (rf"\left[{self.visit(node.left)} {symbol} "
                rf"{self.visit(node.comparators[0])}\right]")

    def visit_Call(self, node):
        args = [self.visit(a) for a in node.args]
        name = node.func.id
        if name == "floor":
            return rf"\left\lfloor {args[0]} \right\rfloor"
        if name == "ceil":
            return rf"\left\lceil {args[0]} \right\rceil"
        return rf"\{name}\left({', '.join(args)}\right)"

    def _operand(self, node, parent_prec, right=False):
        text = self.visit(node)
        if isinstance(node, ast.BinOp) and type(node.op) in _PREC:
            prec = _PREC[type(node.op)]
            if prec < parent_prec or (right and prec == parent_prec and parent_prec == 1):
                return rf"\left({text}\right)"
        if isinstance(node, ast.UnaryOp) and parent_prec > 1:
            return rf"\left({text}\right)"
        return text

    def visit_BinOp(self, node):
        op = type(node.op)
        if op is ast.Div:  # a fraction groups its numerator and denominator itself
            return rf"\frac{{{self.visit(node.left)}}}{{{self.visit(node.right)}}}"
        if op is ast.FloorDiv:
            return (rf"\left\lfloor \frac{{{self.visit(node.left)}}}"
                    rf"{{{self.visit(node.right)}}} \right\rfloor")
        prec = _PREC[op]
        left = self._operand(node.left, prec)
        right = self._operand(node.right, prec, right=True)
        if op is ast.Add:
            return f"{left} + {right}"
        if op is ast.Sub:
            return f"{left} - {right}"
        if op is ast.Mod:
            return rf"{left} \bmod {right}"
        if op is ast.Pow:
            return f"{{{left}}}^{{{right}}}"
        # a number times a symbol, or anything times a bracket, reads as juxtaposition
        # (2 p_h, d_h (k_h - 1)); otherwise a dot
        bracket = isinstance(node.right, ast.BinOp) and type(node.right.op) in (ast.Add, ast.Sub)
        if bracket or (isinstance(node.left, ast.Constant)
                       and not isinstance(node.right, ast.Constant)):
            return f"{left} {right}"
        return rf"{left} \cdot {right}"
