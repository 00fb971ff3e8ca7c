"""``weights=PATH`` for every zoo constructor: build the model, then load a weight file into it."""
import functools
import os

__all__ = ["accepts_weights"]

_WEIGHTS_DOC = """

    ``weights`` (None): the path of a weight file loaded into the new model by
    state-dict key (strictly: every key, every shape): a minicnn checkpoint or
    ``.npz``, a ``torch.save`` ``.pth``/``.pt`` (read without PyTorch, see
    :func:`minicnn.load_torch_state_dict`) or a ``.safetensors`` file.
    torchvision's files fit the ImageNet configuration. Nothing is downloaded.
"""


def accepts_weights(builder):
    """Give the zoo constructor ``builder`` a keyword ``weights=None`` (a file path)."""

    @functools.wraps(builder)
    def build(*args, weights=None, **kwargs):
        if weights is not None and not isinstance(weights, (str, os.PathLike)):
            raise TypeError(f"{builder.__name__}: weights must be None or the path of a weight "
                            f"file, got {type(weights).__name__} {weights!r}")
        if weights is not None and not os.path.isfile(weights):  # before the (slow) build
            raise FileNotFoundError(f"{builder.__name__}: weights={weights!r} is not a file; "
                                    f"weights is the path of a weight file (minicnn downloads "
                                    f"nothing)")
        model = builder(*args, **kwargs)
        if weights is not None:
            from ..io.weights import load_weights

            load_weights(model, weights)
        return model

    build.__doc__ = (builder.__doc__ or "").rstrip() + _WEIGHTS_DOC
    return build
