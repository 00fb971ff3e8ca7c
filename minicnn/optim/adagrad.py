"""Adagrad (Duchi, Hazan & Singer, 2011): each coordinate's step shrinks with its summed g^2."""
from ..backend import xp_of
from .optimizer import Optimizer, _check_number

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""``Adagrad(params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10, *, maximize=False)``: PyTorch's update rule.

    With gradient ``g_t`` of parameter ``theta`` and ``t`` counting this
    parameter's steps from 1::

        g      = -g_t if maximize else g_t
        g      = g + weight_decay * theta                  (when weight_decay != 0)
        lr_t   = lr / (1 + (t - 1) * lr_decay)
        s_t    = s_{t-1} + g * g                           (s_0 = initial_accumulator_value)
        theta  = theta - lr_t * g / (sqrt(s_t) + eps)

    ``s`` only grows, so the steps shrink like ``1 / sqrt(t)`` for a gradient
    of steady size: good for sparse features, too cautious for long CNN runs.
    As in PyTorch the state (``step`` 0 and ``sum`` filled with
    ``initial_accumulator_value``) is created for every parameter by the
    constructor, so it is in ``state_dict()`` before the first step, and the
    constructor's ``initial_accumulator_value`` fills it for every group
    (a group's own value is kept in the group but not used: PyTorch's behaviour).
    """

    _nonnegative_options = ("lr", "lr_decay", "weight_decay")

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
                 eps=1e-10, *, maximize=False):
        _check_number("Adagrad", "learning rate", lr, minimum=0.0)
        _check_number("Adagrad", "lr_decay", lr_decay, minimum=0.0)
        _check_number("Adagrad", "weight_decay", weight_decay, minimum=0.0)
        _check_number("Adagrad", "initial_accumulator_value", initial_accumulator_value,
                      minimum=0.0)
        _check_number("Adagrad", "epsilon", eps, minimum=0.0)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value,
                        maximize=bool(maximize))
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                self._accumulator_of(param)

    def _accumulator_of(self, param) -> dict:
        """The state of ``param`` (created here when missing: a group added after
        construction)."""
        return self._state_of(param, ("sum",), fill=self.defaults["initial_accumulator_value"])

    def _update(self, param, grad, group):
        lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
        xp = xp_of(param.data)
        state = self._accumulator_of(param)
        state["step"] += 1
        grad = self._weight_decayed(param, grad, group)
        clr = lr / (1 + (state["step"] - 1) * lr_decay)
        state_sum = state["sum"]
        state_sum += grad * grad
        std = xp.sqrt(state_sum)
        std += eps
        param.data += (-clr * grad) / std
