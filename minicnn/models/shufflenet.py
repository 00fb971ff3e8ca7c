"""ShuffleNetV2 (shufflenet_v2_x0_5, shufflenet_v2_x1_0).

Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
Design", ECCV 2018 (arXiv:1807.11164), Table 5: a 3x3 stride-2 conv and a 3x3
stride-2 max pool, three stages of ShuffleV2 units (4, 8, 4 units, the first of
each downsampling), a 1x1 conv to 1024, global average pool, linear head. The
width multipliers 0.5x and 1.0x set the stage widths to (48, 96, 192) and
(116, 232, 464).

With the defaults, the module tree, state_dict keys and shapes are torchvision's
``shufflenet_v2_x0_5`` and ``shufflenet_v2_x1_0`` (1,366,792 and 2,278,604
parameters), so torchvision weights load by name. torchvision does not
re-initialise ShuffleNetV2, so every layer keeps PyTorch's default initialisation
(Kaiming-uniform with ``a = sqrt(5)`` for conv and linear weights, uniform biases,
BN weight 1 and bias 0), and so does minicnn.

Options (keyword arguments of every constructor here):

``small_input`` (False)
    For 32x32 and 8x8 inputs: the stem conv gets stride 1, the max pool is
    dropped (``maxpool`` becomes an ``Identity``), and the first unit of ``stage2``
    becomes a two-branch unit at stride 1 (it widens 24 -> C without
    downsampling; see :class:`~minicnn.nn.blocks.ShuffleV2Block`'s ``split``). The
    network then downsamples by 4 instead of 32: 32x32 -> 8x8 and 8x8 -> 2x2
    before the pool. Parameter counts are unchanged.
``in_channels`` (3)
    Input channels (1 for grayscale digits).

Inputs must be (N, in_channels, H, W) with H and W at least the total stride (32,
or 4 with ``small_input``).
"""
from .. import nn
from .._validation import as_int
from ..nn.blocks.shufflenet import ShuffleV2Block
from ._weights import accepts_weights
from .mobilenet import check_image_input

__all__ = ["ShuffleNetV2", "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "MODELS"]


class ShuffleNetV2(nn.Module):
    """ShuffleNetV2: ``conv1 (3x3/2, BN, ReLU) -> maxpool (3x3/2) -> stage2 -> stage3 ->
    stage4 -> conv5 (1x1, BN, ReLU) -> mean over H, W -> fc``.

    ``ShuffleNetV2(stages_repeats, stages_out_channels, num_classes=1000,
    inverted_residual=ShuffleV2Block, *, small_input=False, in_channels=3)``; the
    positional arguments are torchvision's: ``stages_repeats`` has 3 unit counts,
    ``stages_out_channels`` 5 widths (stem, three stages, conv5), the stage widths even.
    """

    def __init__(self, stages_repeats, stages_out_channels, num_classes=1000,
                 inverted_residual=ShuffleV2Block, *, small_input=False, in_channels=3):
        super().__init__()
        op = "ShuffleNetV2"
        num_classes = as_int(num_classes, "num_classes", 1, op)
        in_channels = as_int(in_channels, "in_channels", 1, op)
        if len(stages_repeats) != 3:
            raise ValueError(f"{op}: expected stages_repeats as list of 3 positive ints, "
                             f"got {stages_repeats!r}")
        if len(stages_out_channels) != 5:
            raise ValueError(f"{op}: expected stages_out_channels as list of 5 positive ints, "
                             f"got {stages_out_channels!r}")
        stages_repeats = [as_int(n, "stages_repeats", 1, op) for n in stages_repeats]
        stages_out_channels = [as_int(c, "stages_out_channels", 1, op)
                               for c in stages_out_channels]
        odd = [c for c in stages_out_channels[1:4] if c % 2]
        if odd:
            raise ValueError(f"{op}: the stage widths stages_out_channels[1:4] must be even "
                             f"(each unit concatenates two halves), got {stages_out_channels!r}")
        self._stage_out_channels = stages_out_channels
        self.in_channels = in_channels
        self.total_stride = 4 if small_input else 32

        output_channels = stages_out_channels[0]
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, output_channels, 3, 1 if small_input else 2, 1, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(),
        )
        input_channels = output_channels
        self.maxpool = (nn.Identity() if small_input
                        else nn.MaxPool2d(kernel_size=3, stride=2, padding=1))

        for index, (repeats, output_channels) in enumerate(zip(stages_repeats,
                                                               stages_out_channels[1:4])):
            if small_input and index == 0:
                # widen without downsampling: the two-branch unit at stride 1
                first = inverted_residual(input_channels, output_channels, 1, split=False)
            else:
                first = inverted_residual(input_channels, output_channels, 2)
            seq = [first] + [inverted_residual(output_channels, output_channels, 1)
                             for _ in range(repeats - 1)]
            setattr(self, f"stage{index + 2}", nn.Sequential(*seq))
            input_channels = output_channels

        output_channels = stages_out_channels[-1]
        self.conv5 = nn.Sequential(
            nn.Conv2d(input_channels, output_channels, 1, 1, 0, bias=False),
            nn.BatchNorm2d(output_channels),
            nn.ReLU(),
        )
        self.fc = nn.Linear(output_channels, num_classes)

    def forward(self, x):
        check_image_input("ShuffleNetV2", x, self.in_channels, self.total_stride)
        x = self.conv1(x)       # (N, 24, H/2, W/2)
        x = self.maxpool(x)     # (N, 24, H/4, W/4)
        x = self.stage2(x)      # (N, C2, H/8, W/8)
        x = self.stage3(x)      # (N, C3, H/16, W/16)
        x = self.stage4(x)      # (N, C4, H/32, W/32)
        x = self.conv5(x)       # (N, 1024, H/32, W/32)
        x = x.mean((2, 3))      # global average pool: (N, 1024)
        return self.fc(x)       # (N, num_classes)


@accepts_weights
def shufflenet_v2_x0_5(num_classes=1000, **options):
    """ShuffleNetV2 0.5x (torchvision's ``shufflenet_v2_x0_5``: 1,366,792 parameters).

    ``options``: ``small_input``, ``in_channels`` (module docstring)."""
    return ShuffleNetV2([4, 8, 4], [24, 48, 96, 192, 1024], num_classes=num_classes, **options)


@accepts_weights
def shufflenet_v2_x1_0(num_classes=1000, **options):
    """ShuffleNetV2 1.0x (torchvision's ``shufflenet_v2_x1_0``: 2,278,604 parameters).

    ``options``: ``small_input``, ``in_channels`` (module docstring)."""
    return ShuffleNetV2([4, 8, 4], [24, 116, 232, 464, 1024], num_classes=num_classes,
                        **options)


MODELS = {
    "shufflenet_v2_x0_5": shufflenet_v2_x0_5,
    "shufflenet_v2_x1_0": shufflenet_v2_x1_0,
}
