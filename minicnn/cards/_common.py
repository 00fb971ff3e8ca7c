"""Symbol lists and operand shapes that several cards share."""
from ._model import Derived, Symbol


def axis_symbols(name, meaning, default):
    """``name`` for both axes plus ``name_h``/``name_w`` that default to it."""
    return (Symbol(name, f"{meaning} (both axes)", default),
            Symbol(f"{name}_h", f"{meaning} along H", name),
            Symbol(f"{name}_w", f"{meaning} along W", name))


IMAGE = (Symbol("N", "batch size", 1), Symbol("C", "input channels"),
         Symbol("H", "input height"), Symbol("W", "input width"))

NCHW = ("N", "C", "H", "W")


def window_positions(height="H_out", width="W_out", what=("output height", "output width")):
    """The number of positions of a dilated, strided kernel on the padded image, per axis
    (conv2d's output size, unfold's block grid), and the constraints that it fits."""
    derived = tuple(Derived(name, f"floor(({size} + 2*p_{a} - d_{a}*(k_{a} - 1) - 1) / s_{a}) + 1",
                            meaning)
                    for name, size, a, meaning in ((height, "H", "h", what[0]),
                                                   (width, "W", "w", what[1])))
    fits = tuple((f"d_{a}*(k_{a} - 1) + 1 <= {size} + 2*p_{a}",
                  "the dilated kernel must fit in the padded input")
                 for a, size in (("h", "H"), ("w", "W")))
    return derived, fits
