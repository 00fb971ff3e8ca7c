"""Check cases for the conv operators (see minicnn.checks.case).

Tiny shapes (a few hundred elements at most) so each float64 gradient check
runs well under a second. PyTorch parity in float32: every entry is a sum of
at most K = a few dozen products of O(1) values (C/G*kH*kW for the output,
N*Ho*Wo for the weight gradient) in another order than PyTorch's, so the
rounding difference stays near K * eps ~ 1e-5; atol 1e-4 leaves room.
"""
from .case import Case

_TOL = dict(atol=1e-4, rtol=1e-4)


def _normal(*shapes):
    return lambda rng: [rng.standard_normal(shape) for shape in shapes]


def _conv2d(**kwargs):
    from ..nn import functional as F

    return lambda x, w, b: F.conv2d(x, w, b, **kwargs)


def _torch_conv2d(**kwargs):
    def fn(x, w, b):
        import warnings

        import torch.nn.functional as TF

        with warnings.catch_warnings():  # PyTorch's note that 'same' makes it copy the input
            warnings.filterwarnings("ignore", message="Using padding='same'")
            return TF.conv2d(x, w, b, **kwargs)

    return fn


def _conv_transpose2d(**kwargs):
    from ..nn import functional as F

    return lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs)


def _torch_conv_transpose2d(**kwargs):
    def fn(x, w, b):
        import torch.nn.functional as TF

        return TF.conv_transpose2d(x, w, b, **kwargs)

    return fn


def _conv2d_case(config, shapes, **kwargs):
    return Case("conv2d", config, _normal(*shapes), _conv2d(**kwargs), _torch_conv2d(**kwargs),
                **_TOL)


def _transpose_case(config, shapes, **kwargs):
    return Case("conv_transpose2d", config, _normal(*shapes), _conv_transpose2d(**kwargs),
                _torch_conv_transpose2d(**kwargs), **_TOL)


CASES = [
    _conv2d_case("dense 3x3 2x3x5x5 -> 4", [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    _conv2d_case("stride (2,1) pad (1,2) dil (2,1), 2x2x6x5 -> 3, kernel 2x3",
                 [(2, 2, 6, 5), (3, 2, 2, 3), (3,)], stride=(2, 1), padding=(1, 2),
                 dilation=(2, 1)),
    _conv2d_case("groups=2, 1x4x5x5 -> 6, pad 1", [(1, 4, 5, 5), (6, 2, 3, 3), (6,)],
                 padding=1, groups=2),
    _conv2d_case("depthwise x2 multiplier, 2x3x5x5 -> 6, stride 2, pad 1",
                 [(2, 3, 5, 5), (6, 1, 3, 3), (6,)], stride=2, padding=1, groups=3),
    _conv2d_case("padding='same', even kernel 4x2, dil (1,2)", [(1, 2, 5, 5), (3, 2, 4, 2), (3,)],
                 padding="same", dilation=(1, 2)),
    _transpose_case("stride 2, pad 1, output_padding 1, 2x3x3x3 -> 2",
                    [(2, 3, 3, 3), (3, 2, 3, 3), (2,)], stride=2, padding=1, output_padding=1),
    _transpose_case("groups=2, 1x4x3x4 -> 4, stride (1,2), dil (2,1)",
                    [(1, 4, 3, 4), (4, 2, 2, 3), (4,)], stride=(1, 2), dilation=(2, 1), groups=2),
]
