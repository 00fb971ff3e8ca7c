"""BatchNorm1d, InstanceNorm2d, GroupNorm, LayerNorm against their torch.nn twins:
reprs, state-dict keys, outputs, every gradient, running statistics, errors before any
state changes. (BatchNorm2d: tests/nn/test_layers.py; the functionals: tests/ops.)

Tolerances as in test_layers.py (atol 1e-5, rtol 1e-4): each output or gradient entry
is a float32 sum of at most a few hundred O(1) terms, rescaled by 1/sigma ~ 1.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn import nn

from .test_layers import ATOL, RTOL, compare_layers, randn

# (constructor arguments, input shape): each configuration on both libraries.
LAYERS = [
    ("BatchNorm1d", dict(num_features=3), (5, 3)),
    ("BatchNorm1d", dict(num_features=3, affine=False, momentum=None), (4, 3, 6)),
    ("BatchNorm1d", dict(num_features=3, track_running_stats=False, bias=False), (4, 3, 2)),
    ("InstanceNorm2d", dict(num_features=3), (2, 3, 4, 5)),
    ("InstanceNorm2d", dict(num_features=3, affine=True, track_running_stats=True), (2, 3, 4, 5)),
    ("InstanceNorm2d", dict(num_features=3, affine=True, momentum=None, track_running_stats=True),
     (3, 4, 2)),  # unbatched (C, H, W)
    ("GroupNorm", dict(num_groups=2, num_channels=6), (3, 6, 4, 4)),
    ("GroupNorm", dict(num_groups=3, num_channels=3, affine=False), (2, 3, 5)),
    ("GroupNorm", dict(num_groups=1, num_channels=4, bias=False), (2, 4)),
    ("LayerNorm", dict(normalized_shape=5), (2, 3, 5)),
    ("LayerNorm", dict(normalized_shape=[4, 5], elementwise_affine=False), (2, 4, 5)),
    ("LayerNorm", dict(normalized_shape=(3, 4, 5), bias=False, eps=1e-3), (2, 3, 4, 5)),
]


def _pair(name, kwargs):
    return getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)


def _randomize_affine(module):
    with torch.no_grad():
        for param in module.parameters():
            param.uniform_(0.5, 1.5)


@pytest.mark.parametrize("name, kwargs, shape", LAYERS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(LAYERS)])
def test_training_steps_then_eval_match_torch(name, kwargs, shape):
    """Same repr and state-dict keys; three training steps on shifting batches (outputs,
    input and parameter gradients, every buffer incl. num_batches_tracked), then eval."""
    ours, theirs = _pair(name, kwargs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _randomize_affine(theirs)
    rng = np.random.default_rng(0)
    for step in range(3):
        x = randn(rng, *shape, scale=2.0) + np.float32(step)
        ours.zero_grad()
        theirs.zero_grad()
        compare_layers(ours, theirs, x, seed=step)  # loads theirs into ours first
    for key, value in ours.state_dict().items():
        assert value.dtype == theirs.state_dict()[key].numpy().dtype, key
    ours.eval()
    theirs.eval()
    x = randn(rng, *shape)
    np.testing.assert_allclose(ours(minicnn.tensor(x)).numpy(),
                               theirs(torch.from_numpy(x)).detach().numpy(), atol=ATOL, rtol=RTOL)


@settings(max_examples=6)
@given(st.integers(1, 4), st.sampled_from([1, 2, 4]), st.integers(0, 2**16))
def test_group_norm_output_does_not_depend_on_the_rest_of_the_batch(batch, groups, seed):
    """Sample 0's output is the same alone and within any batch (BatchNorm's is not)."""
    rng = np.random.default_rng(seed)
    x = randn(rng, batch, 4, 3, 3)
    layer = nn.GroupNorm(groups, 4)
    np.testing.assert_allclose(layer(minicnn.tensor(x[:1])).numpy(),
                               layer(minicnn.tensor(x)).numpy()[:1], rtol=1e-5, atol=1e-6)


def test_instance_norm_never_counts_batches_as_torch():
    ours, theirs = _pair("InstanceNorm2d", dict(num_features=2, track_running_stats=True))
    x = randn(np.random.default_rng(1), 2, 2, 3, 3)
    ours(minicnn.tensor(x))
    theirs(torch.from_numpy(x))
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 0


def test_instance_norm_warns_as_torch_when_num_features_is_unused():
    with pytest.warns(UserWarning, match=r"input has 4 channels .* not num_features=3"):
        nn.InstanceNorm2d(3)(minicnn.randn(2, 4, 3, 3))


def _unchanged(module):
    before = {k: np.array(v, copy=True) for k, v in module.state_dict().items()}

    def check():
        for key, value in module.state_dict().items():
            np.testing.assert_array_equal(value, before[key], err_msg=key)
    return check


@pytest.mark.parametrize("make, x, error, match", [
    (lambda: nn.BatchNorm1d(3), minicnn.randn(4, 3, 2, 2), ValueError,
     r"BatchNorm1d\(3\): expected a 2-D or 3-D input \(N, C\) or \(N, C, L\)"),
    (lambda: nn.BatchNorm1d(3), minicnn.randn(4, 2), ValueError,
     r"BatchNorm1d\(3\): expected input with 3 channels \(num_features=3\), got 2"),
    (lambda: nn.BatchNorm1d(3), minicnn.randn(1, 3), ValueError,
     r"BatchNorm1d\(3\): expected more than 1 value per channel when training \(1 for"),
    (lambda: nn.InstanceNorm2d(3, affine=True), minicnn.randn(2, 4, 3, 3), ValueError,
     r"InstanceNorm2d\(3\): expected input with 3 channels"),
    (lambda: nn.InstanceNorm2d(3, track_running_stats=True), minicnn.randn(2, 3, 1, 1),
     ValueError, r"instance_norm: expected more than 1 spatial element"),
    (lambda: nn.InstanceNorm2d(3), minicnn.randn(2, 3), ValueError,
     r"InstanceNorm2d\(3\): expected a 3-D or 4-D input"),
    (lambda: nn.GroupNorm(2, 4), minicnn.randn(2, 6, 3), ValueError,
     r"GroupNorm\(2, 4\): expected input with 4 channels \(num_channels=4\), got 6"),
    (lambda: nn.GroupNorm(2, 4), minicnn.randn(4), ValueError,
     r"GroupNorm\(2, 4\): expected an input \(N, C, \*\) with at least 2 dimensions"),
    (lambda: nn.LayerNorm((3, 4)), minicnn.randn(2, 4, 3), ValueError,
     r"layer_norm: the input's trailing dimensions must be normalized_shape=\(3, 4\)"),
])
def test_bad_input_is_refused_before_any_state_changes(make, x, error, match):
    layer = make()
    unchanged = _unchanged(layer)
    with pytest.raises(error, match=match):
        layer(x)
    unchanged()


@pytest.mark.parametrize("make, error, match", [
    (lambda: nn.GroupNorm(4, 6), ValueError,
     r"GroupNorm: num_channels must be divisible by num_groups, got num_channels=6 and "
     r"num_groups=4"),
    (lambda: nn.GroupNorm(0, 6), ValueError, r"GroupNorm: num_groups must be >= 1, got 0"),
    (lambda: nn.GroupNorm(2, 4, affine=1), TypeError, r"GroupNorm: affine must be a bool"),
    (lambda: nn.LayerNorm(0), ValueError, r"LayerNorm: normalized_shape must be >= 1, got 0"),
    (lambda: nn.LayerNorm("4"), TypeError, r"LayerNorm: normalized_shape must be an int or"),
    (lambda: nn.LayerNorm(4, eps=-1e-5), ValueError, r"LayerNorm: eps must be >= 0"),
    (lambda: nn.InstanceNorm2d(3, momentum=1.5), ValueError, r"InstanceNorm2d: momentum must be"),
    (lambda: nn.BatchNorm1d(3, dtype=minicnn.int64), TypeError,
     r"BatchNorm1d: dtype must be float32 or float64"),
])
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_parameters_start_as_torchs():
    for ours, theirs in [_pair("GroupNorm", dict(num_groups=2, num_channels=4)),
                         _pair("LayerNorm", dict(normalized_shape=(2, 3))),
                         _pair("InstanceNorm2d", dict(num_features=3, affine=True,
                                                      track_running_stats=True))]:
        for key, value in theirs.state_dict().items():
            np.testing.assert_array_equal(ours.state_dict()[key], value.numpy(), err_msg=key)
