"""The article's squeeze-and-excitation, as its code computes it.

Article sections "SENet" (inline in ``MBConvBlock``) and "MobileNetV3" (``SEBlock``); the
paper-correct block is :class:`minicnn.nn.SqueezeExcitation` (``PaperSqueezeExcitation``).
"""
from .. import nn
from ..nn import SqueezeExcitation as PaperSqueezeExcitation
from ..nn import functional as F
from ._tf import hsigmoid

__all__ = ["ArticleSEBlock", "PaperSqueezeExcitation"]


class ArticleSEBlock(nn.Module):
    """``SEBlock(input_, squeeze=4)`` (MobileNetV3 section; ``gate='hsigmoid'``) and the SE
    inside ``MBConvBlock`` (``gate='sigmoid'``)::

        s = global_average_pool(x)                          # (N, C, 1, 1)
        s = relu(dense(s, C // squeeze, no bias))
        e = relu(dense(s, C, no bias))                      # <- the extra ReLU
        e = hsigmoid(e)  (or sigmoid(e))
        y = x * e

    ``squeeze`` is a divisor (reduction ratio), not a width. Where it departs from SENet
    (erratum 8): the ReLU on the excitation makes ``e >= 0`` before the gate, so every
    gate is at least ``sigmoid(0) = hsigmoid(0) = 0.5``: the block can at most halve a
    channel, never close it. The paper: ``FC -> ReLU -> FC -> sigmoid`` (biases included);
    ``PaperSqueezeExcitation(C, C // squeeze)``, with ``scale_activation=nn.Hardsigmoid``
    for MobileNetV3.
    """

    def __init__(self, channels, squeeze=4, gate="hsigmoid"):
        super().__init__()
        if gate not in ("hsigmoid", "sigmoid"):
            raise ValueError(f"ArticleSEBlock: gate must be 'hsigmoid' or 'sigmoid', got {gate!r}")
        self.gate = gate
        self.squeeze = nn.Conv2d(channels, channels // squeeze, 1, bias=False)  # dense
        self.excite = nn.Conv2d(channels // squeeze, channels, 1, bias=False)   # dense
        self.relu = nn.ReLU()

    def gates(self, x):
        """The per-channel gates ``e`` (N, C, 1, 1)."""
        s = self.relu(self.squeeze(F.adaptive_avg_pool2d(x, 1)))
        e = self.relu(self.excite(s))
        return hsigmoid(e) if self.gate == "hsigmoid" else F.sigmoid(e)

    def forward(self, x):
        return x * self.gates(x)
