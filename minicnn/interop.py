"""Moving weights between minicnn and PyTorch, and finding where a port disagrees.

PyTorch is imported lazily, only by the functions that need it; the engine
never requires it. State dict keys are the same in both (minicnn's modules
use torch.nn's names), so conversion is a per-array copy.
"""
from dataclasses import dataclass, field

import numpy as np


def from_torch_state_dict(torch_state_dict) -> dict:
    """A PyTorch state dict as ``{name: numpy array}`` (copied, on the CPU)."""
    return {k: v.detach().cpu().numpy().copy() for k, v in torch_state_dict.items()}


def to_torch_state_dict(model_or_state_dict) -> dict:
    """A minicnn model's (or state dict's) arrays as ``{name: torch.Tensor}`` (copied)."""
    import torch

    state = (model_or_state_dict.state_dict() if hasattr(model_or_state_dict, "state_dict")
             else model_or_state_dict)
    return {k: torch.from_numpy(np.array(getattr(v, "data", v), copy=True)) for k, v in state.items()}


def load_torch_weights(model, torch_model_or_state_dict, strict: bool = True):
    """Load a torch module's (or state dict's) weights into a minicnn model by name."""
    state = (torch_model_or_state_dict.state_dict()
             if hasattr(torch_model_or_state_dict, "state_dict") else torch_model_or_state_dict)
    return model.load_state_dict(from_torch_state_dict(state), strict=strict)


@dataclass
class LayerDifference:
    name: str
    type: str
    max_abs_error: float
    max_rel_error: float
    passed: bool


@dataclass
class LayerComparison:
    """Per-layer output differences, in minicnn's call order."""

    layers: list = field(default_factory=list)
    atol: float = 0.0
    rtol: float = 0.0
    unmatched: list = field(default_factory=list)  # modules called in one engine only

    @property
    def first_divergence(self):
        """The first layer whose output departs beyond the tolerance (None if all agree)."""
        return next((layer for layer in self.layers if not layer.passed), None)

    def __str__(self) -> str:
        lines = [f"{'layer':40s} {'type':20s} {'max abs err':>12s} {'max rel err':>12s}"]
        for layer in self.layers:
            mark = "" if layer.passed else "   <-- departs"
            lines.append(f"{layer.name or '(model)':40s} {layer.type:20s} "
                         f"{layer.max_abs_error:12.3e} {layer.max_rel_error:12.3e}{mark}")
        first = self.first_divergence
        lines.append(f"first divergence (atol={self.atol}, rtol={self.rtol}): "
                     + (f"{first.name} ({first.type})" if first else "none"))
        if self.unmatched:
            lines.append("called in one engine only: " + ", ".join(self.unmatched))
        return "\n".join(lines)


def _first_array(output):
    if isinstance(output, (tuple, list)):
        output = output[0] if output else None
    if output is None:
        return None
    if hasattr(output, "detach"):  # torch.Tensor
        return output.detach().cpu().numpy()
    data = getattr(output, "data", None)
    return None if data is None else (data.get() if hasattr(data, "get") else np.asarray(data))


def compare_layers(model, torch_model, x, *, atol=1e-4, rtol=1e-3, copy_weights=True):
    """Run ``model`` and ``torch_model`` on the same input and compare every module's output.

    With ``copy_weights`` the torch model's state dict is loaded into ``model``
    first, so the two compute with identical weights. Modules are matched by
    their names in ``named_modules()``. Returns a :class:`LayerComparison`
    whose ``first_divergence`` is the first module (in call order) whose
    output differs by more than ``atol + rtol * |torch's output|``: where a
    port goes wrong, since later layers inherit the error.
    """
    import torch

    from .autograd import no_grad
    from .tensor import Tensor

    if copy_weights:
        load_torch_weights(model, torch_model)
    x_array = np.asarray(getattr(x, "data", x))
    ours, theirs, order, handles = {}, {}, [], []

    def record(store, name, with_order):
        def hook(module, inputs, output):
            store[name] = _first_array(output)
            if with_order:
                order.append((name, type(module).__name__))
        return hook

    for name, module in model.named_modules():
        handles.append(module.register_forward_hook(record(ours, name, True)))
    torch_handles = [module.register_forward_hook(record(theirs, name, False))
                     for name, module in torch_model.named_modules()]
    try:
        with no_grad():
            model(Tensor(x_array))
        with torch.no_grad():
            torch_model(torch.from_numpy(x_array.copy()))
    finally:
        for handle in handles + torch_handles:
            handle.remove()

    report = LayerComparison(atol=atol, rtol=rtol)
    for name, type_name in order:
        a, b = ours.get(name), theirs.get(name)
        if a is None or b is None:
            report.unmatched.append(name or "(model)")
            continue
        if a.shape != b.shape:
            report.layers.append(LayerDifference(name, type_name, float("inf"), float("inf"), False))
            continue
        error = np.abs(a.astype(np.float64) - b.astype(np.float64))
        scale = np.abs(b.astype(np.float64))
        passed = bool((error <= atol + rtol * scale).all())
        report.layers.append(LayerDifference(
            name, type_name, float(error.max(initial=0.0)),
            float((error / np.maximum(scale, 1e-12)).max(initial=0.0)), passed))
    report.unmatched += [n or "(model)" for n in theirs if n not in ours]
    return report
