"""Which models the trainer can build, and how a model is fitted to a dataset.

A model is named one of three ways:

* a model of the zoo (``minicnn.models.list_models()``), e.g. ``resnet18``;
* a name given to :func:`register_model` (your own network, in a process that
  registered it);
* ``package.module:callable`` (``--model mynets:small_cnn``): the trainer
  imports ``package.module`` (from the current folder or ``sys.path``) and calls
  ``callable``, a function or a class.

The constructor contract: the trainer calls ``constructor(num_classes=K,
in_channels=C, small_input=S, **model_kwargs)`` and expects a
``minicnn.nn.Module`` whose forward maps images ``(N, C, H, W)`` to logits
``(N, K)``. ``K`` and ``C`` come from the dataset, ``small_input`` is True for
images of at most 32x32 pixels (the zoo's CIFAR-style stem, which keeps 8x8
digits from being pooled away; a constructor may ignore it but must accept
it), and ``model_kwargs`` are the ``--model-kw KEY=VALUE`` pairs.

Checkpoints record the model's name and, for a registered model, where its
constructor lives (``module:qualname``, when it is importable), so
``minicnn evaluate`` and ``--resume`` rebuild it in a new process. Rebuilding
imports that module: code installed on this machine, never code stored in the
checkpoint.
"""
import functools
import importlib
import os
import sys

from .. import models as _models
from ..models import register_model

__all__ = ["register_model", "available_models", "build_model", "model_kwargs_for",
           "constructor_for", "constructor_path", "register_recorded"]

def available_models() -> dict:
    """name -> constructor: the zoo's models, then registered ones."""
    found = {name: functools.partial(_models.get_model, name) for name in _models.list_models()}
    found.update(_models.registered_models())
    return found


def _import_callable(spec: str):
    """``"package.module:attr.attr"`` -> that object (a ValueError saying what failed)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"--model {spec!r}: expected package.module:callable")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())  # the `minicnn` script, unlike `python -m`, lacks it
    try:
        found = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"--model {spec!r}: cannot import {module_name} ({error})") from error
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise ValueError(f"--model {spec!r}: {module_name} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not callable(found):
        raise ValueError(f"--model {spec!r}: {attribute} is not callable")
    return found


def constructor_for(name: str):
    """The constructor of the model ``name`` (zoo, registered or ``module:callable``)."""
    if not isinstance(name, str):
        raise ValueError(f"--model must be a model name, got {name!r}")
    if ":" in name:
        return _import_callable(name)
    models = available_models()
    if name not in models:
        raise ValueError(f"--model: unknown choice {name!r}; valid choices: "
                         f"{', '.join(sorted(models))} (or package.module:callable)")
    return models[name]


def constructor_path(name: str):
    """Where the constructor of model ``name`` can be imported from (``module:qualname``), for
    the checkpoint; None for zoo models and constructors that cannot be imported by name."""
    if ":" in name:
        return name
    constructor = _models.registered_models().get(name)
    module = getattr(constructor, "__module__", None)
    qualname = getattr(constructor, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    return f"{module}:{qualname}"


def register_recorded(name: str, path) -> None:
    """Before rebuilding a checkpoint's model: a registered model unknown in this process is
    registered again from the constructor ``path`` its checkpoint recorded."""
    if not isinstance(name, str) or ":" in name or name in available_models() or not path:
        return
    register_model(name, _import_callable(path))


def model_kwargs_for(image_shape, num_classes: int, extra=None) -> dict:
    """The constructor arguments for a dataset's images: ``num_classes``, ``in_channels``,
    ``small_input`` (images of at most 32x32), then ``extra`` (which wins)."""
    channels, height, width = image_shape
    kwargs = dict(num_classes=int(num_classes), in_channels=int(channels),
                  small_input=max(height, width) <= 32)
    kwargs.update(extra or {})
    return kwargs


def build_model(name: str, kwargs: dict):
    """The model ``name`` built with ``kwargs``; a clear error for an unknown name or argument."""
    constructor = constructor_for(name)
    try:
        return constructor(**kwargs)
    except TypeError as error:
        raise ValueError(f"model {name!r} cannot be built with arguments {kwargs}: "
                         f"{error}") from error
