"""The two diagnostics plots of the README: a deep plain CNN on the bundled digits, trained
with batch norm (healthy) and without it (activations and gradients fade with depth).

    PYTHONPATH=. python benchmarks/diagnostics_digits.py [OUT_FOLDER]

runs ``minicnn train --diagnostics --model benchmarks.diagnostics_digits:plain_cnn`` twice
and copies each run's diagnostics.png to benchmarks/results/diagnostics_{bn,no_bn}.png.
"""
import os
import shutil
import sys

from minicnn import nn

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def plain_cnn(num_classes=10, in_channels=1, small_input=True, depth=10, width=16,
              batch_norm=True):
    """``depth`` 3x3 conv layers (each optionally followed by BN) with ReLU, no skip
    connections, then global average pooling and a linear classifier."""
    layers, channels = [], in_channels
    for _ in range(depth):
        layers.append(nn.Conv2d(channels, width, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU())
        channels = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(width, num_classes))


def main(out="runs/diagnostics"):
    from minicnn.cli import main as minicnn_main

    for name, batch_norm in (("bn", True), ("no_bn", False)):
        folder = os.path.join(out, name)
        status = minicnn_main(["train", "--model", "benchmarks.diagnostics_digits:plain_cnn",
                               "--model-kw", f"batch_norm={str(batch_norm).lower()}",
                               "--epochs", "6", "--diagnostics", "--out", folder, "--overwrite"])
        if status != 0:
            return status
        shutil.copyfile(os.path.join(folder, "diagnostics.png"),
                        os.path.join(RESULTS, f"diagnostics_{name}.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
