"""``minicnn.summary(model, input_shape)``: a per-layer table like torchinfo's.

For every module called during one forward pass (in call order, indented by
depth): its name, type, output shape, the parameters it owns directly, and
its multiply-accumulates (MACs). MACs are counted where the work is, for the
layers that dominate a CNN's compute, with the formulas

* ``Conv2d``:          ``N * C_out * H_out * W_out * (C_in / groups) * kH * kW``
* ``ConvTranspose2d``: ``N * C_in * H_in * W_in * (C_out / groups) * kH * kW``
* ``Linear``:          ``rows * in_features * out_features``

(bias additions, normalisation, activations and pooling are not counted):
the same convention as torchvision's published "GFLOPS" column, which counts
multiply-accumulates of convolutions and matrix products.
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class LayerRow:
    name: str
    type: str
    depth: int
    output_shape: tuple
    params: int
    macs: int


@dataclass
class ModelSummary:
    rows: list
    input_shape: tuple
    total_params: int
    trainable_params: int
    total_macs: int

    def __str__(self) -> str:
        header = ("layer", "type", "output shape", "params", "MACs")
        body = [("  " * r.depth + r.name, r.type, str(list(r.output_shape)) if r.output_shape else "-",
                 f"{r.params:,}" if r.params else "--", f"{r.macs:,}" if r.macs else "--")
                for r in self.rows]
        widths = [max(len(row[i]) for row in body + [header]) for i in range(len(header))]
        line = lambda row: "  ".join(  # noqa: E731
            cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        rule = "=" * len(line(header))
        out = [rule, line(header), rule] + [line(row) for row in body] + [rule]
        out += [f"input shape: {list(self.input_shape)}",
                f"total params: {self.total_params:,}",
                f"trainable params: {self.trainable_params:,}",
                f"non-trainable params: {self.total_params - self.trainable_params:,}",
                f"total MACs: {self.total_macs:,} ({self.total_macs / 1e9:.3f} G)", rule]
        return "\n".join(out)


def layer_macs(module, inputs, output) -> int:
    """Multiply-accumulates of one call of ``module`` (0 for layers that are not counted)."""
    from .nn import Conv2d, ConvTranspose2d, Linear

    if isinstance(module, Conv2d):
        n, c_out, h_out, w_out = output.shape
        k_h, k_w = module.kernel_size
        return n * c_out * h_out * w_out * (module.in_channels // module.groups) * k_h * k_w
    if isinstance(module, ConvTranspose2d):
        n, c_in, h_in, w_in = inputs[0].shape
        k_h, k_w = module.kernel_size
        return n * c_in * h_in * w_in * (module.out_channels // module.groups) * k_h * k_w
    if isinstance(module, Linear):
        rows = int(np.prod(output.shape[:-1])) if output.ndim > 1 else 1
        return rows * module.in_features * module.out_features
    return 0


def summary(model, input_shape, dtype="float32") -> "ModelSummary":
    """Run ``model`` once on zeros of ``input_shape`` (batch first; a 3-D shape gets batch 1)
    in eval mode without a graph and tabulate every module call. Printing the result shows the
    table; its fields hold the numbers."""
    from . import no_grad, zeros
    from .tensor import Tensor

    input_shape = tuple(int(s) for s in input_shape)
    if len(input_shape) == 3:
        input_shape = (1,) + input_shape
    rows, handles, depth = [], [], {"now": 0}
    names = {id(m): (name or type(model).__name__) for name, m in model.named_modules()}

    def pre_hook(module, inputs):
        row = LayerRow(names.get(id(module), "?"), type(module).__name__, depth["now"], (),
                       sum(p.numel() for p in module.parameters(recurse=False)), 0)
        rows.append(row)
        module._summary_rows = getattr(module, "_summary_rows", []) + [row]
        depth["now"] += 1

    def post_hook(module, inputs, output):
        depth["now"] -= 1
        row = module._summary_rows.pop()
        first = output[0] if isinstance(output, (tuple, list)) and output else output
        row.output_shape = tuple(first.shape) if isinstance(first, Tensor) else ()
        row.macs = layer_macs(module, inputs, output) if isinstance(output, Tensor) else 0

    for module in model.modules():
        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(post_hook))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(zeros(*input_shape, dtype=dtype))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
        for module in model.modules():
            module.__dict__.pop("_summary_rows", None)
    params = list(model.parameters())
    return ModelSummary(rows, input_shape, sum(p.numel() for p in params),
                        sum(p.numel() for p in params if p.requires_grad),
                        sum(r.macs for r in rows))
