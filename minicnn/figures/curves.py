"""Pictures of elementwise functions, losses and reductions: values and the gradients autograd
computes for them, plus the index-moving operators run on labelled tensors."""
import numpy as np

from ._engine import F, curve, input_gradient, labelled, tensor

GRID = np.linspace(-6, 6, 241)  # step 0.05: holds the kinks at -3, 0, 3, 6 exactly


def activations():
    """ReLU6, hardsigmoid, hardswish against SiLU (swish) and GELU: values and autograd
    derivatives on a grid, kinks where the derivative jumps."""
    fns = {"relu6": F.relu6, "hardsigmoid": F.hardsigmoid, "hardswish": F.hardswish,
           "silu": F.silu, "gelu": F.gelu}
    result = {"x": GRID}
    for name, fn in fns.items():
        result[name], result[f"d {name}"] = curve(fn, GRID)
    return result


def kinks(x, derivative, jump=0.1):
    """Where the derivative jumps by more than ``jump`` between neighbouring grid points (a
    kink): the midpoints of those grid steps."""
    step = np.abs(np.diff(derivative)) > jump
    return (x[1:][step] + x[:-1][step]) / 2


def draw_activations(fig, q, **_):
    x = q["x"]
    names = [k for k in q if k != "x" and not k.startswith("d ")]
    top, bottom = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, name in enumerate(names):
        top.plot(x, q[name], color=f"C{i}", label=name)
        bottom.plot(x, q[f"d {name}"], color=f"C{i}", label=f"d {name}/dx")
        for k in kinks(x, q[f"d {name}"]):
            bottom.axvline(k, color=f"C{i}", linestyle=":", linewidth=0.8)
            top.plot([k], [np.interp(k, x, q[name])], "o", color=f"C{i}", markersize=3)
    top.set_title("f(x); dots: kinks", fontsize=8)
    bottom.set_title("autograd f'(x); dotted: where it jumps", fontsize=8)
    for ax in (top, bottom):
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)


def losses():
    """Losses of a residual (prediction - target) and their autograd gradients."""
    r = np.linspace(-3, 3, 121)
    target = tensor(np.zeros_like(r))
    fns = {"mse_loss": lambda t: F.mse_loss(t, target, reduction="none"),
           "l1_loss": lambda t: F.l1_loss(t, target, reduction="none"),
           "smooth_l1_loss": lambda t: F.smooth_l1_loss(t, target, reduction="none"),
           "huber_loss (delta=1)": lambda t: F.huber_loss(t, target, reduction="none"),
           "bce_with_logits (target 0)": lambda t: F.binary_cross_entropy_with_logits(
               t, target, reduction="none")}
    result = {"x": r}
    for name, fn in fns.items():
        result[name], result[f"d {name}"] = curve(fn, r)
    return result


def elementwise():
    """exp, log, sqrt, abs and clamp(-1, 1) with their autograd derivatives."""
    x = np.linspace(0.05, 3, 60)
    both = np.linspace(-2, 2, 81)
    result = {"x": x, "x2": both}
    clamp = lambda t: F.clamp(t, -1, 1)  # noqa: E731
    for name, fn, grid in (("exp", F.exp, x), ("log", F.log, x), ("sqrt", F.sqrt, x),
                           ("abs", F.abs, both), ("clamp(-1,1)", clamp, both)):
        result[name], result[f"d {name}"] = curve(fn, grid)
    return result


def draw_pairs(fig, q, **_):
    names = [k for k in q if not k.startswith(("x", "d "))]
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for i, name in enumerate(names):
        x = q["x"] if q[name].size == q["x"].size else q["x2"]
        left.plot(x, q[name], color=f"C{i}", label=name)
        right.plot(x, q[f"d {name}"], color=f"C{i}", label=f"d {name}")
    left.set_title("value", fontsize=8)
    right.set_title("gradient as autograd computes it", fontsize=8)
    for ax in (left, right):
        ax.legend(fontsize=6)
        ax.grid(alpha=0.3)


def softmax_cross_entropy(K=5):
    """softmax of one row of logits at temperatures 0.5, 1, 2, and the cross-entropy gradient
    autograd gives (softmax - one_hot)."""
    import minicnn

    logits = np.array([2.0, 1.0, 0.1, -1.0, 0.5])[:K]
    result = {f"softmax T={t}": np.asarray(F.softmax(tensor(logits[None] / t), dim=1).data)[0]
              for t in (0.5, 1, 2)}
    target = minicnn.Tensor(np.array([2]))
    result["d cross_entropy (target 2)"] = input_gradient(
        lambda z: F.cross_entropy(z, target), logits[None], ())[0]
    return result


def reductions(n=6):
    """The gradient each reduction sends back to its inputs."""
    x = np.array([0.5, -1.0, 2.0, 1.5, -0.3, 0.8])[:n]
    fns = {"sum": F.sum, "mean": F.mean, "amax": F.amax, "std": F.std,
           "norm": lambda t: F.norm(t)}
    result = {"x": x}
    for name, fn in fns.items():
        result[f"d {name}"] = input_gradient(fn, x, ())
    return result


def draw_bars(fig, q, **_):
    names = [k for k in q if k != "x"]
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        ax.bar(np.arange(q[name].size) + j * width, q[name], width, label=name)
    ax.axhline(0, color="k", linewidth=0.5)
    ax.set_xlabel("element", fontsize=8)
    ax.legend(fontsize=6)
    if "x" in q:
        ax.set_title("x = " + ", ".join(f"{v:g}" for v in q["x"]), fontsize=8)


def linear(in_features=5, out_features=4):
    """d y[0, j] / d W for y = linear(x, W): row j of the weight gradient is x, the rest zero."""
    x = tensor(np.arange(1, in_features + 1)[None] / in_features)
    w = np.random.default_rng(0).standard_normal((out_features, in_features))
    return {f"d y[0,{j}] / d W": input_gradient(lambda t: F.linear(x, t), w, (0, j))
            for j in (0, out_features - 1)}


def shape_moves(C=2, H=2, W=3):
    """Where each element goes under permute, transpose, flatten and cat: the operators run on
    labelled elements."""
    x = tensor(labelled((C, H, W)))
    return {"input (C,H,W) as rows": np.asarray(x.data).reshape(C * H, W),
            "permute(1,2,0)": np.asarray(F.permute(x, (1, 2, 0)).data).reshape(H * W, C),
            "transpose(1,2)": np.asarray(F.transpose(x, 1, 2).data).reshape(C * W, H),
            "cat([x, x], 2)": np.asarray(F.cat([x, x], 2).data).reshape(C * H, 2 * W)}


def select(n=6, k=2):
    """Which inputs topk, sort and gather send gradient to."""
    x = np.array([0.3, 2.0, -1.0, 1.2, 0.7, -0.4])[:n]
    import minicnn

    index = minicnn.Tensor(np.array([4, 0, 4]))
    return {"x": x,
            f"d topk(k={k}).values.sum": input_gradient(lambda t: F.topk(t, k)[0], x, ()),
            "d sort.values[0]": input_gradient(lambda t: F.sort(t)[0], x, 0),
            "d gather([4, 0, 4]).sum": input_gradient(lambda t: F.gather(t, 0, index), x, ())}


def dropout(C=4, H=6, W=6, p=0.5):
    """dropout and dropout2d masks read off the gradient (0 or 1/(1-p)), the C channels side
    by side (H, C*W)."""
    import minicnn

    minicnn.manual_seed(0)
    x = np.ones((1, C, H, W))
    side_by_side = lambda g: g[0].transpose(1, 0, 2).reshape(H, C * W)  # noqa: E731
    return {"dropout": side_by_side(input_gradient(lambda t: F.dropout(t, p), x, ())),
            "dropout2d": side_by_side(input_gradient(lambda t: F.dropout2d(t, p), x, ()))}


def fold_overlap(H=5, W=5, k=3, s=1, p=0):
    """fold(unfold(ones)): how many sliding blocks cover each pixel (fold sums the overlaps)."""
    ones = tensor(np.ones((1, 1, H, W)))
    cols = F.unfold(ones, k, padding=p, stride=s)
    counts = np.asarray(F.fold(cols, (H, W), k, padding=p, stride=s).data)[0, 0]
    return {"blocks covering each pixel": counts, "columns": np.asarray(cols.data)[0]}


def interpolate_weights(H=3, W=3, scale=2):
    """The input pixels (and weights) behind one bilinear output pixel: its gradient."""
    x = np.random.default_rng(0).standard_normal((1, 1, H, W))
    result = {}
    for mode, corners in (("bilinear", False), ("bilinear", True), ("nearest", None)):
        fn = (lambda t, m=mode, c=corners: F.interpolate(t, scale_factor=scale, mode=m,
                                                         align_corners=c))
        result[f"{mode} align_corners={corners}"] = input_gradient(fn, x, (0, 0, 1, 2))[0, 0]
    return result


def draw_maps(fig, q, **_):
    maps = {k: v for k, v in q.items() if np.ndim(v) >= 2}
    for i, (label, m) in enumerate(maps.items()):
        m = m.reshape(-1, m.shape[-1]) if m.ndim > 2 else m
        ax = fig.add_subplot(1, len(maps), i + 1)
        ax.imshow(m, cmap="viridis")
        if m.size <= 64:
            for (a, b), v in np.ndenumerate(m):
                ax.text(b, a, f"{v:.3g}", ha="center", va="center", fontsize=6, color="w")
        ax.set_title(f"{label}\nshape {m.shape}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
