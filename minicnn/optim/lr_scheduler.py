"""Learning-rate schedules, with ``torch.optim.lr_scheduler``'s classes, arguments and numbers.

A scheduler changes ``group["lr"]`` of its optimizer's groups. Call
``scheduler.step()`` after ``optimizer.step()``; ``last_epoch`` counts those
calls (it is a step count when you step per batch). Creating a scheduler
applies its value for ``last_epoch = 0`` at once. ``get_last_lr()`` gives the
learning rates it set last.

Formulas, with ``lr_0`` the group's initial learning rate (``initial_lr``) and
``t = last_epoch``:

==================  ===========================================================
StepLR              ``lr_0 * gamma ** (t // step_size)``
MultiStepLR         ``lr_0 * gamma ** (number of milestones <= t)``
LinearLR            ``lr_0 * (s + (e - s) * min(t, T) / T)`` (``s = start_factor``,
                    ``e = end_factor``, ``T = total_iters``): a linear warm-up
ExponentialLR       ``lr_0 * gamma ** t``
PolynomialLR        ``lr_0 * (1 - min(t, T) / T) ** power`` (``T = total_iters``)
CosineAnnealingLR   ``eta_min + (lr_0 - eta_min) * (1 + cos(pi t / T_max)) / 2``
CosineAnnealing-    the same half cosine over ``T_cur / T_i``, where ``T_cur`` counts
WarmRestarts        steps since the last restart and the period ``T_i`` starts at
                    ``T_0`` and is multiplied by ``T_mult`` at each restart (SGDR)
LambdaLR            ``lr_0 * lr_lambda(t)``
MultiplicativeLR    ``lr_{t-1} * lr_lambda(t)`` (so ``lr_0 * prod_{s<=t} lr_lambda(s)``)
ReduceLROnPlateau   ``lr * factor`` (not below ``min_lr``) when the metric given to
                    ``step(metric)`` has not improved for more than ``patience``
                    steps; then ``cooldown`` steps without counting
OneCycleLR          warm up from ``max_lr / div_factor`` to ``max_lr`` over
                    ``pct_start`` of ``total_steps``, then anneal to
                    ``initial_lr / final_div_factor``; momentum (or Adam's beta1)
                    moves the opposite way between ``max_momentum`` and
                    ``base_momentum``
SequentialLR        the first scheduler until ``milestones[0]``, the next one
                    (restarted at its own step 0) until ``milestones[1]``, ...
ChainedScheduler    every scheduler's ``step()`` in turn at each step: their
                    multiplicative effects compose
==================  ===========================================================

As in PyTorch, StepLR, MultiStepLR, LinearLR, ExponentialLR, PolynomialLR,
MultiplicativeLR and CosineAnnealingLR update the
learning rate *recursively* from the current ``group["lr"]`` (so they compose
with other changes to it); the closed forms above are what that recursion
gives. The recursions are PyTorch's, term for term, so the learning rates
agree to the last bit in float64.

``state_dict()`` holds every attribute but the optimizer, as in PyTorch
(LambdaLR and MultiplicativeLR keep their functions out of it: a plain
function or lambda is stored as None, a callable object as its ``__dict__``).
"""
import math
import numbers
import types
from bisect import bisect_right
from collections import Counter

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "LinearLR", "CosineAnnealingLR", "OneCycleLR",
           "SequentialLR", "ConstantLR", "ExponentialLR", "PolynomialLR",
           "CosineAnnealingWarmRestarts", "LambdaLR", "MultiplicativeLR", "ReduceLROnPlateau",
           "ChainedScheduler"]


def _check_int(cls: str, name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{cls}: {name} must be an int >= {minimum}, got {value!r}")
    return value


def _check_real(cls: str, name: str, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"{cls}: {name} must be a real number, got {value!r}")
    return value


def _check_optimizer(cls: str, optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{cls}: {type(optimizer).__name__} is not an Optimizer")


def _check_schedulers(cls: str, schedulers, optimizer) -> list:
    """The schedulers a SequentialLR or ChainedScheduler drives: at least one, each a
    step()-only scheduler of ``optimizer``."""
    schedulers = list(schedulers)
    if len(schedulers) < 1:
        raise ValueError(f"{cls} expects at least one scheduler, but got no scheduler.")
    for index, scheduler in enumerate(schedulers):
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{cls} does not support ReduceLROnPlateau (schedulers[{index}]): "
                             f"its step() needs the metric")
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"{cls}: schedulers[{index}] is a {type(scheduler).__name__}, not "
                            f"a scheduler")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{cls} expects all schedulers to belong to the same optimizer, but "
                             f"schedulers[{index}] ({type(scheduler).__name__}) has another one")
    return schedulers


class LRScheduler:
    """Base class: ``step()``, ``get_last_lr()``, ``state_dict()``/``load_state_dict()``.

    Subclasses implement ``get_lr()``, the learning rates for ``self.last_epoch``
    (just incremented), from the groups' current ``lr`` and ``self.base_lrs``.
    """

    def __init__(self, optimizer, last_epoch: int = -1):
        _check_optimizer(type(self).__name__, optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{index}] "
                                   f"when resuming a scheduler with last_epoch >= 0 (load the "
                                   f"optimizer's state_dict first)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Apply the value for step 0 (PyTorch's ``_initial_step``)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list:
        raise NotImplementedError

    def get_last_lr(self) -> list:
        """The learning rates this scheduler set last, one per parameter group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one step (an epoch, or a batch if you call it per batch)."""
        self._step_count += 1
        self._update_lr(None)

    def _update_lr(self, epoch) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            closed_form = getattr(self, "_get_closed_form_lr", None)
            values = closed_form() if closed_form is not None else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _current_lrs(self) -> list:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Every attribute but the optimizer (PyTorch's layout)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = _check_int("StepLR", "step_size", step_size, 1)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at each milestone (a repeated milestone counts
    twice)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        milestones = list(milestones)
        for m in milestones:
            _check_int("MultiStepLR", "milestones", m, 0)
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [lr * self.gamma ** self.milestones[self.last_epoch] for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base in self.base_lrs]


class ConstantLR(LRScheduler):
    """Multiply the learning rate by ``factor`` for the first ``total_iters`` steps."""

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1):
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor!r}")
        self.factor = factor
        self.total_iters = _check_int("ConstantLR", "total_iters", total_iters, 0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._current_lrs()]
        if self.last_epoch != self.total_iters:
            return self._current_lrs()
        return [lr * (1.0 / self.factor) for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale the learning rate linearly from ``start_factor`` to ``end_factor`` times its
    initial value over ``total_iters`` steps, then keep it: the usual linear warm-up."""

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor!r}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor!r}")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = _check_int("LinearLR", "total_iters", total_iters, 1)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._current_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # lr_t / lr_{t-1}, so that the product telescopes to the closed form.
        ratio = 1.0 + (self.end_factor - self.start_factor) / (
            self.total_iters * self.start_factor
            + (self.last_epoch - 1) * (self.end_factor - self.start_factor))
        return [lr * ratio for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * (self.start_factor + (self.end_factor - self.start_factor)
                        * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneal from the initial learning rate to ``eta_min`` along half a cosine over ``T_max``
    steps (SGDR without restarts; past ``T_max`` it rises again, as PyTorch's does)."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = _check_int("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._current_lrs()
        if self._step_count == 1 and t > 0:
            return [eta_min + (base - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for base in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base, lr in zip(self.base_lrs, self._current_lrs())]
        # lr_t - eta_min = (lr_{t-1} - eta_min) * (1 + cos(pi t / T)) / (1 + cos(pi (t-1) / T))
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (lr - eta_min) + eta_min for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [self.eta_min + (base - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base in self.base_lrs]


class _ListInState(LRScheduler):
    """A scheduler whose state dict holds one list attribute (``_listed``) item by item, each
    item saved by ``_item_state`` and restored into the existing item by ``_load_item``."""

    _listed = None

    def state_dict(self) -> dict:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", self._listed)}
        state[self._listed] = [self._item_state(item) for item in getattr(self, self._listed)]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved, items = state.pop(self._listed), getattr(self, self._listed)
        if len(saved) != len(items):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state has "
                             f"{len(saved)} {self._listed.strip('_')}, this scheduler "
                             f"{len(items)}")
        self.__dict__.update(state)
        for item, item_state in zip(items, saved):
            self._load_item(item, item_state)


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` at every step."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = _check_real("ExponentialLR", "gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [lr * self.gamma for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay the learning rate to 0 along ``(1 - t / total_iters) ** power`` over ``total_iters``
    steps, then keep it (``power = 1``: a linear decay; 0.9 is the segmentation favourite)."""

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1):
        self.total_iters = _check_int("PolynomialLR", "total_iters", total_iters, 1)
        self.power = _check_real("PolynomialLR", "power", power)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._current_lrs()
        # lr_t / lr_{t-1}, so that the product telescopes to the closed form.
        decay = ((1.0 - self.last_epoch / self.total_iters)
                 / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [lr * decay for lr in self._current_lrs()]

    def _get_closed_form_lr(self):
        return [base * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base in self.base_lrs]


class _LambdaScheduler(_ListInState):
    """LambdaLR and MultiplicativeLR: one function of the step per group (or one for all).

    As in PyTorch the functions are not in ``state_dict()``: a plain function or
    lambda is stored as None (the one given to the constructor is kept on
    load), a callable object as a copy of its ``__dict__`` (restored into it).
    """

    _listed = "lr_lambdas"

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != groups:
                raise ValueError(f"{name}: expected {groups} lr_lambdas (one per parameter "
                                 f"group), but got {len(lr_lambda)}")
            lr_lambdas = list(lr_lambda)
        else:
            lr_lambdas = [lr_lambda] * groups
        for index, function in enumerate(lr_lambdas):
            if not callable(function):
                raise TypeError(f"{name}: lr_lambda should be a function, but lr_lambda[{index}] "
                                f"is a {type(function).__name__}")
        self.lr_lambdas = lr_lambdas
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _item_state(function):
        return None if isinstance(function, types.FunctionType) else function.__dict__.copy()

    @staticmethod
    def _load_item(function, saved) -> None:
        if saved is not None:
            function.__dict__.update(saved)


class LambdaLR(_LambdaScheduler):
    """``LambdaLR(optimizer, lr_lambda, last_epoch=-1)``: ``lr = initial_lr * lr_lambda(t)``;
    ``lr_lambda`` is a function of the step, or a list with one per parameter group."""

    def get_lr(self):
        return [base * function(self.last_epoch)
                for function, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaScheduler):
    """``MultiplicativeLR(optimizer, lr_lambda, last_epoch=-1)``: at each step multiply the
    current learning rate by ``lr_lambda(t)`` (a function, or one per parameter group)."""

    def get_lr(self):
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * function(self.last_epoch)
                for function, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""SGDR (Loshchilov & Hutter, 2017): ``CosineAnnealingWarmRestarts(optimizer, T_0,
    T_mult=1, eta_min=0.0, last_epoch=-1)``::

        lr = eta_min + (initial_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    ``T_cur`` counts the steps since the last restart; when it reaches ``T_i``
    the learning rate jumps back to ``initial_lr`` and the period becomes
    ``T_i * T_mult`` (``T_0``, ``T_0 T_mult``, ``T_0 T_mult^2``, ...).

    ``step(epoch)`` may be given a fractional epoch (``epoch + batch /
    batches``, to restart mid-epoch on the batch grid); ``T_cur`` and ``T_i``
    then come from the closed form: the restart ``n`` that ``epoch`` falls in is
    ``floor(log_{T_mult}(epoch / T_0 * (T_mult - 1) + 1))`` (or
    ``epoch mod T_0`` with ``T_mult = 1``), and ``T_cur = epoch - T_0 (T_mult^n
    - 1) / (T_mult - 1)``.
    """

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        self.T_0 = _check_int("CosineAnnealingWarmRestarts", "T_0", T_0, 1)
        self.T_i = T_0
        self.T_mult = _check_int("CosineAnnealingWarmRestarts", "T_mult", T_mult, 1)
        self.eta_min = _check_real("CosineAnnealingWarmRestarts", "eta_min", eta_min)
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * self.T_cur
                                                                     / self.T_i)) / 2
                for base in self.base_lrs]

    def step(self, epoch=None) -> None:
        """The next step, or (``epoch`` given, fractional allowed) the point ``epoch``."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or \
                    not math.isfinite(epoch) or epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts.step: expected a non-negative "
                                 f"epoch, but got {epoch!r}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._current_lrs()


class ReduceLROnPlateau(LRScheduler):
    """``ReduceLROnPlateau(optimizer, mode='min', factor=0.1, patience=10, threshold=1e-4,
    threshold_mode='rel', cooldown=0, min_lr=0, eps=1e-8)``: ``step(metric)`` once per epoch
    with a validation loss (``mode='min'``) or accuracy (``'max'``).

    A metric *improves* on the best so far when it is below ``best * (1 -
    threshold)`` (``rel``) or ``best - threshold`` (``abs``) in min mode (above
    ``best * (1 + threshold)`` / ``best + threshold`` in max mode). Each step
    without improvement counts a bad epoch; after more than ``patience`` of
    them every group's lr becomes ``max(lr * factor, min_lr)`` (skipped when
    that changes it by ``eps`` or less), the count restarts and the next
    ``cooldown`` steps count no bad epochs. Unlike the other schedules it
    changes nothing when created and does not use ``initial_lr``.
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        _check_optimizer("ReduceLROnPlateau", optimizer)
        _check_real("ReduceLROnPlateau", "factor", factor)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0, got {factor!r}")
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"ReduceLROnPlateau: expected {groups} min_lrs (one per "
                                 f"parameter group), got {len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * groups
        for value in self.min_lrs:
            _check_real("ReduceLROnPlateau", "min_lr", value)
        self.factor = factor
        self.optimizer = optimizer
        self.patience = _check_int("ReduceLROnPlateau", "patience", patience, 0)
        self.cooldown = _check_int("ReduceLROnPlateau", "cooldown", cooldown, 0)
        self.eps = _check_real("ReduceLROnPlateau", "eps", eps)
        self.last_epoch = 0
        self._last_lr = self._current_lrs()
        self._init_is_better(mode, _check_real("ReduceLROnPlateau", "threshold", threshold),
                             threshold_mode)
        self._reset()

    def _init_is_better(self, mode, threshold, threshold_mode) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, metric, best) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return metric < best * (1.0 - self.threshold)
        if self.mode == "min":
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (self.threshold + 1.0)
        return metric > best + self.threshold

    def step(self, metrics) -> None:
        """One epoch's ``metrics`` (a number, or a 0-d array / Tensor)."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._current_lrs()

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {len(groups)} "
                                   f"parameter groups, but min_lr had {len(self.min_lrs)} "
                                   f"values (a group was added); set min_lrs to match")
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


def _undo_initial_steps(schedulers) -> None:
    """Take back the step each scheduler's constructor made (those inside a ChainedScheduler
    too), as PyTorch's ``SequentialLR.recursive_undo`` does."""
    for scheduler in schedulers:
        if hasattr(scheduler, "_schedulers"):
            _undo_initial_steps(scheduler._schedulers)
        else:
            scheduler.last_epoch -= 1


class _SchedulerOfSchedulers(_ListInState):
    """SequentialLR and ChainedScheduler: their state is their own attributes plus each inner
    scheduler's state dict under ``_schedulers``."""

    _listed = "_schedulers"

    @staticmethod
    def _item_state(scheduler):
        return scheduler.state_dict()

    @staticmethod
    def _load_item(scheduler, saved) -> None:
        scheduler.load_state_dict(saved)


class SequentialLR(_SchedulerOfSchedulers):
    """Run ``schedulers[0]`` until step ``milestones[0]``, then ``schedulers[1]`` from its own
    step 0, and so on: ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=w),
    CosineAnnealingLR(opt, T_max=n - w)], milestones=[w])`` is a warm-up then a cosine."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        schedulers = _check_schedulers("SequentialLR", schedulers, optimizer)
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Undo what the schedulers' own constructors did, then start the first one afresh.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        _undo_initial_steps(schedulers)
        index = bisect_right(milestones, 0)
        schedulers[index]._initial_step()
        self._last_lr = schedulers[index].get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        index = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[index]
        if index > 0 and self._milestones[index - 1] == self.last_epoch:
            scheduler._update_lr(0)  # the next scheduler starts at its step 0
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_SchedulerOfSchedulers):
    """``ChainedScheduler(schedulers, optimizer=None)``: each step calls every scheduler's
    ``step()`` in order, so recursive schedules compose: ``ChainedScheduler([ConstantLR(opt,
    factor=0.1, total_iters=2), ExponentialLR(opt, gamma=0.9)])`` gives ``lr_0 * 0.1 * 0.9^t``
    for two steps, then ``lr_0 * 0.9^t``. ReduceLROnPlateau cannot be chained (its step needs
    the metric)."""

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if optimizer is None and schedulers:
            optimizer = schedulers[0].optimizer
        self._schedulers = _check_schedulers("ChainedScheduler", schedulers, optimizer)
        self.optimizer = optimizer
        self._last_lr = self._current_lrs()

    def step(self) -> None:
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = self._current_lrs()


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped once per batch.

    ``OneCycleLR(optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
    pct_start=0.3, anneal_strategy='cos', cycle_momentum=True, base_momentum=0.85,
    max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False)``.

    Two phases (the default): the learning rate goes from ``initial_lr = max_lr /
    div_factor`` up to ``max_lr`` over steps ``0 .. pct_start * total_steps - 1``,
    then down to ``min_lr = initial_lr / final_div_factor`` at step
    ``total_steps - 1``, each along ``anneal(start, end, pct)``::

        cos:     end + (start - end) / 2 * (1 + cos(pi * pct))
        linear:  start + (end - start) * pct

    with ``pct`` the fraction of the phase done. ``three_phase=True`` goes up,
    back down to ``initial_lr``, then to ``min_lr``. With ``cycle_momentum``
    the momentum (SGD) or beta1 (Adam) moves from ``max_momentum`` to
    ``base_momentum`` and back. Stepping past ``total_steps`` is an error.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        _check_optimizer("OneCycleLR", optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            self.total_steps = _check_int("OneCycleLR", "total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_check_int("OneCycleLR", "epochs", epochs, 1)
                                * _check_int("OneCycleLR", "steps_per_epoch", steps_per_epoch, 1))
        else:
            raise ValueError("OneCycleLR: you must define either total_steps OR "
                             "(epochs AND steps_per_epoch)")
        if isinstance(pct_start, bool) or not isinstance(pct_start, float) \
                or not 0 <= pct_start <= 1:
            raise ValueError(f"OneCycleLR: pct_start must be a float between 0 and 1, "
                             f"got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be one of 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        total = self.total_steps
        if three_phase:
            self._schedule_phases = [
                dict(end_step=float(pct_start * total) - 1, start_lr="initial_lr",
                     end_lr="max_lr", start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * total) - 2, start_lr="max_lr",
                     end_lr="initial_lr", start_momentum="base_momentum",
                     end_momentum="max_momentum"),
                dict(end_step=total - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum"),
            ]
        else:
            self._schedule_phases = [
                dict(end_step=float(pct_start * total) - 1, start_lr="initial_lr",
                     end_lr="max_lr", start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=total - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
            ]
        max_lrs = self._per_group("max_lr", max_lr)
        if last_epoch == -1:
            for max_value, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = max_value / div_factor
                group["max_lr"] = max_value
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("OneCycleLR: optimizer must support momentum or beta1 with "
                                 "`cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            max_momenta = self._per_group("max_momentum", max_momentum)
            base_momenta = self._per_group("base_momentum", base_momentum)
            if last_epoch == -1:
                for high, low, group in zip(max_momenta, base_momenta, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (high, *group["betas"][1:])
                    else:
                        group["momentum"] = high
                    group["max_momentum"] = high
                    group["base_momentum"] = low
        super().__init__(optimizer, last_epoch)

    def _per_group(self, name, value):
        groups = self.optimizer.param_groups
        if isinstance(value, (list, tuple)):
            if len(value) != len(groups):
                raise ValueError(f"OneCycleLR: {name} must have the same length as "
                                 f"optimizer.param_groups ({len(groups)}), got {len(value)}")
            return list(value)
        return [value] * len(groups)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; the specified number of "
                             f"total steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for index, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or index == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]],
                                                group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs
