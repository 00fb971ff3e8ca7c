"""Configurations shared by the kernel tests (simulator, real GPU) and the twins' PyTorch checks.

Tiny shapes that still cover what index arithmetic gets wrong: strides,
top/left and asymmetric padding, negative padding (a crop), dilation,
non-square kernels and inputs, kernel taps outside the input at every edge,
channel multipliers, ceil_mode windows hanging past the input.
"""
import numpy as np

from tests.reference import kernels as ref

# (N, C, H, W), kernel, stride, (top, left) padding, dilation, (Ho, Wo) or None (symmetric)
IM2COL_CASES = [
    ((2, 2, 5, 6), (3, 2), (2, 1), (1, 0), (1, 2), None),
    ((1, 3, 7, 5), (3, 3), (1, 1), (1, 1), (1, 1), None),
    # asymmetric 'same' padding for an even kernel: top/left 1, bottom/right 2
    ((1, 2, 5, 5), (4, 4), (1, 1), (1, 1), (1, 1), (5, 5)),
    # negative padding (a crop of one pixel per side, as conv's stride-1 grad_input uses)
    ((1, 1, 6, 6), (2, 2), (1, 1), (-1, -1), (1, 1), (3, 3)),
    ((1, 2, 8, 7), (3, 3), (3, 2), (2, 2), (2, 3), None),
]

# (N, C, H, W), multiplier, kernel, stride, padding, dilation
DEPTHWISE_CASES = [
    ((2, 3, 6, 7), 1, (3, 3), (1, 1), (1, 1), (1, 1)),
    ((1, 2, 7, 6), 2, (3, 3), (2, 2), (1, 1), (1, 1)),
    ((2, 2, 5, 5), 1, (3, 3), (1, 1), (2, 2), (2, 2)),
    ((1, 2, 9, 8), 1, (5, 5), (2, 2), (2, 2), (1, 1)),  # MobileNetV3's 5x5 stride 2
    ((1, 1, 5, 6), 3, (2, 3), (1, 2), (0, 1), (2, 1)),
]

SHUFFLE_CASES = [((2, 6, 3, 5), 2), ((2, 6, 3, 5), 3), ((1, 12, 7), 4), ((1, 4, 2, 2, 3), 2),
                 ((2, 5, 3, 3), 1)]

# (N, C, H, W), kernel, stride, padding, dilation, ceil_mode
POOL_CASES = [
    ((2, 2, 7, 7), (3, 3), (2, 2), (1, 1), (1, 1), False),
    ((1, 2, 6, 6), (3, 3), (2, 2), (0, 0), (1, 1), True),
    ((1, 1, 7, 8), (2, 3), (1, 2), (1, 1), (2, 2), False),
    ((2, 1, 5, 5), (2, 2), (2, 2), (0, 0), (1, 1), True),
]
POOL_INPUT_KINDS = ["random", "ties", "special"]


def conv_out_size(hw, kernel, stride, padding, dilation):
    """(Ho, Wo) for symmetric padding."""
    return tuple(ref.output_size(hw[a], kernel[a], stride[a], padding[a], dilation[a])
                 for a in range(2))


def pool_out_size(shape, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling output size (floor or ceil; a last window must start in input/left pad)."""
    sizes = []
    for a in range(2):
        n, k, s, p, d = shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]
        numerator = n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
        out = numerator // s + 1
        if ceil_mode and (out - 1) * s >= n + p:
            out -= 1
        sizes.append(out)
    return tuple(sizes)


def pool_input(shape, rng, kind):
    """random normals; 'ties': values in {0, 1, 2}, many tied maxima; 'special': NaN and -inf."""
    if kind == "ties":
        return rng.integers(0, 3, shape).astype(np.float64)
    x = rng.standard_normal(shape)
    if kind == "special":
        flat = x.reshape(-1)
        flat[::7] = np.nan
        flat[3::5] = -np.inf
    return x
