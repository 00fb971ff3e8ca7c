"""Check cases for interpolate, pixel_shuffle and pixel_unshuffle (see minicnn.checks.case).

Float32 tolerances: the pixel shuffles move values (exact). interpolate's output
blends at most two values per axis with PyTorch's weights in PyTorch's order
(equal up to a fused multiply-add: a few ulps); its gradient sums the upstream
gradients of all outputs blended from a pixel (up to (H_out/H) (W_out/W) terms,
about 10 here) in another order: 1e-5.
"""
from ..nn import functional as F
from .case import Case


def _torch(name, *args, **kwargs):
    """``torch.nn.functional.<name>(x, *args, **kwargs)`` (torch imported only when called)."""
    def call(x):
        import torch.nn.functional as TF

        return getattr(TF, name)(x, *args, **kwargs)
    return call


def _case(name, shape, args, kwargs, atol):
    label = f"x{shape} " + " ".join([*map(str, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    return Case(name, label.strip(), (lambda rng: [rng.standard_normal(shape)]),
                (lambda x: getattr(F, name)(x, *args, **kwargs)),
                _torch(name, *args, **kwargs), atol=atol, rtol=atol)


CASES = [
    _case("interpolate", (2, 3, 4, 5), (), dict(scale_factor=2, mode="nearest"), 1e-5),
    _case("interpolate", (1, 2, 7, 6), (), dict(size=(4, 9), mode="nearest"), 1e-5),
    _case("interpolate", (2, 2, 4, 5), (), dict(scale_factor=(1.5, 2.5), mode="bilinear"), 1e-5),
    _case("interpolate", (1, 3, 5, 4), (),
          dict(size=(7, 3), mode="bilinear", align_corners=True), 1e-5),
    _case("interpolate", (1, 2, 6, 7), (),
          dict(scale_factor=0.7, mode="bilinear", recompute_scale_factor=True), 1e-5),
    _case("pixel_shuffle", (2, 8, 3, 2), (2,), {}, 0.0),
    _case("pixel_shuffle", (1, 2, 9, 2, 3), (3,), {}, 0.0),
    _case("pixel_unshuffle", (2, 2, 4, 6), (2,), {}, 0.0),
    _case("pixel_unshuffle", (3, 6, 3), (3,), {}, 0.0),
]
