"""The trainer's side of ``mpiexec -n N minicnn train``: one run, N processes, one model.

When the process was started by MPI with more than one rank, :class:`DataParallel`

* converts the model's BatchNorm layers to SyncBatchNorm and wraps it in
  DistributedDataParallel (rank 0's weights everywhere; gradients averaged), so
  N ranks x ``--batch-size`` b train exactly the model one process would train
  with batch N*b;
* gives each rank its shard of every epoch (:class:`~minicnn.data.DistributedSampler`,
  reshuffled per epoch from ``--seed``; ``drop_last`` so every rank takes the same
  number of steps);
* sums each step's loss, correct count and image count over the ranks, and
  agrees on a "stop" flag after each step: a Ctrl-C or SIGTERM received by any
  rank stops every rank after the same step, and rank 0 saves once;
* lets only rank 0 print and write (config, metrics, curves, checkpoints).

The position in an epoch is recorded as a number of samples of the epoch's
global order, so ``--resume`` continues with the same or another number of
ranks. With the same number the run continues bit for bit (the loader skips
the batches done, as in one process); with another, the sampler starts at that
sample, and the step counter and the learning-rate schedule are converted to
the new number of steps per epoch (the random crops then differ from an
uninterrupted run's: they are drawn per batch). Every rank's loader shares one
generator, so rank r's b-th batch gets the same crop offsets on each rank. In one process
(no mpiexec) everything here is a no-op and the trainer runs as before.
"""
import os

import numpy as np

from .. import distributed

__all__ = ["DataParallel"]


class DataParallel:
    """The data-parallel job this trainer is part of (a single process: ``enabled`` False)."""

    def __init__(self):
        self.enabled = distributed.launched_by_mpi() or (
            distributed.is_initialized() and distributed.get_world_size() > 1)
        if self.enabled and not distributed.is_initialized():
            distributed.init()
        self.rank = distributed.get_rank() if self.enabled else 0
        self.world_size = distributed.get_world_size() if self.enabled else 1
        self.is_main = self.rank == 0
        self._sampler = None
        self._resume_start = 0

    # ------------------------------------------------------------- set up
    def batch_text(self, batch_size) -> str:
        """How the first line states the batch."""
        if not self.enabled:
            return f"batch {batch_size}"
        return (f"global batch {self.world_size * batch_size} = {self.world_size} MPI processes x "
                f"batch {batch_size} (SyncBatchNorm, gradients averaged)")

    def share_text(self, images) -> str:
        """What one rank trains on, for messages."""
        if not self.enabled:
            return f"the training split ({images} images)"
        return (f"each of the {self.world_size} ranks' share of the training split "
                f"({images // self.world_size} of {images} images)")

    def prepare_model(self, model):
        from ..nn import SyncBatchNorm

        return SyncBatchNorm.convert_sync_batchnorm(model) if self.enabled else model

    def sampler(self, dataset, seed, resume_meta):
        """The rank's shard of each epoch; None (the loader shuffles) in one process, unless
        it continues a run of several ranks, whose order it keeps."""
        saved = (resume_meta or {}).get("data_parallel")
        if not (self.enabled or saved):
            return None
        from ..data import DistributedSampler

        if resume_meta is not None and (saved or {}).get("world_size", 1) != self.world_size:
            # Another number of ranks: the loader will count its batches from 0 again (the
            # sampler starts at the position instead, see _restore_position).
            loader_state = resume_meta["rng"]["loader"]
            resume_meta["rng"]["loader"] = dict(loader_state, batches_done=0)

        self._sampler = DistributedSampler(dataset, self.world_size, self.rank, shuffle=True,
                                           seed=seed, drop_last=True)
        return self._sampler

    def start(self, trainer):
        """After the trainer's setup (and restore): the model that trains (DDP-wrapped)."""
        if trainer._resume_meta is not None and self._sampler is not None:
            self._restore_position(trainer, trainer._resume_meta)
        if not self.enabled:
            return trainer.model
        from ..nn.parallel import DistributedDataParallel

        # SyncBatchNorm keeps the running statistics equal on every rank: nothing to broadcast.
        return DistributedDataParallel(trainer.model, broadcast_buffers=False)

    def state(self, trainer):
        """What a checkpoint records: the global position in the epoch, in samples (None for a
        single-process run)."""
        if self._sampler is None:
            return None
        return {"world_size": self.world_size, "epoch": trainer.epoch,
                "samples": trainer.batch * trainer.config.batch_size * self.world_size}

    def _restore_position(self, trainer, meta):
        saved = meta.get("data_parallel")
        if saved is None:  # a single-process run, continued by several ranks
            if trainer.batch:
                raise ValueError(
                    f"resume: {trainer.resume_path} was saved by a single-process run in the "
                    f"middle of epoch {trainer.epoch + 1}, whose sample order is not the "
                    f"distributed one; resume it in one process, or from a checkpoint saved at "
                    f"the end of an epoch")
            saved = {"world_size": 1, "samples": 0}
        if int(saved["world_size"]) == self.world_size:
            return  # the loader's own resume continues the same shards bit for bit
        # Another number of ranks: the sampler starts at the samples already seen, the loader
        # counts its batches from 0 again, and as many of the new steps as cover those samples
        # are counted as done.
        self._resume_start = int(saved["samples"])
        trainer.batch = self._resume_start // (trainer.config.batch_size * self.world_size)
        trainer.step = trainer.epoch * trainer.steps_per_epoch + trainer.batch
        # The per-step schedule, replayed to the converted step (plateau's decays come per
        # epoch from the test loss and stay as restored).
        if trainer.scheduler is not None and trainer.config.schedule != "plateau":
            from .trainer import build_scheduler

            for group in trainer.optimizer.param_groups:
                group["lr"] = group.pop("initial_lr", group["lr"])
            trainer.scheduler = build_scheduler(trainer.config, trainer.optimizer,
                                                trainer.steps_per_epoch)
            for _ in range(trainer.step):
                trainer.scheduler.step()

    # ------------------------------------------------------------- each epoch and step
    def start_epoch(self, epoch) -> None:
        """Set the sampler to epoch ``epoch`` (from the resumed position the first time)."""
        if self._sampler is not None:
            self._sampler.set_epoch(epoch, start=self._resume_start)
            self._resume_start = 0

    def step_totals(self, count, loss_total, correct):
        """A step's image count, summed loss and correct count, summed over the ranks."""
        if not self.enabled:
            return count, loss_total, correct
        totals = np.array([count, loss_total, correct], dtype=np.float64)
        distributed.all_reduce(totals)
        return int(totals[0]), float(totals[1]), int(totals[2])

    def agree_stop(self, trainer) -> bool:
        """Whether any rank was asked to stop; every rank gets the same answer (and the same
        ``stop_signal``: SIGTERM if any rank got one, else SIGINT), so all stop after the same
        step and exit with the same status. Every stop decision goes through here."""
        if not self.enabled:
            return trainer.stop_requested
        import signal

        asked = trainer.stop_signal or (signal.SIGINT if trainer.stop_requested else 0)
        agreed = np.array([float(asked)])
        distributed.all_reduce(agreed, distributed.ReduceOp.MAX)
        if agreed[0]:
            trainer.stop_requested = True
            trainer.stop_signal = signal.Signals(int(agreed[0]))
        return bool(agreed[0])

    def silence(self, stream):
        """Rank 0's stream; the others print nothing."""
        return stream if self.is_main else open(os.devnull, "w")
