"""Check cases for the elementwise operators (see minicnn.checks.case).

float32 parity tolerance: each value is one or two correctly rounded (or
libm, a few ulp) operations and a broadcast gradient sums a handful of terms,
so both engines agree to ~1e-6; atol 1e-5, rtol 1e-5 leave a margin.
"""
import numpy as np

from .case import Case

TOL = dict(atol=1e-5, rtol=1e-5)


def _normal(*shapes):
    return lambda rng: [rng.standard_normal(s) for s in shapes]


def _positive(*shapes):
    return lambda rng: [rng.uniform(0.5, 2.0, s) for s in shapes]


def _away_from_zero(shape):
    # |x| in [0.2, 1.5]: clear of the kink of abs and of the pole of 1/x
    return lambda rng: [rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape)]


def _clamp_inputs(rng):
    # k/10 + 0.05 (+-0.02): never within 0.03 of the bounds -0.5 and 0.5
    return [(rng.integers(-10, 10, (3, 4)) + 0.5) * 0.1 + rng.uniform(-0.02, 0.02, (3, 4))]


def _clamp_tensor_bounds(rng):
    # x as _clamp_inputs; the bounds -0.5 and 0.5 as tensors (each gets the gradient
    # of the elements it clamps)
    return _clamp_inputs(rng) + [np.full(4, -0.5), np.full((3, 1), 0.5)]


def _quotients(rng):
    # a / b = k + 0.5 (+-0.2): never within 0.3 of an integer, where trunc/floor jump
    b = rng.uniform(0.5, 2.0, (3, 4)) * rng.choice([-1.0, 1.0], (3, 4))
    return [(rng.integers(-5, 5, (3, 4)) + 0.5 + rng.uniform(-0.2, 0.2, (3, 4))) * b, b]


def _ties(rng):
    a = rng.standard_normal((2, 3))
    b = a.copy()
    b[0] += 0.5  # row 0 differs, row 1 ties (the gradient splits in half)
    return [a, b]


CASES = [
    Case("add", "(2,3,4) + (3,1) broadcast", _normal((2, 3, 4), (3, 1)),
         lambda a, b: a + b, lambda a, b: a + b, **TOL),
    Case("add", "(3,4) + 2.5", _normal((3, 4)), lambda a: a + 2.5, lambda a: a + 2.5, **TOL),
    Case("sub", "(4,) - (2,3,4) broadcast", _normal((4,), (2, 3, 4)),
         lambda a, b: a - b, lambda a, b: a - b, **TOL),
    Case("sub", "1 - (3,4)", _normal((3, 4)), lambda a: 1 - a, lambda a: 1 - a, **TOL),
    Case("mul", "(2,1,4) * (3,1) broadcast", _normal((2, 1, 4), (3, 1)),
         lambda a, b: a * b, lambda a, b: a * b, **TOL),
    Case("mul", "(3,4) * -1.5", _normal((3, 4)), lambda a: a * -1.5, lambda a: a * -1.5, **TOL),
    Case("div", "(2,3) / (3,) broadcast",
         lambda rng: [rng.standard_normal((2, 3)), rng.uniform(0.5, 2.0, 3)],
         lambda a, b: a / b, lambda a, b: a / b, **TOL),
    Case("div", "2 / (3,4)", _away_from_zero((3, 4)), lambda a: 2 / a, lambda a: 2 / a, **TOL),
    Case("neg", "(3,4)", _normal((3, 4)), lambda a: -a, lambda a: -a, **TOL),
    Case("neg", "0-d", _normal(()), lambda a: -a, lambda a: -a, **TOL),
    Case("pow", "(3,4) ** 3", _normal((3, 4)), lambda a: a ** 3, lambda a: a ** 3, **TOL),
    Case("pow", "2 ** (3,4)", _normal((3, 4)), lambda a: 2 ** a, lambda a: 2 ** a, **TOL),
    Case("pow", "(2,3) ** (3,) broadcast",
         lambda rng: [rng.uniform(0.5, 2.0, (2, 3)), rng.uniform(-2, 2, 3)],
         lambda a, b: a ** b, lambda a, b: a ** b, **TOL),
    Case("exp", "(3,4)", _normal((3, 4)), lambda a: a.exp(), lambda a: a.exp(), **TOL),
    Case("exp", "(2,2,2)", _normal((2, 2, 2)), lambda a: a.exp(), lambda a: a.exp(), **TOL),
    Case("log", "(3,4)", _positive((3, 4)), lambda a: a.log(), lambda a: a.log(), **TOL),
    Case("log", "0-d", _positive(()), lambda a: a.log(), lambda a: a.log(), **TOL),
    Case("sqrt", "(3,4)", _positive((3, 4)), lambda a: a.sqrt(), lambda a: a.sqrt(), **TOL),
    Case("sqrt", "(5,)", _positive((5,)), lambda a: a.sqrt(), lambda a: a.sqrt(), **TOL),
    Case("abs", "(3,4) away from 0", _away_from_zero((3, 4)), lambda a: a.abs(),
         lambda a: a.abs(), **TOL),
    Case("abs", "(6,) away from 0", _away_from_zero((6,)), lambda a: a.abs(),
         lambda a: a.abs(), **TOL),
    Case("clamp", "min=-0.5, max=0.5", _clamp_inputs, lambda a: a.clamp(-0.5, 0.5),
         lambda a: a.clamp(-0.5, 0.5), **TOL),
    Case("clamp", "min=-0.5", _clamp_inputs, lambda a: a.clamp(min=-0.5),
         lambda a: a.clamp(min=-0.5), **TOL),
    Case("clamp", "max=0.5", _clamp_inputs, lambda a: a.clamp(max=0.5),
         lambda a: a.clamp(max=0.5), **TOL),
    Case("clamp", "tensor bounds min (4,), max (3,1)", _clamp_tensor_bounds,
         lambda a, lo, hi: a.clamp(lo, hi), lambda a, lo, hi: a.clamp(lo, hi), **TOL),
    Case("add", "(2,3) + alpha=-0.5 * (3,)", _normal((2, 3), (3,)),
         lambda a, b: a.add(b, alpha=-0.5), lambda a, b: a.add(b, alpha=-0.5), **TOL),
    Case("sub", "(2,3) - alpha=2 * (2,1)", _normal((2, 3), (2, 1)),
         lambda a, b: a.sub(b, alpha=2), lambda a, b: a.sub(b, alpha=2), **TOL),
    # piecewise constant: the gradient is 0 (quotients clear of integers, so numerically too)
    Case("div", "rounding_mode='trunc'", _quotients,
         lambda a, b: a.div(b, rounding_mode="trunc"),
         lambda a, b: a.div(b, rounding_mode="trunc"), **TOL),
    Case("div", "rounding_mode='floor'", _quotients,
         lambda a, b: a.div(b, rounding_mode="floor"),
         lambda a, b: a.div(b, rounding_mode="floor"), **TOL),
    Case("maximum", "(2,3,4) vs (4,) broadcast", _normal((2, 3, 4), (4,)),
         lambda a, b: a.maximum(b), lambda a, b: a.maximum(b), **TOL),
    Case("maximum", "ties split the gradient", _ties,
         lambda a, b: a.maximum(b), lambda a, b: a.maximum(b), **TOL),
    Case("minimum", "(3,1) vs (1,4) broadcast", _normal((3, 1), (1, 4)),
         lambda a, b: a.minimum(b), lambda a, b: a.minimum(b), **TOL),
    Case("minimum", "ties split the gradient", _ties,
         lambda a, b: a.minimum(b), lambda a, b: a.minimum(b), **TOL),
    Case("where", "cond (2,3,4), a (3,4), b (4,)",
         lambda rng: [rng.random((2, 3, 4)) < 0.5, rng.standard_normal((3, 4)),
                      rng.standard_normal(4)],
         lambda c, a, b: _where(c, a, b), lambda c, a, b: _torch_where(c, a, b), **TOL),
    Case("where", "x > 0 ? x : 0.1 x", _normal((3, 4)),
         lambda a: _where(a > 0, a, a * 0.1), lambda a: _torch_where(a > 0, a, a * 0.1), **TOL),
]


def _where(condition, a, b):
    from ..nn.functional import where

    return where(condition, a, b)


def _torch_where(condition, a, b):
    import torch

    return torch.where(condition, a, b)
