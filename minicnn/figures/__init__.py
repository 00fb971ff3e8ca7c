"""Pictures on the operator cards, each computed by running minicnn's own operators.

Every :class:`Picture` has a ``compute`` function that calls the engine (forward passes and
gradients read off backward passes) and returns the quantities it draws as NumPy arrays, and a
``draw`` function that only plots those arrays (matplotlib, Agg canvas). So the pictures are
correct by construction: a grouped conv's channel map is the gradient of one output channel
w.r.t. the input channels, a pooling window is the pooling gradient, and so on.

* ``python -m minicnn.cards --write`` writes ``docs/ops/figures/<name>.png`` and
  ``docs/ops/figures/manifest.json`` (a SHA-256 of every drawn array, rounded, with its shape)
  and links the PNGs from the cards; a test recomputes the manifest and compares.
* ``minicnn explain OP --plot FILE.png [--shape NAME=VALUE,...]`` draws the first picture of
  OP's card (the ``--shape`` values override the picture's parameters).
"""
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import convolution as _conv
from . import curves as _curves
from . import layers as _layers


@dataclass(frozen=True)
class Picture:
    name: str        # file stem in docs/ops/figures
    card: str        # the card module it belongs to (minicnn.cards.MODULES)
    caption: str
    compute: object  # (**params) -> {label: ndarray}, by engine calls
    draw: object     # (matplotlib Figure, quantities, **params) -> None
    params: dict = field(default_factory=dict)
    size: tuple = (7.0, 3.0)  # inches, at DPI


DPI = 80

PICTURES = (
    Picture("conv2d_window", "convolution",
            "The input pixels one output element of conv2d reads on a padded, strided, dilated "
            "input, read off the gradient of that element; the number on a pixel is the kernel "
            "tap on it.",
            _conv.conv_window, _conv.draw_conv_window,
            dict(H=5, W=5, k=3, s=2, p=1, d=2), (6.0, 3.4)),
    Picture("conv2d_groups", "convolution",
            "Dense, grouped and depthwise conv2d: which input channels reach each output channel, "
            "read off the gradient of each output channel w.r.t. the input.",
            _conv.connectivity, _conv.draw_connectivity, dict(C=8, C_out=8, g=4), (7.0, 2.6)),
    Picture("conv2d_im2col", "convolution",
            "conv2d as unfold, matrix product and fold, with the real matrices and their shapes.",
            _conv.im2col, _conv.draw_im2col, dict(C=2, H=4, W=4, C_out=3, k=3, s=1, p=1),
            (8.0, 2.6)),
    Picture("receptive_field_resnet18", "convolution",
            "Receptive field of the centre output pixel of ResNet-18 (width 8, eval mode, 64x64 "
            "input) after each stage: input pixels with a nonzero gradient of that pixel.",
            _conv.receptive_field, _conv.draw_receptive_field,
            dict(model="resnet18", size=64), (8.0, 1.9)),
    Picture("receptive_field_mobilenet_v2", "convolution",
            "The same for MobileNetV2 (width 0.25, 32x32 input), block by block.",
            _conv.receptive_field, _conv.draw_receptive_field,
            dict(model="mobilenet_v2", size=32), (7.0, 2.0)),
    Picture("fold_overlap", "fold",
            "fold(unfold(ones)): how many sliding blocks cover each pixel (fold sums overlaps), "
            "next to the unfolded columns.", _curves.fold_overlap, _curves.draw_maps,
            dict(H=5, W=5, k=3, s=1, p=0), (6.0, 2.6)),
    Picture("channel_shuffle", "channel_shuffle",
            "channel_shuffle as a permutation, computed by running it on labelled channels.",
            _layers.channel_shuffle, _layers.draw_channel_shuffle, dict(C=12, g=3), (4.0, 3.4)),
    Picture("pixel_shuffle", "resampling",
            "pixel_shuffle run on labelled elements: where each input element lands.",
            _layers.pixel_shuffle, _layers.draw_pixel_shuffle, dict(C=1, r=2, H=2, W=2),
            (3.4, 3.4)),
    Picture("interpolate_weights", "resampling",
            "The input pixels behind output pixel (1, 2) of a 2x upsampling, with their weights: "
            "its gradient.", _curves.interpolate_weights, _curves.draw_maps,
            dict(H=3, W=3, scale=2), (6.5, 2.4)),
    Picture("batch_norm_stats", "batch_norm",
            "Per-channel mean and std before and after batch_norm: training (batch statistics) "
            "vs eval with the running statistics after 1 and after 20 steps.",
            _layers.batch_norm, _layers.draw_batch_norm, dict(N=16, C=4, steps=20), (7.0, 2.6)),
    Picture("norm_groups", "per_sample_norm",
            "Which samples and channels share statistics with one element, read off its gradient: "
            "batch, layer, group and instance norm.",
            _layers.norm_groups, _layers.draw_norm_groups, dict(N=2, C=6, groups=3), (7.0, 2.0)),
    Picture("se_gates", "squeeze_excitation",
            "SE gate per channel for a digit image (channels scaled 0.25..2): output / input.",
            _layers.se_gates, _layers.draw_se_gates, dict(C=8, S=2), (5.0, 2.8)),
    Picture("activations", "activations",
            "ReLU6, hardsigmoid, hardswish against SiLU (swish) and GELU, and their derivatives as "
            "autograd computes them; kinks where the derivative jumps.",
            _curves.activations, _curves.draw_activations, {}, (7.0, 2.8)),
    Picture("pooling_windows", "pooling",
            "Pooling windows on a padded input read off gradients, without and with ceil_mode: "
            "the last avg_pool2d output's window, and how often max_pool2d picks each pixel.",
            _layers.pooling, _layers.draw_pooling,
            dict(H=6, W=6, k=3, s=2, p=1), (8.0, 2.3)),
    Picture("softmax_cross_entropy", "softmax_cross_entropy",
            "softmax at temperatures 0.5, 1, 2 and the cross-entropy gradient autograd gives "
            "(softmax - one_hot).", _curves.softmax_cross_entropy, _curves.draw_bars,
            dict(K=5), (5.0, 2.8)),
    Picture("losses", "losses", "Losses of a residual and their autograd gradients.",
            _curves.losses, _curves.draw_pairs, {}, (7.0, 2.8)),
    Picture("linear_weight_grad", "linear",
            "d y[0, j] / d W for linear: row j is x, the rest zero.",
            _curves.linear, _curves.draw_maps, dict(in_features=5, out_features=4), (5.0, 2.4)),
    Picture("elementwise", "elementwise",
            "exp, log, sqrt, abs, clamp and their autograd derivatives.",
            _curves.elementwise, _curves.draw_pairs, {}, (7.0, 2.8)),
    Picture("reductions", "reduce", "The gradient each reduction sends back to its inputs.",
            _curves.reductions, _curves.draw_bars, dict(n=6), (5.0, 2.8)),
    Picture("shape_moves", "shape",
            "permute, transpose and cat run on labelled elements: where each element goes.",
            _curves.shape_moves, _curves.draw_maps, dict(C=2, H=2, W=3), (7.5, 2.6)),
    Picture("select_gradients", "select",
            "Which inputs topk, sort and gather send their gradient to.",
            _curves.select, _curves.draw_bars, dict(n=6, k=2), (5.0, 2.8)),
    Picture("dropout_masks", "dropout",
            "dropout and dropout2d masks (p=0.5) read off the gradient: 0 or 1/(1-p); dropout2d "
            "drops whole channels.", _curves.dropout, _curves.draw_maps,
            dict(C=4, H=6, W=6, p=0.5), (7.0, 2.0)),
)


def by_name():
    return {picture.name: picture for picture in PICTURES}


def for_card(module):
    """The pictures of one card module, in order."""
    return [picture for picture in PICTURES if picture.card == module]


def pick(module, op):
    """The picture ``minicnn explain OP --plot`` draws: the card's picture named after ``op``
    if there is one (``pixel_shuffle``, ``activations``...), else the card's first."""
    pictures = for_card(module)
    named = [p for p in pictures if p.name == op or p.name.startswith(f"{op}_")]
    return (named or pictures)[0]


def parse_params(picture, texts):
    """``["k=3,s=2", "d=1"]`` -> ``{"k": 3, "s": 2, "d": 1}``, each value of the type of the
    picture's default for it; ValueError naming the parameter otherwise."""
    values = {}
    for item in " ".join(texts).replace(",", " ").split():
        name, sep, value = item.partition("=")
        if not sep or name not in picture.params:
            raise ValueError(f"picture {picture.name!r}: expected NAME=VALUE with NAME one of "
                             f"{sorted(picture.params) or 'none (it takes no parameters)'}, "
                             f"got {item!r}")
        kind = type(picture.params[name])
        try:
            values[name] = kind(value)
        except ValueError:
            raise ValueError(f"picture {picture.name!r}: {name} must be {kind.__name__}, "
                             f"got {value!r}") from None
    return values


def compute(picture, **overrides):
    unknown = set(overrides) - set(picture.params)
    if unknown:
        raise ValueError(f"picture {picture.name!r}: unknown parameter(s) {sorted(unknown)}; "
                         f"it takes {sorted(picture.params) or 'none'}")
    params = {**picture.params, **overrides}
    quantities = picture.compute(**params)
    return {k: np.asarray(v, dtype=np.float64) for k, v in quantities.items()}, params


def render(picture, path, **overrides):
    """Compute ``picture`` (with parameter ``overrides``) and write it as a PNG at ``path``;
    returns the quantities drawn."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    quantities, params = compute(picture, **overrides)
    fig = Figure(figsize=picture.size, dpi=DPI)
    FigureCanvasAgg(fig)
    picture.draw(fig, quantities, **params)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    return quantities


def fingerprint(quantities):
    """``{label: {"shape": [...], "sha256": ...}}`` of arrays rounded to 6 decimals (so the
    manifest does not depend on the last bits of a float), ``-0.0`` folded into ``0.0``."""
    out = {}
    for label, array in quantities.items():
        rounded = np.ascontiguousarray(np.round(array, 6) + 0.0)
        out[label] = {"shape": list(array.shape),
                      "sha256": hashlib.sha256(rounded.tobytes()).hexdigest()[:16]}
    return out


def manifest_entry(picture, quantities):
    return {"card": picture.card, "caption": picture.caption, "params": picture.params,
            "quantities": fingerprint(quantities)}


def write_figures(directory):
    """Write every picture's PNG and ``manifest.json`` into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for picture in PICTURES:
        quantities = render(picture, directory / f"{picture.name}.png")
        manifest[picture.name] = manifest_entry(picture, quantities)
    (directory / "manifest.json").write_text(manifest_text(manifest), encoding="utf-8")


def manifest_text(manifest):
    return json.dumps(manifest, indent=1, sort_keys=True) + "\n"


def stale_manifest(directory):
    """True when ``directory/manifest.json`` differs from what the pictures compute now."""
    path = Path(directory) / "manifest.json"
    return not path.exists() or path.read_text(encoding="utf-8") != manifest_text(
        current_manifest())


def current_manifest():
    """What ``manifest.json`` should hold now: every picture recomputed (no drawing)."""
    return {p.name: manifest_entry(p, compute(p)[0]) for p in PICTURES}


__all__ = ["Picture", "PICTURES", "by_name", "for_card", "pick", "parse_params", "compute",
           "render", "fingerprint",
           "write_figures", "current_manifest", "stale_manifest", "manifest_text"]
