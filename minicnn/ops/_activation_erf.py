"""The error function for GELU on NumPy arrays (NumPy has none).

SciPy is not a dependency of minicnn; Numba is, and ``math.erf`` compiles to
the C library's ``erf`` (within an ulp of the true value). A separate module
so that the ufunc is compiled only when GELU is first used, not whenever the
activation kernels load.
"""
import math

from numba import vectorize


@vectorize(["float32(float32)", "float64(float64)"], cache=True)
def erf(x):
    """``erf(x) = 2/sqrt(pi) int_0^x e^{-t^2} dt``, elementwise, as a NumPy ufunc
    with float32 and float64 loops."""
    return math.erf(x)
