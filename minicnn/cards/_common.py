"""Symbol lists and operand shapes that several cards share."""
from ._model import Symbol


def axis_symbols(name, meaning, default):
    """``name`` for both axes plus ``name_h``/``name_w`` that default to it."""
    return (Symbol(name, f"{meaning} (both axes)", default),
            Symbol(f"{name}_h", f"{meaning} along H", name),
            Symbol(f"{name}_w", f"{meaning} along W", name))


IMAGE = (Symbol("N", "batch size", 1), Symbol("C", "input channels"),
         Symbol("H", "input height"), Symbol("W", "input width"))

NCHW = ("N", "C", "H", "W")
