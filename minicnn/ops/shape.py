"""Shape operators: reshape, permute, cat/stack/split, pad, squeeze, indexing.

None of these computes anything: each moves elements, so each backward
moves the gradient back to where the element came from (the inverse
reshape or permutation, the slice a piece came from, ...).
"""
import numbers

import numpy as np

from .._validation import as_int, normalize_dim
from ..backend import xp_of
from ..function import Function


class Reshape(Function):
    """``y = x`` viewed with another shape;  ``dL/dx = g`` reshaped back."""

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.source_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.source_shape)


class Permute(Function):
    """``y = x.transpose(dims)``;  ``dL/dx = g.transpose(argsort(dims))``."""

    @staticmethod
    def forward(ctx, x, *, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.transpose(tuple(np.argsort(ctx.dims)))


class Cat(Function):
    """``y = [x_1, ..., x_k]`` joined along ``axis``;  ``dL/dx_i`` is ``g``'s slice of ``x_i``."""

    @staticmethod
    def forward(ctx, *inputs, axis):
        ctx.axis = axis
        ctx.bounds = np.cumsum([x.shape[axis] for x in inputs])[:-1]
        return xp_of(*inputs).concatenate(inputs, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        return tuple(xp_of(grad_out).split(grad_out, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    """``y = [x_1, ..., x_k]`` along a new ``axis``;  ``dL/dx_i = g`` indexed at ``i`` on ``axis``."""

    @staticmethod
    def forward(ctx, *inputs, axis):
        ctx.axis = axis
        return xp_of(*inputs).stack(inputs, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        xp = xp_of(grad_out)
        return tuple(xp.take(grad_out, i, axis=ctx.axis) for i in range(grad_out.shape[ctx.axis]))


class Index(Function):
    """``y = x[index]``;  ``dL/dx`` is zero except ``dL/dx[index] += g``.

    With integer-array indices an element can be picked twice, so the
    backward scatters with ``add.at`` (which accumulates repeats); basic
    slicing picks each element at most once and a plain assignment does.
    """

    @staticmethod
    def forward(ctx, x, *, index):
        ctx.meta = (index, x.shape, x.dtype)
        return x[index]

    @staticmethod
    def backward(ctx, grad_out):
        index, shape, dtype = ctx.meta
        xp = xp_of(grad_out)
        grad = xp.zeros(shape, dtype=dtype)
        if _is_basic_index(index):
            grad[index] = grad_out
        else:
            xp.add.at(grad, index, grad_out)
        return grad


class Pad(Function):
    """``y`` = ``x`` surrounded by ``value``;  ``dL/dx`` = the interior of ``g``."""

    @staticmethod
    def forward(ctx, x, *, widths, value):
        xp = xp_of(x)
        ctx.interior = tuple(slice(before, before + size) for (before, _), size in zip(widths, x.shape))
        return xp.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out[ctx.interior]


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, numbers.Integral)) for p in parts)


def unwrap_index(index):
    """Tensors inside an index become their arrays; lists become integer arrays."""
    from ..tensor import Tensor

    def unwrap(part):
        if isinstance(part, Tensor):
            return part.data
        if isinstance(part, list):
            return np.asarray(part)
        return part

    return tuple(unwrap(p) for p in index) if isinstance(index, tuple) else unwrap(index)


# ------------------------------------------------------------------ functional
def reshape(input, shape):
    """``input`` with a new shape (one entry may be -1); the element count must match."""
    shape = tuple(int(s) for s in shape)
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise ValueError(f"reshape: shape entries must be >= 0 or -1, got {shape}")
            known *= s
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: at most one -1 in shape, got {shape}")
    if (shape.count(-1) == 0 and known != input.size) or (
            shape.count(-1) == 1 and (known == 0 or input.size % known)):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {input.shape} "
                         f"({input.size} elements) into shape {shape}")
    return Reshape.apply(input, shape=shape)


view = reshape


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` (inclusive) into one."""
    if input.ndim == 0:
        return reshape(input, (1,))
    start = normalize_dim(start_dim, input.ndim, "start_dim", "flatten")
    end = normalize_dim(end_dim, input.ndim, "end_dim", "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim ({start_dim}) must not come after end_dim ({end_dim})")
    shape = input.shape
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return Reshape.apply(input, shape=shape[:start] + (merged,) + shape[end + 1:])


def permute(input, dims):
    """Reorder the dimensions: output dimension ``i`` is input dimension ``dims[i]``."""
    dims = tuple(normalize_dim(d, input.ndim, "dims", "permute") for d in dims)
    if sorted(dims) != list(range(input.ndim)):
        raise ValueError(f"permute: dims must be a permutation of 0..{input.ndim - 1}, got {dims}")
    return Permute.apply(input, dims=dims)


def transpose(input, dim0, dim1):
    """Swap two dimensions."""
    dims = list(range(input.ndim))
    a = normalize_dim(dim0, input.ndim, "dim0", "transpose")
    b = normalize_dim(dim1, input.ndim, "dim1", "transpose")
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, dims=tuple(dims))


def squeeze(input, dim=None):
    """Drop size-1 dimensions (all, or only ``dim`` if it has size 1)."""
    if dim is None:
        shape = tuple(s for s in input.shape if s != 1)
    else:
        axis = normalize_dim(dim, input.ndim, "dim", "squeeze")
        shape = input.shape if input.shape[axis] != 1 else input.shape[:axis] + input.shape[axis + 1:]
    return Reshape.apply(input, shape=shape)


def unsqueeze(input, dim):
    """Insert a size-1 dimension at ``dim`` (in ``[-ndim-1, ndim]``)."""
    axis = normalize_dim(dim, input.ndim + 1, "dim", "unsqueeze")
    return Reshape.apply(input, shape=input.shape[:axis] + (1,) + input.shape[axis:])


def _check_joinable(tensors, dim, op, same_size_on_dim):
    from ..tensor import Tensor

    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: tensors[{i}] must be a Tensor, got {type(t).__name__}")
    first = tensors[0]
    for i, t in enumerate(tensors[1:], start=1):
        if t.ndim != first.ndim:
            raise ValueError(f"{op}: tensors[{i}] has {t.ndim} dims but tensors[0] has {first.ndim}")
        others = [k for k in range(first.ndim) if same_size_on_dim or k != dim]
        if any(t.shape[k] != first.shape[k] for k in others):
            raise ValueError(f"{op}: tensors[{i}] has shape {t.shape}, incompatible with "
                             f"tensors[0]'s {first.shape} (sizes must match except along dim={dim})"
                             if not same_size_on_dim else
                             f"{op}: tensors[{i}] has shape {t.shape}, expected {first.shape}")
        if t.dtype != first.dtype:
            raise TypeError(f"{op}: tensors[{i}] has dtype {t.dtype}, tensors[0] has {first.dtype}")
    return tensors


def cat(tensors, dim=0):
    """Join tensors along an existing dimension."""
    tensors = list(tensors)
    if tensors and hasattr(tensors[0], "ndim"):
        dim = normalize_dim(dim, tensors[0].ndim, "dim", "cat")
    tensors = _check_joinable(tensors, dim, "cat", same_size_on_dim=False)
    return Cat.apply(*tensors, axis=dim)


concat = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dimension."""
    tensors = list(tensors)
    if tensors and hasattr(tensors[0], "ndim"):
        dim = normalize_dim(dim, tensors[0].ndim + 1, "dim", "stack")
    tensors = _check_joinable(tensors, dim, "stack", same_size_on_dim=True)
    return Stack.apply(*tensors, axis=dim)


def _narrow(input, axis, start, stop):
    index = (slice(None),) * axis + (slice(start, stop),)
    return Index.apply(input, index=index)


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    axis = normalize_dim(dim, tensor.ndim, "dim", "split")
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [as_int(s, "split_size_or_sections", 0, "split") for s in split_size_or_sections]
        if sum(sizes) != length:
            raise ValueError(f"split: sections {list(sizes)} sum to {sum(sizes)}, but dim {dim} "
                             f"has size {length}")
    else:
        size = as_int(split_size_or_sections, "split_size_or_sections", 1, "split")
        sizes = [size] * (length // size) + ([length % size] if length % size else [])
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return tuple(_narrow(tensor, axis, int(a), int(b)) for a, b in zip(starts[:-1], starts[1:]))


def chunk(input, chunks, dim=0):
    """``chunks`` pieces along ``dim`` of size ``ceil(n / chunks)`` (the last may be smaller)."""
    chunks = as_int(chunks, "chunks", 1, "chunk")
    axis = normalize_dim(dim, input.ndim, "dim", "chunk")
    size = max(-(-input.shape[axis] // chunks), 1)
    return split(input, size, axis)


def pad(input, pad, mode="constant", value=0.0):
    """Pad with ``value``. ``pad`` lists (before, after) pairs from the LAST dimension backwards,
    as in PyTorch: ``(left, right)`` pads the last dim, ``(left, right, top, bottom)`` the last two."""
    if mode != "constant":
        raise ValueError(f"pad: mode must be 'constant' (the only mode implemented), got {mode!r}")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: pad must hold an even number of entries, at most 2 per dimension "
                         f"({2 * input.ndim} for this {input.ndim}-D input), got {pad}")
    for p in pad:
        as_int(p, "pad", 0, "pad")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return Pad.apply(input, widths=tuple(widths), value=value)


def index(input, index):
    """``input[index]``: NumPy indexing (ints, slices, None, Ellipsis, integer/bool arrays)."""
    return Index.apply(input, index=unwrap_index(index))
