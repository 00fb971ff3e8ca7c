"""Selecting elements by index or mask: gather, index_select, masked_fill, topk, sort.

Each picks input elements by position, so each is the indexing operator
(:class:`~minicnn.ops.shape.Index`, ``y = x[index]``) with an index built
from its arguments, or :func:`~minicnn.ops.elementwise.where`; their
gradients are those operators' (scatter-add the upstream gradient back to
the picked positions; zero elsewhere). Notation: ``x`` has shape ``S``,
``d`` is ``dim``, ``g = dL/dy``.

* ``gather(x, d, idx)``: ``y[i] = x[i with i_d replaced by idx[i]]``; ``y``
  has ``idx``'s shape (``idx.shape[k] <= S[k]`` for ``k != d``, as PyTorch).
  ``dL/dx[j] = sum_{i: i_k = j_k (k != d), idx[i] = j_d} g[i]``.
* ``index_select(x, d, idx)``: ``y = x`` at positions ``idx`` (1-D) along
  ``d``; ``dL/dx[..., j, ...] = sum_{t: idx[t] = j} g[..., t, ...]``.
* ``masked_fill(x, mask, v)``: ``y = mask ? v : x`` (``mask`` broadcasts to
  ``S``); ``dL/dx = g * [not mask]``, ``dL/dv = sum(g * [mask])`` for a 0-d
  tensor ``v``.
* ``topk``/``sort``: ``(values, indices)``; ``values = gather(x, d,
  indices)`` with the indices of the ``k`` largest (smallest) elements, or of
  all in order, so ``values`` has the gather gradient; ``indices`` none.
"""
import numbers

import numpy as np

from .._validation import as_int, normalize_dim
from ..backend import xp_of
from ._common import require_same_device, require_tensor
from .reduce import ValuesIndices
from .shape import Index


def _require_index(input, index, name, op):
    require_tensor(index, name, op)
    require_same_device(input, index, name, op)
    if not np.issubdtype(index.dtype, np.integer):
        raise TypeError(f"{op}: {name} must be an integer (int64) tensor, got dtype "
                        f"{index.dtype.name}")


def _require_in_range(index, size, name, dim, op):
    """Every entry of ``index`` in ``[0, size)`` (PyTorch's rule for gather/index_select)."""
    if index.size and (int(index.min()) < 0 or int(index.max()) >= size):
        bad = int(index.min()) if int(index.min()) < 0 else int(index.max())
        raise IndexError(f"{op}: {name} holds {bad}, out of range for dim {dim} of size {size} "
                         f"(expected 0 <= {name} < {size})")


def _gather_index(indices, axis, xp):
    """The advanced index ``x[...]`` that gathers ``indices`` along ``axis``: the
    coordinates of every position of ``indices``, with ``indices`` itself on ``axis``."""
    grid = list(xp.ogrid[tuple(slice(0, n) for n in indices.shape)]) if indices.ndim else []
    grid[axis] = indices
    return tuple(grid)


def gather(input, dim, index, *, sparse_grad=False):
    """Values of ``input`` along ``dim`` at ``index`` (see the module docstring).

    As PyTorch: a 0-d input counts as one element along dim 0; an empty index
    gives an empty output of its shape, whatever its number of dims.
    """
    require_tensor(input, "input", "gather")
    _require_index(input, index, "index", "gather")
    axis = normalize_dim(dim, input.ndim, "dim", "gather")
    xp = xp_of(input.data)
    if input.ndim == 0:
        from .shape import reshape

        input = reshape(input, (1,))
    if index.size == 0:  # x[zeros, ..., zeros] with zeros of index's (empty) shape
        empty = xp.zeros(index.shape, dtype=np.int64)
        return Index.apply(input, index=(empty,) * input.ndim)
    if index.ndim != max(input.ndim, 1) and not (index.ndim == 0 and input.ndim == 1):
        raise ValueError(f"gather: index must have as many dims as input ({input.ndim}), got "
                         f"shape {index.shape}")
    for k, (n, m) in enumerate(zip(index.shape, input.shape)):
        if k != axis and n > m:
            raise ValueError(f"gather: index's size {n} in dim {k} exceeds input's {m} (input "
                             f"{input.shape}, index {index.shape}, dim {dim})")
    _require_in_range(index.data, input.shape[axis], "index", dim, "gather")
    if index.ndim == 0:
        return Index.apply(input, index=(index.data,))
    return Index.apply(input, index=_gather_index(index.data, axis, xp))


def index_select(input, dim, index):
    """``input``'s slices ``index`` (a 1-D integer tensor) along ``dim``, in that order."""
    require_tensor(input, "input", "index_select")
    _require_index(input, index, "index", "index_select")
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {index.shape}")
    axis = normalize_dim(dim, input.ndim, "dim", "index_select")
    size = input.shape[axis] if input.ndim else 1
    _require_in_range(index.data, size, "index", dim, "index_select")
    if input.ndim == 0:
        return Index.apply(input, index=())
    return Index.apply(input, index=(slice(None),) * axis + (index.data.reshape(-1),))


def fill_value(value, like, op):
    """``value`` (a number or a 0-d tensor) as a 0-d tensor of ``like``'s dtype and device,
    converted as PyTorch's fill does (a float truncated into an integer tensor)."""
    from ..tensor import Tensor
    from .elementwise import cast

    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"{op}: value must be a number or a 0-d tensor, got a tensor of "
                               f"shape {value.shape}")
        # as PyTorch: a 0-d value of another dtype is converted (a float truncated into an
        # integer tensor); minicnn has no complex tensors, so no conversion loses a part
        return value if value.dtype == like.dtype else cast(value, like.dtype)
    if isinstance(value, (numbers.Real, np.bool_)):
        return Tensor._wrap(xp_of(like.data).asarray(value, dtype=like.dtype))
    raise TypeError(f"{op}: value must be a number or a 0-d tensor, got {type(value).__name__}")


def masked_fill(input, mask, value):
    """``input`` with ``value`` where ``mask`` (a bool tensor) holds; ``input`` and ``mask``
    broadcast together, as PyTorch (the in-place ``masked_fill_`` keeps ``input``'s shape)."""
    from .elementwise import _check_broadcast, where

    require_tensor(input, "input", "masked_fill")
    require_tensor(mask, "mask", "masked_fill")
    require_same_device(input, mask, "mask", "masked_fill")
    if mask.dtype != bool:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype.name}")
    _check_broadcast("masked_fill", input, mask)
    return where(mask.data, fill_value(value, input, "masked_fill"), input)


def _order(data, axis, descending):
    """Indices that sort ``data`` along ``axis`` (stable: equal elements keep their order;
    NaN counts as the largest, as in PyTorch)."""
    xp = xp_of(data)
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable")
    if data.dtype.kind in "bu":
        data = data.astype(np.int64)
    key = -data
    if data.dtype.kind == "f":
        key = xp.where(xp.isnan(data), -xp.inf, key)
    return xp.argsort(key, axis=axis, kind="stable")


def _selected(input, axis, indices):
    from ..tensor import Tensor

    values = Index.apply(input, index=_gather_index(indices, axis, xp_of(input.data)))
    return ValuesIndices(values, Tensor._wrap(indices.astype(np.int64, copy=False)))


def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)``: ``input`` sorted along ``dim`` (ascending unless ``descending``);
    always stable here. The gradient of ``values`` goes back to where each came from."""
    require_tensor(input, "input", "sort")
    axis = normalize_dim(dim, input.ndim, "dim", "sort")
    if input.ndim == 0:
        return ValuesIndices(input.clone(), _zero_index(input))
    return _selected(input, axis, _order(input.data, axis, bool(descending)))


def topk(input, k, dim=-1, largest=True, sorted=True):
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along
    ``dim``, in order (largest first). The gradient of ``values`` goes to their positions."""
    require_tensor(input, "input", "topk")
    axis = normalize_dim(dim, input.ndim, "dim", "topk")
    size = input.shape[axis] if input.ndim else 1
    k = as_int(k, "k", 0, "topk")
    if k > size:
        raise ValueError(f"topk: k ({k}) is larger than dim {dim}'s size {size}")
    if input.ndim == 0:
        if k == 0:
            raise ValueError("topk: k must be 1 for a 0-d tensor, got 0")
        return ValuesIndices(input.clone(), _zero_index(input))
    order = _order(input.data, axis, bool(largest))
    first_k = (slice(None),) * axis + (slice(0, k),)
    return _selected(input, axis, order[first_k])


def _zero_index(input):
    from ..tensor import Tensor

    return Tensor._wrap(xp_of(input.data).zeros((), dtype=np.int64))


__all__ = ["gather", "index_select", "masked_fill", "sort", "topk", "fill_value"]
