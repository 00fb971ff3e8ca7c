"""Check cases for the shape operators and indexing (see minicnn.checks.case).

float32 parity tolerance: these operators only move values, so outputs and
gradients equal PyTorch's exactly (atol = rtol = 0), except indexing with
repeated indices, expand, repeat and the copying pad modes, whose gradients
add the copies' terms in some order (1e-6).
"""
import numpy as np

from .case import Case

EXACT = dict(atol=0.0, rtol=0.0)
REPEATS = dict(atol=1e-6, rtol=1e-6)


def _normal(*shapes):
    return lambda rng: [rng.standard_normal(s) for s in shapes]


def _functional(name):
    def call(*args, **kwargs):
        from ..nn import functional

        return getattr(functional, name)(*args, **kwargs)
    return call


def _torch(name):
    def call(*args, **kwargs):
        import torch

        return getattr(torch, name)(*args, **kwargs)
    return call


def _torch_pad(*args, **kwargs):
    import torch

    return torch.nn.functional.pad(*args, **kwargs)


def _torch_index(index):
    def call(x):
        import torch

        return x[tuple(torch.tensor(p) if isinstance(p, (list, np.ndarray)) else p
                       for p in index)]
    return call


_MASK = np.array([[True, False, True, True], [False, False, False, True],
                  [True, True, False, False]])

CASES = [
    Case("reshape", "(2,3,4) -> (4,-1)", _normal((2, 3, 4)), lambda x: x.reshape(4, -1),
         lambda x: x.reshape(4, -1), **EXACT),
    Case("reshape", "(6,) -> (1,2,3,1)", _normal((6,)), lambda x: x.reshape(1, 2, 3, 1),
         lambda x: x.reshape(1, 2, 3, 1), **EXACT),
    Case("view", "(2,3,4) -> (3,8)", _normal((2, 3, 4)), lambda x: x.view(3, 8),
         lambda x: x.view(3, 8), **EXACT),
    Case("view", "(4,3) -> (-1,)", _normal((4, 3)), lambda x: x.view(-1),
         lambda x: x.view(-1), **EXACT),
    Case("flatten", "start_dim=1", _normal((2, 3, 4)), lambda x: x.flatten(1),
         lambda x: x.flatten(1), **EXACT),
    Case("flatten", "dims 0..1 of 4-D", _normal((2, 2, 3, 2)), lambda x: x.flatten(0, 1),
         lambda x: x.flatten(0, 1), **EXACT),
    Case("transpose", "dims 0, 2", _normal((2, 3, 4)), lambda x: x.transpose(0, 2),
         lambda x: x.transpose(0, 2), **EXACT),
    Case("transpose", "dims -1, -2", _normal((3, 4)), lambda x: x.transpose(-1, -2),
         lambda x: x.transpose(-1, -2), **EXACT),
    Case("permute", "(2,0,1)", _normal((2, 3, 4)), lambda x: x.permute(2, 0, 1),
         lambda x: x.permute(2, 0, 1), **EXACT),
    Case("permute", "(0,3,1,2) NHWC->NCHW", _normal((2, 3, 2, 4)),
         lambda x: x.permute(0, 3, 1, 2), lambda x: x.permute(0, 3, 1, 2), **EXACT),
    Case("cat", "3 tensors along dim 1", _normal((2, 1, 3), (2, 2, 3), (2, 3, 3)),
         lambda *ts: _functional("cat")(ts, 1), lambda *ts: _torch("cat")(ts, 1), **EXACT),
    Case("cat", "2 tensors along dim -1", _normal((3, 2), (3, 4)),
         lambda *ts: _functional("cat")(ts, -1), lambda *ts: _torch("cat")(ts, -1), **EXACT),
    Case("stack", "3 tensors, new dim 0", _normal((2, 3), (2, 3), (2, 3)),
         lambda *ts: _functional("stack")(ts, 0), lambda *ts: _torch("stack")(ts, 0), **EXACT),
    Case("stack", "2 tensors, new last dim", _normal((2, 3), (2, 3)),
         lambda *ts: _functional("stack")(ts, -1), lambda *ts: _torch("stack")(ts, -1),
         **EXACT),
    Case("split", "size 2 along dim 1 (last smaller)", _normal((2, 5)),
         lambda x: x.split(2, 1), lambda x: x.split(2, 1), **EXACT),
    Case("split", "sections [1, 0, 3]", _normal((4, 2)), lambda x: x.split([1, 0, 3]),
         lambda x: x.split([1, 0, 3]), **EXACT),
    Case("chunk", "3 chunks of 7", _normal((7, 2)), lambda x: x.chunk(3),
         lambda x: x.chunk(3), **EXACT),
    Case("chunk", "4 chunks of 6 along dim -1 (3 pieces)", _normal((2, 6)),
         lambda x: x.chunk(4, -1), lambda x: x.chunk(4, -1), **EXACT),
    Case("pad", "(1, 2) last dim, value 0.5", _normal((2, 3)),
         lambda x: _functional("pad")(x, (1, 2), value=0.5),
         lambda x: _torch_pad(x, (1, 2), value=0.5), **EXACT),
    Case("pad", "(1, 1, 2, 0) NCHW spatial", _normal((1, 2, 3, 3)),
         lambda x: _functional("pad")(x, (1, 1, 2, 0)),
         lambda x: _torch_pad(x, (1, 1, 2, 0)), **EXACT),
    Case("pad", "(-1, 2) crops and pads", _normal((2, 4)),
         lambda x: _functional("pad")(x, (-1, 2)), lambda x: _torch_pad(x, (-1, 2)), **EXACT),
    # The copying modes: a frame element's gradient is added to its source (summed copies).
    Case("pad", "reflect (2, 1, 1, 2) NCHW", _normal((2, 2, 4, 3)),
         lambda x: _functional("pad")(x, (2, 1, 1, 2), mode="reflect"),
         lambda x: _torch_pad(x, (2, 1, 1, 2), mode="reflect"), **REPEATS),
    Case("pad", "replicate (3, 1, 0, 2) NCHW", _normal((2, 2, 4, 3)),
         lambda x: _functional("pad")(x, (3, 1, 0, 2), mode="replicate"),
         lambda x: _torch_pad(x, (3, 1, 0, 2), mode="replicate"), **REPEATS),
    Case("pad", "circular (1, 3, 2, -1) NCHW", _normal((2, 2, 4, 3)),
         lambda x: _functional("pad")(x, (1, 3, 2, -1), mode="circular"),
         lambda x: _torch_pad(x, (1, 3, 2, -1), mode="circular"), **REPEATS),
    Case("squeeze", "all size-1 dims", _normal((1, 3, 1, 2)), lambda x: x.squeeze(),
         lambda x: x.squeeze(), **EXACT),
    Case("squeeze", "dim 2", _normal((1, 3, 1, 2)), lambda x: x.squeeze(2),
         lambda x: x.squeeze(2), **EXACT),
    Case("unsqueeze", "dim 1", _normal((3, 2)), lambda x: x.unsqueeze(1),
         lambda x: x.unsqueeze(1), **EXACT),
    Case("unsqueeze", "dim -1", _normal((3, 2)), lambda x: x.unsqueeze(-1),
         lambda x: x.unsqueeze(-1), **EXACT),
    Case("expand", "(3,1) -> (2,3,4)", _normal((3, 1)), lambda x: x.expand(2, 3, 4),
         lambda x: x.expand(2, 3, 4), **REPEATS),
    Case("expand", "-1 keeps a size", _normal((1, 4)), lambda x: x.expand(3, -1),
         lambda x: x.expand(3, -1), **REPEATS),
    Case("repeat", "(2,3) x (2,1,3)", _normal((2, 3)), lambda x: x.repeat(2, 1, 3),
         lambda x: x.repeat(2, 1, 3), **REPEATS),
    Case("index", "x[1:, ::2] and x[-1]", _normal((3, 4)),
         lambda x: (x[1:, ::2], x[-1]), lambda x: (x[1:, ::2], x[-1]), **EXACT),
    Case("index", "x[[0, 2, 0, -1]] repeats accumulate", _normal((3, 4)),
         lambda x: x[[0, 2, 0, -1]], _torch_index(([0, 2, 0, -1],)), **REPEATS),
    Case("index", "x[mask] boolean", _normal((3, 4)), lambda x: x[_MASK],
         _torch_index((_MASK,)), **EXACT),
]
