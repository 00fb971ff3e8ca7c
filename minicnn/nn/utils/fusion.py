"""Folding an eval-mode batch norm into the convolution before it, as ``torch.nn.utils.fusion``.

In eval mode a batch norm is a fixed affine map per channel ``o`` (running
statistics ``mean, var``; ``gamma, beta`` its weight and bias)::

    bn(z)[o] = (z[o] - mean[o]) * gamma[o] / sqrt(var[o] + eps) + beta[o]

and a convolution is linear in its weight with one bias per output channel,
so ``bn(conv(x; w, b)) = conv(x; w', b')`` with::

    scale[o] = gamma[o] / sqrt(var[o] + eps)
    w'[o]    = w[o] * scale[o]                         (every weight of output channel o)
    b'[o]    = (b[o] - mean[o]) * scale[o] + beta[o]

``b`` None counts as 0; a batch norm without ``affine`` as ``gamma = 1,
beta = 0`` (``bias=False``: ``beta = 0``). Which weights feed output channel
``o`` depends on the layout:

* Conv2d, weight ``(C_out, C_in/G, kh, kw)``: the row ``w[o]``.
* ConvTranspose2d, weight ``(C_in, C_out/G, kh, kw)``: group ``g`` maps inputs
  ``g*C_in/G ... (g+1)*C_in/G - 1`` to outputs ``o = g*C_out/G + j``, so
  ``w'[i, j] = w[i, j] * scale[(i // (C_in/G)) * C_out/G + j]``. PyTorch's
  ``transpose=True`` scales ``w[:, j]`` by ``scale[j]``, which is this for
  ``G = 1`` only; minicnn takes ``groups`` and is right for every ``G``.

The fused layer does the batch norm's work inside the convolution's GEMM: at
inference one pass over the activation (and its memory) disappears per batch
norm. The statistics are frozen into the weights, so fusion is for inference
only, and both modules must be in eval mode.

The arithmetic is written once with ``xp`` (NumPy or CuPy, whichever holds
the weights) and follows PyTorch's order of operations. Unlike PyTorch,
float32 and float64 arguments are not mixed (minicnn never casts silently:
docs/unsupported.md, ``dtype-promotion``).
"""
import copy

import numpy as np

from ..._validation import MixedDtypes, as_int, require_bool
from ...backend import is_cupy_array, xp_of
from ...ops.per_sample_norm import check_eps
from ...tensor import Tensor
from ..containers import Sequential
from ..conv import Conv2d, ConvTranspose2d, _ConvNd
from ..linear import Identity
from ..module import Module, Parameter
from ..norm import _BatchNorm

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_conv_bn"]


def _array(value, name, op):
    """The array behind a Tensor, or an array itself (NumPy or CuPy)."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray) or is_cupy_array(value):
        return value
    raise TypeError(f"{op}: {name} must be a Tensor or an array, got {type(value).__name__}")


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False, *,
                         groups=1):
    """``(weight, bias)`` of the convolution that computes ``bn(conv(x))`` with ``bn`` in eval mode.

    Arguments are PyTorch's: the conv's ``weight`` and ``bias`` (or None), the batch norm's
    ``running_mean``, ``running_var``, ``eps``, ``weight`` and ``bias`` (each may be None), and
    ``transpose=True`` for a ConvTranspose2d weight ``(C_in, C_out/groups, kh, kw)``. Tensors
    or NumPy/CuPy arrays. One addition: ``groups`` (keyword only, default 1), the transposed
    conv's groups, which set which weights feed an output channel (module docstring); a
    Conv2d weight's layout does not depend on it.

    Returns two Parameters, as PyTorch: the fused weight (``requires_grad`` as ``conv_w``'s)
    and the fused bias (as ``conv_b``'s; ``False`` when ``conv_b`` is None, since PyTorch
    starts from zeros that do not require gradients).
    """
    op = "fuse_conv_bn_weights"
    transpose = require_bool(transpose, "transpose", op)
    groups = as_int(groups, "groups", 1, op)
    bn_eps = check_eps(bn_eps, op)
    named = {"conv_w": conv_w, "conv_b": conv_b, "bn_rm": bn_rm, "bn_rv": bn_rv, "bn_w": bn_w,
             "bn_b": bn_b}
    arrays = {name: _array(value, name, op) for name, value in named.items() if value is not None}
    for name in ("conv_w", "bn_rm", "bn_rv"):
        if name not in arrays:
            raise TypeError(f"{op}: {name} must be a Tensor or an array, got None")
    if len({type(a) for a in arrays.values()}) > 1:
        found = ", ".join(f"{name}: {type(a).__module__}" for name, a in arrays.items())
        raise TypeError(f"{op}: the arguments must all be on one device (NumPy or CuPy arrays), "
                        f"got {found}")
    dtypes = {name: np.dtype(a.dtype) for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1 or not np.issubdtype(dtypes["conv_w"], np.floating):
        raise MixedDtypes(op, "the arguments must share one floating-point dtype, got "
                          + ", ".join(f"{n}: {d.name}" for n, d in dtypes.items()))

    weight = arrays["conv_w"]
    if weight.ndim < 3:
        raise ValueError(f"{op}: conv_w must be a conv weight (out, in/groups, *kernel), "
                         f"got shape {tuple(weight.shape)}")
    if arrays["bn_rm"].ndim != 1:
        raise ValueError(f"{op}: bn_rm must be 1-D (one running mean per channel), got shape "
                         f"{tuple(arrays['bn_rm'].shape)}")
    num_features = arrays["bn_rm"].shape[0]
    for name in ("conv_b", "bn_rv", "bn_w", "bn_b"):
        if name in arrays and arrays[name].shape != (num_features,):
            raise ValueError(f"{op}: {name} must be 1-D with one value per channel, like bn_rm "
                             f"{tuple(arrays['bn_rm'].shape)}; got shape "
                             f"{tuple(arrays[name].shape)}")
    if transpose:
        # (C_in, C_out/G, *k): the output channels are the groups' columns side by side.
        out_channels = weight.shape[1] * groups
        if weight.shape[0] % groups:
            raise ValueError(f"{op}: groups={groups} must divide conv_w's in_channels "
                             f"(shape {tuple(weight.shape)}, transpose=True)")
    else:
        out_channels = weight.shape[0]  # (C_out, C_in/G, *k)
    if out_channels != num_features:
        layout = (f"conv_w.shape[1] * groups = {weight.shape[1]} * {groups}" if transpose
                  else f"conv_w.shape[0] = {weight.shape[0]}")
        raise ValueError(f"{op}: the batch norm has {num_features} channels (bn_rm), but the "
                         f"conv has {out_channels} output channels ({layout})")

    xp = xp_of(weight)
    running_mean = arrays["bn_rm"]
    conv_bias = arrays.get("conv_b", xp.zeros_like(running_mean))
    gamma = arrays.get("bn_w", xp.ones_like(running_mean))
    beta = arrays.get("bn_b", xp.zeros_like(running_mean))
    inv_std = 1.0 / xp.sqrt(arrays["bn_rv"] + bn_eps)  # (C_out,)
    scale = gamma * inv_std  # (C_out,)
    kernel_ones = (1,) * (weight.ndim - 2)
    if transpose:
        c_in = weight.shape[0]
        # group g's rows i, column j feed output o = g*C_out/G + j:
        # (G, C_in/G, C_out/G, *k) * (G, 1, C_out/G, 1...) -> (C_in, C_out/G, *k)
        grouped = weight.reshape((groups, c_in // groups) + weight.shape[1:])
        fused_weight = grouped * scale.reshape((groups, 1, -1) + kernel_ones)
        fused_weight = fused_weight.reshape(weight.shape)
    else:
        # (C_out, C_in/G, *k) * (C_out, 1, 1...)
        fused_weight = weight * scale.reshape((-1, 1) + kernel_ones)
    fused_bias = (conv_bias - running_mean) * inv_std * gamma + beta  # PyTorch's order
    return (Parameter(fused_weight, getattr(conv_w, "requires_grad", False)),
            Parameter(fused_bias, getattr(conv_b, "requires_grad", False)))


def _check_pair(conv, bn, op):
    """Both modules of the right kind, in eval mode, with running statistics, channels matching."""
    if not isinstance(conv, _ConvNd):
        raise TypeError(f"{op}: conv must be a Conv2d or ConvTranspose2d, "
                        f"got {type(conv).__name__}")
    if not isinstance(bn, _BatchNorm):
        raise TypeError(f"{op}: bn must be a batch norm (BatchNorm2d, ...), "
                        f"got {type(bn).__name__}")
    for name, module in (("conv", conv), ("bn", bn)):
        if module.training:
            raise RuntimeError(f"{op}: {name} {module!r} is in training mode; fusion freezes the "
                               f"running statistics into the weights and is for inference only: "
                               f"call .eval() on both modules first")
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"{op}: bn {bn!r} has no running statistics (track_running_stats="
                         f"False), so in eval mode it normalises with batch statistics, which "
                         f"no fixed weight can fold")
    if bn.num_features != conv.out_channels:
        raise ValueError(f"{op}: bn.num_features ({bn.num_features}) must equal conv.out_channels "
                         f"({conv.out_channels}); conv is {conv!r}")


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A new conv layer (a copy of ``conv``) that computes ``bn(conv(x))``, both in eval mode.

    As ``torch.nn.utils.fusion.fuse_conv_bn_eval``: ``transpose=True`` for a ConvTranspose2d
    (here it must say what ``conv`` is: a mismatch is an error rather than a wrong weight).
    The copy gains a bias when ``conv`` had none. Weights from :func:`fuse_conv_bn_weights`.
    """
    op = "fuse_conv_bn_eval"
    _check_pair(conv, bn, op)
    transpose = require_bool(transpose, "transpose", op)
    if transpose != isinstance(conv, ConvTranspose2d):
        raise ValueError(f"{op}: transpose={transpose} but conv is a {type(conv).__name__} "
                         f"(transpose=True is for ConvTranspose2d, False for Conv2d)")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose, groups=conv.groups)
    return fused


def _sequential_pairs(model):
    """((parent, conv name), (parent, bn name)) for each conv directly followed by a batch norm
    with running statistics inside a Sequential of ``model``."""
    pairs = []
    for _, parent in model.named_modules():
        if not isinstance(parent, Sequential):
            continue
        items = list(parent._modules.items())
        for (conv_name, conv), (bn_name, bn) in zip(items, items[1:]):
            if (isinstance(conv, (Conv2d, ConvTranspose2d)) and isinstance(bn, _BatchNorm)
                    and bn.running_mean is not None):
                pairs.append(((parent, conv_name), (parent, bn_name)))
    return pairs


def _named_pairs(model, modules_to_fuse):
    """((parent, attribute), (parent, attribute)) for each (conv, bn) pair of dotted names."""
    pairs = []
    for index, names in enumerate(modules_to_fuse):
        if (not isinstance(names, (tuple, list)) or len(names) != 2
                or not all(isinstance(name, str) and name for name in names)):
            raise TypeError(f"fuse_conv_bn: modules_to_fuse[{index}] must be a pair of module "
                            f"names (conv, bn), got {names!r}")
        slots = []
        for name in names:
            model.get_submodule(name)  # an AttributeError naming the missing part
            parent_name, _, attribute = name.rpartition(".")
            slots.append((model.get_submodule(parent_name), attribute))
        pairs.append(tuple(slots))
    return pairs


def fuse_conv_bn(model, modules_to_fuse=None):
    """An eval-mode copy of ``model`` with batch norms folded into the convolutions before them.

    Which pairs are fused:

    * ``modules_to_fuse=None``: every Conv2d or ConvTranspose2d directly followed by a batch
      norm with running statistics in the same ``Sequential``. There the batch norm's only
      input is the conv's output, so the fusion is exact: torchvision's ``Conv2dNormActivation``
      (every MobileNet / EfficientNet conv), ShuffleNetV2's branches and stem, ResNet's
      ``downsample``.
    * a list of ``(conv_name, bn_name)`` pairs (names as in ``model.named_modules()``):
      exactly those. Use it where a ``forward`` calls
      ``bn(conv(x))`` on attributes, e.g. ResNet's ``conv1``/``bn1`` in the stem and every
      block; as with ``torch.ao.quantization.fuse_modules``, the caller vouches that the conv's
      output goes nowhere else.

    Left as they are: a batch norm before its conv (pre-activation ResNet, DenseNet), after
    another layer, or without running statistics. Each fused conv replaces the conv (it gains
    a ``bias``) and ``nn.Identity`` the batch norm, so the other layers keep their names and
    state-dict keys. ``model`` itself is not changed.
    """
    if not isinstance(model, Module):
        raise TypeError(f"fuse_conv_bn: model must be a Module, got {type(model).__name__}")
    fused_model = copy.deepcopy(model).eval()
    pairs = (_sequential_pairs(fused_model) if modules_to_fuse is None
             else _named_pairs(fused_model, modules_to_fuse))
    for (conv_parent, conv_name), (bn_parent, bn_name) in pairs:
        conv, bn = getattr(conv_parent, conv_name), getattr(bn_parent, bn_name)
        _check_pair(conv, bn, "fuse_conv_bn")
        setattr(conv_parent, conv_name,
                fuse_conv_bn_eval(conv, bn, transpose=isinstance(conv, ConvTranspose2d)))
        setattr(bn_parent, bn_name, Identity())
    return fused_model
