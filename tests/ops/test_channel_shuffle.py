"""channel_shuffle: a permutation of the channels, undone by shuffling with C/g groups."""
import numpy as np
import pytest
import torch.nn.functional as TF
from hypothesis import given
from hypothesis import strategies as st

import minicnn
import minicnn.nn.functional as F
from minicnn.testing import compare_with_torch, gradcheck


@st.composite
def shuffle_configs(draw):
    """An input shape (N, C, *) (3-D to 5-D) and groups drawn among the divisors of C."""
    channels = draw(st.integers(1, 12))
    groups = draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    spatial = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    return (draw(st.integers(1, 3)), channels, *spatial), groups


def _permutation(channels, groups):
    """From the formula: output channel r*g + q is channel q*(C/g) + r (q < g, r < C/g)."""
    per_group = channels // groups
    perm = np.empty(channels, dtype=np.int64)
    for q in range(groups):
        for r in range(per_group):
            perm[r * groups + q] = q * per_group + r
    return perm


@given(shuffle_configs(), st.integers(0, 2**16))
def test_channel_shuffle_is_the_channel_permutation(cfg, seed):
    shape, groups = cfg
    x = np.random.default_rng(seed).standard_normal(shape)
    out = F.channel_shuffle(minicnn.tensor(x), groups).numpy()
    np.testing.assert_array_equal(np.sort(out, axis=None), np.sort(x, axis=None))
    np.testing.assert_array_equal(out, x[:, _permutation(shape[1], groups)])


@given(shuffle_configs(), st.integers(0, 2**16))
def test_shuffle_by_groups_then_by_channels_over_groups_restores_input(cfg, seed):
    shape, groups = cfg
    x = np.random.default_rng(seed).standard_normal(shape)
    once = F.channel_shuffle(minicnn.tensor(x), groups)
    np.testing.assert_array_equal(F.channel_shuffle(once, shape[1] // groups).numpy(), x)


@given(shuffle_configs(), st.integers(0, 2**16))
def test_channel_shuffle_gradcheck(cfg, seed):
    shape, groups = cfg
    x = minicnn.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)
    gradcheck(lambda t: F.channel_shuffle(t, groups), [x])


@given(shuffle_configs(), st.integers(0, 2**16))
def test_channel_shuffle_matches_torch(cfg, seed):
    shape, groups = cfg
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    # A permutation moves values without arithmetic: output and gradient are exact.
    compare_with_torch(lambda t: F.channel_shuffle(t, groups),
                       lambda t: TF.channel_shuffle(t, groups), [x], atol=0, rtol=0)


def test_channel_shuffle_non_contiguous_input_and_integers():
    x = np.arange(2 * 6 * 3 * 4, dtype=np.float32).reshape(2, 6, 4, 3).transpose(0, 1, 3, 2)
    out = F.channel_shuffle(minicnn.tensor(x), 3).numpy()
    np.testing.assert_array_equal(out, x[:, _permutation(6, 3)])
    ints = minicnn.tensor(np.arange(12).reshape(1, 6, 2))  # moves values: any dtype works
    np.testing.assert_array_equal(F.channel_shuffle(ints, 2).numpy()[0, :, 0],
                                  [0, 6, 2, 8, 4, 10])


def test_channel_shuffle_bad_input():
    x = minicnn.zeros(2, 6, 2, 2)
    with pytest.raises(ValueError, match="groups"):
        F.channel_shuffle(x, 4)  # does not divide 6
    with pytest.raises(ValueError, match="groups"):
        F.channel_shuffle(x, 0)
    with pytest.raises(TypeError, match="groups"):
        F.channel_shuffle(x, 2.0)
    with pytest.raises(ValueError, match="input"):
        F.channel_shuffle(minicnn.zeros(2, 6), 2)  # PyTorch needs > 2 dims too
    with pytest.raises(TypeError, match="input"):
        F.channel_shuffle(np.zeros((2, 6, 2)), 2)
