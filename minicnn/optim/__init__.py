"""``minicnn.optim``: optimizers and learning-rate schedules with ``torch.optim``'s names.

===================  ============================================================
module               contents
===================  ============================================================
``optimizer``        Optimizer (parameter groups, zero_grad, state_dict)
``sgd``              SGD (momentum, dampening, nesterov, weight_decay)
``adam``             Adam, AdamW (amsgrad)
``rmsprop``          RMSprop (momentum, centered)
``lr_scheduler``     StepLR, MultiStepLR, ConstantLR, LinearLR, CosineAnnealingLR,
                     OneCycleLR, SequentialLR
===================  ============================================================

Each optimizer's docstring states its update rule; the rules are PyTorch's,
operation for operation, and ``tests/optim`` checks 50-step parameter
trajectories against ``torch.optim`` with the same initial weights and
gradients. Gradient clipping is ``minicnn.nn.utils.clip_grad_norm_``.
"""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler"]
