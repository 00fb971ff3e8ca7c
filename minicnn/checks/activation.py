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
    def call(x):
        import torch.nn.functional as TF

        return getattr(TF, name)(x, **kwargs)
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
