"""Check cases for the activation operators (see minicnn.checks.case).

Inputs are drawn at a scale that reaches every piece of the hard functions
(kinks at -3, 0, 3, 6), then nudged at least 0.01 away from the kinks: the
gradient check's central differences (step 1e-6) must not straddle a kink,
where the derivative jumps. The kinks themselves are compared with PyTorch
in ``tests/ops/test_activation.py``.
"""
import numpy as np

from ..nn import functional as F
from .case import Case


def _away_from(values, kinks, margin=0.01):
    values = values.copy()
    for kink in kinks:
        near = np.abs(values - kink) < margin
        values[near] = kink + np.where(values[near] >= kink, margin, -margin)
    return values


def _inputs(shape, kinks=(), scale=4.0):
    return lambda rng: [_away_from(rng.standard_normal(shape) * scale, kinks)]


def _torch(name, **kwargs):
    """``torch.nn.functional.<name>`` with ``kwargs`` (torch imported only when called)."""
    def call(*args):
        import torch.nn.functional as TF

        return getattr(TF, name)(*args, **kwargs)
    return call


def _elementwise(name, kinks, configs):
    """One Case per ``(shape, kwargs)`` in ``configs``."""
    cases = []
    for shape, kwargs in configs:
        label = f"x{shape}" + "".join(f" {k}={v}" for k, v in kwargs.items())
        cases.append(Case(name, label, _inputs(shape, kinks),
                          (lambda x, kw=kwargs: getattr(F, name)(x, **kw)),
                          _torch(name, **kwargs)))
    return cases


_NCHW, _VECTOR = (2, 3, 4, 4), (7,)

CASES = (
    _elementwise("relu", (0,), [(_NCHW, {}), (_VECTOR, {})])
    + _elementwise("relu6", (0, 6), [(_NCHW, {}), (_VECTOR, {})])
    + _elementwise("leaky_relu", (0,), [(_NCHW, {}), (_VECTOR, {"negative_slope": 0.2})])
    + _elementwise("elu", (0,), [(_NCHW, {}), (_VECTOR, {"alpha": 0.5})])
    + _elementwise("sigmoid", (), [(_NCHW, {}), (_VECTOR, {})])
    + _elementwise("tanh", (), [(_NCHW, {}), (_VECTOR, {})])
    + _elementwise("hardsigmoid", (-3, 3), [(_NCHW, {}), (_VECTOR, {})])
    + _elementwise("hardswish", (-3, 3), [(_NCHW, {}), (_VECTOR, {})])
    + _elementwise("silu", (), [(_NCHW, {}), (_VECTOR, {})])
    + _elementwise("gelu", (), [(_NCHW, {}), (_VECTOR, {"approximate": "tanh"})])
)

for _name in ("softmax", "log_softmax"):
    for _shape, _dim in (((4, 10), 1), ((2, 3, 4, 4), 1), ((5, 3), 0)):
        CASES.append(Case(
            _name, f"x{_shape} dim={_dim}",
            # Scale 5: a wide spread of probabilities, some near 0 and 1.
            _inputs(_shape, scale=5.0),
            (lambda x, op=_name, dim=_dim: getattr(F, op)(x, dim)),
            (lambda x, op=_name, dim=_dim: getattr(x, op)(dim))))

# softplus and mish: smooth, no kinks; softplus's threshold switch (a jump of at most
# log1p(e^-threshold) / beta) is kept away from by the scale of the inputs.
CASES += _elementwise("softplus", (), [(_NCHW, {}), (_VECTOR, {"beta": 2.0, "threshold": 5.0})])
CASES += _elementwise("mish", (), [(_NCHW, {}), (_VECTOR, {})])


def _prelu_inputs(shape, slopes):
    return lambda rng: [_away_from(rng.standard_normal(shape) * 4, (0,)),
                        rng.uniform(-0.5, 0.5, slopes)]


# The weight is an input with a gradient (the learned slope), in both engines.
CASES += [Case("prelu", f"x{shape} weight({slopes},)", _prelu_inputs(shape, slopes),
               lambda x, w: F.prelu(x, w), _torch("prelu"))
          for shape, slopes in ((_NCHW, 3), (_NCHW, 1), ((5, 4), 4))]

# normalize: p = 1 has a kink where an element is 0 (sign), p = inf where the largest
# magnitude changes hands; standard normal inputs are further than the gradient check's
# 1e-6 step from both with probability ~1. Float32 tolerance 1e-5: each output is a
# quotient by a sum of up to 16 float32 terms, summed in another order than PyTorch's.
CASES += [Case("normalize", f"x{shape} p={p} dim={dim}",
               (lambda rng, shape=shape: [rng.standard_normal(shape)]),
               (lambda x, p=p, dim=dim: F.normalize(x, p=p, dim=dim)),
               _torch("normalize", p=p, dim=dim), atol=1e-5, rtol=1e-5)
          for shape, p, dim in ((_NCHW, 2.0, 1), ((4, 6), 1.0, 1), (_NCHW, 3.0, (2, 3)),
                                ((4, 6), float("inf"), 0))]
