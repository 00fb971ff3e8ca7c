"""``minicnn.models``: whole networks built from :mod:`minicnn.nn.blocks`.

One module per paper family. The ImageNet configurations have torchvision's
module tree, state_dict keys and parameter counts, so torchvision weights
load by name; ``small_input=True``, ``in_channels`` and width options make the
same classes serve 32x32 and 8x8 inputs.

    >>> import minicnn.models as models
    >>> models.list_models()[:3]
    ['densenet121', 'efficientnet_b0', 'mobilenet_v2']
    >>> net = models.get_model("resnet18", num_classes=10)

``register_model(name, constructor)`` adds your own network: ``get_model`` and
``minicnn train --model name`` then build it (the constructor's contract is in
:mod:`minicnn.train.models`).
"""
from . import densenet, efficientnet, mobilenet, resnet, shufflenet
from .densenet import DenseNet, densenet121
from .efficientnet import EfficientNet, efficientnet_b0
from .mobilenet import MobileNetV2, MobileNetV3, mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small
from .resnet import PreActResNet, ResNet, preact_resnet18, preact_resnet50, resnet18, resnet34, resnet50
from .shufflenet import ShuffleNetV2, shufflenet_v2_x0_5, shufflenet_v2_x1_0

_REGISTRY = {}
for _family in (resnet, densenet, mobilenet, efficientnet, shufflenet):
    _REGISTRY.update(_family.MODELS)


_USER_MODELS = {}


def list_models() -> list:
    """The zoo's model names, sorted (:func:`get_model` also accepts registered ones)."""
    return sorted(_REGISTRY)


def register_model(name: str, constructor) -> None:
    """Make ``constructor(num_classes=..., in_channels=..., small_input=..., **kwargs) -> Module``
    buildable as ``get_model(name)`` and trainable as ``minicnn train --model name``."""
    if not isinstance(name, str) or not name or ":" in name:
        raise ValueError(f"register_model: name must be a non-empty string without ':' (kept for "
                         f"package.module:callable), got {name!r}")
    if not callable(constructor):
        raise TypeError(f"register_model: constructor must be callable, got {constructor!r}")
    _USER_MODELS[name] = constructor


def registered_models() -> dict:
    """name -> constructor of the models given to :func:`register_model` in this process."""
    return dict(_USER_MODELS)


def get_model(name: str, **kwargs):
    """Build the model called ``name`` (``num_classes``, ``small_input``, ... as keywords)."""
    constructor = _REGISTRY.get(name) or _USER_MODELS.get(name)
    if constructor is None:
        valid = list_models() + sorted(_USER_MODELS)
        raise ValueError(f"get_model: unknown model {name!r}; valid names: {', '.join(valid)}")
    return constructor(**kwargs)


__all__ = ["list_models", "get_model", "register_model", "registered_models", "DenseNet",
           "densenet121", "EfficientNet", "efficientnet_b0", "MobileNetV2", "MobileNetV3",
           "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "PreActResNet", "ResNet", "preact_resnet18", "preact_resnet50",
           "resnet18", "resnet34", "resnet50", "ShuffleNetV2", "shufflenet_v2_x0_5",
           "shufflenet_v2_x1_0"]
