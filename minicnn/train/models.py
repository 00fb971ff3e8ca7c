"""Which models the trainer can build, and how a model is fitted to a dataset.

The names are those of the model zoo (``minicnn.models.list_models()``) plus
any registered with :func:`register_model` (a user's own network: the
trainer, checkpoints and ``minicnn evaluate`` then handle it like a zoo model,
in any process that registered it).

The trainer builds ``constructor(num_classes=K, in_channels=C, small_input=S,
**model_kwargs)``: ``K`` and ``C`` come from the dataset and ``small_input``
is True for images of at most 32x32 pixels (the zoo's CIFAR-style stem,
which keeps 8x8 digits from being pooled away).
"""
import functools

__all__ = ["register_model", "available_models", "build_model", "model_kwargs_for"]

_REGISTERED = {}


def register_model(name: str, constructor) -> None:
    """Make ``constructor(**kwargs) -> Module`` trainable as ``--model name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"register_model: name must be a non-empty string, got {name!r}")
    if not callable(constructor):
        raise TypeError(f"register_model: constructor must be callable, got {constructor!r}")
    _REGISTERED[name] = constructor


def _zoo() -> dict:
    from .. import models

    return {name: functools.partial(models.get_model, name) for name in models.list_models()}


def available_models() -> dict:
    """name -> constructor: the zoo's models, then registered ones."""
    found = _zoo()
    found.update(_REGISTERED)
    return found


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
    models = available_models()
    if name not in models:
        raise ValueError(f"unknown model {name!r}; valid choices: {', '.join(sorted(models))}")
    try:
        return models[name](**kwargs)
    except TypeError as error:
        raise ValueError(f"model {name!r} cannot be built with arguments {kwargs}: "
                         f"{error}") from error
