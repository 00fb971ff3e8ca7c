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

    @property
    def id(self) -> str:
        return f"{self.name}.{self.variant}" if self.variant else self.name


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
    # activations
    Op("nn.functional.relu", F.relu),
    Op("nn.functional.relu6", F.relu6),
    Op("nn.functional.elu", F.elu),
    Op("nn.functional.silu", F.silu),
    Op("nn.functional.hardsigmoid", F.hardsigmoid),
    Op("nn.functional.hardswish", F.hardswish),
    Op("nn.functional.leaky_relu", F.leaky_relu),
    Op("nn.functional.gelu", F.gelu),
]

MODULES = [
    ModuleEntry("ReLU", nn.ReLU),
]
