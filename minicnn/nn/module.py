"""``Module`` and ``Parameter``: the building blocks of every network, with PyTorch's behaviour.

A :class:`Module` owns three ordered collections, filled by attribute
assignment in ``__init__``:

* ``_parameters``: name -> :class:`Parameter` (or ``None``), the trainable tensors;
* ``_buffers``: name -> Tensor (or ``None``), state that is saved but not trained
  (``BatchNorm2d.running_mean``); a buffer may be *non-persistent* (not saved);
* ``_modules``: name -> child Module (or ``None``).

Every traversal walks these in registration order, parameters before
buffers before children, depth first. That fixes the names and the order of
``state_dict()`` keys (``features.0.weight``, ``bn.running_mean``,
``bn.num_batches_tracked``), which are exactly PyTorch's for the same module
tree, so state dicts move between the two by name.
"""
import itertools
from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from ..backend import is_cupy_array, xp_of
from .._device import parse_to_args
from ..tensor import Tensor, _as_array, float32, float64, get_default_dtype

__all__ = ["Parameter", "Module", "RemovableHandle"]


# --------------------------------------------------------------------- Parameter
class Parameter(Tensor):
    """A Tensor that is a module's trainable parameter: a leaf with ``requires_grad=True``.

    ``Parameter(data, requires_grad=True)`` shares ``data``'s array (a Tensor's
    ``.data`` or a NumPy array), as ``torch.nn.Parameter`` shares storage.
    Assigning a Parameter to a Module attribute registers it.
    """

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            array = np.empty(0, dtype=get_default_dtype())
        elif isinstance(data, Tensor):
            array = data.data
        elif isinstance(data, np.ndarray) or is_cupy_array(data):
            array = data
        else:
            array = _as_array(data, None)
        self.data = array
        self.grad = None
        self._node = None
        self._retains_grad = False
        self._requires_grad = False
        self.requires_grad = requires_grad  # raises TypeError for an integer array

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


# --------------------------------------------------------------------- helpers
class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it did not find and the keys it did not use."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``handle.remove()`` unregisters the hook.

    Also a context manager: the hook is removed when the ``with`` block ends.
    """

    _next_id = itertools.count()

    def __init__(self, hooks: dict, extra_sets=()):
        self.id = next(RemovableHandle._next_id)
        self._hooks = hooks
        self._extra_sets = extra_sets

    def remove(self) -> None:
        self._hooks.pop(self.id, None)
        for extra in self._extra_sets:
            extra.discard(self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first (how a child's repr nests inside its parent's)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    first, rest = lines[0], lines[1:]
    return first + "\n" + "\n".join((spaces * " " + line) if line else line for line in rest)


def _check_name(name, kind: str) -> None:
    """A registrable attribute name: a non-empty str without dots, not already a plain attribute."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')


def _host_array(value, key: str):
    """A value from a state dict as an array (NumPy, or CuPy as given), or raise TypeError.

    Accepted: NumPy/CuPy arrays and scalars, minicnn Tensors, and anything
    with ``.numpy()`` (a torch.Tensor: detached and moved to the CPU first).
    """
    if isinstance(value, Tensor):
        array = value.data
    elif isinstance(value, (np.ndarray, np.generic)) or is_cupy_array(value):
        array = value
    elif hasattr(value, "numpy"):
        if hasattr(value, "detach"):
            value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        array = value.numpy()
    else:
        raise TypeError(f'While copying the parameter named "{key}", expected an array, a Tensor '
                        f"or an object with .numpy() from the state dict but received "
                        f"{type(value).__name__}")
    array = xp_of(array).asarray(array)
    if array.dtype.kind not in "biuf":
        raise TypeError(f'While copying the parameter named "{key}": the state dict holds an array '
                        f"of dtype {array.dtype}, expected a boolean, integer or floating dtype")
    return array


def _parse_to_args(args, kwargs):
    """``Module.to``'s arguments (see :func:`minicnn._device.parse_to_args`); floating dtypes only."""
    device, dtype = parse_to_args(args, kwargs)
    if dtype is not None and dtype not in (float32, float64):
        raise TypeError(f"Module.to only accepts floating point dtypes (float32, float64), "
                        f"but got desired dtype={dtype.name}")
    return device, dtype


def _move_array(array, device: str):
    """``array`` on ``device`` (see :mod:`minicnn._device`)."""
    from .._device import to_device

    return to_device(Tensor._wrap(array), device).data


def _check_device_usable(device: str) -> None:
    """Raise before anything moves, so a failed ``to('cuda')`` leaves the module as it was."""
    from .._device import DeviceUnavailableError, cuda_unavailable_reason, parse_device

    kind, _ = parse_device(device)
    if kind == "cuda":
        reason = cuda_unavailable_reason()
        if reason is not None:
            raise DeviceUnavailableError(f"Module.to({device!r}): {reason}")


# --------------------------------------------------------------------- Module
class Module:
    """Base class of every layer and network (``torch.nn.Module``'s behaviour and names).

    Subclasses assign parameters, buffers and submodules as attributes in
    ``__init__`` (after ``super().__init__()``) and define ``forward``; calling
    the module runs the forward pre-hooks, ``forward`` and the forward hooks.
    """

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist.
        set_plain = object.__setattr__
        set_plain(self, "training", True)
        set_plain(self, "_parameters", {})
        set_plain(self, "_buffers", {})
        set_plain(self, "_non_persistent_buffers_set", set())
        set_plain(self, "_modules", {})
        set_plain(self, "_forward_pre_hooks", {})
        set_plain(self, "_forward_pre_hooks_with_kwargs", set())
        set_plain(self, "_forward_hooks", {})
        set_plain(self, "_forward_hooks_with_kwargs", set())

    # ------------------------------------------------------------------ forward
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    def __call__(self, *args, **kwargs):
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in self._forward_pre_hooks_with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook registered with with_kwargs=True must "
                                           f"return None or a tuple (args, kwargs), got {result!r}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook_id, hook in list(self._forward_hooks.items()):
            if hook_id in self._forward_hooks_with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    @staticmethod
    def _add_hook(hooks: dict, with_kwargs_set: set, hook, prepend: bool, with_kwargs: bool):
        handle = RemovableHandle(hooks, (with_kwargs_set,))
        if with_kwargs:
            with_kwargs_set.add(handle.id)
        if prepend:
            items = list(hooks.items())
            hooks.clear()
            hooks[handle.id] = hook
            hooks.update(items)
        else:
            hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False) -> RemovableHandle:
        """``hook(module, args)`` runs before ``forward``; a non-None result replaces ``args``
        (a single value is wrapped in a tuple). With ``with_kwargs=True``:
        ``hook(module, args, kwargs)`` returning None or ``(args, kwargs)``."""
        return self._add_hook(self._forward_pre_hooks, self._forward_pre_hooks_with_kwargs, hook,
                              prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False) -> RemovableHandle:
        """``hook(module, args, output)`` runs after ``forward``; a non-None result replaces the
        output. With ``with_kwargs=True``: ``hook(module, args, kwargs, output)``."""
        return self._add_hook(self._forward_hooks, self._forward_hooks_with_kwargs, hook,
                              prepend, with_kwargs)

    # ------------------------------------------------------------ registration
    def register_parameter(self, name: str, param) -> None:
        """Add ``param`` (a :class:`Parameter`, or None for an absent one) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            f"(minicnn.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add a buffer: a Tensor that is module state but not a parameter.

        Persistent buffers are saved in ``state_dict``; non-persistent ones are not.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                            f"(minicnn.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module) -> None:
        """Add a child module (or None) under ``name``; same as assigning the attribute."""
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(name, "module")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __getattr__(self, name: str):
        # Only called when normal lookup fails. Read __dict__ directly so that an
        # object without the dicts yet (mid-unpickling) cannot recurse.
        state = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            members = state.get(store)
            if members is not None and name in members:
                return members[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        state = self.__dict__

        def remove_from(*collections):
            for collection in collections:
                if name in collection:
                    if isinstance(collection, dict):
                        del collection[name]
                    else:
                        collection.discard(name)

        params = state.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(state, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                f"(minicnn.nn.Parameter or None expected)")
            params[name] = None
            return
        modules = state.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            remove_from(state, self._parameters, self._buffers, self._non_persistent_buffers_set)
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                f"(minicnn.nn.Module or None expected)")
            modules[name] = None
            return
        buffers = state.get("_buffers")
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                f"(minicnn.Tensor or None expected)")
            buffers[name] = value
            return
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__())
        keys += list(self._parameters) + list(self._buffers) + list(self._modules)
        return sorted(key for key in set(keys) if not key[0].isdigit())

    # --------------------------------------------------------------- traversal
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """(name, module) for this module and every descendant, depth first (self first, as '')."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child_prefix = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, child) for the direct children (each module once)."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, members_of, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse
                   else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in members_of(module):
                if value is None or id(value) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """(name, parameter) pairs; a parameter shared by two modules comes once (by default)."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> "Module":
        """The descendant named by a dotted path (``'features.0'``); ``''`` is self."""
        if target == "":
            return self
        module = self
        walked = []
        for part in target.split("."):
            child = module._modules.get(part) if isinstance(module, Module) else None
            if child is None:
                where = ".".join(walked) or type(self).__name__
                raise AttributeError(f"{where} has no submodule `{part}` (looking up {target!r})")
            module = child
            walked.append(part)
        return module

    def get_parameter(self, target: str) -> Parameter:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters or module._parameters[name] is None:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return module._parameters[name]

    def get_buffer(self, target: str) -> Tensor:
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._buffers or module._buffers[name] is None:
            raise AttributeError(f"{type(module).__name__} has no buffer `{name}`")
        return module._buffers[name]

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of parameter elements (shared parameters counted once)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    # -------------------------------------------------------------- state dict
    def _local_state(self) -> dict:
        """This module's own saved tensors: parameters, then persistent buffers (None skipped)."""
        state = {name: p for name, p in self._parameters.items() if p is not None}
        state.update((name, b) for name, b in self._buffers.items()
                     if b is not None and name not in self._non_persistent_buffers_set)
        return state

    def state_dict(self, *, destination=None, prefix: str = "", keep_vars: bool = False):
        """An OrderedDict of dotted name -> NumPy array for every parameter and persistent buffer.

        Keys and order are PyTorch's: each module's parameters, then its
        buffers, then its children's entries, depth first. As in PyTorch the
        arrays *share memory* with the module (no copy): copy them to keep a
        snapshot (``{k: v.copy() for k, v in m.state_dict().items()}``).
        ``keep_vars=True`` gives the Tensors themselves.
        """
        if destination is None:
            destination = OrderedDict()
        for name, tensor in self._local_state().items():
            destination[prefix + name] = tensor if keep_vars else tensor.numpy()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".",
                                  keep_vars=keep_vars)
        return destination

    def _fill_missing_state(self, state_dict: dict, prefix: str) -> None:
        """Hook for layers whose older checkpoints lack an entry (see BatchNorm2d)."""

    def _unexpected_keys(self, state_dict) -> list:
        """Keys no parameter or persistent buffer takes, in PyTorch's order.

        A key is followed down the module tree by its dotted parts and judged by
        the deepest module it reaches (as PyTorch's recursive loader does, so a
        key below a child registered as None is ignored); the keys are then
        ordered by that module's place in the traversal.
        """
        position = {name: i for i, (name, _) in enumerate(self.named_modules(remove_duplicate=False))}
        found = []
        for order, key in enumerate(state_dict):
            module, module_name, parts = self, "", key.split(".")
            while len(parts) > 1 and module._modules.get(parts[0]) is not None:
                module_name = module_name + ("." if module_name else "") + parts[0]
                module, parts = module._modules[parts[0]], parts[1:]
            if len(parts) > 1:
                flagged = parts[0] not in module._modules
            else:
                flagged = parts[0] not in module._local_state()
            if flagged:
                found.append((position[module_name], order, key))
        return [key for _, _, key in sorted(found)]

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy the values in ``state_dict`` into this module's parameters and buffers.

        Values may be NumPy arrays, Tensors, or anything with ``.numpy()`` (a
        torch.Tensor), so ``{k: v.numpy() for k, v in torch_model.state_dict().items()}``
        loads as it is. Returns ``(missing_keys, unexpected_keys)``.

        * Every entry is validated before anything is written: if any error is
          raised, no parameter or buffer has changed.
        * A shape mismatch is always an error, even with ``strict=False``; the
          message gives the key, the layer and both shapes.
        * ``strict=True`` also raises on missing or unexpected keys (one
          RuntimeError listing all problems, in PyTorch's format).
        * Values are copied into the existing arrays, so the tensors (and an
          optimizer's references to them) stay the same objects, and each keeps
          its dtype: a float64 array loaded into a float32 parameter is cast to
          float32. This is the one implicit conversion in minicnn, as PyTorch's
          ``copy_`` does it; everywhere else mixing float32 and float64 is an error.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        incoming = OrderedDict(state_dict)  # our own copy: the fill-in hooks may add entries
        targets = OrderedDict()  # key -> (module name, module, tensor)
        for module_name, module in self.named_modules(remove_duplicate=False):
            prefix = module_name + "." if module_name else ""
            module._fill_missing_state(incoming, prefix)
            for name, tensor in module._local_state().items():
                targets[prefix + name] = (module_name, module, tensor)

        missing = [key for key in targets if key not in incoming]
        unexpected = self._unexpected_keys(incoming)
        errors, plan = [], []
        for key, (module_name, module, tensor) in targets.items():
            if key not in incoming:
                continue
            try:
                value = _host_array(incoming[key], key)
            except TypeError as error:
                errors.append(str(error))
                continue
            if tensor.ndim == 0 and value.shape == (1,):
                value = value.reshape(())  # a one-element vector fills a scalar, as in PyTorch
            if tuple(value.shape) != tensor.shape:
                layer = f"layer '{module_name}'" if module_name else "the root module"
                errors.append(f"size mismatch for {key} ({layer}, {type(module).__name__}): copying "
                              f"a param with shape {tuple(value.shape)} from checkpoint, the shape "
                              f"in current model is {tensor.shape}.")
                continue
            plan.append((tensor, value))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        # Everything is valid: now write (in place, each tensor keeping its dtype).
        for tensor, value in plan:
            tensor.data[...] = xp_of(tensor.data).asarray(value)
        return _IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> "Module":
        """Set training mode on this module and every descendant (Dropout, BatchNorm2d act on it)."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> "Module":
        """``train(False)``: BatchNorm2d uses its running statistics, Dropout does nothing."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's gradient: to None (default) or to zeros."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad[...] = 0

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every child (recursively), then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # --------------------------------------------------------------- conversion
    def _apply_to_arrays(self, convert) -> "Module":
        """Replace the array of every parameter, gradient and buffer by ``convert(array)``.

        The Tensor objects stay the same, so references to them (an optimizer's)
        remain valid.
        """
        for module in self.modules():
            for tensor in itertools.chain(module._parameters.values(), module._buffers.values()):
                if tensor is None:
                    continue
                tensor.data = convert(tensor.data)
                if tensor.grad is not None:
                    tensor.grad = convert(tensor.grad)
        return self

    def to(self, *args, **kwargs) -> "Module":
        """``to(dtype)`` casts floating parameters and buffers (integer buffers such as
        ``num_batches_tracked`` keep their dtype); ``to('cpu')`` is a no-op for a module
        on the CPU; ``to('cuda')`` moves every array with :mod:`minicnn._device` (the GPU
        backend, issue 4) and raises ``DeviceUnavailableError`` saying why when no GPU is
        usable. The Tensor objects are kept. Returns self."""
        device, dtype = _parse_to_args(args, kwargs)
        if device is not None:
            device = str(device)
            _check_device_usable(device)
            self._apply_to_arrays(lambda array: _move_array(array, device))
        if dtype is not None:
            self._apply_to_arrays(
                lambda array: array.astype(dtype) if array.dtype.kind == "f" else array)
        return self

    def float(self) -> "Module":
        return self.to(float32)

    def double(self) -> "Module":
        return self.to(float64)

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self, device=None) -> "Module":
        return self.to("cuda" if device is None else f"cuda:{device}")

    # --------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The layer's own settings, shown inside its repr (override in layers)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _addindent(repr(module), 2)
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        text = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"

