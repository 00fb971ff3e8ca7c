"""RMSprop (Hinton's lecture 6e; the centered variant of Graves, 2013)."""
from ..backend import xp_of
from .adam import lerp_
from .optimizer import Optimizer, _check_number

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False, *, maximize=False)``: PyTorch's update rule.

    With gradient ``g_t`` of parameter ``theta``::

        g      = -g_t if maximize else g_t
        g      = g + weight_decay * theta                        (when weight_decay != 0)
        v_t    = alpha * v_{t-1} + (1 - alpha) * g * g
        a_t    = a_{t-1} + (1 - alpha) * (g - a_{t-1})           (centered: running mean of g)
        avg    = sqrt(v_t - a_t * a_t) + eps   if centered   else   sqrt(v_t) + eps
        b_t    = momentum * b_{t-1} + g / avg                    (momentum > 0)
        theta  = theta - lr * b_t      if momentum > 0   else   theta - lr * g / avg

    ``eps`` is added outside the square root and there is no bias correction
    (both as in PyTorch; TensorFlow's RMSprop puts eps inside). State per
    parameter: ``step``, ``square_avg`` (v), ``momentum_buffer`` (b, with
    momentum) and ``grad_avg`` (a, when centered).
    """

    _nonnegative_options = ("lr", "momentum", "weight_decay")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        _check_number("RMSprop", "learning rate", lr, minimum=0.0)
        _check_number("RMSprop", "epsilon", eps, minimum=0.0)
        _check_number("RMSprop", "momentum", momentum, minimum=0.0)
        _check_number("RMSprop", "weight_decay", weight_decay, minimum=0.0)
        _check_number("RMSprop", "alpha", alpha, minimum=0.0)
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=bool(centered), maximize=bool(maximize))
        super().__init__(params, defaults)

    def _update(self, param, grad, group):
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum = group["momentum"]
        xp = xp_of(param.data)
        buffers = (("square_avg",) + (("momentum_buffer",) if momentum > 0 else ())
                   + (("grad_avg",) if group["centered"] else ()))
        state = self._state_of(param, buffers)
        state["step"] += 1
        grad = self._weight_decayed(param, grad, group)

        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = lerp_(state["grad_avg"], grad, 1 - alpha)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = xp.sqrt(square_avg)
        avg += eps

        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += grad / avg
            param.data -= lr * buffer
        else:
            param.data += (-lr * grad) / avg
