"""Weights from a file, for fine-tuning (``minicnn train --init-from PATH``).

:func:`load_weights_file` is the one entry point that reads a weights file
into ``{state_dict key: array}``; today it reads

* a minicnn checkpoint (``last.npz``, ``best.npz``; also a run folder, whose
  ``best.npz`` is taken, else its ``last.npz``): the model's state only, the
  optimizer and the schedule are left behind;
* a plain ``.npz`` of arrays named by state_dict key (``np.savez(path,
  **model.state_dict())``).

:func:`init_from_weights` then copies into a freshly built model every entry
whose key and shape match and leaves the rest as the model initialised them:
a classifier head for another number of classes is re-initialised. Its
report lists the keys kept, re-initialised and unused.
"""
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from .checkpoint import CheckpointError, load_checkpoint, run_folder_checkpoint

__all__ = ["load_weights_file", "init_from_weights", "InitReport"]


def load_weights_file(path) -> dict:
    """``{state_dict key: np.ndarray}`` from a minicnn checkpoint, a run folder or a plain .npz
    of arrays; a :class:`CheckpointError` (or ``FileNotFoundError``) saying what is wrong."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = run_folder_checkpoint(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file {path}: does not exist")
    if zipfile.is_zipfile(path):
        with np.load(path, allow_pickle=False) as archive:
            if "__meta__" not in archive.files:  # a plain .npz of arrays named by key
                return {name: archive[name] for name in archive.files}
        return load_checkpoint(path)[1]
    raise CheckpointError(f"{path}: not a weights file minicnn reads (a minicnn checkpoint or an "
                          f".npz of arrays named by state_dict key)")


@dataclass
class InitReport:
    source: str
    kept: list = field(default_factory=list)            # keys copied from the file
    reinitialised: list = field(default_factory=list)   # "key (file shape vs model shape)" or "key (absent)"
    unused: list = field(default_factory=list)          # keys of the file the model lacks

    def describe(self) -> str:
        def listing(items):
            shown = ", ".join(items[:8]) + (f", ... ({len(items)} in all)" if len(items) > 8 else "")
            return f"{len(items)}" + (f": {shown}" if items else "")

        return (f"initialised from {self.source}: kept {len(self.kept)} tensors; re-initialised "
                f"{listing(self.reinitialised)}; unused from the file {listing(self.unused)}")


def init_from_weights(model, weights: dict, source: str) -> InitReport:
    """Load into ``model`` every entry of ``weights`` whose key and shape match its state_dict;
    the others keep the model's own initial values. Raises :class:`CheckpointError` when not one
    key fits (the file belongs to another architecture)."""
    own = model.state_dict()
    report = InitReport(source)
    merged = dict(own)
    for key, value in own.items():
        if key not in weights:
            report.reinitialised.append(f"{key} (absent)")
        elif tuple(weights[key].shape) != tuple(value.shape):
            report.reinitialised.append(f"{key} (file {tuple(weights[key].shape)}, model "
                                        f"{tuple(value.shape)})")
        else:
            merged[key] = weights[key]
            report.kept.append(key)
    report.unused = [key for key in weights if key not in own]
    if not report.kept:
        raise CheckpointError(f"--init-from {source}: none of its {len(weights)} tensors fits the "
                              f"model (no key with the same name and shape); is it another "
                              f"architecture?")
    model.load_state_dict(merged)
    return report
