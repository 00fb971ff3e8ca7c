"""Weights from a file, for fine-tuning (``minicnn train --init-from PATH``).

:func:`load_weights_file` reads ``{state_dict key: array}`` from a run folder
(its ``best.npz``, else its ``last.npz``) or any weight file
:func:`minicnn.io.load_state_dict_file` reads (a minicnn checkpoint, whose
model state only is taken: the optimizer and the schedule are left behind; an
``np.savez`` of a state dict; a ``torch.save`` file; a safetensors file).

:func:`init_from_weights` then copies into a freshly built model every entry
whose key and shape match and leaves the rest as the model initialised them:
a classifier head for another number of classes is re-initialised. Its
report lists the keys kept, re-initialised and unused.
"""
import os
from dataclasses import dataclass, field

from ..io.weights import load_state_dict_file
from .checkpoint import CheckpointError, run_folder_checkpoint

__all__ = ["load_weights_file", "init_from_weights", "InitReport"]


def load_weights_file(path) -> dict:
    """``{state_dict key: np.ndarray}`` from a run folder or a weight file (see the module
    docstring); ``FileNotFoundError`` or a ``ValueError`` saying what is wrong."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = run_folder_checkpoint(path)
    return load_state_dict_file(path)


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
