"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""
from .optimizer import Optimizer, _check_number

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
    maximize=False)``: PyTorch's update rule, step for step.

    With gradient ``g_t`` of parameter ``theta``, at each step::

        g      = -g_t if maximize else g_t
        g      = g + weight_decay * theta                  (L2 penalty, when weight_decay != 0)
        b_t    = g                                          at the first step   (momentum != 0)
               = momentum * b_{t-1} + (1 - dampening) * g   afterwards
        g      = g + momentum * b_t   if nesterov  else  b_t
        theta  = theta - lr * g

    Note the first momentum buffer is the gradient itself (no dampening), and
    ``lr`` multiplies the buffer (PyTorch's form; Sutskever et al. put ``lr``
    inside the buffer, which differs when ``lr`` changes). Nesterov needs
    ``momentum > 0`` and ``dampening == 0``. State per parameter:
    ``momentum_buffer`` (only with momentum).
    """

    _nonnegative_options = ("lr", "momentum", "weight_decay")

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False):
        _check_number("SGD", "learning rate", lr, minimum=0.0)
        _check_number("SGD", "momentum", momentum, minimum=0.0)
        _check_number("SGD", "weight_decay", weight_decay, minimum=0.0)
        _check_number("SGD", "dampening", dampening)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={momentum!r}, dampening={dampening!r})")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=bool(nesterov), maximize=bool(maximize))
        super().__init__(params, defaults)

    def _update(self, param, grad, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        nesterov = group["nesterov"]
        grad = self._weight_decayed(param, grad, group)  # a new array: .grad is kept
        if momentum != 0:
            state = self.state.setdefault(param, {})
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = grad.copy()
                state["momentum_buffer"] = buffer
            else:
                buffer *= momentum
                buffer += (1 - dampening) * grad
            grad = grad + momentum * buffer if nesterov else buffer
        param.data -= lr * grad
