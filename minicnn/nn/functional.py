"""``minicnn.nn.functional``: every operator, with PyTorch's names and arguments.

The implementations live in :mod:`minicnn.ops` (one module per family, each
operator's math in its docstring); this module is the public index.
"""
from ..ops.activation import (elu, gelu, hardsigmoid, hardswish, leaky_relu, log_softmax, relu,
                              relu6, sigmoid, silu, softmax, tanh)
from ..ops.conv import conv2d, conv_transpose2d
from ..ops.dropout import dropout, dropout2d
from ..ops.elementwise import (abs, add, cast, clamp, clone, div, exp, log, maximum, minimum, mul,
                               neg, pow, sqrt, sub, where)
from ..ops.fold import fold, unfold
from ..ops.linalg import linear, matmul
from ..ops.loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from ..ops.loss_probability import binary_cross_entropy, kl_div
from ..ops.loss_regression import huber_loss, l1_loss, smooth_l1_loss
from ..ops.norm import batch_norm
from ..ops.normalize import normalize
from ..ops.one_hot import one_hot
from ..ops.per_sample_norm import group_norm, instance_norm, layer_norm
from ..ops.prelu import prelu
from ..ops.pooling import adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, max_pool2d
from ..ops.reduce import amax, amin, argmax, argmin, max, mean, min, norm, std, sum, var
from ..ops.resample import interpolate
from ..ops.select import gather, index_select, masked_fill, sort, topk
from ..ops.shape import (cat, chunk, concat, expand, flatten, index, pad, permute, repeat, reshape,
                         split, squeeze, stack, transpose, unsqueeze, unwrap_index, view)
from ..ops.shuffle import channel_shuffle, pixel_shuffle, pixel_unshuffle
from ..ops.softplus import mish, softplus

clip = clamp
