"""``minicnn train --diagnostics``: what training does inside the network, per layer and epoch.

For every layer with its own parameters (convolutions, linear layers, norms) and every
activation layer, over each epoch's training steps:

* ``act_mean``, ``act_std``: mean and standard deviation of the layer's output, over all
  its elements in all the epoch's forward passes (exact: running sums of x and x^2);
* ``zero_fraction`` (ReLU-like layers, which output exact zeros on a half-line): the share
  of output elements that are 0. Near 1 means dead units;
* ``grad_norm`` (layers with parameters): the L2 norm of the gradient of the layer's
  parameters after ``backward`` (before any clipping), averaged over the epoch's steps;
* ``update_ratio`` (layers with parameters): ``||theta_after - theta_before|| / ||theta_before||``
  of one optimizer step, averaged over the epoch's steps. Around 1e-3 is the usual healthy
  range (CS231n); 1e-1 and up means the steps are as big as the weights (lr too high), 1e-5
  and below that the layer barely learns.

:class:`Diagnostics` hooks the model (forward hooks, active in training mode only) and is
called by the trainer after ``backward`` and after ``optimizer.step()``; at the end of each
epoch it writes ``diagnostics.csv`` (one row per epoch and layer) and ``diagnostics.png``
(one heatmap per quantity, layers x epochs) with the trainer's atomic writer.
"""
import csv
import math
import os

import numpy as np

from ..backend import xp_of
from ..nn import activation
from .metrics import save_png, write_rows_csv

DIAGNOSTICS_CSV, DIAGNOSTICS_PNG = "diagnostics.csv", "diagnostics.png"
COLUMNS = ("epoch", "layer", "type", "act_mean", "act_std", "zero_fraction", "grad_norm",
           "update_ratio")
# Activations whose output is exactly 0 on a half-line, so counting zeros counts dead units.
RELU_LIKE = (activation.ReLU, activation.ReLU6, activation.Hardswish, activation.Hardsigmoid)
# The heatmaps: (column, title, log10 scale)
PANELS = (("act_mean", "activation mean", False), ("act_std", "activation std", False),
          ("zero_fraction", "fraction of zeros (ReLU-like)", False),
          ("grad_norm", "log10 gradient norm", True),
          ("update_ratio", "log10 update / weight", True))


def tracked_layers(model):
    """``(name, module)`` of the leaf layers that hold parameters or are activations."""
    layers = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue
        is_activation = type(module).__module__ == activation.__name__  # nn.ReLU, nn.GELU, ...
        if is_activation or next(iter(module.parameters(recurse=False)), None) is not None:
            layers.append((name or type(module).__name__, module))
    return layers


class _Layer:
    """Running sums of one layer over the current epoch."""

    def __init__(self, name, module):
        self.name, self.module = name, module
        self.parameters = list(module.parameters(recurse=False))
        self.relu_like = isinstance(module, RELU_LIKE)
        self.reset()

    def reset(self):
        self.count = self.total = self.squares = self.zeros = 0.0
        self.grad_norms, self.update_ratios, self.before = [], [], None

    def see_output(self, output):
        data = output.data
        xp = xp_of(data)
        self.count += data.size
        self.total += float(xp.sum(data, dtype=xp.float64))
        self.squares += float(xp.sum(xp.square(data, dtype=xp.float64)))
        if self.relu_like:
            self.zeros += float(xp.count_nonzero(data == 0))

    def row(self, epoch):
        mean = self.total / self.count if self.count else math.nan
        variance = max(self.squares / self.count - mean * mean, 0.0) if self.count else math.nan
        return {"epoch": epoch, "layer": self.name, "type": type(self.module).__name__,
                "act_mean": mean, "act_std": math.sqrt(variance),
                "zero_fraction": (self.zeros / self.count if self.relu_like and self.count
                                  else None),
                "grad_norm": _mean(self.grad_norms) if self.parameters else None,
                "update_ratio": _mean(self.update_ratios) if self.parameters else None}


def _mean(values):
    return sum(values) / len(values) if values else math.nan


def _norm(arrays):
    return math.sqrt(sum(float(xp_of(a).sum(xp_of(a).square(a, dtype=xp_of(a).float64)))
                         for a in arrays))


class Diagnostics:
    """Per-layer statistics of a training run; see the module docstring.

    ``after_backward()`` records the gradient norms and keeps a copy of the parameters,
    ``after_step()`` the relative size of the update; ``end_epoch(epoch, folder)`` turns the
    epoch's sums into rows and rewrites the CSV and the PNG. ``remove()`` unhooks the model.
    """

    def __init__(self, model, history=None):
        self.layers = [_Layer(name, module) for name, module in tracked_layers(model)]
        self.history = list(history or [])
        self._handles = [layer.module.register_forward_hook(self._hook(layer))
                         for layer in self.layers]

    @classmethod
    def for_run(cls, model, folder, epochs_done):
        """Hook ``model``; with ``folder`` (a resumed run), keep its CSV's first ``epochs_done``
        epochs."""
        path = os.path.join(folder, DIAGNOSTICS_CSV) if folder is not None else None
        history = ([row for row in read_csv(path) if row["epoch"] <= epochs_done]
                   if path is not None and os.path.isfile(path) else [])
        return cls(model, history)

    @staticmethod
    def _hook(layer):
        def record(module, inputs, output):
            if module.training:  # the test evaluation is not part of the epoch's statistics
                layer.see_output(output)
        return record

    def after_backward(self):
        for layer in self.layers:
            if layer.parameters:
                grads = [p.grad for p in layer.parameters if p.grad is not None]
                layer.grad_norms.append(_norm(grads))
                layer.before = [p.data.copy() for p in layer.parameters]

    def after_step(self):
        for layer in self.layers:
            if layer.before is not None:
                change = _norm([p.data - old for p, old in zip(layer.parameters, layer.before)])
                size = _norm(layer.before)
                layer.update_ratios.append(change / size if size else math.nan)
                layer.before = None

    def end_epoch(self, epoch, folder, title=""):
        for layer in self.layers:
            self.history.append(layer.row(epoch))
            layer.reset()
        write_csv(os.path.join(folder, DIAGNOSTICS_CSV), self.history)
        plot(os.path.join(folder, DIAGNOSTICS_PNG), self.history, title)

    def remove(self):
        for handle in self._handles:
            handle.remove()


def write_csv(path, rows):
    write_rows_csv(path, COLUMNS, rows)


def read_csv(path):
    """The rows of a diagnostics.csv (numbers as floats, empty cells as None)."""
    with open(path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    text_columns = ("layer", "type")
    return [{k: (v if k in text_columns else int(v) if k == "epoch" else
                 float(v) if v != "" else None) for k, v in row.items()} for row in rows]


def plot(path, rows, title=""):
    """One heatmap per quantity, layers (rows, in model order) x epochs; False without matplotlib."""
    try:
        from matplotlib import colormaps
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return False

    layers = list(dict.fromkeys(row["layer"] for row in rows))
    epochs = sorted({row["epoch"] for row in rows})
    where = {(row["layer"], row["epoch"]): row for row in rows}
    figure = Figure(figsize=(3.0 * len(PANELS) + 1, 1.2 + 0.22 * len(layers)), dpi=72)
    FigureCanvasAgg(figure)
    axes_list = figure.subplots(1, len(PANELS), sharey=True)
    for axes, (column, label, log) in zip(axes_list, PANELS):
        grid = np.full((len(layers), len(epochs)), np.nan)
        for i, layer in enumerate(layers):
            for j, epoch in enumerate(epochs):
                value = where.get((layer, epoch), {}).get(column)
                if value is not None and math.isfinite(value) and not (log and value <= 0):
                    grid[i, j] = math.log10(value) if log else value
        # a fraction keeps its 0..1 scale, so a dying layer reads the same in any run
        limits = (0.0, 1.0) if column == "zero_fraction" else (None, None)
        image = axes.imshow(np.ma.masked_invalid(grid), aspect="auto", interpolation="nearest",
                            cmap=colormaps["viridis"].with_extremes(bad="#eeeeee"), vmin=limits[0], vmax=limits[1],
                            extent=(epochs[0] - 0.5, epochs[-1] + 0.5, len(layers) - 0.5, -0.5))
        figure.colorbar(image, ax=axes, fraction=0.08, pad=0.02)
        axes.set_title(label, fontsize=9)
        axes.set_xlabel("epoch", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    types = {row["layer"]: row["type"] for row in rows}
    axes_list[0].set_yticks(range(len(layers)))
    axes_list[0].set_yticklabels([f"{layer} {types[layer]}" for layer in layers], fontsize=6)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    save_png(path, figure)
    return True
