"""``Tensor``: an array plus what automatic differentiation needs.

A tensor holds ``data`` (a NumPy array, or a CuPy array on a GPU), an
optional ``grad`` of the same shape, and, when it was computed from tensors
that require a gradient, the graph node that produced it. Operators are the
Functions in :mod:`minicnn.ops`; the Python operators and methods here only
dispatch to them.
"""
import numbers
import weakref

import numpy as np

from . import autograd
from ._device import device
from .backend import is_cupy_array, xp_of
from ._validation import UnsupportedForm, check_memory_format, is_floating

float16, float32, float64 = np.dtype("float16"), np.dtype("float32"), np.dtype("float64")
int8, int32, int64, uint8 = np.dtype("int8"), np.dtype("int32"), np.dtype("int64"), np.dtype("uint8")
bool_ = np.dtype("bool")
_default_dtype = float32
_CPU = device("cpu")


def get_default_dtype():
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """The dtype that Python floats and the factories (zeros, randn, ...) produce."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in (float32, float64):
        raise TypeError(f"set_default_dtype: dtype must be float32 or float64, got {dtype.name}")
    _default_dtype = dtype


def _as_array(data, dtype):
    """Array from ``data`` as ``torch.tensor`` converts it.

    Arrays and NumPy scalars keep their dtype (float64 stays float64); Python
    floats become the default float dtype (float32), Python ints int64, bools
    bool. An explicit ``dtype`` converts (``astype``).
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)) or is_cupy_array(data):
        array = data if not isinstance(data, np.generic) else np.asarray(data)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d.data if isinstance(d, Tensor) else d for d in data]
        array = np.asarray(data)
        if array.dtype == object or array.dtype.kind in "USV":
            raise TypeError(f"tensor: cannot build a tensor from {type(data).__name__} "
                            f"of mixed or non-numeric items")
        if array.dtype == np.uint64:  # NumPy's choice for ints beyond int64
            raise OverflowError("tensor: a Python int does not fit in int64")
        if dtype is None and array.dtype == np.float64:
            array = array.astype(_default_dtype)
        elif dtype is None and np.issubdtype(array.dtype, np.integer):
            array = array.astype(int64)
    if dtype is not None:
        array = array.astype(np.dtype(dtype), copy=False)
    _require_real_dtype(array.dtype, "tensor")
    return array


def _require_real_dtype(dtype, op):
    if np.dtype(dtype).kind == "c":
        raise UnsupportedForm(op, "complex", f"got a complex dtype ({np.dtype(dtype).name}); "
                                             f"minicnn tensors hold real numbers")


class _Size(int):
    """``t.size`` is the element count (as in NumPy); ``t.size()``/``t.size(d)`` the shape (as in PyTorch)."""

    def __new__(cls, count, shape):
        obj = super().__new__(cls, count)
        obj._shape = shape
        return obj

    def __call__(self, dim=None):
        if dim is None:
            return self._shape
        return self._shape[dim]


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    ``Tensor(data, dtype=None, requires_grad=False)`` copies ``data``, like
    :func:`minicnn.tensor`.
    """

    # Make ``ndarray + Tensor`` call Tensor.__radd__ instead of NumPy's loop.
    __array_priority__ = 1000
    # Made on first use (most tensors never need them): see _counter() and register_hook().
    _version_counter = None
    _hooks = None
    _post_accumulate_grad_hooks = None  # see register_post_accumulate_grad_hook()

    def __init__(self, data, dtype=None, requires_grad=False):
        array = _as_array(data, dtype)
        source = data.data if isinstance(data, Tensor) else data
        self.data = array.copy() if array is source else array
        self.grad = None
        self._node = None
        self._retains_grad = False
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _wrap(cls, array, requires_grad=False):
        """A tensor around ``array`` without copying (the operators' constructor)."""
        tensor = cls.__new__(cls)
        tensor.data = array
        tensor.grad = None
        tensor._node = None
        tensor._retains_grad = False
        tensor._requires_grad = requires_grad
        return tensor

    # ----------------------------------------------------------------- autograd
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        value = bool(value)
        if value and not is_floating(self.dtype):
            raise TypeError(f"requires_grad: only floating-point tensors can require gradients, "
                            f"this one has dtype {self.dtype.name}")
        if not value and self._node is not None:
            raise RuntimeError("requires_grad: can only be switched off on a leaf tensor; "
                               "use .detach() for a non-leaf one")
        self._requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        """The graph node that produced this tensor (None for a leaf)."""
        return self._node

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this intermediate tensor during backward (a leaf always keeps it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")
        self._retains_grad = True
        if self._node is not None:
            self._node.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad and self._node is not None

    def register_hook(self, hook):
        """Call ``hook(grad)`` with this tensor's gradient each time backward computes it.

        The hook may return a Tensor of the same shape and dtype to use instead.
        On a leaf it runs before the gradient is added to ``.grad``; on an
        intermediate tensor before the gradient flows on. Returns a handle whose
        ``remove()`` unregisters the hook.
        """
        from .nn.module import RemovableHandle

        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {hook!r}")
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does "
                               "not require grad")
        hooks = self._hook_table()
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after each backward has accumulated this leaf's ``.grad``.

        As in PyTorch: leaf tensors only; the hook returns nothing (it may read or
        change ``tensor.grad``). Returns a handle whose ``remove()`` unregisters it.
        """
        from .nn.module import RemovableHandle

        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: hook must be callable, "
                            f"got {hook!r}")
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook on "
                               "a tensor that does not require grad")
        if not self.is_leaf:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                               "cannot be registered on non-leaf tensors")
        if self._post_accumulate_grad_hooks is None:
            self._post_accumulate_grad_hooks = {}
        handle = RemovableHandle(self._post_accumulate_grad_hooks)
        self._post_accumulate_grad_hooks[handle.id] = hook
        return handle

    def _hook_table(self) -> dict:
        """The hooks of this tensor's gradient: on the tensor for a leaf, else on its node."""
        if self._node is None:
            if self._hooks is None:
                self._hooks = {}
            return self._hooks
        if self._node.hooks is None:
            self._node.hooks = {}
        return self._node.hooks

    # ------------------------------------------------------------ versions
    def _counter(self):
        """This tensor's version counter (shared with the tensors that share its memory)."""
        if self._version_counter is None:
            from .function import VersionCounter

            self._version_counter = VersionCounter()
        return self._version_counter

    @property
    def _version(self) -> int:
        """How many in-place operations changed this tensor's memory (as PyTorch's)."""
        return 0 if self._version_counter is None else self._version_counter.value

    def _bump_version(self, op: str) -> None:
        counter = self._counter()
        counter.value += 1
        counter.last_op = op

    def backward(self, gradient=None, retain_graph: bool = False, *, grad=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        ``gradient`` (alias ``grad``) is d(loss)/d(self); it may be omitted only
        for a one-element tensor. The graph is freed afterwards unless
        ``retain_graph``.
        """
        if grad is not None:
            if gradient is not None:
                raise TypeError("backward: pass gradient or grad, not both")
            gradient = grad
        autograd.backward(self, gradient, retain_graph=retain_graph)

    def detach(self) -> "Tensor":
        """The same data (shared, and so the same version counter), cut from the graph."""
        out = Tensor._wrap(self.data)
        out._version_counter = self._counter()
        out._version_counter.shared = True
        return out

    def zero_grad_(self) -> None:
        self.grad = None

    # ------------------------------------------------------------ array facts
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> _Size:
        return _Size(self.data.size, self.shape)

    def numel(self) -> int:
        return int(self.data.size)

    @property
    def device(self) -> "device":
        """A :class:`minicnn.device` (it equals its text form too: ``t.device == 'cpu'``)."""
        if is_cupy_array(self.data):
            return device("cuda", self.data.device.id)
        return _CPU

    @property
    def T(self) -> "Tensor":
        return self.permute(*reversed(range(self.ndim)))

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared on the CPU, copied from a GPU)."""
        return self.data.get() if is_cupy_array(self.data) else self.data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python number, "
                             f"this one has shape {self.shape}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.dtype not in (_default_dtype, int64, bool_):
            extras.append(f"dtype={self.dtype.name}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._node is not None:
            extras.append(f"grad_fn=<{self._node.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # ------------------------------------------------------------ conversion
    def to(self, *args, **kwargs) -> "Tensor":
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(other_tensor)`` or the
        keywords ``device=``/``dtype=``, as PyTorch: moves between devices and casts, both
        differentiably; returns ``self`` when nothing changes."""
        from ._device import parse_to_args, to_device

        device, dtype = parse_to_args(args, kwargs)
        out = self if device is None else to_device(self, device)
        return out if dtype is None else out.type(dtype)

    def type(self, dtype) -> "Tensor":
        if np.dtype(dtype) == self.dtype:
            return self
        return _F.cast(self, dtype)

    def type_as(self, other) -> "Tensor":
        """This tensor with ``other``'s dtype (itself when it already has it)."""
        return self.type(other.dtype)

    def float(self, memory_format="preserve_format") -> "Tensor":
        check_memory_format(memory_format, "float")
        return self.type(float32)

    def double(self, memory_format="preserve_format") -> "Tensor":
        check_memory_format(memory_format, "double")
        return self.type(float64)

    def long(self, memory_format="preserve_format") -> "Tensor":
        check_memory_format(memory_format, "long")
        return self.type(int64)

    @property
    def is_cuda(self) -> bool:
        return is_cupy_array(self.data)

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self, device=None) -> "Tensor":
        """On the GPU ``device`` (an index, ``'cuda:N'`` or a device; None: GPU 0)."""
        if device is None:
            device = "cuda"
        return self.to(f"cuda:{device}" if isinstance(device, (int, np.integer)) else device)

    def clone(self) -> "Tensor":
        return _F.clone(self)

    def contiguous(self) -> "Tensor":
        return self

    # ------------------------------------------------------------ operators
    def __add__(self, other): return _F.add(self, other)
    def __radd__(self, other): return _F.add(other, self)
    def __sub__(self, other): return _F.sub(self, other)
    def __rsub__(self, other): return _F.sub(other, self)
    def __mul__(self, other): return _F.mul(self, other)
    def __rmul__(self, other): return _F.mul(other, self)
    def __truediv__(self, other): return _F.div(self, other)
    def __rtruediv__(self, other): return _F.div(other, self)
    def __pow__(self, other): return _F.pow(self, other)
    def __rpow__(self, other): return _F.pow(other, self)
    def __matmul__(self, other): return _F.matmul(self, other)
    def __rmatmul__(self, other): return _F.matmul(other, self)
    def __neg__(self): return _F.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _F.abs(self)

    # Comparisons give boolean tensors and carry no gradient, as in PyTorch.
    def _compare(self, other, function):
        if not isinstance(other, (Tensor, np.ndarray, numbers.Real, np.bool_)) \
                and not is_cupy_array(other):
            return NotImplemented  # x == None is False, as for any object
        return function(self, other)

    def __eq__(self, other): return self._compare(other, _compare_ops.eq)
    def __ne__(self, other): return self._compare(other, _compare_ops.ne)
    def __lt__(self, other): return self._compare(other, _compare_ops.lt)
    def __le__(self, other): return self._compare(other, _compare_ops.le)
    def __gt__(self, other): return self._compare(other, _compare_ops.gt)
    def __ge__(self, other): return self._compare(other, _compare_ops.ge)
    def eq(self, other): return _compare_ops.eq(self, other)
    def ne(self, other): return _compare_ops.ne(self, other)
    def lt(self, other): return _compare_ops.lt(self, other)
    def le(self, other): return _compare_ops.le(self, other)
    def gt(self, other): return _compare_ops.gt(self, other)
    def ge(self, other): return _compare_ops.ge(self, other)
    def all(self, dim=None, keepdim=False): return _compare_ops.all(self, dim, keepdim)
    def any(self, dim=None, keepdim=False): return _compare_ops.any(self, dim, keepdim)

    def __getitem__(self, index):
        return _F.index(self, index)

    def __setitem__(self, index, value):
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("__setitem__: in-place assignment into a tensor that requires "
                               "grad would corrupt the graph; do it under no_grad() or on .data")
        index = _F.unwrap_index(index)
        self.data[index] = value.data if isinstance(value, Tensor) else value
        self._bump_version("__setitem__")

    # ------------------------------------------------------------ methods
    def sum(self, dim=None, keepdim=False): return _F.sum(self, dim, keepdim)
    def mean(self, dim=None, keepdim=False): return _F.mean(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _F.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _F.std(self, dim, unbiased, keepdim, correction=correction)

    def max(self, dim=None, keepdim=False): return _F.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False): return _F.min(self, dim, keepdim)
    def amax(self, dim=None, keepdim=False): return _F.amax(self, dim, keepdim)
    def amin(self, dim=None, keepdim=False): return _F.amin(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return _F.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return _F.argmin(self, dim, keepdim)
    def add(self, other, *, alpha=1): return _F.add(self, other, alpha=alpha)
    def sub(self, other, *, alpha=1): return _F.sub(self, other, alpha=alpha)
    def mul(self, other): return _F.mul(self, other)
    def div(self, other, *, rounding_mode=None):
        return _F.div(self, other, rounding_mode=rounding_mode)
    def neg(self): return _F.neg(self)
    def maximum(self, other): return _F.maximum(self, other)
    def minimum(self, other): return _F.minimum(self, other)
    def exp(self): return _F.exp(self)
    def log(self): return _F.log(self)
    def sqrt(self): return _F.sqrt(self)
    def abs(self): return _F.abs(self)
    def pow(self, exponent): return _F.pow(self, exponent)
    def clamp(self, min=None, max=None): return _F.clamp(self, min, max)
    clip = clamp
    def matmul(self, other): return _F.matmul(self, other)

    def reshape(self, *shape): return _F.reshape(self, _shape_args(shape))
    def view(self, *shape): return _F.reshape(self, _shape_args(shape))
    def view_as(self, other): return _F.reshape(self, other.shape)
    def reshape_as(self, other): return _F.reshape(self, other.shape)
    def expand(self, *sizes): return _F.expand(self, *sizes)
    def expand_as(self, other): return _F.expand(self, other.shape)
    def repeat(self, *repeats): return _F.repeat(self, *repeats)
    def gather(self, dim, index): return _F.gather(self, dim, index)
    def index_select(self, dim, index): return _F.index_select(self, dim, index)
    def masked_fill(self, mask, value): return _F.masked_fill(self, mask, value)

    def masked_fill_(self, mask, value):
        return in_place(self, "masked_fill_", lambda old: _F.masked_fill(old, mask, value))

    def topk(self, k, dim=-1, largest=True, sorted=True): return _F.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, stable=False):
        return _F.sort(self, dim, descending, stable)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return _F.norm(self, p, dim, keepdim, dtype)
    def flatten(self, start_dim=0, end_dim=-1): return _F.flatten(self, start_dim, end_dim)
    def transpose(self, dim0, dim1): return _F.transpose(self, dim0, dim1)
    def t(self):
        """The transpose of a 2-D tensor; a 0-D or 1-D one as it is (as PyTorch)."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, got shape {self.shape}; "
                             f"use transpose(dim0, dim1) or permute")
        return _F.transpose(self, 0, 1) if self.ndim == 2 else self
    def permute(self, *dims): return _F.permute(self, _shape_args(dims))
    def squeeze(self, dim=None): return _F.squeeze(self, dim)
    def unsqueeze(self, dim): return _F.unsqueeze(self, dim)
    def split(self, split_size_or_sections, dim=0): return _F.split(self, split_size_or_sections, dim)
    def chunk(self, chunks, dim=0): return _F.chunk(self, chunks, dim)

    # In-place methods (see minicnn._inplace: version counters, what is refused).
    def add_(self, other, *, alpha=1):
        return in_place(self, "add_", lambda old: _F.add(old, scaled(other, alpha, "add_")))

    def sub_(self, other, *, alpha=1):
        return in_place(self, "sub_", lambda old: _F.sub(old, scaled(other, alpha, "sub_")))

    def mul_(self, other): return in_place(self, "mul_", lambda old: _F.mul(old, other))
    def div_(self, other): return in_place(self, "div_", lambda old: _F.div(old, other))

    def clamp_(self, min=None, max=None):
        return in_place(self, "clamp_", lambda old: _F.clamp(old, min, max))

    clip_ = clamp_
    def fill_(self, value): return in_place(self, "fill_", lambda old: filled(old, value, "fill_"))
    def zero_(self): return in_place(self, "zero_", lambda old: filled(old, 0, "zero_"))

    def copy_(self, src, non_blocking=False):
        return in_place(self, "copy_", lambda old: copied(old, src, "copy_"))

    def relu(self): return _F.relu(self)
    def sigmoid(self): return _F.sigmoid(self)
    def tanh(self): return _F.tanh(self)
    def softmax(self, dim): return _F.softmax(self, dim)
    def log_softmax(self, dim): return _F.log_softmax(self, dim)


def _shape_args(args):
    """Accept both ``t.reshape(2, 3)`` and ``t.reshape((2, 3))``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


# --------------------------------------------------------------- factories
def tensor(data, dtype=None, requires_grad=False, device="cpu") -> Tensor:
    """A new tensor holding a copy of ``data`` on ``device`` (see :class:`Tensor` for dtypes)."""
    return _placed(Tensor(data, dtype=dtype), requires_grad, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy, dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    _require_real_dtype(array.dtype, "from_numpy")
    return Tensor._wrap(array)


def _size_args(size, op):
    size = _shape_args(size)
    if not all(isinstance(s, (numbers.Integral, np.integer)) and not isinstance(s, bool) and s >= 0
               for s in size):
        raise ValueError(f"{op}: size must be non-negative ints, got {size!r}")
    return tuple(int(s) for s in size)


def _placed(tensor, requires_grad, device):
    """``tensor`` moved to ``device``, then made a leaf that requires grad if asked.

    (In this order: moved after ``requires_grad`` was set, it would be the
    output of the move, not a leaf, and its ``.grad`` would stay empty.)
    """
    if device is not None and str(device) != "cpu":
        tensor = tensor.to(device)
    tensor.requires_grad = requires_grad
    return tensor


def _factory(make):
    def factory(*size, dtype=None, requires_grad=False, device="cpu"):
        shape = _size_args(size, make.__name__)
        data = make(shape, np.dtype(dtype) if dtype is not None else _default_dtype)
        return _placed(Tensor._wrap(data), requires_grad, device)

    factory.__name__ = make.__name__
    factory.__doc__ = make.__doc__
    return factory


def _rng():
    from .random import default_generator

    return default_generator()


@_factory
def zeros(shape, dtype):
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``."""
    return np.zeros(shape, dtype)


@_factory
def ones(shape, dtype):
    """A tensor of ones."""
    return np.ones(shape, dtype)


@_factory
def empty(shape, dtype):
    """An uninitialised tensor."""
    return np.empty(shape, dtype)


def _random_dtype(dtype, op):
    if dtype not in (float32, float64):
        raise TypeError(f"{op}: dtype must be float32 or float64, got {dtype.name}")
    return dtype


@_factory
def randn(shape, dtype):
    """Standard normal samples from the global generator (``minicnn.manual_seed``)."""
    return _rng().standard_normal(shape, dtype=_random_dtype(dtype, "randn"))


@_factory
def rand(shape, dtype):
    """Uniform samples on [0, 1) from the global generator."""
    return _rng().random(shape, dtype=_random_dtype(dtype, "rand"))


def full(size, fill_value, dtype=None, requires_grad=False, device="cpu") -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``."""
    shape = _size_args((size,) if isinstance(size, (tuple, list)) else (size,), "full")
    if dtype is None:
        if isinstance(fill_value, (bool, np.bool_)):
            dtype = bool_
        elif isinstance(fill_value, (int, np.integer)):
            dtype = int64
        else:
            dtype = _default_dtype
    return _placed(Tensor._wrap(np.full(shape, fill_value, dtype=np.dtype(dtype))),
                   requires_grad, device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device="cpu") -> Tensor:
    """``arange(end)`` or ``arange(start, end, step)``; ints give int64, floats float32."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero, got 0")
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = _default_dtype if values.dtype.kind == "f" else int64
    return _placed(Tensor(values, dtype=dtype), requires_grad, device)


def zeros_like(t: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Zeros of ``t``'s shape, with ``t``'s dtype and device unless given."""
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad,
                 device=t.device if device is None else device)


def ones_like(t: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Ones of ``t``'s shape, with ``t``'s dtype and device unless given."""
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad,
                device=t.device if device is None else device)


def randn_like(t: Tensor, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Standard normal samples of ``t``'s shape, with ``t``'s dtype and device unless given."""
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad,
                 device=t.device if device is None else device)


# The functional API, bound after Tensor exists (it imports Tensor itself).
from .nn import functional as _F  # noqa: E402
from ._inplace import copied, filled, in_place, scaled  # noqa: E402
from .ops import compare as _compare_ops  # noqa: E402
