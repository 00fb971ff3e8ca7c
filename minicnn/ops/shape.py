"""Shape operators: reshape, permute, expand/repeat, cat/stack/split, pad, squeeze, indexing.

None of these computes anything: each moves elements, so each backward
moves the gradient back to where the element came from (the inverse
reshape or permutation, the slice a piece came from, ...). ``g = dL/dy``.
"""
import numbers

import numpy as np

from .._validation import MixedDtypes, _is_int, as_int, normalize_dim
from ..autograd import unbroadcast
from ..backend import xp_of
from ..function import Function
from ._common import require_tensor


class Reshape(Function):
    """``y = x`` read in row-major order into ``shape`` (same element count).

    ``dL/dx = g`` reshaped back to ``x.shape`` (element ``k`` of both, in
    row-major order, is the same element).
    """

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.source_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.source_shape)


class Permute(Function):
    """``y[i_0, ..., i_{n-1}] = x[j]`` with ``j[dims[k]] = i_k``: ``y.shape[k] = x.shape[dims[k]]``.

    ``dL/dx = g.transpose(argsort(dims))``, the inverse permutation.
    """

    @staticmethod
    def forward(ctx, x, *, dims):
        ctx.dims = dims
        return x.transpose(dims)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.transpose(tuple(int(d) for d in np.argsort(ctx.dims)))


class Cat(Function):
    """``y = [x_1, ..., x_k]`` joined along ``axis``: ``y.shape[axis] = sum_i x_i.shape[axis]``.

    ``dL/dx_i`` is the slice of ``g`` along ``axis`` that ``x_i`` occupies.
    """

    @staticmethod
    def forward(ctx, *inputs, axis):
        ctx.axis = axis
        ctx.bounds = [int(b) for b in np.cumsum([x.shape[axis] for x in inputs])[:-1]]
        return xp_of(*inputs).concatenate(inputs, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        return tuple(xp_of(grad_out).split(grad_out, ctx.bounds, axis=ctx.axis))


class Stack(Function):
    """``y = [x_1, ..., x_k]`` along a new ``axis``: ``y.shape = S[:axis] + (k,) + S[axis:]``.

    ``dL/dx_i = g`` indexed at ``i`` along ``axis``.
    """

    @staticmethod
    def forward(ctx, *inputs, axis):
        ctx.axis = axis
        return xp_of(*inputs).stack(inputs, axis=axis)

    @staticmethod
    def backward(ctx, grad_out):
        xp = xp_of(grad_out)
        return tuple(xp.take(grad_out, i, axis=ctx.axis) for i in range(grad_out.shape[ctx.axis]))


class Index(Function):
    """``y = x[index]`` with NumPy's indexing rules (its shape is whatever they give).

    ``dL/dx`` is zero except ``dL/dx[index] += g``. With integer-array (or
    boolean-mask) indices an element can be picked twice, so the backward
    scatters with ``add.at``, which accumulates repeats; basic indexing
    (ints, slices, None, Ellipsis) picks each element at most once and a plain
    assignment does.
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


class Expand(Function):
    """``y = x`` broadcast to ``shape`` (new leading axes, size-1 axes stretched), no copy.

    Each element of ``x`` is read by every position it was stretched to, so
    ``dL/dx = unbroadcast(g, x.shape)``: ``g`` summed over the new and the
    stretched axes.
    """

    @staticmethod
    def forward(ctx, x, *, shape):
        ctx.source_shape = x.shape
        return xp_of(x).broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad_out):
        return unbroadcast(grad_out, ctx.source_shape)


class Repeat(Function):
    """``y = x`` tiled ``r_k`` times along each axis ``k`` (``x`` first gets leading size-1
    axes up to ``len(repeats)``): ``y.shape[k] = r_k * s_k``,
    ``y[i_0, ..., i_{n-1}] = x[i_0 mod s_0, ..., i_{n-1} mod s_{n-1}]``.

    ``dL/dx[j] = sum over the copies of g``: ``g`` viewed as
    ``(r_0, s_0, r_1, s_1, ...)`` summed over the ``r`` axes.
    """

    @staticmethod
    def forward(ctx, x, *, repeats):
        shape = (1,) * (len(repeats) - x.ndim) + x.shape  # s_k
        ctx.meta = (x.shape, shape, repeats)
        return xp_of(x).tile(x.reshape(shape), repeats)

    @staticmethod
    def backward(ctx, grad_out):
        source_shape, shape, repeats = ctx.meta
        interleaved = tuple(n for pair in zip(repeats, shape) for n in pair)  # (r_0, s_0, ...)
        copies = tuple(range(0, 2 * len(shape), 2))
        return grad_out.reshape(interleaved).sum(axis=copies).reshape(source_shape)


class Pad(Function):
    """Constant padding: ``y`` is ``x`` with ``before_d`` values in front of and
    ``after_d`` behind axis ``d``, each ``value``; a negative width crops instead.

    ``y.shape[d] = x.shape[d] + before_d + after_d``. Output window
    ``y[dst] = x[src]`` (``dst`` starts at ``max(before, 0)``, ``src`` at
    ``max(-before, 0)``); ``dL/dx[src] = g[dst]`` and 0 on the cropped part.
    """

    @staticmethod
    def forward(ctx, x, *, widths, value):
        xp = xp_of(x)
        out_shape = tuple(n + b + a for n, (b, a) in zip(x.shape, widths))
        src, dst = _pad_windows(x.shape, widths)
        ctx.meta = (x.shape, src, dst)
        out = xp.full(out_shape, value, dtype=x.dtype)
        out[dst] = x[src]
        return out

    @staticmethod
    def backward(ctx, grad_out):
        shape, src, dst = ctx.meta
        grad = xp_of(grad_out).zeros(shape, dtype=grad_out.dtype)
        grad[src] = grad_out[dst]
        return grad


class PadMode(Function):
    """Reflect, replicate or circular padding along the padded axes.

    Along an axis of size ``n`` padded by ``(b, a)``, output position ``i``
    (``0 <= i < n + b + a``) copies input position ``r(i)``, with ``j = i - b``:

    * ``reflect``:   ``r = (n-1) - |(n-1) - |j||`` (mirrored at the edges, which are
      not repeated: ``[1 2 3] -> 2 | 1 2 3 | 2``; needs ``b, a < n``);
    * ``replicate``: ``r = clip(j, 0, n-1)`` (the edge value repeated);
    * ``circular``:  ``r = j mod n`` (wrapped around; needs ``b, a <= n``).

    A negative width crops (``j`` starts inside); circular padding wraps
    around what the crop kept, as PyTorch's does. Axes are gathered one
    after another, ``y = take(x, r, axis)``, so corners combine the rules.

    ``dL/dx[k] = sum_{i: r(i) = k} g[i]`` per axis (a scatter-add, in the
    reverse order of the axes): an input element copied to the frame gets
    the gradient of every copy.
    """

    @staticmethod
    def forward(ctx, x, *, widths, mode):
        xp = xp_of(x)
        gathers = [(axis, _pad_source(n, before, after, mode), n)
                   for axis, (n, (before, after)) in enumerate(zip(x.shape, widths))
                   if (before, after) != (0, 0)]
        out = x
        for axis, source, _ in gathers:
            out = xp.take(out, xp.asarray(source), axis=axis)
        ctx.gathers = gathers
        return out if gathers else x.copy()

    @staticmethod
    def backward(ctx, grad_out):
        xp = xp_of(grad_out)
        grad = grad_out
        for axis, source, n in reversed(ctx.gathers):
            moved = xp.moveaxis(grad, axis, 0)  # (n + b + a, ...) with the padded axis first
            summed = xp.zeros((n,) + moved.shape[1:], dtype=grad.dtype)
            xp.add.at(summed, xp.asarray(source), moved)  # scatter-add: copies accumulate
            grad = xp.moveaxis(summed, 0, axis)
        return grad


def _pad_source(n, before, after, mode):
    """``r(i)`` of :class:`PadMode`: the input position each output position copies (NumPy)."""
    j = np.arange(-before, n + after)
    if mode == "reflect":
        return (n - 1) - np.abs((n - 1) - np.abs(j))
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    # circular wraps around what is left after cropping (PyTorch crops first)
    start, kept = max(-before, 0), n - max(-before, 0) - max(-after, 0)
    return start + np.mod(np.arange(n + before + after) - max(before, 0), kept)


def _pad_windows(shape, widths):
    """The slices of ``x`` (src) and of the padded output (dst) that hold the same elements."""
    src, dst = [], []
    for n, (before, after) in zip(shape, widths):
        start = max(-before, 0)  # cropped from the front
        length = n - start - max(-after, 0)  # minus what is cropped from the back
        src.append(slice(start, start + length))
        dst.append(slice(max(before, 0), max(before, 0) + length))
    return tuple(src), tuple(dst)


def _is_basic_index(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, slice)
               or (isinstance(p, numbers.Integral) and not isinstance(p, bool)) for p in parts)


def unwrap_index(index):
    """Tensors inside an index become their arrays; lists become integer (or bool) arrays."""
    from ..tensor import Tensor

    def unwrap(part):
        if isinstance(part, Tensor):
            return part.data
        if isinstance(part, list):
            return np.asarray([p.item() if isinstance(p, Tensor) else p for p in part])
        return part

    return tuple(unwrap(p) for p in index) if isinstance(index, tuple) else unwrap(index)


# ------------------------------------------------------------------ functional
def reshape(input, shape):
    """``input`` with a new shape (one entry may be -1, inferred); the element count must match."""
    require_tensor(input, "input", "reshape")
    if _is_int(shape):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(_is_int(s) for s in shape):
        raise TypeError(f"reshape: shape must be a tuple of ints, got {shape!r}")
    shape = tuple(int(s) for s in shape)
    if any(s < -1 for s in shape) or shape.count(-1) > 1:
        raise ValueError(f"reshape: shape entries must be >= 0, with at most one -1, got {shape}")
    known = 1
    for s in shape:
        known *= s if s != -1 else 1
    if -1 in shape:
        if known == 0 or input.size % known:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {input.shape} "
                             f"({input.size} elements) into shape {shape}"
                             + (" (-1 is ambiguous next to a 0)" if known == 0 else ""))
        shape = tuple(s if s != -1 else input.size // known for s in shape)
    elif known != input.size:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {input.shape} "
                         f"({input.size} elements) into shape {shape} ({known} elements)")
    return Reshape.apply(input, shape=shape)


view = reshape


def flatten(input, start_dim=0, end_dim=-1):
    """Merge dimensions ``start_dim..end_dim`` (inclusive) into one."""
    require_tensor(input, "input", "flatten")
    if input.ndim == 0:
        normalize_dim(start_dim, 0, "start_dim", "flatten")
        normalize_dim(end_dim, 0, "end_dim", "flatten")
        return Reshape.apply(input, shape=(1,))
    start = normalize_dim(start_dim, input.ndim, "start_dim", "flatten")
    end = normalize_dim(end_dim, input.ndim, "end_dim", "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim ({start_dim}) must not come after "
                         f"end_dim ({end_dim})")
    shape = input.shape
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return Reshape.apply(input, shape=shape[:start] + (merged,) + shape[end + 1:])


def permute(input, dims):
    """Reorder the dimensions: output dimension ``i`` is input dimension ``dims[i]``."""
    require_tensor(input, "input", "permute")
    dims = tuple(normalize_dim(d, input.ndim, "dims", "permute") for d in dims)
    if input.ndim == 0 and dims in ((), (0,)):
        return Permute.apply(input, dims=())
    if sorted(dims) != list(range(input.ndim)):
        raise ValueError(f"permute: dims must be a permutation of 0..{input.ndim - 1}, got {dims}")
    return Permute.apply(input, dims=dims)


def transpose(input, dim0, dim1):
    """Swap two dimensions."""
    require_tensor(input, "input", "transpose")
    a = normalize_dim(dim0, input.ndim, "dim0", "transpose")
    b = normalize_dim(dim1, input.ndim, "dim1", "transpose")
    dims = list(range(input.ndim))
    if input.ndim:
        dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, dims=tuple(dims))


def squeeze(input, dim=None):
    """Drop size-1 dimensions: all, or those of ``dim`` (an int or a tuple) that have size 1."""
    require_tensor(input, "input", "squeeze")
    if dim is None:
        axes = {k for k, s in enumerate(input.shape) if s == 1}
    else:
        dims = (dim,) if _is_int(dim) else tuple(dim)
        axes = {normalize_dim(d, input.ndim, "dim", "squeeze") for d in dims}
        axes = {k for k in axes if input.ndim and input.shape[k] == 1}
    shape = tuple(s for k, s in enumerate(input.shape) if k not in axes)
    return Reshape.apply(input, shape=shape)


def unsqueeze(input, dim):
    """Insert a size-1 dimension at ``dim`` (in ``[-ndim-1, ndim]``)."""
    require_tensor(input, "input", "unsqueeze")
    axis = normalize_dim(dim, input.ndim + 1, "dim", "unsqueeze")
    return Reshape.apply(input, shape=input.shape[:axis] + (1,) + input.shape[axis:])


def _check_joinable(tensors, op):
    from ..tensor import Tensor

    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}: tensors must be a sequence of Tensors, got a single Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: tensors must be a non-empty sequence, got an empty one")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: tensors[{i}] must be a Tensor, got {type(t).__name__}")
        if t.dtype != tensors[0].dtype:
            raise MixedDtypes(op, f"tensors[{i}] has dtype {t.dtype.name}, but tensors[0] has "
                                  f"{tensors[0].dtype.name}; convert explicitly")
    return tensors


def cat(tensors, dim=0):
    """Join tensors along an existing dimension; the other sizes must match.

    As in PyTorch, a 1-D empty tensor (shape ``(0,)``) among tensors of
    another rank is skipped (a legacy "nothing" placeholder).
    """
    tensors = _check_joinable(tensors, "cat")
    kept = [t for t in tensors if t.shape != (0,)]
    if kept and any(t.ndim != 1 for t in kept):
        tensors = kept
    first = tensors[0]
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ValueError(f"cat: tensors[{i}] is zero-dimensional and cannot be concatenated")
    axis = normalize_dim(dim, first.ndim, "dim", "cat")
    for i, t in enumerate(tensors[1:], start=1):
        if t.ndim != first.ndim or any(t.shape[k] != first.shape[k]
                                       for k in range(first.ndim) if k != axis):
            raise ValueError(f"cat: tensors[{i}] has shape {t.shape}, incompatible with "
                             f"tensors[0]'s {first.shape}: sizes must match except along "
                             f"dim={dim}")
    return Cat.apply(*tensors, axis=axis)


concat = cat


def stack(tensors, dim=0):
    """Join same-shaped tensors along a new dimension ``dim`` (in ``[-ndim-1, ndim]``)."""
    tensors = _check_joinable(tensors, "stack")
    first = tensors[0]
    axis = normalize_dim(dim, first.ndim + 1, "dim", "stack")
    for i, t in enumerate(tensors[1:], start=1):
        if t.shape != first.shape:
            raise ValueError(f"stack: tensors[{i}] has shape {t.shape}, but tensors[0] has "
                             f"{first.shape}; all must have the same shape")
    return Stack.apply(*tensors, axis=axis)


def _narrow(input, axis, start, stop):
    index = (slice(None),) * axis + (slice(start, stop),)
    return Index.apply(input, index=index)


def split(tensor, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    require_tensor(tensor, "tensor", "split")
    axis = normalize_dim(dim, tensor.ndim, "dim", "split")
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [as_int(s, "split_size_or_sections", 0, "split") for s in split_size_or_sections]
        if sum(sizes) != length:
            raise ValueError(f"split: split_size_or_sections {list(sizes)} sum to "
                             f"{sum(sizes)}, but dim {dim} has size {length}")
    else:
        size = as_int(split_size_or_sections, "split_size_or_sections", 1, "split")
        sizes = [size] * (length // size) + ([length % size] if length % size else [])
        sizes = sizes or [0]  # an empty dim still gives one (empty) piece, as in PyTorch
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return tuple(_narrow(tensor, axis, int(a), int(b)) for a, b in zip(starts[:-1], starts[1:]))



def chunk(input, chunks, dim=0):
    """Pieces of size ``ceil(n / chunks)`` along ``dim`` (the last may be smaller, and
    there may be fewer than ``chunks`` pieces, as in PyTorch)."""
    require_tensor(input, "input", "chunk")
    chunks = as_int(chunks, "chunks", 1, "chunk")
    axis = normalize_dim(dim, input.ndim, "dim", "chunk")
    size = -(-input.shape[axis] // chunks)
    if size == 0:  # an empty dim: PyTorch gives `chunks` empty pieces
        return tuple(_narrow(input, axis, 0, 0) for _ in range(chunks))
    return split(input, size, axis)


PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """Pad ``input``; ``pad`` lists (before, after) pairs from the LAST dimension backwards,
    as in PyTorch: ``(left, right)`` pads the last dim, ``(left, right, top, bottom)`` the
    last two. A negative width crops.

    ``mode='constant'`` fills with ``value`` (None means 0); ``'reflect'``,
    ``'replicate'`` and ``'circular'`` copy input values (see :class:`PadMode`)
    and, as in PyTorch, pad the last 1, 2 or 3 dims of an input with one or
    two more dims (a batch and/or a channel axis) and take no ``value``.
    """
    require_tensor(input, "input", "pad")
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {PAD_MODES}, got {mode!r}")
    if not isinstance(pad, (tuple, list)) or not all(_is_int(p) for p in pad):
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: pad must hold an even number of entries, at most 2 per dimension "
                         f"({2 * input.ndim} for this {input.ndim}-D input), got {pad}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    for d, (n, (before, after)) in enumerate(zip(input.shape, widths)):
        cropped = -min(before, 0) - min(after, 0)
        if cropped > n:  # as PyTorch, crop first, then pad
            raise ValueError(f"pad: pad {pad} crops {cropped} from dim {d}, which has size {n}")
    if mode != "constant":
        _check_pad_mode(input, pad, widths, mode, value)
        return PadMode.apply(input, widths=tuple(widths), mode=mode)
    value = 0 if value is None else value
    if not isinstance(value, numbers.Real):
        raise TypeError(f"pad: value must be a number, got {type(value).__name__}")
    return Pad.apply(input, widths=tuple(widths), value=value)


def _check_pad_mode(input, pad, widths, mode, value):
    """PyTorch's rules for the copying modes (checked before anything is computed)."""
    if value is not None and value != 0:
        raise ValueError(f"pad: mode {mode!r} takes no value (it copies input values), "
                         f"got value={value!r}")
    spatial = len(pad) // 2
    if spatial not in (1, 2, 3) or input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of an input with one "
                         f"or two more (batch, channel); got {len(pad)} widths for a "
                         f"{input.ndim}-D input of shape {input.shape}")
    for d in range(input.ndim - spatial, input.ndim):
        n, (before, after) = input.shape[d], widths[d]
        if n == 0:
            raise ValueError(f"pad: mode {mode!r} needs a non-empty dim {d} to copy from, "
                             f"input shape {input.shape}")
        if mode == "reflect" and max(before, after) >= n:
            raise ValueError(f"pad: reflect padding must be less than the size of the dim it "
                             f"pads: pad {pad} on dim {d} of size {n}")
        if mode == "circular" and max(before, after) > n:
            raise ValueError(f"pad: circular padding must be at most the size of the dim it "
                             f"pads: pad {pad} on dim {d} of size {n}")
    for d in range(input.ndim - spatial):
        if input.shape[d] == 0 and input.ndim == spatial + 1:
            raise ValueError(f"pad: mode {mode!r} on an empty input of shape {input.shape}")


def _sizes(sizes, op):
    """``f(x, 2, 3)`` or ``f(x, (2, 3))`` -> ``(2, 3)``, ints only."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if not all(_is_int(s) for s in sizes):
        raise TypeError(f"{op}: sizes must be ints, got {sizes!r}")
    return tuple(int(s) for s in sizes)


def expand(input, *sizes):
    """``input`` broadcast to ``sizes`` without copying (``-1`` keeps a size; new axes go in
    front; only size-1 axes stretch), as ``Tensor.expand``."""
    require_tensor(input, "input", "expand")
    sizes = _sizes(sizes, "expand")
    extra = len(sizes) - input.ndim
    if extra < 0:
        raise ValueError(f"expand: the number of sizes ({len(sizes)}) must be at least the "
                         f"number of dims ({input.ndim}) of the input of shape {input.shape}")
    shape = list(sizes)
    for k, size in enumerate(sizes):
        own = input.shape[k - extra] if k >= extra else None
        if size == -1 and own is not None:
            shape[k] = own
        elif size < 0:
            raise ValueError(f"expand: size {size} at position {k} is invalid (-1 is allowed "
                             f"only for an existing dim) in sizes {sizes}")
        elif own is not None and own != 1 and own != size:
            raise ValueError(f"expand: the input's size {own} in dim {k - extra} must match "
                             f"the size {size} at position {k} (only size-1 dims stretch): "
                             f"input {input.shape}, sizes {sizes}")
    return Expand.apply(input, shape=tuple(shape))


def repeat(input, *repeats):
    """``input`` tiled ``repeats[k]`` times along axis ``k``, as ``Tensor.repeat`` (and
    ``numpy.tile``); ``len(repeats)`` must be at least ``input.ndim``."""
    require_tensor(input, "input", "repeat")
    repeats = _sizes(repeats, "repeat")
    if len(repeats) < input.ndim:
        raise ValueError(f"repeat: the number of repeats ({len(repeats)}) must be at least the "
                         f"number of dims ({input.ndim}) of the input of shape {input.shape}")
    if any(r < 0 for r in repeats):
        raise ValueError(f"repeat: repeats must be >= 0, got {repeats}")
    return Repeat.apply(input, repeats=repeats)


def index(input, index):
    """``input[index]``: NumPy indexing (ints, slices, None, Ellipsis, integer/bool arrays)."""
    require_tensor(input, "input", "index")
    return Index.apply(input, index=unwrap_index(index))
