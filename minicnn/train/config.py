"""``TrainConfig``: every choice a training run makes, validated, and stored in its checkpoints.

The defaults are the command line's: ``minicnn train`` with no arguments trains
``DEFAULT_MODEL`` (with ``DEFAULT_MODEL_KWARGS``) on the bundled digits.
Every check raises ``ValueError`` naming the option (as its command-line
flag), the value and what is allowed, before anything is built or written.
"""
import math
import numbers
import os
from dataclasses import asdict, dataclass, fields

__all__ = ["TrainConfig", "OPTIMIZERS", "SCHEDULES", "DEVICES", "DEFAULT_MODEL",
           "DEFAULT_MODEL_KWARGS", "DEFAULT_LR", "DEFAULT_GAMMA"]

DEFAULT_MODEL = "resnet18"
DEFAULT_MODEL_KWARGS = {"width": 8}
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adadelta", "adagrad", "nadam", "radam")
SCHEDULES = ("cosine", "onecycle", "step", "multistep", "constant", "plateau", "exponential",
             "cosine-restarts", "poly")
DEVICES = ("cpu", "cuda")
# The learning rate each optimizer gets when --lr is not given.
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adadelta": 1.0,
              "adagrad": 1e-2, "nadam": 2e-3, "radam": 1e-3}
# --gamma when not given: the decay at each step/multistep milestone and plateau (PyTorch's
# ReduceLROnPlateau factor), or the exponential schedule's factor per epoch.
DEFAULT_GAMMA = {"exponential": 0.9}
DEFAULT_GAMMA_OTHERS = 0.1


@dataclass
class TrainConfig:
    """One training run (see ``minicnn train --help`` for each option)."""

    model: str = DEFAULT_MODEL
    model_kwargs: dict = None          # None: DEFAULT_MODEL_KWARGS for the default model, else {}
    dataset: str = "digits"
    data_dir: str = None
    epochs: int = 15
    batch_size: int = 32
    optimizer: str = "sgd"
    lr: float = None                   # None: DEFAULT_LR[optimizer]
    momentum: float = 0.9              # SGD and RMSprop
    nesterov: bool = True              # SGD
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    warmup_epochs: int = None          # linear warm-up from lr/10 (default 1 epoch; not onecycle)
    step_size: int = None              # step: epochs between decays (default epochs // 3)
    milestones: list = None            # multistep: epochs (default [epochs//2, 3*epochs//4])
    gamma: float = None                # step / multistep / plateau decay factor (default 0.1),
                                       # exponential: factor per epoch (default 0.9)
    patience: int = 2                  # plateau: epochs without a better test loss before a decay
    cooldown: int = 0                  # plateau: epochs after a decay that count no bad epoch
    min_lr: float = 0.0                # plateau: lower bound of the learning rate
    restart_epochs: int = None         # cosine-restarts: first period (default 1/3 of the run)
    restart_mult: int = 1              # cosine-restarts: period growth at each restart
    power: float = 1.0                 # poly: lr * (1 - t / T) ** power
    augment: bool = True               # random shifts (and flips on cifar10) while training
    label_smoothing: float = 0.0
    clip_grad_norm: float = None
    eval_batch_size: int = 500
    seed: int = 0
    device: str = "cpu"
    num_workers: int = 0
    threads: int = None                # BLAS and Numba threads (None: their defaults)
    init_from: str = None              # weights to start from (a checkpoint or a weights file)
    diagnostics: bool = False          # per-layer statistics: diagnostics.csv / .png

    # ------------------------------------------------------------------ helpers
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"TrainConfig: unknown option(s) {', '.join(unknown)}; valid: "
                             f"{', '.join(sorted(known))}")
        return cls(**values)

    def resolved(self) -> "TrainConfig":
        """A validated copy with every default filled in (what a run and its checkpoint use)."""
        values = self.to_dict()
        if values["model_kwargs"] is None:
            values["model_kwargs"] = dict(DEFAULT_MODEL_KWARGS) if values["model"] == DEFAULT_MODEL \
                else {}
        if values["lr"] is None and values["optimizer"] in DEFAULT_LR:
            values["lr"] = DEFAULT_LR[values["optimizer"]]
        epochs = values["epochs"]
        if values["step_size"] is None and isinstance(epochs, int):
            values["step_size"] = max(1, epochs // 3)
        if values["milestones"] is None and isinstance(epochs, int):
            values["milestones"] = sorted({max(1, epochs // 2), max(1, 3 * epochs // 4)})
        if values["warmup_epochs"] is None and isinstance(epochs, int):
            values["warmup_epochs"] = 1 if epochs > 1 else 0
        if values["schedule"] == "onecycle":
            values["warmup_epochs"] = 0  # onecycle has its own warm-up
        if values["gamma"] is None:
            values["gamma"] = DEFAULT_GAMMA.get(values["schedule"], DEFAULT_GAMMA_OTHERS)
        if values["restart_epochs"] is None and isinstance(epochs, int) \
                and isinstance(values["warmup_epochs"], int):
            values["restart_epochs"] = max(1, (epochs - values["warmup_epochs"]) // 3)
        config = TrainConfig(**values)
        config.validate()
        return config

    def validate(self) -> None:
        from ..data import DATASETS
        from .models import constructor_for

        constructor_for(self.model)  # a ValueError naming the valid choices
        _choice("--dataset", self.dataset, list(DATASETS))

        _choice("--optimizer", self.optimizer, OPTIMIZERS)
        _choice("--schedule", self.schedule, SCHEDULES)
        _choice("--device", self.device, DEVICES)
        if not isinstance(self.model_kwargs, dict):
            raise ValueError(f"--model-kw: expected KEY=VALUE pairs, got {self.model_kwargs!r}")
        _integer("--epochs", self.epochs, 1)
        _integer("--batch-size", self.batch_size, 1)
        _integer("--eval-batch-size", self.eval_batch_size, 1)
        _integer("--seed", self.seed, 0)
        _integer("--workers", self.num_workers, 0)
        _integer("--warmup-epochs", self.warmup_epochs, 0)
        if self.warmup_epochs >= self.epochs:
            raise ValueError(f"--warmup-epochs must be less than --epochs ({self.epochs}), got "
                             f"{self.warmup_epochs}")
        _number("--lr", self.lr, above=0.0)
        _number("--momentum", self.momentum, minimum=0.0)
        _number("--weight-decay", self.weight_decay, minimum=0.0)
        _number("--gamma", self.gamma, above=0.0)
        _number("--label-smoothing", self.label_smoothing, minimum=0.0, maximum=1.0)
        if self.clip_grad_norm is not None:
            _number("--clip-grad-norm", self.clip_grad_norm, above=0.0)
        if self.schedule == "plateau" and not self.gamma < 1:
            raise ValueError(f"--gamma must be < 1 with the plateau schedule (the factor of "
                             f"each decay), got {self.gamma!r}")
        _integer("--patience", self.patience, 0)
        _integer("--cooldown", self.cooldown, 0)
        _number("--min-lr", self.min_lr, minimum=0.0)
        _integer("--restart-epochs", self.restart_epochs, 1)
        _integer("--restart-mult", self.restart_mult, 1)
        _number("--power", self.power, above=0.0)
        _integer("--step-size", self.step_size, 1)
        if not isinstance(self.milestones, list) or not self.milestones:
            raise ValueError(f"--milestones must be a list of epochs, got {self.milestones!r}")
        for milestone in self.milestones:
            _integer("--milestones", milestone, 1)
        if self.threads is not None:
            _threads(self.threads)
        if self.init_from is not None:
            _existing_path("--init-from", self.init_from)
        if not isinstance(self.augment, bool) or not isinstance(self.nesterov, bool):
            raise ValueError("augment and nesterov must be True or False")


def _choice(flag, value, choices):
    if value not in choices:
        raise ValueError(f"{flag}: unknown choice {value!r}; valid choices: {', '.join(choices)}")


def _integer(flag, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{flag} must be an integer >= {minimum}, got {value!r}")


def _threads(value):
    import numba

    most = numba.config.NUMBA_NUM_THREADS
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= most:
        raise ValueError(f"--threads must be an integer from 1 to {most} (the cores Numba may use "
                         f"here, NUMBA_NUM_THREADS), got {value!r}")


def _existing_path(flag, value):
    if not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{flag} must be a path, got {value!r}")
    if not os.path.exists(value):
        raise ValueError(f"{flag} {os.fspath(value)}: does not exist")


def _number(flag, value, minimum=None, above=None, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{flag} must be a finite number, got {value!r}")
    if above is not None and not value > above:
        raise ValueError(f"{flag} must be > {above:g}, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{flag} must be >= {minimum:g}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{flag} must be <= {maximum:g}, got {value!r}")
