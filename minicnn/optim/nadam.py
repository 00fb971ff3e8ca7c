"""NAdam (Dozat, 2016): Adam with Nesterov momentum, and its momentum warm-up schedule."""
import numpy as np

from ..backend import xp_of
from .adam import update_moments_
from .optimizer import Optimizer, _check_betas, _check_number

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""``NAdam(params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False)``: PyTorch's update
    rule.

    With gradient ``g_t`` of parameter ``theta`` and ``t`` counting this
    parameter's steps from 1::

        g       = -g_t if maximize else g_t
        theta   = theta * (1 - lr * weight_decay)   if decoupled_weight_decay
        g       = g + weight_decay * theta          otherwise (when weight_decay != 0)
        mu_t    = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))     (momentum schedule)
        P_t     = mu_1 * mu_2 * ... * mu_t                              (mu_product)
        m_t     = m_{t-1} + (1 - beta1) * (g - m_{t-1})
        v_t     = beta2 * v_{t-1} + (1 - beta2) * g * g
        denom   = sqrt(v_t / (1 - beta2^t)) + eps
        theta   = theta - lr * (1 - mu_t) / (1 - P_t) * g / denom
                        - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m_t / denom

    The last line is Nesterov's look-ahead: the step uses the momentum of
    the *next* step (``mu_{t+1}``) on ``m_t`` plus the current gradient's
    own share, each bias-corrected by its product of momenta. The momentum
    ``mu_t`` warms up from about ``beta1 / 2`` towards ``beta1``.

    State per parameter: ``step``, ``mu_product`` (``P_t``), ``exp_avg`` (m),
    ``exp_avg_sq`` (v). PyTorch keeps ``mu_product`` in a float32 scalar
    (its default dtype) whatever the parameter's dtype, rounding the product
    to float32 at every step; it is kept the same way here (a Python float
    holding a float32 value), so float64 trajectories agree to the last bits.
    """

    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, maximize=False):
        _check_number("NAdam", "learning rate", lr, minimum=0.0)
        _check_number("NAdam", "epsilon", eps, minimum=0.0)
        betas = _check_betas("NAdam", betas)
        _check_number("NAdam", "weight_decay", weight_decay, minimum=0.0)
        _check_number("NAdam", "momentum_decay", momentum_decay, minimum=0.0)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        momentum_decay=momentum_decay,
                        decoupled_weight_decay=bool(decoupled_weight_decay),
                        maximize=bool(maximize))
        super().__init__(params, defaults)

    def _update(self, param, grad, group):
        lr, eps, momentum_decay = group["lr"], group["eps"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        xp = xp_of(param.data)
        state = self._state_of(param, ("exp_avg", "exp_avg_sq"))
        state.setdefault("mu_product", 1.0)
        state["step"] += 1
        step = state["step"]
        bias_correction2 = 1 - beta2 ** step
        grad = self._weight_decayed(param, grad, group)

        mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
        # float32 * float32, as PyTorch's float32 scalar tensor computes it
        mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))
        state["mu_product"] = mu_product

        exp_avg, exp_avg_sq = update_moments_(state, grad, beta1, beta2)
        denom = xp.sqrt(exp_avg_sq / bias_correction2)
        denom += eps
        mu_product_next = mu_product * mu_next
        param.data += ((-lr * (1.0 - mu) / (1.0 - mu_product)) * grad) / denom
        param.data += (((-lr * mu_next) / (1.0 - mu_product_next)) * exp_avg) / denom
