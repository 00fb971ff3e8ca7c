"""RAdam (Liu et al., 2020): Adam whose adaptive step is switched on gradually, as the variance
of its second-moment estimate becomes tractable."""
from ..backend import xp_of
from .adam import update_moments_
from .optimizer import Optimizer, _check_betas, _check_number

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""``RAdam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
    decoupled_weight_decay=False, *, maximize=False)``: PyTorch's update rule.

    With gradient ``g_t`` of parameter ``theta`` and ``t`` counting this
    parameter's steps from 1::

        g        = -g_t if maximize else g_t
        theta    = theta * (1 - lr * weight_decay)   if decoupled_weight_decay
        g        = g + weight_decay * theta          otherwise (when weight_decay != 0)
        m_t      = m_{t-1} + (1 - beta1) * (g - m_{t-1})
        v_t      = beta2 * v_{t-1} + (1 - beta2) * g * g
        m_hat    = m_t / (1 - beta1^t)
        rho_inf  = 2 / (1 - beta2) - 1
        rho_t    = rho_inf - 2 t beta2^t / (1 - beta2^t)     (length of the approximated SMA)
        if rho_t > 5:
            r_t   = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            theta = theta - lr * m_hat * sqrt(1 - beta2^t) / (sqrt(v_t) + eps) * r_t
        else:
            theta = theta - lr * m_hat                       (SGD with momentum: warm-up)

    ``r_t`` rectifies the variance of the adaptive step ``1 / sqrt(v_hat)``,
    which is unbounded while few gradients have been seen; for beta2 = 0.999
    the first 5 steps are plain momentum steps (rho_t <= 5) and ``r_t`` then
    rises towards 1, a built-in warm-up. State per parameter: ``step``,
    ``exp_avg`` (m), ``exp_avg_sq`` (v).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, maximize=False):
        _check_number("RAdam", "learning rate", lr, minimum=0.0)
        _check_number("RAdam", "epsilon", eps, minimum=0.0)
        betas = _check_betas("RAdam", betas)
        _check_number("RAdam", "weight_decay", weight_decay, minimum=0.0)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=bool(decoupled_weight_decay),
                        maximize=bool(maximize))
        super().__init__(params, defaults)

    def _update(self, param, grad, group):
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        rho_inf = 2 / (1 - beta2) - 1
        xp = xp_of(param.data)
        state = self._state_of(param, ("exp_avg", "exp_avg_sq"))
        state["step"] += 1
        step = state["step"]
        grad = self._weight_decayed(param, grad, group)
        exp_avg, exp_avg_sq = update_moments_(state, grad, beta1, beta2)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        corrected_exp_avg = exp_avg / bias_correction1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                    / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            denom = xp.sqrt(exp_avg_sq)
            denom += eps
            # PyTorch's scalar / tensor is reciprocal(tensor) * scalar
            adaptive_lr = (1 / denom) * bias_correction2 ** 0.5
            param.data -= corrected_exp_avg * lr * adaptive_lr * rect
        else:
            param.data -= corrected_exp_avg * lr
