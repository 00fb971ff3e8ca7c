"""``Function``: one operator, its forward and its backward side by side.

An operator is a subclass with two static methods that work on raw arrays
(NumPy or CuPy)::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):            # arrays in, one array out
            y = xp_of(x).exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_out):    # d loss / d y in, d loss / d x out
            (y,) = ctx.saved_arrays
            return grad_out * y         # one gradient per positional input

``Exp.apply(t)`` unwraps tensors, runs ``forward`` and, when a gradient is
needed, records a :class:`Node` on the output for the backward pass.
Positional arguments may be tensors, arrays, scalars or ``None``;
``backward`` returns one entry per positional argument (``None`` where no
gradient flows), each of its input's shape and dtype. Keyword arguments are
constants (stride, axis, ...).

``backward`` must not write into ``grad_out``: the same array may be handed
to several functions (``Add`` returns it to both of its inputs). It may
return ``grad_out`` itself. An output that is not floating point (indices,
masks, an integer cast) never requires a gradient.
"""
import numpy as np

from . import autograd
from ._validation import MixedDtypes, is_floating
from .backend import as_array


#: While a forward is traced (by :func:`minicnn.onnx.export`), the recorder: called as
#: ``_tracer(function, args, kwargs, result)`` after every application, and
#: ``_tracer.in_place(tensor, result)`` when an in-place method writes ``result`` into
#: ``tensor``; else None, which costs one test per application.
_tracer = None


class Context:
    """What ``forward`` leaves for ``backward``: saved arrays and plain attributes."""

    def __init__(self, needs_input_grad):
        #: One bool per positional input: does it need a gradient?
        self.needs_input_grad = needs_input_grad
        self.saved_arrays = ()

    def save_for_backward(self, *arrays):
        self.saved_arrays = arrays


class Node:
    """A recorded application of a Function: the graph edges to its inputs.

    ``inputs`` holds, per positional argument, the vertex its gradient goes to:
    the Node that produced that input, the input itself when it is a leaf that
    requires grad, or None. ``shape``/``dtype`` are the output's (every
    gradient arriving here must have them). ``saved_versions`` lists, for each
    saved array that is a tensor's memory, ``(input position or None for the
    output, version counter, version when saved)``: backward checks them.
    ``hooks`` and ``retained`` serve ``register_hook``/``retain_grad`` on the
    output tensor.
    """

    __slots__ = ("function", "ctx", "inputs", "released", "shape", "dtype", "saved_versions",
                 "hooks", "retained")

    def __init__(self, function, ctx, inputs, output, saved_versions=()):
        self.function = function
        self.ctx = ctx
        self.inputs = inputs
        self.released = False
        self.shape, self.dtype = output.shape, output.dtype
        self.saved_versions = saved_versions
        self.hooks = None  # {handle id: hook}, created by the first register_hook
        self.retained = None  # weakref to the tensor that called retain_grad

    def release(self):
        """Free the saved arrays (and anything else forward left on ctx) and the
        edges to the inputs, so the activations can be freed while the output is
        still alive (a ``loss`` kept for logging)."""
        self.ctx.__dict__.clear()
        self.inputs = ()
        self.saved_versions = ()
        self.released = True

    @property
    def name(self) -> str:
        return f"{self.function.__name__}Backward"


class VersionCounter:
    """How many in-place operations changed a tensor's memory (shared by the tensors that
    share that memory: views and ``detach()``), and the last one's name."""

    __slots__ = ("value", "last_op", "shared")

    def __init__(self):
        self.value = 0
        self.last_op = None
        self.shared = False  # does more than one tensor use this memory?


def storage(array):
    """The object that owns ``array``'s memory (NumPy and CuPy keep it as ``.base``)."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


class Function:
    """Base class of every differentiable operator (see the module docstring)."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_out):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        from .tensor import Tensor

        _check_float_dtypes_agree(cls, args)
        tensors = tuple(a if isinstance(a, Tensor) else None for a in args)
        _check_devices_agree(cls, tensors)
        arrays = tuple(a.data if isinstance(a, Tensor) else a for a in args)
        needs_grad = tuple(t is not None and t.requires_grad for t in tensors)
        record = autograd.is_grad_enabled() and any(needs_grad)
        ctx = Context(needs_grad)
        out = as_array(cls.forward(ctx, *arrays, **kwargs))  # 0-d results stay arrays
        record = record and is_floating(out.dtype)
        result = Tensor._wrap(out, requires_grad=record)
        storages = [storage(t.data) if t is not None else None for t in tensors]
        _share_version_of_a_view(result, tensors, storages)
        if record:
            edges = tuple((t._node or t) if needs else None for t, needs in zip(tensors, needs_grad))
            result._node = Node(cls, ctx, edges, out,
                                _saved_versions(ctx.saved_arrays, tensors, storages, result))
        if _tracer is not None:  # minicnn.onnx.export is recording this forward
            _tracer(cls, args, kwargs, result)
        return result


def _share_version_of_a_view(result, tensors, storages):
    """An output in an input's memory (a reshape or slice view) shares its version counter."""
    own = storage(result.data)
    for tensor, memory in zip(tensors, storages):
        if memory is own:
            counter = tensor._counter()
            counter.shared = True
            result._version_counter = counter
            return


def _saved_versions(saved_arrays, tensors, storages, result):
    """``(position, counter, version)`` for each saved array in an input's or the output's
    memory (position None: the output); other saved arrays are private to the node."""
    records = []
    owners = list(zip(range(len(tensors)), tensors, storages)) + [
        (None, result, storage(result.data))]
    for array in saved_arrays:
        if array is None or isinstance(array, (int, float)):
            continue
        memory = storage(array)
        for position, tensor, owner in owners:
            if tensor is not None and owner is memory:
                counter = tensor._counter()
                records.append((position, counter, counter.value))
                break
    return tuple(records)


def _check_float_dtypes_agree(cls, args):
    """Mixing float32 and float64 tensors is an error, never a silent cast."""
    from .tensor import Tensor

    dtypes = {}
    for position, arg in enumerate(args):
        if isinstance(arg, Tensor) and is_floating(arg.dtype):
            dtypes.setdefault(np.dtype(arg.dtype), position)
    if len(dtypes) > 1:
        found = ", ".join(f"input {pos} is {dt.name}" for dt, pos in dtypes.items())
        raise MixedDtypes(cls.__name__, f"floating-point inputs must share one dtype, but "
                                        f"{found}; convert explicitly with .float() or .double()")


def _check_devices_agree(cls, tensors):
    """All tensor arguments live on one device: mixing CPU and GPU tensors is an error.

    Checked before ``forward`` runs, so the message names both devices
    instead of leaving NumPy or CuPy to fail on a foreign array. ``tensors``
    holds a Tensor or None per positional argument.
    """
    for tensor in tensors:
        if tensor is not None and type(tensor.data) is not np.ndarray:
            break
    else:
        return  # every tensor holds a NumPy array: all on the CPU (one type test each)
    first = None
    for position, tensor in enumerate(tensors):
        if tensor is not None:
            device = tensor.device
            if first is None:
                first = (device, position)
            elif device != first[0]:
                raise RuntimeError(
                    f"{cls.__name__}: expected all tensors on one device, but input "
                    f"{first[1]} is on {first[0]} and input {position} is on {device}; "
                    f"move them with .to('{first[0]}') or .to('{device}')"
                )
