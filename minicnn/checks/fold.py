"""Check cases for unfold and fold (see minicnn.checks.case).

Float32 tolerances: unfold copies values (exact); fold adds the entries that
land on one pixel (at most kH*kW = 6 here) in another order than PyTorch, and
so does each one's gradient (unfold's backward is fold): a few ulps, 1e-6.
"""
from ..nn import functional as F
from .case import Case


def _torch(name, *args, **kwargs):
    def call(x):
        import torch.nn.functional as TF

        return getattr(TF, name)(x, *args, **kwargs)
    return call


def _case(name, shape, args, kwargs):
    label = f"x{shape} " + " ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())])
    return Case(name, label.strip(), (lambda rng: [rng.standard_normal(shape)]),
                (lambda x: getattr(F, name)(x, *args, **kwargs)),
                _torch(name, *args, **kwargs), atol=1e-6, rtol=1e-6)


CASES = [
    _case("unfold", (2, 3, 5, 4), (3,), dict(padding=1)),
    _case("unfold", (1, 2, 7, 6), ((2, 3),), dict(dilation=(2, 1), stride=(2, 1))),
    _case("unfold", (2, 4, 3), (2,), {}),
    # (2, 2*3*3, 3*3): output 5 x 5, kernel 3, padding 1, stride 2 -> 3 x 3 blocks
    _case("fold", (2, 18, 9), ((5, 5), 3), dict(padding=1, stride=2)),
    _case("fold", (1, 12, 6), ((4, 5), (2, 3)), dict(dilation=(2, 1))),  # 2 x 3 blocks
    _case("fold", (8, 6), ((3, 4), (2, 2)), {}),  # unbatched, 2 x 3 blocks
]
