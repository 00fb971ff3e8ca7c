"""Parameter initialisation, with ``torch.nn.init``'s names, arguments and formulas.

Every function fills a Tensor *in place* (its ``.data``; no graph is
recorded), returns it, and draws from minicnn's global generator
(``minicnn.manual_seed``) unless a NumPy ``generator`` is given.

Fans (PyTorch's convention). For a weight of shape ``(out, in, *kernel)``::

    receptive = prod(kernel)            (1 for a 2-D weight)
    fan_in    = in  * receptive         (= shape[1] * receptive)
    fan_out   = out * receptive         (= shape[0] * receptive)

(a ConvTranspose2d weight is ``(in, out/groups, k, k)``, so its "fan_in" is
``out/groups * k*k``, exactly as in PyTorch.)

=====================  =====================================================
function               distribution
=====================  =====================================================
uniform_(a, b)         U(a, b)
normal_(mean, std)     N(mean, std^2)
trunc_normal_          N(mean, std^2) conditioned on [a, b]
xavier_uniform_        U(-r, r),  r = gain * sqrt(6 / (fan_in + fan_out))
xavier_normal_         N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
kaiming_uniform_       U(-r, r),  r = gain * sqrt(3 / fan_mode)
kaiming_normal_        N(0, s^2), s = gain / sqrt(fan_mode)
=====================  =====================================================

with ``gain = calculate_gain(nonlinearity, a)`` for the kaiming functions.
A variance check: U(-r, r) has variance r^2 / 3, so kaiming_uniform_ and
kaiming_normal_ give the same variance ``gain^2 / fan_mode``.
"""
import math
import warnings

import numpy as np

from ..backend import xp_of
from ..random import default_generator

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity``.

    ==================  =============================
    nonlinearity        gain
    ==================  =============================
    linear, conv*       1
    sigmoid             1
    tanh                5/3
    relu                sqrt(2)
    leaky_relu          sqrt(2 / (1 + slope^2))  (``param`` = slope, default 0.01)
    selu                3/4
    ==================  =============================
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            negative_slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (expected one of "
                     f"{', '.join(_LINEAR_FNS)}, sigmoid, tanh, relu, leaky_relu, selu)")


def _calculate_fan_in_and_fan_out(tensor):
    """``(fan_in, fan_out)`` of a weight (see the module docstring)."""
    if tensor.ndim < 2:
        raise ValueError(f"Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (got shape {tuple(tensor.shape)})")
    receptive_field = 1
    for size in tensor.shape[2:]:
        receptive_field *= size
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode {mode!r} not supported, please use one of ['fan_in', 'fan_out']")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _write(tensor, values):
    """Store host ``values`` into ``tensor.data`` in place, in the tensor's dtype (and device)."""
    tensor.data[...] = xp_of(tensor.data).asarray(values)
    return tensor


def _rng(generator):
    return default_generator() if generator is None else generator


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    """Fill with samples of U(a, b)."""
    return _write(tensor, _rng(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    """Fill with samples of N(mean, std^2)."""
    return _write(tensor, _rng(generator).normal(mean, std, size=tensor.shape))


def trunc_normal_(tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None):
    """Fill with N(mean, std^2) samples restricted to [a, b] (``a``, ``b`` absolute, not in stds).

    Exact rejection sampling, as PyTorch does it:

    * when [a, b] holds more than 30% of the normal's mass, draw normals and
      redraw those outside [a, b];
    * otherwise draw x ~ U(a, b) and keep it with probability
      ``pdf(x) / pdf(mode)`` (the mode being the point of [a, b] nearest the
      mean), redrawing the rejected ones.
    """
    if std <= 0:
        raise ValueError(f"trunc_normal_: std must be > 0, got {std}")
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, got a={a}, b={b}")
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("trunc_normal_: mean is more than 2 std from [a, b]; sampling is slow "
                      "when [a, b] holds little of the distribution", stacklevel=2)
    rng = _rng(generator)
    shape = tensor.shape

    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    mass = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std)
    if mass > 0.3:
        values = rng.normal(mean, std, size=shape)
        pending = (values < a) | (values > b)
        while pending.any():
            values[pending] = rng.normal(mean, std, size=int(pending.sum()))
            pending = (values < a) | (values > b)
    else:
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2
        values = np.empty(shape)
        pending = np.ones(shape, dtype=bool)
        while pending.any():
            count = int(pending.sum())
            candidates = rng.uniform(a, b, size=count)
            log_ratio = -0.5 * ((candidates - mean) / std) ** 2 - log_peak  # <= 0
            accept = np.log(rng.random(count)) <= log_ratio
            idx = np.flatnonzero(pending)[accept]
            values.reshape(-1)[idx] = candidates[accept]
            pending.reshape(-1)[idx] = False
    return _write(tensor, values)


def constant_(tensor, val: float):
    """Fill with ``val``."""
    tensor.data[...] = val
    return tensor


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def _skip_empty(tensor, name) -> bool:
    if 0 in tensor.shape:
        warnings.warn(f"{name}: initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    """Glorot & Bengio (2010): U(-r, r) with ``r = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # U(-r, r) has standard deviation r / sqrt(3)
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    """Glorot & Bengio (2010): N(0, s^2) with ``s = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None):
    """He et al. (2015): U(-r, r) with ``r = gain * sqrt(3 / fan_mode)``,
    ``gain = calculate_gain(nonlinearity, a)``.

    The default layers use ``a = sqrt(5)``: gain = sqrt(2 / 6), so r = 1 / sqrt(fan_in).
    """
    if _skip_empty(tensor, "kaiming_uniform_"):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None):
    """He et al. (2015): N(0, s^2) with ``s = gain / sqrt(fan_mode)``."""
    if _skip_empty(tensor, "kaiming_normal_"):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std, generator)
