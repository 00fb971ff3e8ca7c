"""``minicnn.nn``: modules and layers with torch.nn's names, plus the functional API.

=======================  ==================================================
module                   contents
=======================  ==================================================
``module``               Module, Parameter (registration, state_dict, hooks)
``containers``           Sequential, ModuleList, ModuleDict
``conv``                 Conv2d, ConvTranspose2d
``norm``                 BatchNorm1d, BatchNorm2d, InstanceNorm2d, GroupNorm,
                         LayerNorm
``linear``               Linear, Identity
``activation``           ReLU, ReLU6, LeakyReLU, ELU, SiLU, Hardswish,
                         Hardsigmoid, Sigmoid, Tanh, GELU, Softmax, LogSoftmax,
                         Softplus, Mish, PReLU
``pooling``              MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d
``dropout``              Dropout, Dropout2d
``shape``                Flatten, Unflatten, ChannelShuffle
``padding``              ZeroPad2d, ReflectionPad2d, ReplicationPad2d
``resample``             Upsample, UpsamplingNearest2d, UpsamplingBilinear2d,
                         PixelShuffle, PixelUnshuffle
``fold``                 Unfold, Fold
``squeeze_excitation``   SqueezeExcitation (torchvision's naming)
``sync_batch_norm``      SyncBatchNorm (batch statistics over every rank)
``parallel``             DistributedDataParallel (gradients averaged over ranks)
``loss``                 CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss,
                         HuberLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss
``init``                 parameter initialisation (torch.nn.init)
``functional``           every operator under PyTorch's name
=======================  ==================================================
"""
from . import functional
from . import init
from .activation import (ELU, GELU, Hardsigmoid, Hardswish, LeakyReLU, LogSoftmax, Mish, PReLU,
                         ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus, Tanh)
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .fold import Fold, Unfold
from .linear import Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, NLLLoss, SmoothL1Loss)
from .module import Module, Parameter, RemovableHandle
from .norm import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d
from .resample import (PixelShuffle, PixelUnshuffle, Upsample, UpsamplingBilinear2d,
                       UpsamplingNearest2d)
from .padding import ReflectionPad2d, ReplicationPad2d, ZeroPad2d
from .shape import ChannelShuffle, Flatten, Unflatten
from .squeeze_excitation import SqueezeExcitation
from .sync_batch_norm import SyncBatchNorm
from . import blocks, parallel, utils  # noqa: E402  (blocks build on the layers above)

__all__ = ["functional", "init", "Module", "Parameter", "RemovableHandle", "Sequential",
           "ModuleList", "ModuleDict", "Conv2d", "ConvTranspose2d", "BatchNorm1d", "BatchNorm2d",
           "InstanceNorm2d", "GroupNorm", "LayerNorm", "Linear",
           "Identity", "Dropout", "Flatten", "ChannelShuffle",
           "ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d", "ReLU", "ReLU6", "LeakyReLU", "ELU",
           "SiLU", "Hardswish", "Hardsigmoid", "Sigmoid", "Tanh", "GELU", "Softmax", "LogSoftmax",
           "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "SqueezeExcitation",
           "CrossEntropyLoss", "NLLLoss", "MSELoss", "blocks", "utils", "Dropout2d", "Unflatten",
           "Softplus", "Mish", "PReLU", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
           "BCEWithLogitsLoss", "KLDivLoss", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle", "Unfold", "Fold", "SyncBatchNorm", "parallel"]
