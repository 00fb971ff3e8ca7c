"""A tiny CNN registered as ``tiny_cnn`` so the training tests run in seconds.

Importable from a subprocess (``python -c "import tests.train._tiny"``) for the
Ctrl-C test.
"""
from minicnn import nn
from minicnn.train import register_model


def tiny_cnn(num_classes=10, in_channels=1, small_input=True, width=8):
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1, bias=False), nn.BatchNorm2d(2 * width),
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, num_classes))


def tiny_mlp(num_classes=10, in_channels=1, small_input=True):
    """Another architecture, for the "checkpoint from another model" test."""
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 64, 32), nn.ReLU(),
                         nn.Linear(32, num_classes))


register_model("tiny_cnn", tiny_cnn)
register_model("tiny_mlp", tiny_mlp)
