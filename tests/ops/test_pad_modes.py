"""F.pad's copying modes (reflect, replicate, circular) and the padding layers.

Parity with PyTorch in float32: the outputs are copies (exact); a gradient
sums the copies of one element in some order, so 1e-6 relative. Gradients
are also checked by float64 central differences, with hypothesis drawing
shapes and widths (negative widths crop).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn import functional as F
from minicnn.testing import compare_with_torch, gradcheck

MODES = ("reflect", "replicate", "circular")


@st.composite
def padded(draw):
    """(mode, input shape, pad) that PyTorch accepts: 1 or 2 padded dims plus 1 or 2 leading."""
    mode = draw(st.sampled_from(MODES))
    spatial = draw(st.integers(1, 2))
    lead = draw(st.lists(st.integers(1, 2), min_size=1, max_size=2))
    sizes = draw(st.lists(st.integers(2, 4), min_size=spatial, max_size=spatial))
    pad = []
    for n in reversed(sizes):  # PyTorch's order: last dim first
        upper = {"reflect": n - 1, "replicate": 3, "circular": n}[mode]
        lower = -(n // 2) if mode != "reflect" else 0  # crop at most half: something stays
        pad += [draw(st.integers(lower, upper)), draw(st.integers(lower, upper))]
    return mode, tuple(lead + sizes), tuple(pad)


@given(padded(), st.integers(0, 2**16))
def test_pad_modes_match_torch(case, seed):
    mode, shape, pad = case
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    compare_with_torch(lambda t: F.pad(t, pad, mode=mode), lambda t: TF.pad(t, pad, mode=mode),
                       [x], atol=1e-6, rtol=1e-6)


@given(padded(), st.integers(0, 2**16))
def test_pad_modes_gradcheck(case, seed):
    mode, shape, pad = case
    x = mc.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    gradcheck(lambda t: F.pad(t, pad, mode=mode), [x])


def test_reflect_does_not_repeat_the_edge():
    """[1 2 3] padded by 2 reflects to 3 2 | 1 2 3 | 2 1 (NumPy's 'reflect', not 'symmetric')."""
    x = mc.tensor([[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(F.pad(x, (2, 2), mode="reflect").numpy(),
                                  np.pad(x.numpy(), ((0, 0), (2, 2)), mode="reflect"))
    np.testing.assert_array_equal(F.pad(x, (2, 2), mode="replicate").numpy(),
                                  np.pad(x.numpy(), ((0, 0), (2, 2)), mode="edge"))
    np.testing.assert_array_equal(F.pad(x, (2, 2), mode="circular").numpy(),
                                  np.pad(x.numpy(), ((0, 0), (2, 2)), mode="wrap"))


@pytest.mark.parametrize("call, message", [
    (lambda: F.pad(mc.zeros(1, 3), (3, 0), mode="reflect"),
     r"reflect padding must be less than the size of the dim it pads: pad \(3, 0\) on dim 1 of size 3"),
    (lambda: F.pad(mc.zeros(1, 3), (4, 0), mode="circular"),
     r"circular padding must be at most the size"),
    (lambda: F.pad(mc.zeros(3), (1, 1), mode="replicate"),
     r"mode 'replicate' pads the last 1, 2 or 3 dims of an input with one or two more"),
    (lambda: F.pad(mc.zeros(1, 3), (1, 1), mode="reflect", value=2.0),
     r"mode 'reflect' takes no value"),
    (lambda: F.pad(mc.zeros(1, 3), (1, 1), mode="symmetric"), r"mode must be one of"),
])
def test_pad_mode_errors(call, message):
    with pytest.raises(ValueError, match=f"pad: {message}"):
        call()


@pytest.mark.parametrize("name", ["ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d"])
@pytest.mark.parametrize("padding", [1, (2, 0, 1, 3)])
def test_padding_layers_match_torch(name, padding):
    x = np.random.default_rng(4).standard_normal((2, 3, 4, 5)).astype(np.float32)
    ours, theirs = getattr(mc.nn, name)(padding), getattr(torch.nn, name)(padding)
    assert repr(ours) == repr(theirs)
    compare_with_torch(ours, theirs, [x], atol=1e-6, rtol=1e-6)


def test_padding_layer_bad_arguments():
    with pytest.raises(TypeError, match=r"ReflectionPad2d: padding must be an int or a 4-tuple"):
        mc.nn.ReflectionPad2d((1, 2))
    with pytest.raises(ValueError, match=r"ZeroPad2d: expected a 3-D \(C, H, W\) or 4-D"):
        mc.nn.ZeroPad2d(1)(mc.zeros(2, 3))
