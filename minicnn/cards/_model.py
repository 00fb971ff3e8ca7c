"""What a card is made of, and how its formulas are evaluated for a configuration.

A :class:`Card` is one page per operator family: prose sections (Markdown with
LaTeX: notation, forward formula, gradient derivations, pitfalls) and one
:class:`OpSpec` per operator. An OpSpec states, as :class:`~._expr.Expr`
formulas over named symbols, the operand shapes, the output shape, the
parameter count and the multiply-accumulate count; it also names the exact
engine call (and layer) these formulas describe, so the tests can run that
call and compare. :meth:`OpSpec.evaluate` turns ``{"N": 1, "C": 3, ...}`` into
numbers: it is what ``minicnn explain OP --shape ...`` prints, what the
Markdown cards show in their examples, and what the tests check.
"""
from dataclasses import dataclass, field
from fractions import Fraction

from ._expr import Expr, FormulaError


class MissingSymbol(FormulaError):
    """A formula needs a symbol that was not given and has no default."""


@dataclass(frozen=True)
class Symbol:
    """A quantity the user can set with ``--shape NAME=VALUE``.

    ``default`` is a formula in other symbols (``"k"`` for ``k_h``), a number,
    a tuple of formulas (the first whose symbols are all available wins: the
    stride of a pooling is ``("s", "k_h")``; ``()`` marks a symbol that is optional
    because others stand in for it), or None when the value must be given.
    """
    name: str
    meaning: str
    default: object = None


@dataclass(frozen=True)
class Operand:
    """An input of the engine call: its shape (formulas) and what values it holds.

    ``kind``: ``"float"`` (uniform in [-1, 1)), ``"positive"`` (in [0.5, 1.5)),
    ``"index"`` (int64 in ``[0, high)``) or ``"bool"``.
    """
    name: str
    shape: tuple
    meaning: str = ""
    kind: str = "float"
    high: str = None


@dataclass(frozen=True)
class Derived:
    """A named intermediate formula, e.g. ``H_out``."""
    name: str
    formula: str
    meaning: str = ""


@dataclass
class OpSpec:
    """One operator's shape, parameter and MAC formulas, and the call they describe.

    ``call`` is the engine expression (``F`` is ``minicnn.nn.functional``,
    ``nn`` is ``minicnn.nn``, operands and symbols are in scope, ``layer`` is the
    instance built from ``module``); ``module`` builds the equivalent layer,
    whose parameters ``params`` counts and whose MACs (as
    :func:`minicnn.summary` counts them) ``macs`` gives. ``examples`` are
    ``--shape`` strings the docs show and the tests run.
    """
    name: str
    title: str
    symbols: tuple
    operands: tuple
    output: tuple
    call: str
    examples: tuple
    derived: tuple = ()
    params: str = None
    macs: str = None
    module: str = None
    module_input: str = "x"
    constraints: tuple = ()
    aliases: tuple = ()
    notes: str = ""

    def __post_init__(self):
        self.output_exprs = tuple(Expr(s) for s in self.output)
        self.derived_exprs = {d.name: Expr(d.formula) for d in self.derived}
        self.operand_exprs = {o.name: tuple(Expr(s) for s in o.shape) for o in self.operands}
        self.params_expr = Expr(self.params) if self.params is not None else None
        self.macs_expr = Expr(self.macs) if self.macs is not None else None
        self.constraint_exprs = tuple((Expr(test), message) for test, message in self.constraints)
        self.symbol_table = {s.name: s for s in self.symbols}
        overlap = set(self.symbol_table) & set(self.derived_exprs)
        if overlap:
            raise ValueError(f"{self.name}: {sorted(overlap)} are both symbols and derived")

    @property
    def names(self):
        """The functional names this spec answers to."""
        return (self.name,) + tuple(self.aliases)

    def parse_shape(self, text):
        """``"N=1,C=3,k=3"`` (commas and/or spaces) -> ``{"N": 1, "C": 3, "k": 3}``."""
        values = {}
        for item in text.replace(",", " ").split():
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise FormulaError(f"{self.name}: expected NAME=VALUE, got {item!r}")
            if name not in self.symbol_table:
                raise FormulaError(f"{self.name}: unknown symbol {name!r}; the symbols are "
                                   f"{', '.join(self.symbol_table)}")
            try:
                values[name] = int(value)
            except ValueError:
                raise FormulaError(f"{self.name}: {name} must be an integer, "
                                   f"got {value!r}") from None
        return values

    def evaluate(self, given):
        """Every formula for the symbol values ``given``: an :class:`Evaluation`."""
        return Evaluation(self, dict(given))


class Evaluation:
    """The values of one OpSpec's formulas for one configuration (computed on demand)."""

    def __init__(self, spec, given):
        unknown = [name for name in given if name not in spec.symbol_table]
        if unknown:
            raise FormulaError(f"{spec.name}: unknown symbol(s) {', '.join(unknown)}; the "
                               f"symbols are {', '.join(spec.symbol_table)}")
        self.spec = spec
        self.given = given
        self.values = {}
        self._resolving = []
        for test, message in spec.constraint_exprs:
            if not test.evaluate(self.value):
                raise FormulaError(f"{spec.name}: {message} (needs {test.text()}; got "
                                   f"{self._show(test.names)})")
        self.derived = {name: self._whole(expr, name) for name, expr in spec.derived_exprs.items()}
        self.operands = {name: tuple(self._whole(e, f"{name} shape") for e in exprs)
                         for name, exprs in spec.operand_exprs.items()}
        self.output = tuple(self._whole(e, "output shape") for e in spec.output_exprs)
        self.params = self._whole(spec.params_expr, "params") if spec.params_expr else None
        self.macs = self._whole(spec.macs_expr, "MACs") if spec.macs_expr else None

    def _show(self, names):
        return ", ".join(f"{n}={self.value(n)}" for n in names)

    def value(self, name):
        """A symbol's value: given, else its default, else a derived formula's value."""
        if name in self.values:
            return self.values[name]
        spec = self.spec
        if name in self._resolving:
            raise FormulaError(f"{spec.name}: {name} is defined in terms of itself")
        self._resolving.append(name)
        try:
            if name in self.given:
                result = self.given[name]
            elif name in spec.derived_exprs:
                result = spec.derived_exprs[name].evaluate(self.value)
            elif name in spec.symbol_table:
                result = self._default(spec.symbol_table[name])
            else:
                raise FormulaError(f"{spec.name}: a formula uses the undefined name {name!r}")
        finally:
            self._resolving.pop()
        self.values[name] = result
        return result

    def _default(self, symbol):
        default = symbol.default
        if isinstance(default, int):
            return default
        candidates = default if isinstance(default, tuple) else (default,)
        for candidate in candidates:
            if candidate is None:
                continue
            try:
                return Expr(candidate).evaluate(self.value)
            except MissingSymbol:
                continue
        raise MissingSymbol(f"{self.spec.name}: give {symbol.name} ({symbol.meaning}) with "
                            f"--shape {symbol.name}=VALUE")

    def _whole(self, expr, what):
        value = expr.evaluate(self.value)
        if isinstance(value, Fraction):
            raise FormulaError(f"{self.spec.name}: {what} {expr.text()} = {value} is not a whole "
                               f"number for {self._show(expr.names)}")
        return value

    def namespace(self):
        """Every symbol that can be resolved (given or by default) and every derived value:
        the names an OpSpec's ``call`` and ``module`` strings read."""
        names = {}
        for name in list(self.spec.symbol_table) + list(self.spec.derived_exprs):
            try:
                names[name] = self.value(name)
            except MissingSymbol:
                pass
        return names

    @property
    def used(self):
        """Every symbol that took part, with its value, in the spec's symbol order."""
        return {name: self.values[name] for name in self.spec.symbol_table if name in self.values}


@dataclass
class CodeLink:
    """A place in the code: ``path`` from the repository root and the names defined there."""
    path: str
    names: tuple = ()
    what: str = ""


@dataclass
class TestLink:
    """A test that checks a formula: ``path::function`` and what it checks."""
    test: str
    what: str


@dataclass
class Card:
    """One operator family's page (see the module docstring)."""
    key: str
    title: str
    summary: str
    notation: str
    forward: str
    gradients: str
    pitfalls: str
    ops: tuple
    code: tuple
    tests: tuple
    extra: tuple = field(default_factory=tuple)  # (heading, markdown) after the gradients

    @property
    def op_names(self):
        return [name for spec in self.ops for name in spec.names]

    def spec(self, name):
        for spec in self.ops:
            if name in spec.names:
                return spec
        raise KeyError(name)
