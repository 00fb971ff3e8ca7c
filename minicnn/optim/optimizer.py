"""``Optimizer``: the base of every optimizer, with ``torch.optim.Optimizer``'s behaviour.

An optimizer holds

* ``param_groups``: a list of dicts, each ``{"params": [Parameter, ...], "lr": ...,
  <the other options>}``. Options missing from a group take the optimizer's
  ``defaults``, so ``SGD([{"params": body}, {"params": head, "lr": 0.1}], lr=0.01)``
  trains ``head`` ten times faster than ``body``. Schedulers change ``group["lr"]``.
* ``state``: a dict from a parameter to its own state (a momentum buffer, Adam's
  moments and step count), created lazily at the parameter's first update.

``step()`` reads each parameter's ``.grad`` (a NumPy or CuPy array written by
``backward``) and updates ``.data`` in place, so the parameter objects (and the
module that owns them) stay the same. Parameters whose ``.grad`` is None are
skipped, as in PyTorch. All arithmetic is in the parameter's dtype: a float32
model is updated in float32, as PyTorch does it.

``state_dict()`` has PyTorch's layout::

    {"state": {0: {"momentum_buffer": array, ...}, 1: {...}},   # by parameter index
     "param_groups": [{"lr": 0.1, ..., "params": [0, 1, 2]}, ...]}

parameters are numbered in the order they appear in the groups. A PyTorch
optimizer's state dict with its tensors turned into arrays
(``t.numpy()``) loads into the same minicnn optimizer, and back.
"""
import math
import numbers
from collections.abc import Mapping

import numpy as np

from ..autograd import enable_grad
from ..backend import is_cupy_array, xp_of
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks an option with no default (``SGD(params)`` without ``lr`` in older PyTorch)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _check_number(op: str, name: str, value, minimum=None, below=None, strict=False) -> None:
    """``value`` must be a real number, ``>= minimum`` (``> minimum`` when ``strict``) and
    ``< below``; the message names the option and the value, as PyTorch's do."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r}")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        relation = ">" if strict else ">="
        raise ValueError(f"{op}: Invalid {name} value: {value!r} (expected {relation} {minimum})")
    if below is not None and value >= below:
        raise ValueError(f"{op}: Invalid {name} value: {value!r} (expected < {below})")


def _check_betas(op: str, betas) -> tuple:
    """Adam-family ``betas``: a pair, each in [0, 1); returned as a tuple (PyTorch's checks)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"{op}: betas must be a pair (beta1, beta2), got {betas!r}")
    _check_number(op, "beta parameter at index 0", betas[0], minimum=0.0, below=1.0)
    _check_number(op, "beta parameter at index 1", betas[1], minimum=0.0, below=1.0)
    return tuple(betas)


def _to_array_like(value, like):
    """``value`` (a NumPy array, a Tensor or a torch tensor) as an array of ``like``'s dtype,
    on ``like``'s device: state loaded from another run or from PyTorch."""
    if isinstance(value, Tensor):
        value = value.data
    elif not (isinstance(value, np.ndarray) or is_cupy_array(value)) and hasattr(value, "numpy"):
        value = value.detach().cpu().numpy()  # a torch.Tensor
    xp = xp_of(like)
    return xp.array(value, dtype=like.dtype, copy=True)


class Optimizer:
    """Base class: parameter groups, ``zero_grad``, ``state_dict``/``load_state_dict``.

    Subclasses pass their defaults to ``__init__`` and implement ``_update`` (one parameter's
    rule; ``step`` runs it for every parameter with a gradient).
    """

    # State entries that are Python numbers, not arrays shaped like the parameter.
    _scalar_state = ("step",)

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            raise TypeError("params argument given to the optimizer should be an ordered "
                            "iterable (a list, or model.parameters()); a set's order varies "
                            "between runs, which would scramble the state_dict")
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], Mapping):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: Mapping) -> None:
        """Add a group (``{"params": [...], <options>}``); missing options take the defaults."""
        if not isinstance(param_group, Mapping):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError("param_group must have a 'params' entry (the tensors to optimize)")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs; "
                            "use a list instead")
        else:
            params = list(params)
        for index, param in enumerate(params):
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but params[{index}] is "
                                f"a {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (params[{index}] was "
                                 f"computed from other tensors)")
            if not np.issubdtype(param.dtype, np.floating):
                raise TypeError(f"optimizer can only optimize floating-point Tensors, but "
                                f"params[{index}] has dtype {param.dtype.name}")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        self._check_group(group)

        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # Group options that must be >= 0 in every group (a subclass lists its own).
    _nonnegative_options = ("lr", "weight_decay")

    def _check_group(self, group: dict) -> None:
        """Validate a group's options before the group is added: each of
        ``_nonnegative_options`` must be a number >= 0."""
        for option in self._nonnegative_options:
            _check_number(type(self).__name__, "learning rate" if option == "lr" else option,
                          group[option], minimum=0.0)

    # ---------------------------------------------------------------- gradients
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters: to None (default) or to zeros."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    param.grad[...] = 0

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns ``closure()``'s loss."""
        loss = self._evaluate_closure(closure)
        for group in self.param_groups:
            for param, grad in self._gradients(group):
                self._update(param, grad, group)
        return loss

    def _update(self, param, grad, group) -> None:
        """Update one parameter in place from ``grad`` (already negated when the group
        maximizes) with ``group``'s options: each optimizer's rule."""
        raise NotImplementedError

    def _evaluate_closure(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _gradients(self, group):
        """``(param, grad)`` for each parameter of ``group`` that has a gradient, the gradient
        negated when the group maximizes (a new array: ``.grad`` is not touched)."""
        for param in group["params"]:
            if param.grad is None:
                continue
            grad = self._grad_of(param)
            yield param, (-grad if group["maximize"] else grad)

    def _state_of(self, param, buffers, fill=0.0) -> dict:
        """The state of ``param``, created at its first update (PyTorch's lazy initialisation):
        ``step`` 0.0 and one array of ``fill`` shaped like the parameter per name in
        ``buffers``."""
        state = self.state.setdefault(param, {})
        if not state:
            xp = xp_of(param.data)
            state["step"] = 0.0
            for name in buffers:
                state[name] = xp.full_like(param.data, fill)
        return state

    @staticmethod
    def _weight_decayed(param, grad, group):
        """Apply ``group["weight_decay"]`` before an update: ``theta *= 1 - lr * weight_decay``
        when the group decouples it (AdamW's form), else the L2 gradient
        ``grad + weight_decay * theta`` (a new array). Returns the gradient to use."""
        weight_decay = group["weight_decay"]
        if weight_decay == 0:
            return grad
        if group.get("decoupled_weight_decay", False):
            param.data *= 1 - group["lr"] * weight_decay
            return grad
        return grad + weight_decay * param.data

    @staticmethod
    def _grad_of(param):
        """The gradient array of ``param`` (``.grad`` may be an array or, set by a user, a Tensor)."""
        grad = param.grad
        grad = grad.data if isinstance(grad, Tensor) else grad
        if grad.shape != param.data.shape:
            raise RuntimeError(f"optimizer: a parameter of shape {param.shape} has a gradient "
                               f"of shape {tuple(grad.shape)}")
        return grad

    # -------------------------------------------------------------- state dict
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``.

        As in PyTorch the state arrays are the optimizer's own (not copies):
        copy them to keep a snapshot while training continues.
        """
        index_of, packed_groups, next_index = {}, [], 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for param in group["params"]:
                if id(param) not in index_of:
                    index_of[id(param)] = next_index
                    next_index += 1
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            packed_groups.append(packed)
        state = {index_of[id(param)]: dict(values) for param, values in self.state.items()
                 if id(param) in index_of}
        return {"state": state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: Mapping) -> None:
        """Restore a ``state_dict()`` (from minicnn, or PyTorch's with arrays for tensors).

        Everything is checked before anything changes: the number of groups and
        of parameters per group, and the shape of every state array against its
        parameter. Arrays are copied and cast to the parameter's dtype and
        device; scalar entries (``step`` counts, NAdam's ``mu_product``) become Python floats.
        """
        if not isinstance(state_dict, Mapping) or "param_groups" not in state_dict \
                or "state" not in state_dict:
            raise ValueError("optimizer.load_state_dict: expected a dict with 'state' and "
                             "'param_groups' entries (what state_dict() returns)")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        index_to_param = {}
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the "
                    f"size of optimizer's group: group {number} has {len(saved['params'])} "
                    f"parameters in the state dict and {len(group['params'])} in the optimizer")
            for index, param in zip(saved["params"], group["params"]):
                index_to_param[int(index)] = param

        new_state = {}
        for index, values in state_dict["state"].items():
            index = int(index)
            if index not in index_to_param:
                raise ValueError(f"loaded state dict has state for parameter {index}, which "
                                 f"no parameter group lists")
            param = index_to_param[index]
            restored = {}
            for name, value in values.items():
                if name in self._scalar_state:
                    restored[name] = float(value.item() if hasattr(value, "item") else value)
                elif value is None:
                    restored[name] = None
                else:
                    shape = tuple(value.shape)
                    if shape != param.shape:
                        raise ValueError(f"loaded state dict has {name!r} of shape {shape} for "
                                         f"parameter {index} of shape {param.shape}")
                    restored[name] = _to_array_like(value, param.data)
            new_state[param] = restored

        self.state = new_state
        for group, saved in zip(self.param_groups, saved_groups):
            params = group["params"]
            group.clear()
            group.update({k: v for k, v in saved.items() if k != "params"})
            group["params"] = params

    def __repr__(self) -> str:
        lines = [type(self).__name__ + " ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
