"""The layers of issue 11's activations, dropout2d, Unflatten and losses against torch.nn:
reprs, parameters (PReLU's learned slope), buffers, outputs and every gradient, errors.

Parity method and float32 tolerances as in ``test_layers.py`` (its ``compare_layers``).
"""
import math

import numpy as np
import pytest
import torch

import minicnn
from minicnn import nn

from .test_layers import ATOL, RTOL, _Scaled, compare_layers, randn

ACTIVATIONS = [
    lambda lib: lib.nn.Softplus(), lambda lib: lib.nn.Softplus(2.0, 5.0),
    lambda lib: lib.nn.Mish(), lambda lib: lib.nn.Mish(inplace=True),
    lambda lib: lib.nn.PReLU(), lambda lib: lib.nn.PReLU(3, init=0.1)]


@pytest.mark.parametrize("make", ACTIVATIONS)
def test_activation_layers_match_torch(make):
    ours, theirs = make(minicnn), make(torch)
    assert repr(ours) == repr(theirs)
    x = randn(np.random.default_rng(0), 2, 3, 4, 4, scale=4.0)
    compare_layers(_Scaled(ours), _Scaled(theirs, torch), x)  # PReLU: the slope's gradient too


def test_prelu_parameter_init_dtype_and_learning():
    layer = nn.PReLU(4, init=0.3, dtype=minicnn.float64)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.dtype == np.float64
    np.testing.assert_array_equal(layer.weight.numpy(), np.full(4, 0.3))
    # One SGD step on sum(prelu(x)) for x < 0 everywhere moves a_c by -lr * sum_c x.
    x = -np.abs(randn(np.random.default_rng(1), 2, 4, 3, 3).astype(np.float64)) - 0.1
    optimizer = minicnn.optim.SGD(layer.parameters(), lr=0.01)
    layer(minicnn.tensor(x)).sum().backward()
    optimizer.step()
    np.testing.assert_allclose(layer.weight.numpy(), 0.3 - 0.01 * x.sum(axis=(0, 2, 3)),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="PReLU: num_parameters must be >= 1"):
        nn.PReLU(0)
    with pytest.raises(ValueError, match="prelu: weight has 4 entries; expected 1"):
        layer(minicnn.randn(2, 3, 2, 2, dtype=minicnn.float64))


def test_unflatten_matches_torch_and_checks_sizes():
    for dim, sizes in ((1, (2, 3)), (-1, (3, -1)), (0, [2, 1])):
        ours, theirs = nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes)
        assert repr(ours) == repr(theirs)
        compare_layers(ours, theirs, randn(np.random.default_rng(0), 2, 6))
    with pytest.raises(ValueError, match=r"Unflatten: unflattened_size \(4, 2\) does not "
                                         r"multiply to 6, the size of dim 1"):
        nn.Unflatten(1, (4, 2))(minicnn.randn(2, 6))
    with pytest.raises(ValueError, match="at most one -1"):
        nn.Unflatten(1, (-1, -1))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints"):
        nn.Unflatten(1, 6)


def test_flatten_then_unflatten_is_the_identity():
    x = minicnn.randn(2, 3, 4, 5)
    back = nn.Unflatten(1, (3, 4, 5))(nn.Flatten()(x))
    np.testing.assert_array_equal(back.numpy(), x.numpy())


def test_dropout2d_layer_train_and_eval():
    p = 0.4
    layer = nn.Dropout2d(p)
    assert repr(layer) == repr(torch.nn.Dropout2d(p))
    minicnn.manual_seed(0)
    x = minicnn.tensor(np.random.default_rng(0).uniform(1, 2, (40, 50, 3, 3)).astype(np.float32))
    y = layer(x).numpy()
    dropped = (y == 0).all(axis=(2, 3))
    n = dropped.size
    # channels dropped: a mean of n Bernoulli(p) draws, standard error sqrt(p (1 - p) / n)
    assert abs(dropped.mean() - p) <= 5 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y[~dropped], x.numpy()[~dropped] / (1 - p), rtol=1e-6)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="Dropout2d: dropout probability p has to be between"):
        nn.Dropout2d(-0.1)


LOSSES = [
    (lambda lib, w, pw: lib.nn.L1Loss(), "pair"),
    (lambda lib, w, pw: lib.nn.L1Loss(reduction="sum"), "pair"),
    (lambda lib, w, pw: lib.nn.SmoothL1Loss(beta=0.5), "pair"),
    (lambda lib, w, pw: lib.nn.HuberLoss(reduction="none", delta=2.0), "pair"),
    (lambda lib, w, pw: lib.nn.BCELoss(), "probabilities"),
    (lambda lib, w, pw: lib.nn.BCELoss(weight=w, reduction="sum"), "probabilities"),
    (lambda lib, w, pw: lib.nn.BCEWithLogitsLoss(), "logits"),
    (lambda lib, w, pw: lib.nn.BCEWithLogitsLoss(weight=w, pos_weight=pw), "logits"),
    (lambda lib, w, pw: lib.nn.KLDivLoss(reduction="batchmean"), "log-probabilities"),
    (lambda lib, w, pw: lib.nn.KLDivLoss(reduction="sum", log_target=True), "log-log"),
]


def _loss_inputs(kind, rng):
    shape = (4, 3)
    if kind == "pair":
        return randn(rng, *shape, scale=2.0), randn(rng, *shape)
    if kind == "probabilities":
        return (0.05 + 0.9 * rng.random(shape)).astype(np.float32), rng.random(shape).astype(np.float32)
    if kind == "logits":
        return randn(rng, *shape, scale=3.0), rng.random(shape).astype(np.float32)
    p, q = rng.random(shape) + 0.1, rng.random(shape) + 0.1
    p, q = p / p.sum(1, keepdims=True), q / q.sum(1, keepdims=True)
    target = np.log(q) if kind == "log-log" else q
    return np.log(p).astype(np.float32), target.astype(np.float32)


@pytest.mark.parametrize("make, kind", LOSSES, ids=[f"{i}-{k}" for i, (_, k) in enumerate(LOSSES)])
def test_loss_layers_match_torch(make, kind):
    rng = np.random.default_rng(0)
    weight, pos_weight = (rng.random(3) + 0.5).astype(np.float32), (rng.random(3) * 2).astype(np.float32)
    ours = make(minicnn, minicnn.tensor(weight), minicnn.tensor(pos_weight))
    theirs = make(torch, torch.from_numpy(weight), torch.from_numpy(pos_weight))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())  # weights are buffers
    x, target = _loss_inputs(kind, rng)
    our_x, their_x = minicnn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    our_loss = ours(our_x, minicnn.tensor(target))
    their_loss = theirs(their_x, torch.from_numpy(target))
    np.testing.assert_allclose(our_loss.numpy(), their_loss.detach().numpy(), atol=ATOL, rtol=RTOL)
    upstream = rng.standard_normal(our_loss.shape).astype(np.float32)
    our_loss.backward(upstream)
    their_loss.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(our_x.grad, their_x.grad.numpy(), atol=ATOL, rtol=RTOL)


def test_loss_layer_arguments_are_checked():
    with pytest.raises(ValueError, match=r"KLDivLoss: reduction must be one of \('none', "
                                         r"'batchmean', 'sum', 'mean'\)"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match=r"L1Loss: reduction must be one of"):
        nn.L1Loss(reduction="batchmean")
    with pytest.raises(ValueError, match="HuberLoss: delta must be > 0"):
        nn.HuberLoss(delta=0)
    with pytest.raises(ValueError, match="SmoothL1Loss: beta must be >= 0"):
        nn.SmoothL1Loss(beta=-1)
    with pytest.raises(TypeError, match="BCEWithLogitsLoss: pos_weight must be a Tensor or None"):
        nn.BCEWithLogitsLoss(pos_weight=[1.0, 2.0])
    with pytest.raises(TypeError, match="KLDivLoss: log_target must be a bool"):
        nn.KLDivLoss(log_target=1)


def test_legacy_size_average_becomes_reduction_with_torchs_warning():
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        ours = nn.L1Loss(size_average=False)
    with pytest.warns(UserWarning):
        theirs = torch.nn.L1Loss(size_average=False)
    assert ours.reduction == theirs.reduction == "sum"
