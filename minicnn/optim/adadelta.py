"""Adadelta (Zeiler, 2012): per-coordinate step sizes from two running averages, no tuned lr."""
from ..backend import xp_of
from .optimizer import Optimizer, _check_number

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""``Adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False)``:
    PyTorch's update rule.

    With gradient ``g_t`` of parameter ``theta``::

        g       = -g_t if maximize else g_t
        g       = g + weight_decay * theta                  (when weight_decay != 0)
        v_t     = rho * v_{t-1} + (1 - rho) * g * g         (square_avg)
        delta_t = sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g
        u_t     = rho * u_{t-1} + (1 - rho) * delta_t ** 2  (acc_delta)
        theta   = theta - lr * delta_t

    The step is the ratio of two RMS values, so its units are those of
    ``theta`` (Zeiler's argument) and ``lr = 1`` is the paper's method; ``lr``
    is PyTorch's extra scale. ``eps`` sits inside both square roots and, with
    ``u_0 = 0``, sets the size of the first steps (``sqrt(eps) / rms(g)``).
    State per parameter: ``step``, ``square_avg`` (v), ``acc_delta`` (u).
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, *, maximize=False):
        _check_number("Adadelta", "learning rate", lr, minimum=0.0)
        _check_number("Adadelta", "rho", rho, minimum=0.0)
        if rho > 1:
            raise ValueError(f"Adadelta: Invalid rho value: {rho!r} (expected <= 1)")
        _check_number("Adadelta", "epsilon", eps, minimum=0.0)
        _check_number("Adadelta", "weight_decay", weight_decay, minimum=0.0)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                        maximize=bool(maximize))
        super().__init__(params, defaults)

    def _update(self, param, grad, group):
        lr, rho, eps = group["lr"], group["rho"], group["eps"]
        xp = xp_of(param.data)
        state = self._state_of(param, ("square_avg", "acc_delta"))
        state["step"] += 1
        grad = self._weight_decayed(param, grad, group)
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        std = xp.sqrt(square_avg + eps)
        delta = xp.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param.data -= lr * delta
