"""Convolution pictures: one output element's window, channel connectivity, im2col, and the
receptive field of a real model, each read off minicnn's own forward and backward."""
import numpy as np

from ._engine import F, channel_connectivity, input_gradient, labelled, tensor


def conv_window(H=5, W=5, k=3, s=2, p=1, d=2, oh=-1, ow=-1):
    """The input pixels one output element of ``conv2d`` reads, read off the gradient of that
    element, with kernel taps labelled 1..k*k so each pixel shows which tap lands on it:

    * ``tap_on_pixel``: w.r.t. the input of ``conv2d(x, padding=p)`` (taps on padding have
      no input pixel, so they do not appear);
    * ``tap_on_padded``: w.r.t. the zero-padded input (``F.pad``) of ``conv2d(padding=0)``,
      which also shows the taps that land on padding (the two convolutions agree).
    """
    weight = tensor(labelled((1, 1, k, k)) + 1)
    x = np.random.default_rng(0).standard_normal((1, 1, H, W))
    out = F.conv2d(tensor(x), weight, stride=s, padding=p, dilation=d)
    H_out, W_out = out.shape[2:]
    oh, ow = oh % H_out, ow % W_out
    element = (0, 0, oh, ow)
    grad = input_gradient(lambda t: F.conv2d(t, weight, stride=s, padding=p, dilation=d), x,
                          element)[0, 0]
    padded = np.asarray(F.pad(tensor(x), (p, p, p, p)).data)
    padded_grad = input_gradient(lambda t: F.conv2d(t, weight, stride=s, dilation=d), padded,
                                 element)[0, 0]
    same = F.conv2d(tensor(padded), weight, stride=s, dilation=d)
    return {"tap_on_pixel": grad, "tap_on_padded": padded_grad,
            "output_shape": np.array([H_out, W_out]), "output_element": np.array([oh, ow]),
            "taps_in_image": np.array(np.count_nonzero(grad)),
            "max_abs_diff_padded_vs_padding": np.array(np.abs(same.data - out.data).max())}


def draw_conv_window(fig, q, k=3, s=2, p=1, d=2, **_):
    padded = q["tap_on_padded"]
    H, W = q["tap_on_pixel"].shape
    ax = fig.add_subplot(1, 2, 1)
    shade = (padded > 0) * 1.0
    shade[p:p + H, p:p + W] += (q["tap_on_pixel"] > 0) * 1.0  # dark: tap on an image pixel
    ax.imshow(shade, cmap="Blues", vmin=0, vmax=2.5)
    ax.add_patch(_rect(p - 0.5, p - 0.5, W, H, "k"))
    for (i, j), v in np.ndenumerate(padded):
        if v > 0:
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=8)
    oh, ow = q["output_element"].astype(int)
    ax.set_title(f"input {H}x{W} in its padding {p} (frame = image)\n"
                 f"taps of output ({oh},{ow}): k={k}, stride {s}, dilation {d}", fontsize=8)
    _grid(ax, padded.shape)
    ax2 = fig.add_subplot(1, 2, 2)
    H_out, W_out = q["output_shape"].astype(int)
    mark = np.zeros((H_out, W_out))
    mark[oh, ow] = 1
    ax2.imshow(mark, cmap="Oranges", vmin=0, vmax=1.3)
    ax2.set_title(f"output {H_out}x{W_out}\n{int(q['taps_in_image'])} of {k * k} taps "
                  f"on the image, the rest on padding", fontsize=8)
    _grid(ax2, (H_out, W_out))


def connectivity(C=8, C_out=8, g=4):
    """Dense, grouped and depthwise conv2d: which input channels reach each output channel."""
    return {f"groups={groups}": channel_connectivity((C_out, C // groups, 3, 3), groups, C)
            for groups in (1, g, C)}


def draw_connectivity(fig, q, **_):
    for i, (label, matrix) in enumerate(q.items()):
        ax = fig.add_subplot(1, len(q), i + 1)
        ax.imshow(matrix, cmap="Greys", vmin=0, vmax=1)
        kind = {0: "dense", 1: "grouped", 2: "depthwise"}[i]
        ax.set_title(f"{kind} ({label})", fontsize=8)
        ax.set_xlabel("input channel", fontsize=8)
        ax.set_ylabel("output channel", fontsize=8)
        _grid(ax, matrix.shape)


def im2col(C=2, H=4, W=4, C_out=3, k=3, s=1, p=1):
    """conv2d as unfold, matrix product and fold: the real matrices and their shapes."""
    rng = np.random.default_rng(0)
    x = tensor(rng.standard_normal((1, C, H, W)))
    weight = tensor(rng.standard_normal((C_out, C, k, k)))
    cols = F.unfold(x, k, padding=p, stride=s)                       # (1, C k k, L)
    matrix = F.reshape(weight, (C_out, C * k * k))                   # (C_out, C k k)
    product = F.matmul(matrix, cols)                                 # (1, C_out, L)
    direct = F.conv2d(x, weight, stride=s, padding=p)
    folded = F.reshape(product, direct.shape)                        # (1, C_out, H_out, W_out)
    return {"weight_matrix": np.asarray(matrix.data), "columns": np.asarray(cols.data)[0],
            "product": np.asarray(product.data)[0], "folded": np.asarray(folded.data)[0],
            "max_abs_diff_vs_conv2d": np.array(np.abs(folded.data - direct.data).max())}


def draw_im2col(fig, q, **_):
    folded = q["folded"]
    parts = (("weight (C_out, C k k)", q["weight_matrix"], q["weight_matrix"].shape),
             ("@ unfold(x) (C k k, L)", q["columns"], q["columns"].shape),
             ("= (C_out, L)", q["product"], q["product"].shape),
             ("fold: (C_out, H_out, W_out)", np.concatenate(list(folded), axis=1), folded.shape))
    for i, (label, m, shape) in enumerate(parts):
        ax = fig.add_subplot(1, 4, i + 1)
        ax.imshow(m, cmap="RdBu", aspect="auto" if i < 3 else "equal")
        ax.set_title(f"{label}\nshape {shape}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("conv2d = fold(W @ unfold(x)), channels side by side; |difference from "
                 "conv2d| <= "
                 f"{float(q['max_abs_diff_vs_conv2d']):.1e}", fontsize=8)


def _resnet18_stages(size):
    from ..models import resnet18

    model = resnet18(num_classes=10, width=8)
    model.eval()
    m = model
    return [("conv1 7x7/2", (m.conv1, m.bn1, m.relu)), ("maxpool 3x3/2", (m.maxpool,)),
            ("layer1", (m.layer1,)), ("layer2", (m.layer2,)), ("layer3", (m.layer3,)),
            ("layer4", (m.layer4,))]


def _mobilenet_v2_stages(size):
    from ..models import mobilenet_v2

    model = mobilenet_v2(num_classes=10, width_mult=0.25)
    model.eval()
    f = list(model.features)
    cuts = (1, 2, 4, 7, 11)
    stages, start = [], 0
    for cut in cuts:
        stages.append((f"features[:{cut}]", tuple(f[start:cut])))
        start = cut
    return stages


def receptive_field(model="resnet18", size=64):
    """Input pixels that reach the centre output pixel after each stage of a real model (eval
    mode, random weights): the gradient of that pixel (summed over channels) w.r.t. the input,
    one backward per stage, growing layer by layer."""
    import minicnn

    minicnn.manual_seed(0)  # the models' initial weights
    stages = {"resnet18": _resnet18_stages, "mobilenet_v2": _mobilenet_v2_stages}[model](size)
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    result = {}
    for n in range(1, len(stages) + 1):
        layers = [layer for _, group in stages[:n] for layer in group]

        def forward(t, layers=layers):
            for layer in layers:
                t = layer(t)
            return t

        leaf = tensor(x, grad=True, dtype=np.float32)  # the models' dtype
        out = forward(leaf)
        seed = np.zeros(out.shape, dtype=np.float32)
        seed[:, :, out.shape[2] // 2, out.shape[3] // 2] = 1.0
        out.backward(tensor(seed, dtype=np.float32))
        grad = np.abs(np.asarray(leaf.grad.data)).sum(axis=(0, 1))
        result[stages[n - 1][0]] = (grad > 0).astype(np.float64)
    return result


def draw_receptive_field(fig, q, model="resnet18", size=64, **_):
    for i, (label, mask) in enumerate(q.items()):
        ax = fig.add_subplot(1, len(q), i + 1)
        ax.imshow(mask, cmap="Greens", vmin=0, vmax=1.2)
        rows, cols = np.nonzero(mask)
        extent = (f"{np.ptp(rows) + 1}x{np.ptp(cols) + 1}" if rows.size else "none")
        ax.set_title(f"{label}\n{extent}", fontsize=7)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"{model}: input pixels ({size}x{size}) reaching the centre output pixel",
                 fontsize=8)


def _rect(x, y, w, h, color):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, fill=False, edgecolor=color, linewidth=1.5)


def _grid(ax, shape):
    ax.set_xticks(np.arange(-0.5, shape[1], 1), minor=True)
    ax.set_yticks(np.arange(-0.5, shape[0], 1), minor=True)
    ax.grid(which="minor", color="0.7", linewidth=0.5)
    ax.set_xticks([])
    ax.set_yticks([])
