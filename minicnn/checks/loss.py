"""Check cases for the loss operators (see minicnn.checks.case).

Class-index targets and class weights are constants (no gradient in minicnn
or PyTorch), so their cases list ``grad_inputs`` explicitly; probability
targets of cross_entropy and the targets of mse/BCE are differentiable and
checked too.
"""
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
