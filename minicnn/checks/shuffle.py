"""Check cases for channel_shuffle (see minicnn.checks.case).

A permutation moves values without arithmetic: PyTorch must agree exactly.
"""
from ..nn import functional as F
from .case import Case


def _torch_shuffle(groups):
    def call(x):
        import torch.nn.functional as TF

        return TF.channel_shuffle(x, groups)
    return call


CASES = [
    Case("channel_shuffle", f"x{shape} groups={groups}",
         (lambda rng, shape=shape: [rng.standard_normal(shape)]),
         (lambda x, groups=groups: F.channel_shuffle(x, groups)),
         _torch_shuffle(groups), atol=0.0, rtol=0.0)
    for shape, groups in [((2, 6, 3, 3), 2), ((2, 12, 2, 3), 3), ((3, 4, 5), 4)]
]
