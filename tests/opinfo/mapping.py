"""Which minicnn functional or layer answers to which PyTorch OpInfo / ModuleInfo.

One line per operator: add an op to the OpInfo suite by adding a line here
(``tests/opinfo/test_opinfo.py`` reads nothing else). ``OPS`` pairs an OpInfo
(``name`` and ``variant_test_name`` as in ``op_db``) with the minicnn
callable that takes the same arguments; ``MODULES`` pairs a ModuleInfo's
class name with the minicnn layer.

Forms minicnn does not support on purpose raise
``minicnn._validation.UnsupportedForm``; the test checks that every such
raise names a row of ``docs/unsupported.md``. Nothing else is skipped.
"""
from dataclasses import dataclass

import minicnn
from minicnn import nn
from minicnn.nn import functional as F


@dataclass(frozen=True)
class Op:
    name: str             # OpInfo.name, e.g. "nn.functional.relu"
    fn: object            # the minicnn callable taking the same arguments
    variant: str = ""     # OpInfo.variant_test_name
    reference: bool = True  # also run reference_inputs (when cheap enough)
    dtype: str = "float64"  # the dtype the samples are drawn in
    # Random ops (dropout): a function ndim -> the axes one mask value is shared over.
    # PyTorch then computes the op with minicnn's own mask (test_opinfo._random_reference).
    mask_axes: object = None

    @property
    def id(self) -> str:
        return f"{self.name}.{self.variant}" if self.variant else self.name


def method(name):
    """An OpInfo of a Tensor method (``expand``, ``view_as``, ``__radd__``): minicnn's
    ``Tensor.<name>``, which, as PyTorch's method descriptors do, needs a Tensor ``self``."""
    def call(input, *args, **kwargs):
        if not isinstance(input, minicnn.Tensor):
            raise TypeError(f"Tensor.{name}: self must be a Tensor, got {type(input).__name__}")
        return getattr(minicnn.Tensor, name)(input, *args, **kwargs)
    return call


@dataclass(frozen=True)
class ModuleEntry:
    name: str             # ModuleInfo's class name, e.g. "BatchNorm2d"
    cls: object           # the minicnn layer


OPS = [
    # elementwise
    Op("abs", F.abs),
    Op("neg", F.neg),
    Op("exp", F.exp),
    Op("log", F.log),
    Op("sqrt", F.sqrt),
    Op("tanh", F.tanh),
    Op("sigmoid", F.sigmoid),
    Op("add", F.add),
    Op("sub", F.sub),
    Op("mul", F.mul),
    Op("div", F.div, "no_rounding_mode"),
    Op("div", F.div, "trunc_rounding"),
    Op("div", F.div, "floor_rounding"),
    Op("pow", F.pow),
    Op("clamp", F.clamp),
    Op("maximum", F.maximum),
    Op("minimum", F.minimum),
    Op("max", F.max, "binary"),
    Op("min", F.min, "binary"),
    Op("where", lambda input, condition, other: F.where(condition, input, other)),
    Op("clone", F.clone),
    Op("__radd__", method("__radd__")),
    # (no reference_inputs: they call the unbound method with a Python number as self,
    # where PyTorch returns NotImplemented rather than computing anything)
    Op("__rsub__", method("__rsub__"), reference=False),
    Op("__rmul__", method("__rmul__")),
    Op("__rpow__", method("__rpow__"), reference=False),
    Op("__rmatmul__", method("__rmatmul__")),
    # comparisons and logic
    Op("eq", minicnn.eq),
    Op("ne", minicnn.ne),
    Op("lt", minicnn.lt),
    Op("le", minicnn.le),
    Op("gt", minicnn.gt),
    Op("ge", minicnn.ge),
    Op("all", minicnn.all),
    Op("any", minicnn.any),
    Op("masked_fill", F.masked_fill),
    # dtype conversions
    Op("double", method("double")),
    Op("float", method("float")),
    Op("long", method("long")),
    # reductions
    Op("sum", F.sum),
    Op("mean", F.mean),
    Op("var", F.var),
    Op("var", F.var, "unbiased"),
    Op("std", F.std),
    Op("std", F.std, "unbiased"),
    Op("max", F.max, "reduction_with_dim"),
    Op("max", F.max, "reduction_no_dim"),
    Op("min", F.min, "reduction_with_dim"),
    Op("min", F.min, "reduction_no_dim"),
    Op("amax", F.amax),
    Op("amin", F.amin),
    Op("argmax", F.argmax),
    Op("argmin", F.argmin),
    Op("norm", F.norm),
    Op("norm", F.norm, "fro"),
    Op("norm", F.norm, "inf"),
    Op("norm", F.norm, "nuc"),  # unsupported: raises
    Op("topk", F.topk),
    Op("sort", F.sort),
    # shape and selection
    Op("expand", method("expand")),
    Op("expand_as", method("expand_as")),
    Op("repeat", method("repeat")),
    Op("view_as", method("view_as")),
    Op("reshape_as", method("reshape_as")),
    Op("t", method("t")),
    Op("__getitem__", method("__getitem__")),
    Op("gather", F.gather),
    Op("index_select", F.index_select),
    Op("reshape", F.reshape),
    Op("view", lambda input, *shape: input.view(*shape)),
    Op("flatten", F.flatten),
    Op("permute", F.permute),
    Op("transpose", F.transpose),
    Op("squeeze", F.squeeze),
    Op("squeeze", F.squeeze, "multiple"),
    Op("unsqueeze", F.unsqueeze),
    Op("cat", F.cat),
    Op("stack", F.stack),
    Op("split", F.split),
    Op("split", F.split, "list_args"),
    Op("chunk", F.chunk),
    Op("nn.functional.pad", F.pad, "constant"),
    Op("nn.functional.pad", F.pad, "reflect"),
    Op("nn.functional.pad", F.pad, "replicate"),
    Op("nn.functional.pad", F.pad, "replicate_negative"),
    Op("nn.functional.pad", F.pad, "circular"),
    Op("nn.functional.channel_shuffle", F.channel_shuffle),
    # linear algebra, convolution, pooling, normalisation
    Op("matmul", F.matmul),
    Op("nn.functional.linear", F.linear),
    Op("nn.functional.conv2d", F.conv2d),
    Op("nn.functional.conv_transpose2d", F.conv_transpose2d),
    Op("nn.functional.avg_pool2d", F.avg_pool2d),
    Op("nn.functional.max_pool2d", F.max_pool2d),
    Op("nn.functional.adaptive_avg_pool2d", F.adaptive_avg_pool2d),
    Op("nn.functional.adaptive_max_pool2d", F.adaptive_max_pool2d),
    Op("nn.functional.batch_norm", F.batch_norm),
    Op("nn.functional.batch_norm", F.batch_norm, "without_cudnn"),
    Op("nn.functional.layer_norm", F.layer_norm),
    Op("nn.functional.group_norm", F.group_norm),
    Op("nn.functional.instance_norm", F.instance_norm),
    Op("nn.functional.normalize", F.normalize),
    # resampling
    Op("nn.functional.interpolate", F.interpolate, "nearest"),
    Op("nn.functional.interpolate", F.interpolate, "bilinear"),
    Op("nn.functional.pixel_shuffle", F.pixel_shuffle),
    Op("nn.functional.pixel_unshuffle", F.pixel_unshuffle),
    Op("nn.functional.unfold", F.unfold),
    # activations, softmax
    Op("nn.functional.relu", F.relu),
    Op("nn.functional.relu6", F.relu6),
    Op("nn.functional.elu", F.elu),
    Op("nn.functional.silu", F.silu),
    Op("nn.functional.silu", F.silu, "complex", dtype="complex128"),  # unsupported: raises
    Op("nn.functional.hardsigmoid", F.hardsigmoid),
    Op("nn.functional.hardswish", F.hardswish),
    Op("nn.functional.leaky_relu", F.leaky_relu),
    Op("nn.functional.gelu", F.gelu),
    Op("nn.functional.softplus", F.softplus),
    Op("nn.functional.mish", F.mish),
    Op("nn.functional.prelu", F.prelu),
    Op("softmax", F.softmax),
    Op("softmax", F.softmax, "with_dtype"),
    Op("log_softmax", F.log_softmax),
    Op("log_softmax", F.log_softmax, "with_dtype"),
    # losses
    Op("nn.functional.cross_entropy", F.cross_entropy),
    Op("nn.functional.nll_loss", F.nll_loss),
    Op("nn.functional.mse_loss", F.mse_loss),
    Op("nn.functional.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits),
    Op("nn.functional.binary_cross_entropy", F.binary_cross_entropy),
    Op("nn.functional.l1_loss", F.l1_loss),
    Op("nn.functional.smooth_l1_loss", F.smooth_l1_loss),
    Op("nn.functional.huber_loss", F.huber_loss),
    Op("nn.functional.kl_div", F.kl_div),
    Op("nn.functional.one_hot", F.one_hot, dtype="int64"),
    # random masks: elementwise; whole channels (a 3-D input is (N, C, L), as PyTorch 2.13)
    Op("nn.functional.dropout", F.dropout, mask_axes=lambda ndim: ()),
    Op("nn.functional.dropout2d", F.dropout2d,
       mask_axes=lambda ndim: (-1,) if ndim == 3 else (-2, -1)),
]

MODULES = [
    ModuleEntry("ReLU", nn.ReLU),
    ModuleEntry("ReLU6", nn.ReLU6),
    ModuleEntry("LeakyReLU", nn.LeakyReLU),
    ModuleEntry("ELU", nn.ELU),
    ModuleEntry("SiLU", nn.SiLU),
    ModuleEntry("Hardswish", nn.Hardswish),
    ModuleEntry("Sigmoid", nn.Sigmoid),
    ModuleEntry("Tanh", nn.Tanh),
    ModuleEntry("GELU", nn.GELU),
    ModuleEntry("Softmax", nn.Softmax),
    ModuleEntry("LogSoftmax", nn.LogSoftmax),
    ModuleEntry("Linear", nn.Linear),
    ModuleEntry("Conv2d", nn.Conv2d),
    ModuleEntry("ConvTranspose2d", nn.ConvTranspose2d),
    ModuleEntry("BatchNorm1d", nn.BatchNorm1d),
    ModuleEntry("BatchNorm2d", nn.BatchNorm2d),
    ModuleEntry("InstanceNorm2d", nn.InstanceNorm2d),
    ModuleEntry("GroupNorm", nn.GroupNorm),
    ModuleEntry("LayerNorm", nn.LayerNorm),
    ModuleEntry("MaxPool2d", nn.MaxPool2d),
    ModuleEntry("AvgPool2d", nn.AvgPool2d),
    ModuleEntry("AdaptiveAvgPool2d", nn.AdaptiveAvgPool2d),
    ModuleEntry("AdaptiveMaxPool2d", nn.AdaptiveMaxPool2d),
    ModuleEntry("CrossEntropyLoss", nn.CrossEntropyLoss),
    ModuleEntry("NLLLoss", nn.NLLLoss),
    ModuleEntry("MSELoss", nn.MSELoss),
    ModuleEntry("L1Loss", nn.L1Loss),
    ModuleEntry("SmoothL1Loss", nn.SmoothL1Loss),
    ModuleEntry("HuberLoss", nn.HuberLoss),
    ModuleEntry("KLDivLoss", nn.KLDivLoss),
    ModuleEntry("BCELoss", nn.BCELoss),
    ModuleEntry("BCEWithLogitsLoss", nn.BCEWithLogitsLoss),
    ModuleEntry("PReLU", nn.PReLU),
    ModuleEntry("Softplus", nn.Softplus),
    ModuleEntry("Mish", nn.Mish),
    ModuleEntry("ZeroPad2d", nn.ZeroPad2d),
    ModuleEntry("ReflectionPad2d", nn.ReflectionPad2d),
    ModuleEntry("ReplicationPad2d", nn.ReplicationPad2d),
]
