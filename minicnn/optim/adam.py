"""Adam (Kingma & Ba, 2015) and AdamW (Loshchilov & Hutter, 2019), with optional AMSGrad."""
from ..backend import xp_of
from .optimizer import Optimizer, _check_betas, _check_number

__all__ = ["Adam", "AdamW"]


def lerp_(start, end, weight):
    """``start += weight * (end - start)`` in place, as ``torch.lerp_`` computes it: for
    ``|weight| >= 0.5`` it uses ``end - (end - start) * (1 - weight)``, which is more
    accurate there (PyTorch's two branches, so the float32 results match)."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)
    return start


def update_moments_(state, grad, beta1, beta2):
    """Adam's running moments, in place in ``state`` (Adam, NAdam and RAdam share them)::

        m_t = m_{t-1} + (1 - beta1) * (g - m_{t-1})       (exp_avg)
        v_t = beta2 * v_{t-1} + (1 - beta2) * g * g        (exp_avg_sq)
    """
    lerp_(state["exp_avg"], grad, 1 - beta1)
    exp_avg_sq = state["exp_avg_sq"]
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    return state["exp_avg"], exp_avg_sq


class Adam(Optimizer):
    r"""``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
    maximize=False, decoupled_weight_decay=False)``: PyTorch's update rule.

    With gradient ``g_t`` of parameter ``theta`` and ``t`` counting this
    parameter's steps from 1::

        g      = -g_t if maximize else g_t
        theta  = theta * (1 - lr * weight_decay)   if decoupled_weight_decay   (AdamW)
        g      = g + weight_decay * theta          otherwise                   (L2 penalty)
        m_t    = m_{t-1} + (1 - beta1) * (g - m_{t-1})          (= beta1 m + (1-beta1) g)
        v_t    = beta2 * v_{t-1} + (1 - beta2) * g * g
        vmax_t = max(vmax_{t-1}, v_t)                           (amsgrad; use vmax_t for v_t)
        denom  = sqrt(v_t) / sqrt(1 - beta2^t) + eps
        theta  = theta - (lr / (1 - beta1^t)) * m_t / denom

    ``eps`` is added after the bias correction of ``v`` (PyTorch's placement;
    the paper's ``eps-hat`` form). State per parameter: ``step`` (a float),
    ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with amsgrad, ``max_exp_avg_sq``.
    """

    _name = "Adam"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        name = self._name
        _check_number(name, "learning rate", lr, minimum=0.0)
        _check_number(name, "epsilon", eps, minimum=0.0)
        betas = _check_betas(name, betas)
        _check_number(name, "weight_decay", weight_decay, minimum=0.0)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=bool(amsgrad), maximize=bool(maximize),
                        decoupled_weight_decay=bool(decoupled_weight_decay))
        super().__init__(params, defaults)

    def _update(self, param, grad, group):
        lr, eps = group["lr"], group["eps"]
        beta1, beta2 = group["betas"]
        xp = xp_of(param.data)
        buffers = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"]
                                               else ())
        state = self._state_of(param, buffers)
        state["step"] += 1
        step = state["step"]
        grad = self._weight_decayed(param, grad, group)
        exp_avg, exp_avg_sq = update_moments_(state, grad, beta1, beta2)

        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            max_exp_avg_sq = state["max_exp_avg_sq"]
            xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            denom = xp.sqrt(max_exp_avg_sq) / bias_correction2_sqrt
        else:
            denom = xp.sqrt(exp_avg_sq) / bias_correction2_sqrt
        denom += eps
        param.data += (-step_size * exp_avg) / denom


class AdamW(Adam):
    r"""``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
    *, maximize=False)``: Adam with decoupled weight decay (Loshchilov & Hutter)::

        theta = theta * (1 - lr * weight_decay)

    before the Adam update, instead of adding ``weight_decay * theta`` to the
    gradient (so the decay is not rescaled by ``1 / sqrt(v)``). Note the
    default ``weight_decay`` is 1e-2, as in PyTorch.
    """

    _name = "AdamW"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
