"""``minicnn.models``: whole networks built from :mod:`minicnn.nn.blocks`.

One module per paper family. The ImageNet configurations have torchvision's
module tree, state_dict keys and parameter counts, so torchvision weights
load by name; ``small_input=True``, ``in_channels`` and width options make the
same classes serve 32x32 and 8x8 inputs.

    >>> import minicnn.models as models
    >>> models.list_models()[:3]
    ['densenet121', 'efficientnet_b0', 'mobilenet_v2']
    >>> net = models.get_model("resnet18", num_classes=10)
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


def list_models() -> list:
    """The names :func:`get_model` accepts, sorted."""
    return sorted(_REGISTRY)


def get_model(name: str, **kwargs):
    """Build the model called ``name`` (``num_classes``, ``small_input``, ... as keywords)."""
    if name not in _REGISTRY:
        raise ValueError(f"get_model: unknown model {name!r}; valid names: {', '.join(list_models())}")
    return _REGISTRY[name](**kwargs)


__all__ = ["list_models", "get_model", "DenseNet", "densenet121", "EfficientNet",
           "efficientnet_b0", "MobileNetV2", "MobileNetV3", "mobilenet_v2", "mobilenet_v3_small",
           "mobilenet_v3_large", "PreActResNet", "ResNet", "preact_resnet18", "preact_resnet50",
           "resnet18", "resnet34", "resnet50", "ShuffleNetV2", "shufflenet_v2_x0_5",
           "shufflenet_v2_x1_0"]
