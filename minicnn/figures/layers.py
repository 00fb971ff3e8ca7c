"""Pictures of the layers that move or rescale channels and pixels: shuffles, pooling windows,
normalisation statistics, SE gates; each quantity is an output or a gradient of minicnn."""
import numpy as np

from ._engine import F, input_gradient, labelled, tensor


def channel_shuffle(C=12, g=3):
    """Output channel ``o`` of ``channel_shuffle`` holds input channel ``source[o]``: read off
    the output of the operator run on channels labelled 0..C-1."""
    out = F.channel_shuffle(tensor(labelled((1, C, 1, 1))), g)
    source = np.asarray(out.data).reshape(C)
    return {"source": source, "permutation": (source[:, None] == np.arange(C)).astype(float)}


def draw_channel_shuffle(fig, q, g=3, **_):
    source = q["source"].astype(int)
    C = source.size
    ax = fig.add_subplot(1, 1, 1)
    for o, i in enumerate(source):
        ax.plot([0, 1], [i, o], color=f"C{i * g // C}", linewidth=1.5)
    ax.set_yticks(range(C))
    ax.set_xticks([0, 1], ["input channel", "output channel"])
    ax.invert_yaxis()
    ax.set_title(f"channel_shuffle(groups={g}) run on channels\nlabelled 0..{C - 1} "
                 "(colour = input group)", fontsize=8)


def pixel_shuffle(C=1, r=2, H=2, W=2):
    """Where each input element lands in ``pixel_shuffle``'s output, and where it comes from
    in ``pixel_unshuffle``: the operators run on labelled elements."""
    x = labelled((1, C * r * r, H, W))
    out = np.asarray(F.pixel_shuffle(tensor(x), r).data)[0]
    back = np.asarray(F.pixel_unshuffle(tensor(out[None]), r).data)
    return {"shuffled": out, "source_channel": out // (H * W),
            "round_trip_equal": np.array(float(np.array_equal(back, x)))}


def draw_pixel_shuffle(fig, q, r=2, **_):
    out, channel = q["shuffled"][0], q["source_channel"][0]
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(channel, cmap="tab10", vmin=0, vmax=9)
    for (i, j), v in np.ndenumerate(out):
        ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"pixel_shuffle(r={r}) of labelled input elements\ncolour = input channel; "
                 f"pixel_unshuffle undoes it: {bool(q['round_trip_equal'])}", fontsize=8)


def pooling(H=6, W=6, k=3, s=2, p=1):
    """The windows of max_pool2d and avg_pool2d with ceil_mode, read off gradients: for each
    the last output element, the input pixels its avg_pool2d gradient reaches (1/divisor on
    the window); for max_pool2d, the gradient of the summed output: how many windows pick each
    pixel as their maximum."""
    x = np.random.default_rng(1).standard_normal((1, 1, H, W))
    result = {}
    for ceil in (False, True):
        out = F.avg_pool2d(tensor(x), k, s, p, ceil_mode=ceil)
        last = (0, 0, out.shape[2] - 1, out.shape[3] - 1)
        result[f"avg ceil_mode={ceil}"] = input_gradient(
            lambda t, c=ceil: F.avg_pool2d(t, k, s, p, ceil_mode=c), x, last)[0, 0]
        result[f"max ceil_mode={ceil}"] = input_gradient(
            lambda t, c=ceil: F.max_pool2d(t, k, s, p, ceil_mode=c), x, (0, 0))[0, 0]
    return result


def draw_pooling(fig, q, k=3, s=2, p=1, **_):
    for i, (label, grad) in enumerate(q.items()):
        ax = fig.add_subplot(1, len(q), i + 1)
        ax.imshow(grad, cmap="Purples", vmin=0, vmax=max(grad.max(), 1e-12) * 1.3)
        for (a, b), v in np.ndenumerate(grad):
            if v:
                ax.text(b, a, f"{v:.2g}", ha="center", va="center", fontsize=6)
        which = "last output" if label.startswith("avg") else "sum(output)"
        ax.set_title(f"{label}\nd {which} / d input", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"k={k}, stride {s}, padding {p}: avg divides by the padded window "
                 "(count_include_pad), max routes to one pixel", fontsize=8)


def batch_norm(N=16, C=4, steps=20):
    """Per-channel mean and std of the input, of batch_norm's output in training (batch
    statistics) and in eval (running statistics, after 1 and after ``steps`` training steps)."""
    rng = np.random.default_rng(0)
    shift, scale = np.arange(C) * 2.0 - 3, np.arange(1, C + 1) * 1.5
    batches = [rng.standard_normal((N, C, 2, 2)) * scale[:, None, None] + shift[:, None, None]
               for _ in range(steps)]
    mean, var = tensor(np.zeros(C)), tensor(np.ones(C))
    result = {"input": batches[0]}
    for step, x in enumerate(batches):
        train = F.batch_norm(tensor(x), mean, var, training=True)
        if step == 0:
            result["train"] = np.asarray(train.data)
            result["eval after 1 step"] = np.asarray(F.batch_norm(tensor(x), mean, var).data)
    final = F.batch_norm(tensor(batches[0]), mean, var)
    result[f"eval after {steps} steps"] = np.asarray(final.data)
    return {f"{k} {stat}": getattr(v, stat)(axis=(0, 2, 3))
            for k, v in result.items() for stat in ("mean", "std")}


def draw_batch_norm(fig, q, **_):
    labels = list(dict.fromkeys(k.rsplit(" ", 1)[0] for k in q))  # in order, once each
    for i, stat in enumerate(("mean", "std")):
        ax = fig.add_subplot(1, 2, i + 1)
        width = 0.8 / len(labels)
        for j, label in enumerate(labels):
            values = q[f"{label} {stat}"]
            ax.bar(np.arange(values.size) + j * width, values, width, label=label)
        ax.set_xlabel("channel", fontsize=8)
        ax.set_title(f"per-channel {stat}", fontsize=8)
        if i == 0:
            ax.legend(fontsize=6)


def norm_groups(N=2, C=6, groups=3):
    """Which (sample, channel) pairs share statistics with element (0, 0): the gradient of one
    output element w.r.t. the input is nonzero exactly on the elements its mean/variance used."""
    x = np.random.default_rng(0).standard_normal((N, C, 2, 2))
    forwards = {"batch_norm (train)": lambda t: F.batch_norm(t, None, None, training=True),
                "layer_norm": lambda t: F.layer_norm(t, (C, 2, 2)),
                f"group_norm ({groups} groups)": lambda t: F.group_norm(t, groups),
                "instance_norm": lambda t: F.instance_norm(t)}
    return {name: (np.abs(input_gradient(fn, x, (0, 0, 0, 0))).sum(axis=(2, 3)) > 0).astype(float)
            for name, fn in forwards.items()}


def draw_norm_groups(fig, q, **_):
    for i, (label, mask) in enumerate(q.items()):
        ax = fig.add_subplot(1, len(q), i + 1)
        ax.imshow(mask, cmap="Blues", vmin=0, vmax=1.2)
        ax.set_title(label, fontsize=7)
        ax.set_xlabel("channel", fontsize=7)
        ax.set_ylabel("sample", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("elements whose gradient reaches output (sample 0, channel 0, pixel 0)",
                 fontsize=8)


def se_gates(C=8, S=2):
    """The SE gate per channel for a real input (a digit from minicnn's bundled data set, its
    channels scaled 0.25..2): the gate is output / input on each channel."""
    import minicnn
    from .. import nn
    from ..data.datasets import _load_digits_arrays

    minicnn.manual_seed(0)
    image = np.asarray(_load_digits_arrays()[0][0], dtype=np.float64).reshape(1, 1, 8, 8)
    x = image * np.linspace(0.25, 2, C)[None, :, None, None]
    # float64 so the manifest's 6 rounded decimals do not depend on the BLAS's summation order
    se = nn.SqueezeExcitation(C, S).double()
    out = np.asarray(se(tensor(x)).data)
    return {"channel_mean": x.mean(axis=(0, 2, 3)), "gate": out.sum(axis=(0, 2, 3)) / x.sum(
        axis=(0, 2, 3))}


def draw_se_gates(fig, q, **_):
    ax = fig.add_subplot(1, 1, 1)
    C = q["gate"].size
    ax.bar(np.arange(C), q["gate"], color="C1", label="gate sigmoid(fc2(relu(fc1(pool(x)))))")
    ax.plot(np.arange(C), q["channel_mean"] / q["channel_mean"].max(), "k.--",
            label="channel mean (scaled)")
    ax.set_ylim(0, 1)
    ax.set_xlabel("channel", fontsize=8)
    ax.legend(fontsize=7)
    ax.set_title("SqueezeExcitation (random init) on a digit: one gate per channel", fontsize=8)
