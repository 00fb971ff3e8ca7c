"""TensorFlow 1.x layers as the seed article calls them, translated to NCHW minicnn modules.

The article's code (``tf.layers``, ``tf.nn``, ``tf.contrib.slim``) relies on
TensorFlow's defaults, which differ from PyTorch's. These are the translations
used by every block in :mod:`minicnn.article`, each default named:

* ``tf.layers.conv2d(x, filters, kernel, strides=1, padding='valid', use_bias=True)``:
  :class:`TFConv2d`. ``padding='same'`` in TensorFlow works with any stride: the
  output is ``ceil(H / s)`` and the total padding ``max((ceil(H/s) - 1) s + d(k-1) + 1 - H, 0)``
  is split with the odd pixel at the bottom/right. PyTorch's ``'same'`` refuses
  strides, so the layer pads explicitly (:func:`same_padding`) and convolves unpadded.
* ``tf.layers.batch_normalization(x)``: :func:`batch_norm`, ``BatchNorm2d(C, eps=1e-3,
  momentum=0.01)``: TensorFlow's ``epsilon=0.001`` and ``momentum=0.99`` (TensorFlow
  weighs the *old* value by the momentum, PyTorch the new one: 0.99 there is 0.01 here).
  TensorFlow 1 also defaults to ``training=False`` (moving statistics, never updated
  unless the UPDATE_OPS are run); the article never passes ``training=True``, so in
  TensorFlow its BN layers never normalise: each computes ``gamma * x / sqrt(1 + 0.001) +
  beta``. The translation uses minicnn's train/eval mode instead, which is what the
  article evidently meant.
* ``tf.nn.leaky_relu(x)``: ``alpha=0.2`` (PyTorch's default slope is 0.01):
  :func:`leaky_relu`.
* ``tf.layers.max_pooling2d(x, 2, 1, padding='same')``: :class:`TFMaxPool2d`, padding
  by TensorFlow's rule with values that never win (``-inf``).
* ``tf.layers.dense(units, use_bias=False)`` on an ``(N, 1, 1, C)`` tensor: a 1x1
  convolution without bias on ``(N, C, 1, 1)`` (the same numbers).
* ``tf.image.resize_images(x, size, method=0)``: :class:`TFResizeBilinear`, TensorFlow 1's
  legacy bilinear resize (``align_corners=False``, no half-pixel centres: source
  position ``i * in / out``).
"""
import math

import numpy as np

from .. import nn
from ..nn import functional as F
from ..tensor import Tensor

#: TensorFlow's batch_normalization defaults, in PyTorch's conventions.
TF_BN_EPS = 1e-3
TF_BN_MOMENTUM = 0.01
#: tf.nn.leaky_relu's default slope.
TF_LEAKY_SLOPE = 0.2


def batch_norm(channels):
    """``tf.layers.batch_normalization`` with TensorFlow's defaults, NCHW."""
    return nn.BatchNorm2d(channels, eps=TF_BN_EPS, momentum=TF_BN_MOMENTUM)


def leaky_relu():
    """``tf.nn.leaky_relu`` (slope 0.2)."""
    return nn.LeakyReLU(TF_LEAKY_SLOPE)


def same_padding(size, kernel, stride, dilation=1):
    """TensorFlow's ``'SAME'`` padding of one axis: ``(before, after)``, the odd pixel after."""
    out = -(-size // stride)  # ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _pad_same(x, kernel, stride, dilation, value=0.0):
    """``x`` (N, C, H, W) padded by TensorFlow's 'SAME' rule (nothing when no padding is needed)."""
    (top, bottom), (left, right) = (same_padding(x.shape[2 + a], kernel[a], stride[a], dilation[a])
                                    for a in range(2))
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


class TFConv2d(nn.Conv2d):
    """``tf.layers.conv2d`` / ``tf.nn.depthwise_conv2d`` in NCHW: bias on by default, TensorFlow's
    ``'valid'`` (no padding) or ``'same'`` (any stride, odd pixel at the bottom/right)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding="valid",
                 dilation=1, groups=1, bias=True):
        if padding not in ("valid", "same"):
            raise ValueError(f"TFConv2d: padding must be 'valid' or 'same', got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=0,
                         dilation=dilation, groups=groups, bias=bias)
        self.tf_padding = padding

    def forward(self, input):
        self._check_input(input)
        if self.tf_padding == "same":
            input = _pad_same(input, self.kernel_size, self.stride, self.dilation)
        return F.conv2d(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self):
        return super().extra_repr() + f", tf_padding={self.tf_padding!r}"


class TFMaxPool2d(nn.Module):
    """``tf.layers.max_pooling2d(x, pool_size, strides, padding)``; padded positions never win."""

    def __init__(self, pool_size, strides, padding="valid"):
        super().__init__()
        self.pool_size = (pool_size, pool_size) if isinstance(pool_size, int) else tuple(pool_size)
        self.strides = (strides, strides) if isinstance(strides, int) else tuple(strides)
        self.padding = padding

    def forward(self, x):
        if self.padding == "same":
            x = _pad_same(x, self.pool_size, self.strides, (1, 1), value=-math.inf)
        return F.max_pool2d(x, self.pool_size, self.strides)

    def extra_repr(self):
        return f"pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}"


class TFResizeBilinear(nn.Module):
    """``tf.image.resize_images(x, (H', W'), method=0)`` of TensorFlow 1 (bilinear, legacy).

    Output row ``i`` reads the source position ``y = i * H / H'`` (no half-pixel offset),
    ``y0 = floor(y)``, ``y1 = min(y0 + 1, H - 1)``, and mixes the two rows with weights
    ``1 - (y - y0)`` and ``y - y0``; then the same along W. For an exact factor-2
    downsampling that picks rows 0, 2, 4, ...: plain subsampling, ``x[:, :, ::2, ::2]``.
    """

    def forward(self, x, size):
        for axis in (2, 3):
            x = self._resize_axis(x, axis, size[axis - 2])
        return x

    @staticmethod
    def _resize_axis(x, axis, out):
        n_in = x.shape[axis]
        if out == n_in:
            return x
        position = np.arange(out) * (n_in / out)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, n_in - 1)
        weight = (position - low).astype(x.dtype)
        index = [slice(None)] * 4
        index[axis] = low
        first = x[tuple(index)]
        index[axis] = high
        second = x[tuple(index)]
        shape = [1, 1, 1, 1]
        shape[axis] = out
        weight = Tensor._wrap(weight.reshape(shape))
        return first + (second - first) * weight


def hsigmoid(x):
    """The article's ``Hsigmoid``: ``tf.nn.relu6(x + 3.) / 6.``"""
    return F.relu6(x + 3.0) / 6.0


def hswish(x):
    """The article's ``Hswish``: ``x * tf.nn.relu6(x + 3.) / 6.``"""
    return x * F.relu6(x + 3.0) / 6.0


class Activation(nn.Module):
    """A function as a module (the article applies ``tf.nn.*`` functions inline)."""

    def __init__(self, fn, name):
        super().__init__()
        self.fn = fn
        self.name = name

    def forward(self, x):
        return self.fn(x)

    def extra_repr(self):
        return self.name


def conv_bn_act(in_channels, out_channels, kernel_size, stride=1, padding="valid",
                activation="leaky_relu", bias=True):
    """``conv2d -> batch_normalization -> activation``, the article's most common triple."""
    layers = [TFConv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias),
              batch_norm(out_channels)]
    if activation is not None:
        layers.append(make_activation(activation))
    return nn.Sequential(*layers)


def make_activation(name):
    return {"leaky_relu": leaky_relu, "relu": nn.ReLU, "relu6": nn.ReLU6,
            "hswish": lambda: Activation(hswish, "Hswish"),
            "sigmoid": nn.Sigmoid, "hsigmoid": lambda: Activation(hsigmoid, "Hsigmoid")}[name]()
