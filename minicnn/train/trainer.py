"""The training loop: ``Trainer(config).run()``, what ``minicnn train`` runs.

One run, in its own folder (``runs/<date>-<time>-<model>-<dataset>`` unless
``out`` is given)::

    config.json    the resolved configuration, the command, minicnn's version
    metrics.csv    one row per epoch: step, lr, train/test loss and accuracy, time
    curves.png     loss and accuracy against epochs, train and test
    last.npz       checkpoint after the latest epoch (or where Ctrl-C stopped it)
    best.npz       checkpoint of the epoch with the best test accuracy so far
    diagnostics.csv, diagnostics.png   with ``diagnostics=True``: per-layer statistics
                   of each epoch (:mod:`minicnn.train.diagnostics`)

The folder is created exclusively: a run never writes into another's (a
default name already taken, by a run started in the same second, gets a
``-2``, ``-3`` ... suffix).

Each step: forward, cross-entropy loss, a check that the loss is finite,
``zero_grad``, backward (which frees the step's graph), optional gradient
clipping, ``optimizer.step()``, ``scheduler.step()`` (schedules advance per
batch; their lengths are given in epochs). After each epoch the model is
evaluated on the test split (eval mode, no graph), the plateau schedule (if
chosen) steps on the test loss, then the metrics, the curves and the
checkpoints are written, in an order where a kill at any point leaves files
that agree: ``best.npz`` (when the epoch improved), then ``last.npz`` (which
records the best epoch), then metrics.csv and curves.png (rewritten from
``last.npz``'s history on resume). A kill between the first two leaves
``best.npz`` one epoch ahead of ``last.npz``: resuming redoes that epoch bit for
bit and writes the same file again. Resuming also rewrites a ``best.npz`` that
disagrees with what ``last.npz`` records when ``last.npz`` is that best
epoch's own checkpoint (folders written by older versions), and removes the
temporaries a killed write left.

Resuming (``resume=path``) restores the model, the optimizer, the schedule,
minicnn's global generator, the data loader's generator and position, the
running sums of a half-finished epoch and the history, so the run continues
bit for bit as if it had not stopped: the same batches in the same order with
the same augmentations, the same parameters after every step.

Stopping: Ctrl-C (SIGINT) or SIGTERM (what ``kill`` and job schedulers send)
sets a flag; the step in progress finishes, a checkpoint of that exact point
is written and the run returns with status ``"interrupted"`` (a second signal
aborts at once, without saving). A
non-finite loss stops the run before the bad step is applied, with a
:class:`NonFiniteLossError` naming the step and the last finite loss; the
checkpoints already on disk are left as they are. Nothing in a run folder is
overwritten unless it is the same run continuing (``resume``) or
``overwrite=True``.
"""
import contextlib
import datetime
import json
import math
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .. import __version__, get_rng_state, manual_seed, no_grad, set_rng_state
from ..data import DataLoader, get_dataset
from .._device import DeviceUnavailableError, cuda_unavailable_reason
from ..tensor import Tensor
from ..data import transforms as T
from ..nn import functional as F
from ..nn.utils import clip_grad_norm_
from ..optim import SGD, Adadelta, Adagrad, Adam, AdamW, NAdam, RAdam, RMSprop
from ..optim import lr_scheduler
from .checkpoint import (CheckpointError, atomic_write, check_state_dict_fits, describe_os_error,
                         load_checkpoint, run_folder_checkpoint, save_checkpoint,
                         stale_temporaries)
from .config import TrainConfig
from .diagnostics import DIAGNOSTICS_CSV, DIAGNOSTICS_PNG, Diagnostics
from .distributed import DataParallel
from .metrics import plot_curves, read_metrics_csv, write_metrics_csv
from .models import build_model, constructor_path, model_kwargs_for, register_recorded
from .weights import init_from_weights, load_weights_file
from .progress import ProgressBar, format_duration

__all__ = ["Trainer", "TrainResult", "NonFiniteLossError", "RunFolderError", "evaluate",
           "evaluate_checkpoint", "build_optimizer", "build_scheduler", "build_plateau",
           "RUN_FILES"]

CONFIG_FILE, METRICS_FILE, CURVES_FILE = "config.json", "metrics.csv", "curves.png"
LAST_CHECKPOINT, BEST_CHECKPOINT = "last.npz", "best.npz"
RUN_FILES = (CONFIG_FILE, METRICS_FILE, CURVES_FILE, LAST_CHECKPOINT, BEST_CHECKPOINT,
             DIAGNOSTICS_CSV, DIAGNOSTICS_PNG)
# Options a resumed run may change: they do not alter what is computed.
RESUME_OVERRIDABLE = ("epochs", "data_dir", "device", "num_workers", "eval_batch_size", "threads")


class NonFiniteLossError(RuntimeError):
    """The loss became NaN or infinite; the run stopped before applying that step."""

    def __init__(self, message, step, loss, last_finite_loss, checkpoint):
        super().__init__(message)
        self.step, self.loss = step, loss
        self.last_finite_loss, self.checkpoint = last_finite_loss, checkpoint


class RunFolderError(FileExistsError):
    """The run folder holds files that the run would overwrite, or cannot be created."""


@dataclass
class TrainResult:
    status: str                 # "finished", "interrupted" (Ctrl-C) or "stopped" (stop_after_epochs)
    run_dir: str
    history: list = field(default_factory=list)
    best_test_acc: float = float("nan")
    best_epoch: int = 0
    final_test_acc: float = float("nan")
    steps: int = 0
    seconds: float = 0.0
    checkpoint: str = ""
    signal: int = None          # the signal that interrupted the run (SIGINT, SIGTERM)


# ------------------------------------------------------------------ building blocks
# The optimizers that take only lr and weight_decay from the command line (their other
# options keep PyTorch's defaults).
_ADAPTIVE_OPTIMIZERS = {"adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adadelta": Adadelta,
                        "adagrad": Adagrad, "nadam": NAdam, "radam": RAdam}


def build_optimizer(config: TrainConfig, parameters):
    parameters = list(parameters)
    if config.optimizer == "sgd":
        return SGD(parameters, lr=config.lr, momentum=config.momentum,
                   nesterov=config.nesterov and config.momentum > 0,
                   weight_decay=config.weight_decay)
    return _ADAPTIVE_OPTIMIZERS[config.optimizer](parameters, lr=config.lr,
                                                  weight_decay=config.weight_decay)


def build_scheduler(config: TrainConfig, optimizer, steps_per_epoch: int):
    """The schedule, stepped once per batch; lengths in epochs become lengths in steps.

    For ``plateau`` this is only the warm-up (None without one): the decays come from
    :func:`build_plateau`, stepped once per epoch."""
    total = config.epochs * steps_per_epoch
    warmup = config.warmup_epochs * steps_per_epoch
    if config.schedule == "onecycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total)
    if config.schedule == "cosine":
        main = lr_scheduler.CosineAnnealingLR(optimizer, T_max=total - warmup)
    elif config.schedule == "step":
        main = lr_scheduler.StepLR(optimizer, step_size=config.step_size * steps_per_epoch,
                                   gamma=config.gamma)
    elif config.schedule == "multistep":
        # Milestones count from the start of the run; the main schedule starts after warm-up.
        main = lr_scheduler.MultiStepLR(
            optimizer, milestones=[max(m * steps_per_epoch - warmup, 1) for m in config.milestones],
            gamma=config.gamma)
    elif config.schedule == "exponential":
        # gamma per epoch, applied a little at every step: lr_0 * gamma ** (step / steps_per_epoch)
        main = lr_scheduler.ExponentialLR(optimizer, gamma=config.gamma ** (1 / steps_per_epoch))
    elif config.schedule == "cosine-restarts":
        main = lr_scheduler.CosineAnnealingWarmRestarts(
            optimizer, T_0=config.restart_epochs * steps_per_epoch, T_mult=config.restart_mult)
    elif config.schedule == "poly":
        main = lr_scheduler.PolynomialLR(optimizer, total_iters=total - warmup, power=config.power)
    elif config.schedule == "plateau":
        main = None
    else:
        main = lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    if warmup == 0:
        return main
    warm = lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup)
    if main is None:
        return warm
    return lr_scheduler.SequentialLR(optimizer, [warm, main], milestones=[warmup])


def build_plateau(config: TrainConfig, optimizer):
    """``--schedule plateau``: ReduceLROnPlateau on the test loss, stepped after each epoch
    (``--gamma`` is its factor); None for the other schedules."""
    if config.schedule != "plateau":
        return None
    return lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=config.gamma,
                                          patience=config.patience, cooldown=config.cooldown,
                                          min_lr=config.min_lr)


def _transforms(dataset, augment: bool):
    """(train transform, test transform): optional shifts (and flips for cifar10), then
    ``ToFloat(scale)`` and ``Normalize`` with the training split's statistics."""
    finish = [T.ToFloat(dataset.scale), T.Normalize(dataset.mean, dataset.std)]
    augmentation = []
    if augment:
        size = dataset.image_shape[1:]
        augmentation.append(T.RandomCrop(size, padding=1 if max(size) <= 8 else
                                         (2 if max(size) <= 28 else 4)))
        if dataset.name == "cifar10":
            augmentation.append(T.RandomHorizontalFlip())
    return T.Compose(augmentation + finish), T.Compose(finish)


def _to_device(tensor, device):
    return tensor if device == "cpu" else tensor.to(device)


def evaluate(model, loader, device="cpu", should_stop=None) -> dict:
    """Mean cross-entropy and accuracy of ``model`` over ``loader`` (eval mode, no graph).

    Returns ``{"loss", "accuracy", "correct", "count", "seconds", "predictions"}``
    (``predictions``: the predicted class of every sample, in order), or None
    when ``should_stop()`` became true on the way. The model's mode is restored.
    """
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    loss_sum, correct, count, predictions = 0.0, 0, 0, []
    try:
        with no_grad():
            for images, labels in loader:
                if should_stop is not None and should_stop():
                    return None
                images, labels = _to_device(images, device), _to_device(labels, device)
                logits = model(images)
                loss_sum += float(F.cross_entropy(logits, labels, reduction="sum").item())
                predicted = logits.data.argmax(axis=1)
                correct += int((predicted == labels.data).sum())
                count += labels.shape[0]
                predictions.append(Tensor._wrap(predicted).numpy())
    finally:
        model.train(was_training)
    return {"loss": loss_sum / max(count, 1), "accuracy": correct / max(count, 1),
            "correct": correct, "count": count, "seconds": time.perf_counter() - start,
            "predictions": np.concatenate(predictions) if predictions else np.zeros(0, np.int64)}


_STOP_SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class _StopOnSignals:
    """While active, the first Ctrl-C (SIGINT) or SIGTERM sets ``stop_requested`` (the loop
    saves and returns); a second one raises KeyboardInterrupt at once. Only in the main
    thread."""

    def __init__(self, trainer):
        self.trainer = trainer
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in _STOP_SIGNALS:
                self.previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.trainer.stop_requested:
            self.trainer.stop_signal = signum  # the exit status names the one that aborted
            raise KeyboardInterrupt
        self.trainer.stop_requested = True
        self.trainer.stop_signal = signum
        name = _STOP_SIGNALS[signum]
        self.trainer._note(f"\n{name}: finishing this step, then saving a checkpoint "
                           f"({name} again aborts without saving)")

    def __exit__(self, *exc_info):
        for number, previous in self.previous.items():
            signal.signal(number, previous)
        return False


@contextlib.contextmanager
def limit_threads(count):
    """Run the block with at most ``count`` BLAS threads (NumPy's matmuls) and ``count`` Numba
    threads (the parallel kernels); None changes nothing."""
    if count is None:
        yield
        return
    import numba

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise ValueError("--threads needs threadpoolctl to set NumPy's BLAS threads: "
                         "pip install 'minicnn[threads]'") from None
    previous = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        with threadpool_limits(limits=count, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(previous)


def _threads_in_use() -> dict:
    import numba

    found = {"numba": numba.get_num_threads()}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return found
    blas = [pool["num_threads"] for pool in threadpool_info() if pool.get("user_api") == "blas"]
    if blas:
        found["blas"] = max(blas)
    return found


def checkpoint_position(progress: dict) -> str:
    """Where a checkpoint's ``progress`` stands: "after epoch 2" or "in epoch 3, after batch 24
    (step 69)" for one saved mid-epoch."""
    if progress.get("batch"):
        return (f"in epoch {progress['epoch'] + 1}, after batch {progress['batch']} "
                f"(step {progress['step']})")
    return f"after epoch {progress['epoch']} (step {progress['step']})"


def _timestamp() -> str:
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def _make_new_folder(base) -> str:
    """Create ``base`` (or ``base-2``, ``base-3`` ... when taken) and return its path; os.mkdir
    fails on an existing folder, so two processes never get the same one."""
    os.makedirs(os.path.dirname(base), exist_ok=True)
    path, suffix = base, 2
    while True:
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            path, suffix = f"{base}-{suffix}", suffix + 1


# ------------------------------------------------------------------ the trainer
class Trainer:
    """``Trainer(config, out=None, overwrite=False)`` for a new run, or
    ``Trainer(resume="runs/x/last.npz", overrides={"epochs": 30})`` to continue one.

    ``run()`` trains and returns a :class:`TrainResult`. Progress goes to
    ``stream`` (stdout): a live bar on a terminal, one line per epoch elsewhere.
    """

    def __init__(self, config: TrainConfig = None, *, out=None, resume=None, overrides=None,
                 overwrite=False, stream=None, tty=None, command=None):
        self.parallel = DataParallel()  # mpiexec -n N: this process's part (else a no-op)
        self.stream = self.parallel.silence(stream if stream is not None else sys.stdout)
        self.tty = tty
        self.command = command
        self.stop_requested = False
        self.stop_signal = None
        self.on_step = None  # optional callback(trainer) after every step (tests, tools)
        self._resume_meta = self._resume_state = None
        if resume is not None:
            resume = os.fspath(resume)
            if config is not None:
                raise ValueError("Trainer: give either a config (a new run) or resume= (continue "
                                 "a run: its configuration comes from the checkpoint), not both")
            meta, state = load_checkpoint(resume)
            self._resume_meta, self._resume_state = meta, state
            recorded = meta.get("model") if isinstance(meta.get("model"), dict) else {}
            register_recorded(recorded.get("name"), recorded.get("constructor"))
            config = self._resumed_config(meta, overrides or {}, resume)
            out = out if out is not None else os.path.dirname(os.path.abspath(resume))
        elif overrides:
            raise ValueError("Trainer: overrides= only applies with resume=")
        self.config = (config or TrainConfig()).resolved()
        if self.config.device != "cpu":
            reason = cuda_unavailable_reason()
            if reason is not None:  # say so now, before loading data or writing anything
                raise DeviceUnavailableError(f"--device {self.config.device}: {reason}")
        self.resume_path = resume
        # Every rank checks the folder (the same answer); rank 0 alone creates and writes it.
        self.run_dir = self._prepare_run_dir(out, overwrite)

    # ------------------------------------------------------------- setup
    @staticmethod
    def _resumed_config(meta, overrides, path) -> TrainConfig:
        # Options newer than the checkpoint take their defaults (what that run used).
        saved = dict(TrainConfig().to_dict(), **meta["config"])
        for key, value in overrides.items():
            if key not in saved:
                raise ValueError(f"resume: unknown option {key!r}")
            if value == saved[key]:
                continue
            if key not in RESUME_OVERRIDABLE:
                raise ValueError(
                    f"resume: cannot change {key} (checkpoint: {saved[key]!r}, asked: {value!r}): "
                    f"a resumed run continues exactly the run in {path}. Only "
                    f"{', '.join(RESUME_OVERRIDABLE)} may change; start a new run to change more.")
            if key == "epochs" and saved["schedule"] in ("cosine", "onecycle", "poly"):
                raise ValueError(
                    f"resume: cannot change --epochs from {saved['epochs']} to {value} with the "
                    f"{saved['schedule']!r} schedule, whose shape depends on the run's length; "
                    f"only the constant, step, multistep, plateau, exponential and "
                    f"cosine-restarts schedules can be extended")
            saved[key] = value
        return TrainConfig.from_dict(saved)

    def _prepare_run_dir(self, out, overwrite) -> str:
        config = self.config
        self._auto_named = out is None
        self._resuming_here = self._clear_run_files = False
        if out is None:  # the final name is taken when the folder is created (_create_run_dir)
            model = config.model.replace(":", "-").replace(".", "-")  # package.module:callable
            return os.path.abspath(os.path.join("runs", f"{_timestamp()}-{model}-{config.dataset}"))
        out = os.path.abspath(out)
        if os.path.exists(out) and not os.path.isdir(out):
            raise RunFolderError(f"--out {out} exists and is not a folder")
        present = sorted(os.listdir(out)) if os.path.isdir(out) else []
        resuming_here = (self.resume_path is not None
                         and os.path.abspath(os.path.dirname(self.resume_path)) == out)
        if present and not overwrite:
            if not resuming_here:
                last = os.path.join(out, LAST_CHECKPOINT)
                resume = (f"continue that run with --resume {last}, " if os.path.isfile(last)
                          else "")
                raise RunFolderError(
                    f"{out} is not empty (it holds {', '.join(present[:6])}"
                    f"{' ...' if len(present) > 6 else ''}); minicnn does not overwrite a run "
                    f"by accident. Choose another --out, {resume}or pass --overwrite to "
                    f"replace its files.")
            self._check_resume_is_latest(out)
        self._resuming_here = resuming_here
        self._clear_run_files = overwrite and not resuming_here
        return out

    def _create_run_dir(self) -> None:
        """Create the folder (and, with overwrite, remove the previous run's files) once the
        data and the model are known to load: a run that cannot start writes nothing.

        A new run claims its folder exclusively: ``os.mkdir`` of a folder that must not exist
        yet (a default name already taken gets the next suffix), or, for an existing empty
        ``--out``, the exclusive creation of its config.json; another run that started at the
        same moment gets another name or a clear error, never the same files."""
        if not self.parallel.is_main:  # rank 0 writes every file of the run
            return
        try:
            if self._auto_named:
                self.run_dir = _make_new_folder(self.run_dir)
                return
            if self._clear_run_files:
                for name in RUN_FILES:
                    if os.path.isfile(os.path.join(self.run_dir, name)):
                        os.unlink(os.path.join(self.run_dir, name))
            os.makedirs(self.run_dir, exist_ok=True)
            if not self._resuming_here:
                claim = os.path.join(self.run_dir, CONFIG_FILE)
                try:
                    os.close(os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
                except FileExistsError:
                    raise RunFolderError(f"{self.run_dir}: another run started in this folder "
                                         f"at the same time; choose another --out") from None
        except RunFolderError:
            raise
        except OSError as error:
            doing = ("cannot write in the run folder" if os.path.isdir(self.run_dir) else
                     "cannot create the run folder")
            raise RunFolderError(describe_os_error(error, doing)) from error
        for path in stale_temporaries(self.run_dir, RUN_FILES):
            os.unlink(path)
            self._note(f"removed {os.path.basename(path)}, a temporary file left by a run "
                       f"that was killed while writing")

    def _check_resume_is_latest(self, out) -> None:
        """Resuming an older checkpoint in its own folder would overwrite later epochs' files."""
        metrics = os.path.join(out, METRICS_FILE)
        if not os.path.isfile(metrics):
            return
        try:
            on_disk = max((row["epoch"] for row in read_metrics_csv(metrics)), default=0)
        except (OSError, ValueError, KeyError):
            return
        done = len(self._resume_meta["history"])
        if on_disk > done:
            raise RunFolderError(
                f"{out} already holds epochs up to {on_disk}, but {self.resume_path} was saved "
                f"after epoch {done}: resuming there would overwrite {LAST_CHECKPOINT} and the "
                f"metrics of epochs {done + 1}-{on_disk}. Resume into a new folder with --out, "
                f"or pass --overwrite.")

    def _setup(self) -> None:
        config = self.config
        manual_seed(config.seed)
        train_set = get_dataset(config.dataset, train=True, root=config.data_dir)
        test_set = get_dataset(config.dataset, train=False, root=config.data_dir)
        train_set.transform, test_set.transform = _transforms(train_set, config.augment)
        self.model_kwargs = model_kwargs_for(train_set.image_shape, train_set.num_classes,
                                             config.model_kwargs)
        self.model = build_model(config.model, self.model_kwargs)
        self._init_report = None
        if config.init_from is not None and self._resume_meta is None:
            # Weights only: the optimizer, the schedule and the run folder are new.
            self._init_report = init_from_weights(self.model, load_weights_file(config.init_from),
                                                  os.fspath(config.init_from))
        self.model = self.parallel.prepare_model(self.model)  # SyncBatchNorm under mpiexec
        if config.device != "cpu":
            self.model.to(config.device)
        self.optimizer = build_optimizer(config, self.model.parameters())
        sampler = self.parallel.sampler(train_set, config.seed, self._resume_meta)
        self.train_loader = DataLoader(
            train_set, batch_size=config.batch_size, shuffle=sampler is None, drop_last=True,
            generator=np.random.default_rng([config.seed, 1]), num_workers=config.num_workers,
            sampler=sampler)
        self.test_loader = DataLoader(test_set, batch_size=config.eval_batch_size, generator=0)
        self.steps_per_epoch = len(self.train_loader)
        if self.steps_per_epoch == 0:
            raise ValueError(f"--batch-size {config.batch_size} is larger than "
                             f"{self.parallel.share_text(len(train_set))}: no full batch to train on")
        self.scheduler = build_scheduler(config, self.optimizer, self.steps_per_epoch)
        self.plateau = build_plateau(config, self.optimizer)
        self.train_set, self.test_set = train_set, test_set
        # Progress: epochs done, batches done in the current epoch, steps, running sums.
        self.epoch, self.batch, self.step = 0, 0, 0
        self.loss_sum, self.correct, self.seen, self.train_seconds = 0.0, 0, 0, 0.0
        self.history, self.best = [], {"test_acc": -1.0, "epoch": 0}
        self.last_finite_loss = None
        if self._resume_meta is not None:
            self._restore(self._resume_meta, self._resume_state)
        self.train_model = self.parallel.start(self)  # DistributedDataParallel under mpiexec
        # Rank 0's statistics (its shard) under mpiexec, as it alone writes the run's files;
        # resuming, the epochs already done come from the run's CSV.
        self.diagnostics = (Diagnostics.for_run(self.model, self.run_dir if self._resume_meta
                                                else None, self.epoch)
                            if config.diagnostics and self.parallel.is_main else None)

    def _restore(self, meta, state) -> None:
        if meta["model"]["name"] != self.config.model:
            raise CheckpointError(f"{self.resume_path}: saved from model {meta['model']['name']!r},"
                                  f" not {self.config.model!r}")
        check_state_dict_fits(self.model, state, self.resume_path,
                              f" ({self.config.model} {self.model_kwargs})")
        self.model.load_state_dict(state)
        try:
            self.optimizer.load_state_dict(meta["optimizer"])
            if self.scheduler is not None and meta.get("scheduler") is not None:
                self.scheduler.load_state_dict(meta["scheduler"])
            if self.plateau is not None:
                self.plateau.load_state_dict(meta["plateau"])
            self.train_loader.load_state_dict(meta["rng"]["loader"])
            set_rng_state(meta["rng"]["minicnn"])
            progress = meta["progress"]
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(f"{self.resume_path}: corrupt checkpoint: cannot restore the "
                                  f"training state ({type(error).__name__}: {error})") from error
        self.epoch, self.batch, self.step = progress["epoch"], progress["batch"], progress["step"]
        self.loss_sum, self.correct = progress["loss_sum"], progress["correct"]
        self.seen, self.train_seconds = progress["seen"], progress["train_seconds"]
        self.last_finite_loss = progress.get("last_finite_loss")
        self.history, self.best = list(meta["history"]), dict(meta["best"])

    # ------------------------------------------------------------- output
    def _note(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _write_config(self) -> None:
        if not self.parallel.is_main:
            return
        document = {"config": self.config.to_dict(), "model_kwargs": self.model_kwargs,
                    "model_constructor": constructor_path(self.config.model),
                    "threads_in_use": _threads_in_use(),
                    "command": self.command, "minicnn_version": __version__,
                    "written": datetime.datetime.now().isoformat(timespec="seconds"),
                    "resumed_from": self.resume_path}
        text = json.dumps(document, indent=2) + "\n"
        atomic_write(os.path.join(self.run_dir, CONFIG_FILE),
                     lambda stream: stream.write(text.encode()))

    def _meta(self, reason: str) -> dict:
        return {
            "config": self.config.to_dict(),
            "model": {"name": self.config.model, "kwargs": self.model_kwargs,
                      "constructor": constructor_path(self.config.model)},
            "progress": {"epoch": self.epoch, "batch": self.batch, "step": self.step,
                         "loss_sum": self.loss_sum, "correct": self.correct, "seen": self.seen,
                         "train_seconds": self.train_seconds,
                         "last_finite_loss": self.last_finite_loss},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "plateau": self.plateau.state_dict() if self.plateau is not None else None,
            "rng": {"minicnn": get_rng_state(), "loader": self.train_loader.state_dict()},
            "normalization": {"scale": self.train_set.scale, "mean": list(self.train_set.mean),
                              "std": list(self.train_set.std)},
            "history": self.history, "best": self.best, "reason": reason,
            "data_parallel": self.parallel.state(self),
            "minicnn_version": __version__,
            "saved": datetime.datetime.now().isoformat(timespec="seconds"),
        }

    def save(self, name: str = LAST_CHECKPOINT, reason: str = "epoch") -> str:
        path = os.path.join(self.run_dir, name)
        if not self.parallel.is_main:  # rank 0 writes every file of the run
            return path
        save_checkpoint(path, self._meta(reason), self.model.state_dict())
        return path

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    # ------------------------------------------------------------- the loop
    def run(self, stop_after_epochs: int = None) -> TrainResult:
        """Train until ``config.epochs`` (or ``stop_after_epochs`` more epochs, or Ctrl-C)."""
        with limit_threads(self.config.threads):
            return self._run(stop_after_epochs)

    def _run(self, stop_after_epochs) -> TrainResult:
        self._setup()
        started = time.perf_counter()
        self._create_run_dir()
        self._write_config()
        if self.history:
            self._write_metrics()
        if self._resuming_here:
            self._repair_best()
        config = self.config
        if self.epoch >= config.epochs:
            self._note(f"nothing to do: the checkpoint has finished all {config.epochs} epochs "
                       f"(pass a larger --epochs to train longer with a constant/step schedule)")
            return self._result("finished", started)
        if self.resume_path is not None:
            where = (f"epoch {self.epoch + 1}, batch {self.batch + 1}" if self.batch else
                     f"epoch {self.epoch + 1}")
            self._note(f"resuming {self.resume_path} at {where} (step {self.step})")
        else:
            params = self.model.num_parameters()
            self._note(f"training {config.model} ({params:,} parameters) on {config.dataset} "
                       f"({len(self.train_set):,} train / {len(self.test_set):,} test images) "
                       f"for {config.epochs} epochs, {config.optimizer} lr {config.lr:g}, "
                       f"{config.schedule} schedule, {self.parallel.batch_text(config.batch_size)}, "
                       f"device {config.device}")
            self._note(f"run folder: {self.run_dir}")
            if self._init_report is not None:
                self._note(self._init_report.describe())
        epochs_run = 0
        # NumPy's overflow/invalid-value warnings are left out: a diverging run would print
        # dozens before the loss check below stops it with one message saying where.
        with _StopOnSignals(self), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while self.epoch < config.epochs:
                finished = self._train_epoch()
                if not finished:
                    return self._interrupted(started)
                # Ranks stop together at a step (step_totals): not inside an evaluation.
                scores = evaluate(self.model, self.test_loader, config.device,
                                  should_stop=None if self.parallel.enabled
                                  else lambda: self.stop_requested)
                if scores is None:
                    return self._interrupted(started)
                self._end_epoch(scores)
                epochs_run += 1
                if stop_after_epochs is not None and epochs_run >= stop_after_epochs \
                        and self.epoch < config.epochs:
                    return self._result("stopped", started)
        result = self._result("finished", started)
        best = result.best_test_acc
        training = sum(row["epoch_seconds"] for row in self.history)
        self._note(f"done: test accuracy {100 * result.final_test_acc:.2f}% (best {100 * best:.2f}%"
                   f" at epoch {result.best_epoch}); {result.steps} steps, "
                   f"{format_duration(training)} of training over all epochs, "
                   f"{format_duration(result.seconds)} in this run")
        self._note(f"run folder: {self.run_dir}  ({', '.join(self._files())})")
        return result

    def _files(self):
        return [name for name in RUN_FILES if os.path.isfile(os.path.join(self.run_dir, name))]

    def _train_epoch(self) -> bool:
        """Train the rest of the current epoch; False when a stop was requested."""
        config = self.config
        bar = ProgressBar(self.steps_per_epoch, f"epoch {self.epoch + 1}/{config.epochs}",
                          stream=self.stream, tty=self.tty)
        self._bar = bar
        self.model.train()
        images_here = 0
        tick = time.perf_counter()
        self.parallel.start_epoch(self.epoch)
        for images, labels in self.train_loader:
            images, labels = _to_device(images, config.device), _to_device(labels, config.device)
            logits = self.train_model(images)
            loss = F.cross_entropy(logits, labels, label_smoothing=config.label_smoothing)
            loss_value = float(loss.item())
            if not math.isfinite(loss_value):
                bar.clear()
                self._non_finite(loss_value)
            self.optimizer.zero_grad()
            loss.backward()
            if self.diagnostics is not None:
                self.diagnostics.after_backward()
            if config.clip_grad_norm is not None:
                clip_grad_norm_(self.model.parameters(), config.clip_grad_norm)
            self.optimizer.step()
            if self.diagnostics is not None:
                self.diagnostics.after_step()
            if self.scheduler is not None:
                self.scheduler.step()
            count, loss_total, correct = self.parallel.step_totals(  # over all ranks (mpiexec)
                labels.shape[0], loss_value * labels.shape[0],
                int((logits.data.argmax(axis=1) == labels.data).sum()))
            self.loss_sum += loss_total
            self.correct += correct
            self.seen += count
            self.batch += 1
            self.step += 1
            self.last_finite_loss = loss_value
            images_here += count
            del logits, loss  # the graph was freed by backward; drop the last references too
            now = time.perf_counter()
            self.train_seconds += now - tick
            tick = now
            bar.update(self.batch, images_here, self.loss_sum / self.seen, self.correct / self.seen)
            if self.on_step is not None:
                self.on_step(self)
            # Under mpiexec a stop asked on any rank (its Ctrl-C, SIGTERM) stops every rank here.
            if self.parallel.agree_stop(self):
                bar.clear()
                return False
        return not self.parallel.agree_stop(self)

    def _non_finite(self, loss_value):
        checkpoint = os.path.join(self.run_dir, LAST_CHECKPOINT)
        has_checkpoint = os.path.isfile(checkpoint)
        last = (f"the last finite loss was {self.last_finite_loss:.6g} at step {self.step}"
                if self.last_finite_loss is not None else "no step had finished yet")
        kept = (f"the last good checkpoint, {checkpoint} (after epoch {len(self.history)}), is "
                f"kept" if has_checkpoint else "no checkpoint had been written yet")
        message = (f"the loss became {loss_value} at step {self.step + 1} (epoch {self.epoch + 1}, "
                   f"batch {self.batch + 1} of {self.steps_per_epoch}); {last}. Training stopped "
                   f"before applying that step; {kept}. Try a smaller --lr (now {self.config.lr:g})"
                   f" or --clip-grad-norm.")
        raise NonFiniteLossError(message, self.step + 1, loss_value, self.last_finite_loss,
                                 checkpoint if has_checkpoint else None)

    def _end_epoch(self, scores) -> None:
        config = self.config
        row = {"epoch": self.epoch + 1, "step": self.step, "lr": self._lr(),
               "train_loss": self.loss_sum / max(self.seen, 1),
               "train_acc": self.correct / max(self.seen, 1),
               "test_loss": scores["loss"], "test_acc": scores["accuracy"],
               "epoch_seconds": self.train_seconds,
               "images_per_second": self.seen / self.train_seconds if self.train_seconds else 0.0}
        self.history.append(row)
        improved = row["test_acc"] > self.best["test_acc"]
        if improved:
            self.best = {"test_acc": row["test_acc"], "epoch": row["epoch"]}
        self.epoch += 1
        self.batch, self.loss_sum, self.correct, self.seen, self.train_seconds = 0, 0.0, 0, 0, 0.0
        if self.plateau is not None:  # before the checkpoints, which must hold its new state
            self.plateau.step(scores["loss"])
        # best.npz first: last.npz records the best epoch, so it must not claim one whose file
        # a kill could still prevent (see the module docstring for every crash point).
        if improved:
            self.save(BEST_CHECKPOINT, "best")
        self.save(LAST_CHECKPOINT, "epoch")
        self._write_metrics()
        if self.diagnostics is not None:
            self.diagnostics.end_epoch(row["epoch"], self.run_dir,
                                       f"{config.model} on {config.dataset}, lr {config.lr:g}")
        self._bar.finish(
            f"epoch {row['epoch']:>{len(str(config.epochs))}}/{config.epochs}  "
            f"loss {row['train_loss']:.4f}  acc {100 * row['train_acc']:6.2f}%  |  "
            f"test loss {row['test_loss']:.4f}  acc {100 * row['test_acc']:6.2f}%"
            f"{' *' if improved else '  '}  lr {row['lr']:.3g}  "
            f"{row['images_per_second']:,.0f} img/s  {row['epoch_seconds']:.1f} s")

    def _write_metrics(self) -> None:
        if not self.parallel.is_main:
            return
        write_metrics_csv(os.path.join(self.run_dir, METRICS_FILE), self.history)
        plot_curves(os.path.join(self.run_dir, CURVES_FILE), self.history,
                    title=f"{self.config.model} on {self.config.dataset}")

    def _repair_best(self) -> None:
        """Resuming in the run's folder: make best.npz hold what last.npz records as the best
        epoch, when last.npz is that epoch's own checkpoint (a kill between the two writes of an
        older version, or a lost best.npz)."""
        if not self.history or self.batch or self.best["epoch"] != self.epoch:
            return  # last.npz is not the best epoch's checkpoint: nothing to rebuild it from
        path = os.path.join(self.run_dir, BEST_CHECKPOINT)
        exists, held = os.path.isfile(path), None
        if exists:
            try:
                held = load_checkpoint(path)[0]["progress"]
            except (CheckpointError, KeyError, TypeError):
                held = None
        if held is not None and held.get("epoch") == self.epoch and not held.get("batch"):
            return
        self.save(BEST_CHECKPOINT, "best")
        was = ("was missing" if not exists else
               f"held the checkpoint {checkpoint_position(held)}" if held is not None else
               "was unreadable")
        self._note(f"repaired {path}: it {was}, but {self.resume_path} records epoch "
                   f"{self.epoch} ({100 * self.best['test_acc']:.2f}%) as the best; rewritten "
                   f"from that checkpoint")

    def _interrupted(self, started) -> TrainResult:
        path = self.save(LAST_CHECKPOINT, "interrupted")
        where = (f"epoch {self.epoch + 1}, after batch {self.batch} of {self.steps_per_epoch}"
                 if self.batch < self.steps_per_epoch else
                 f"epoch {self.epoch + 1}, before its evaluation")
        self._note(f"interrupted at step {self.step} ({where}); checkpoint saved: {path}\n"
                   f"continue with: minicnn train --resume {path}")
        return self._result("interrupted", started, path)

    def _result(self, status, started, checkpoint=None) -> TrainResult:
        history = self.history
        return TrainResult(
            status=status, run_dir=self.run_dir, history=list(history),
            best_test_acc=self.best["test_acc"] if history else float("nan"),
            best_epoch=self.best["epoch"],
            final_test_acc=history[-1]["test_acc"] if history else float("nan"),
            steps=self.step, seconds=time.perf_counter() - started,
            checkpoint=checkpoint or os.path.join(self.run_dir, LAST_CHECKPOINT),
            signal=(self.stop_signal or signal.SIGINT) if status == "interrupted" else None)


# ------------------------------------------------------------------ evaluate a checkpoint
def evaluate_checkpoint(path, *, data_dir=None, split="test", batch_size=None, device="cpu"):
    """Rebuild the model a checkpoint was saved from, load its weights, evaluate it.

    ``path`` may be a run folder: its best.npz is taken (else its last.npz).
    Returns ``evaluate``'s dict plus ``"per_class"`` (accuracy per class),
    ``"classes"``, ``"epoch"``, ``"position"`` (where in the run the checkpoint was
    saved, in words), ``"checkpoint"`` (the file), ``"model"`` and ``"dataset"``.
    """
    if split not in ("test", "train"):
        raise ValueError(f"--split must be 'test' or 'train', got {split!r}")
    path = os.fspath(path)
    if os.path.isdir(path):
        path = run_folder_checkpoint(path)
    meta, state = load_checkpoint(path)
    try:
        config = TrainConfig.from_dict(dict(meta["config"]))
        name, kwargs = meta["model"]["name"], dict(meta["model"]["kwargs"])
        register_recorded(name, meta["model"].get("constructor"))
    except (KeyError, TypeError) as error:
        raise CheckpointError(f"{path}: corrupt checkpoint: no run configuration "
                              f"({error})") from error
    dataset = get_dataset(config.dataset, train=(split == "train"),
                          root=data_dir if data_dir is not None else config.data_dir)
    # The run's own normalisation (the training split's statistics, stored in the checkpoint).
    norm = meta.get("normalization") or {"scale": dataset.scale, "mean": dataset.mean,
                                         "std": dataset.std}
    dataset.transform = T.Compose([T.ToFloat(norm["scale"]), T.Normalize(norm["mean"],
                                                                         norm["std"])])
    model = build_model(name, kwargs)
    check_state_dict_fits(model, state, os.fspath(path), f" ({name} {kwargs})")
    model.load_state_dict(state)
    if device != "cpu":
        model.to(device)  # raises DeviceUnavailableError saying why when no GPU is usable
    loader = DataLoader(dataset, batch_size=batch_size or config.eval_batch_size, generator=0)
    scores = evaluate(model, loader, device)
    predicted = scores["predictions"]
    per_class = [float((predicted[dataset.targets == c] == c).mean()) if (dataset.targets == c).any()
                 else float("nan") for c in range(dataset.num_classes)]
    scores.update(per_class=per_class, classes=dataset.classes, model=name, dataset=config.dataset,
                  epoch=meta["progress"]["epoch"], position=checkpoint_position(meta["progress"]),
                  checkpoint=path, split=split)
    return scores
