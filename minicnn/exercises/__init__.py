"""``minicnn exercises``: write a backward (and a forward) yourself, graded against minicnn.

* ``minicnn exercises init DIR`` copies the exercise files into ``DIR``: each has the
  forward given in NumPy, the shapes, a stub to fill in and where on its operator's
  card (``docs/ops/<card>.md``, ``minicnn explain OP``) the derivation is;
* ``minicnn exercises check DIR [NAME]`` grades them (:mod:`.grader`): the forward and every
  gradient against minicnn's own operator under a random upstream gradient; a wrong
  gradient is named with the worst element, the error and the part of the card to reread.

The exercises (:mod:`.specs`): conv2d backward, max-pool backward, batch-norm backward,
depthwise conv forward and backward, channel-shuffle backward, hard-swish backward,
squeeze-and-excitation backward, softmax cross-entropy backward.
"""
import shutil
from pathlib import Path

from .grader import Result, grade
from .specs import EXERCISES

TEMPLATES = Path(__file__).resolve().parent / "templates"


def template_path(name) -> Path:
    """The shipped template of the exercise ``name``."""
    return TEMPLATES / f"{name}.py"


def init(directory, overwrite=False):
    """Copy every exercise file into ``directory``; returns the paths written.

    Files already there are kept (your work) unless ``overwrite``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for exercise in EXERCISES:
        target = directory / f"{exercise.name}.py"
        if target.exists() and not overwrite:
            continue
        shutil.copyfile(template_path(exercise.name), target)
        written.append(target)
    return written


__all__ = ["init", "grade", "Result", "EXERCISES", "template_path"]
