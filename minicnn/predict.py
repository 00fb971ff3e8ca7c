"""Classifying images with a zoo model and a weight file (``minicnn predict``)."""
import numpy as np

from .autograd import no_grad
from .data.imagenet import imagenet_classes, imagenet_eval_transform, load_image
from .tensor import Tensor

__all__ = ["predict", "format_predictions"]


def predict(model, images, topk=5, transform=None):
    """The ``topk`` most probable ImageNet classes of each image.

    ``images``: paths of image files, or uint8 arrays (3, H, W). Each is
    preprocessed by ``transform`` (default :func:`imagenet_eval_transform`) and
    classified by ``model`` in eval mode. Returns, per image, a list of
    ``(class index, class name, probability)``, most probable first; the
    probabilities are the softmax of the model's 1000 outputs.
    """
    if isinstance(topk, bool) or not isinstance(topk, (int, np.integer)) or not 1 <= topk <= 1000:
        raise ValueError(f"predict: topk must be an int from 1 to 1000, got {topk!r}")
    transform = transform or imagenet_eval_transform()
    names = imagenet_classes()
    batch = np.stack([transform(load_image(image) if not isinstance(image, np.ndarray) else image)
                      for image in images])
    model.eval()
    with no_grad():
        logits = model(Tensor(batch)).numpy().astype(np.float64)
    if logits.shape[1:] != (len(names),):
        raise ValueError(f"predict: the model gives {logits.shape[1:]} outputs per image; "
                         f"ImageNet classes need {len(names)}")
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    # A stable sort on -p: equal probabilities keep the lower class index first.
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :topk]
    return [[(int(k), names[k], float(p[k])) for k in row] for row, p in zip(order, probabilities)]


def format_predictions(label, ranked) -> str:
    """One image's ranking as text: the label, then one ``rank. name (index) probability`` line each."""
    lines = [label]
    lines += [f"  {rank}. {name} ({index})  {100 * probability:.2f}%"
              for rank, (index, name, probability) in enumerate(ranked, 1)]
    return "\n".join(lines)
