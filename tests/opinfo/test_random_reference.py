"""The OpInfo check of random ops (dropout) can fail: a wrong scale or a wrong mask
structure, run through PyTorch's dropout samples, is caught."""
import pytest

from minicnn.nn import functional as F

from . import test_opinfo
from .mapping import OPS, Op

_MASK_AXES = {e.name: e.mask_axes for e in OPS if e.mask_axes is not None}


def _scaled_wrong(input, p=0.5, training=True, inplace=False):
    return F.dropout(input, p, training) * 0.9


def _elementwise_mask(input, p=0.5, training=True, inplace=False):
    return F.dropout(input, p, training)  # single elements dropped inside kept channels


@pytest.mark.parametrize("name, fn", [("nn.functional.dropout", _scaled_wrong),
                                      ("nn.functional.dropout2d", _elementwise_mask)])
def test_a_wrong_dropout_fails_the_opinfo_check(name, fn):
    with pytest.raises(AssertionError):
        test_opinfo.test_sample_inputs(Op(name, fn, mask_axes=_MASK_AXES[name]))
