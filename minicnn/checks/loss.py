"""Check cases for the loss operators (see minicnn.checks.case).

Class-index targets and class weights are constants (no gradient in minicnn
or PyTorch), so their cases list ``grad_inputs`` explicitly; probability
targets of cross_entropy and the targets of the elementwise losses (mse, l1,
smooth l1, Huber, BCE, KL) are differentiable and checked too. Tolerances:
the defaults (float32 atol 1e-5, rtol 1e-4) hold a sum of a dozen O(1) terms
computed in another order; a wrong piece or normaliser is off by far more.
"""
import numpy as np

from ..nn import functional as F
from .case import Case


def _torch(name, **kwargs):
    """``torch.nn.functional.<name>`` with ``kwargs`` (torch imported only when called)."""
    def call(*args):
        import torch.nn.functional as TF

        return getattr(TF, name)(*args, **kwargs)
    return call


def _ours(name, **kwargs):
    return lambda *args: getattr(F, name)(*args, **kwargs)


def _indices(rng, shape, n_classes, ignore_index=None):
    """Class indices; with ``ignore_index``, the last position is ignored."""
    target = rng.integers(0, n_classes, size=shape)
    if ignore_index is not None:
        target.reshape(-1)[-1] = ignore_index
    return target


def _probabilities(rng, shape):
    p = rng.random(shape) + 0.05
    return p / p.sum(axis=1, keepdims=True)


def _weighted(name, **kwargs):
    """A loss whose third input is a class-weight array (a constant)."""
    return (lambda x, t, w: getattr(F, name)(x, t, weight=w, **kwargs),
            lambda x, t, w: _torch(name, weight=w, **kwargs)(x, t))


CASES = [
    Case("cross_entropy", "x(6, 5) index targets",
         lambda rng: [rng.standard_normal((6, 5)), _indices(rng, 6, 5)],
         _ours("cross_entropy"), _torch("cross_entropy"), grad_inputs=[0]),
    Case("cross_entropy", "x(2, 4, 3, 3) index, weight, ignore_index, label_smoothing=0.1",
         lambda rng: [rng.standard_normal((2, 4, 3, 3)), _indices(rng, (2, 3, 3), 4, -100),
                      rng.random(4) + 0.5],
         *_weighted("cross_entropy", label_smoothing=0.1), grad_inputs=[0]),
    Case("cross_entropy", "x(4, 5) probability targets, label_smoothing=0.2, sum",
         lambda rng: [rng.standard_normal((4, 5)), _probabilities(rng, (4, 5))],
         _ours("cross_entropy", label_smoothing=0.2, reduction="sum"),
         _torch("cross_entropy", label_smoothing=0.2, reduction="sum")),
    Case("nll_loss", "x(6, 4) weight, ignore_index",
         lambda rng: [rng.standard_normal((6, 4)), _indices(rng, 6, 4, -100),
                      rng.random(4) + 0.5],
         *_weighted("nll_loss"), grad_inputs=[0]),
    Case("nll_loss", "x(2, 3, 2, 2) none",
         lambda rng: [rng.standard_normal((2, 3, 2, 2)), _indices(rng, (2, 2, 2), 3)],
         _ours("nll_loss", reduction="none"), _torch("nll_loss", reduction="none"),
         grad_inputs=[0]),
    Case("mse_loss", "x(3, 4) mean",
         lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))],
         _ours("mse_loss"), _torch("mse_loss")),
    Case("mse_loss", "x(2, 3, 2) none",
         lambda rng: [rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3, 2))],
         _ours("mse_loss", reduction="none"), _torch("mse_loss", reduction="none")),
    Case("binary_cross_entropy_with_logits", "x(4, 3) mean",
         lambda rng: [rng.standard_normal((4, 3)) * 3, rng.random((4, 3))],
         _ours("binary_cross_entropy_with_logits"),
         _torch("binary_cross_entropy_with_logits")),
    Case("binary_cross_entropy_with_logits", "x(4, 3) weight (4, 1), pos_weight (3,), sum",
         lambda rng: [rng.standard_normal((4, 3)) * 3, rng.random((4, 3)),
                      rng.random((4, 1)) + 0.5, rng.random(3) * 3],
         lambda x, t, w, p: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=p,
                                                               reduction="sum"),
         lambda x, t, w, p: _torch("binary_cross_entropy_with_logits", weight=w, pos_weight=p,
                                   reduction="sum")(x, t),
         grad_inputs=[0, 1]),
]


def _pair(rng, shape, scale=2.0):
    """An input and a target of one shape, differences spread over the robust losses'
    quadratic and linear pieces (|d| around 1 and beyond)."""
    return [rng.standard_normal(shape) * scale, rng.standard_normal(shape)]


def _probabilities_in_open_interval(rng, shape):
    """Probabilities in (0.05, 0.95): the gradient check's step stays inside (0, 1)."""
    return 0.05 + 0.9 * rng.random(shape)


CASES += [
    Case("l1_loss", "x(3, 4) mean", lambda rng: _pair(rng, (3, 4)), _ours("l1_loss"),
         _torch("l1_loss")),
    Case("l1_loss", "x(2, 3, 2) weight, none",
         lambda rng: _pair(rng, (2, 3, 2)) + [rng.random((2, 3, 2)) + 0.5],
         lambda x, t, w: F.l1_loss(x, t, reduction="none", weight=w),
         lambda x, t, w: _torch("l1_loss", reduction="none", weight=w)(x, t)),
    Case("smooth_l1_loss", "x(3, 4) beta=0.5 mean", lambda rng: _pair(rng, (3, 4)),
         _ours("smooth_l1_loss", beta=0.5), _torch("smooth_l1_loss", beta=0.5)),
    Case("smooth_l1_loss", "x(2, 3, 2) sum", lambda rng: _pair(rng, (2, 3, 2)),
         _ours("smooth_l1_loss", reduction="sum"), _torch("smooth_l1_loss", reduction="sum")),
    Case("huber_loss", "x(3, 4) delta=1.5 mean", lambda rng: _pair(rng, (3, 4)),
         _ours("huber_loss", delta=1.5), _torch("huber_loss", delta=1.5)),
    Case("huber_loss", "x(2, 3, 2) weight, sum",
         lambda rng: _pair(rng, (2, 3, 2)) + [rng.random((2, 3, 2)) + 0.5],
         lambda x, t, w: F.huber_loss(x, t, reduction="sum", weight=w),
         lambda x, t, w: _torch("huber_loss", reduction="sum", weight=w)(x, t)),
    # The target of BCE is differentiable (linear in t) in both engines; the weight is not.
    Case("binary_cross_entropy", "x(4, 3) mean",
         lambda rng: [_probabilities_in_open_interval(rng, (4, 3)), rng.random((4, 3))],
         _ours("binary_cross_entropy"), _torch("binary_cross_entropy")),
    Case("binary_cross_entropy", "x(4, 3) weight (3,), none",
         lambda rng: [_probabilities_in_open_interval(rng, (4, 3)), rng.random((4, 3)),
                      rng.random(3) + 0.5],
         *_weighted("binary_cross_entropy", reduction="none"), grad_inputs=[0, 1]),
    Case("kl_div", "x(4, 5) batchmean",
         lambda rng: [np.log(_probabilities(rng, (4, 5))), _probabilities(rng, (4, 5))],
         _ours("kl_div", reduction="batchmean"), _torch("kl_div", reduction="batchmean")),
    Case("kl_div", "x(2, 3, 2) log_target, sum",
         lambda rng: [np.log(_probabilities(rng, (2, 3, 2))), np.log(_probabilities(rng, (2, 3, 2)))],
         _ours("kl_div", reduction="sum", log_target=True),
         _torch("kl_div", reduction="sum", log_target=True)),
    # Integers in and out: nothing to differentiate; the output (values and int64) is compared.
    Case("one_hot", "indices(2, 3) num_classes=5",
         lambda rng: [rng.integers(0, 5, size=(2, 3))],
         _ours("one_hot", num_classes=5), _torch("one_hot", num_classes=5),
         grad_inputs=[], gradcheck=False),
]
