"""``minicnn.optim``: optimizers and learning-rate schedules with ``torch.optim``'s names.

===================  ============================================================
module               contents
===================  ============================================================
``optimizer``        Optimizer (parameter groups, zero_grad, state_dict)
``sgd``              SGD (momentum, dampening, nesterov, weight_decay)
``adam``             Adam, AdamW (amsgrad)
``rmsprop``          RMSprop (momentum, centered)
``adagrad``          Adagrad (lr_decay, initial_accumulator_value)
``adadelta``         Adadelta (rho)
``nadam``            NAdam (Nesterov momentum with a momentum schedule)
``radam``            RAdam (rectified adaptive step)
``lr_scheduler``     StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR,
                     PolynomialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts,
                     OneCycleLR, LambdaLR, MultiplicativeLR, ReduceLROnPlateau,
                     SequentialLR, ChainedScheduler
===================  ============================================================

Each optimizer's docstring states its update rule; the rules are PyTorch's,
operation for operation, and ``tests/optim`` checks 50-step parameter
trajectories against ``torch.optim`` with the same initial weights and
gradients. Gradient clipping is ``minicnn.nn.utils.clip_grad_norm_``.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "NAdam",
           "RAdam", "lr_scheduler"]
