"""One converter per minicnn Function: the ONNX node(s) computing what its ``forward`` does.

A converter takes the graph builder ``g``, the Function's positional
arguments (Tensors, arrays, scalars, None), its keyword constants and the
traced result, and returns the ONNX value name of the result. Each checks
that it knows every keyword it is given (a Function that grows an option is
refused instead of exported without it).
"""
import math

import numpy as np

from ..ops import activation, channel_scale, conv, elementwise, linalg, norm, pooling, prelu, \
    reduce, resample, shape, shuffle, softplus
from ._graph import OnnxExportError


def _expect(function, kwargs, known):
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise OnnxExportError(f"{function.__name__}: ONNX export does not know its option(s) "
                              f"{', '.join(unknown)}")


def _dtype(result):
    return result.data.dtype


# ------------------------------------------------------------------ plain maps
_UNARY = {
    activation.ReLU: "Relu", activation.Sigmoid: "Sigmoid", activation.Tanh: "Tanh",
    activation.Hardswish: "HardSwish", elementwise.Neg: "Neg", elementwise.Exp: "Exp",
    elementwise.Log: "Log", elementwise.Sqrt: "Sqrt", elementwise.Abs: "Abs",
    elementwise.Clone: "Identity",
}
# NumPy broadcasting is ONNX's multidirectional broadcasting: these map one to one.
_BINARY = {
    elementwise.Mul: "Mul", elementwise.Div: "Div", elementwise.Pow: "Pow",
    elementwise.Maximum: "Max", elementwise.Minimum: "Min", linalg.MatMul: "MatMul",
}


def _unary(op_type):
    def convert(g, function, args, kwargs, result):
        _expect(function, kwargs, ())
        return g.node(op_type, [g.name(args[0])])
    return convert


def _binary(op_type):
    def convert(g, function, args, kwargs, result):
        _expect(function, kwargs, ())
        dtype = _dtype(result)
        return g.node(op_type, [g.name(a, dtype) for a in args])
    return convert


def _add_sub(op_type):
    """``a + alpha b`` / ``a - alpha b`` (PyTorch's alpha; 1 by default: no Mul)."""
    def convert(g, function, args, kwargs, result):
        _expect(function, kwargs, ("alpha",))
        dtype = _dtype(result)
        a, b = (g.name(arg, dtype) for arg in args)
        alpha = kwargs.get("alpha", 1)
        if alpha != 1:
            b = g.node("Mul", [b, g.scalar(alpha, dtype)])
        return g.node(op_type, [a, b])
    return convert


# ------------------------------------------------------------------ activations
def _relu6(g, function, args, kwargs, result):
    _expect(function, kwargs, ())
    dtype = _dtype(result)
    return g.node("Clip", [g.name(args[0]), g.scalar(0, dtype), g.scalar(6, dtype)])


def _leaky_relu(g, function, args, kwargs, result):
    _expect(function, kwargs, ("negative_slope",))
    return g.node("LeakyRelu", [g.name(args[0])], alpha=float(kwargs["negative_slope"]))


def _elu(g, function, args, kwargs, result):
    _expect(function, kwargs, ("alpha",))
    return g.node("Elu", [g.name(args[0])], alpha=float(kwargs["alpha"]))


def _silu(g, function, args, kwargs, result):
    _expect(function, kwargs, ())
    x = g.name(args[0])
    return g.node("Mul", [x, g.node("Sigmoid", [x])])  # x * sigmoid(x)


def _gelu(g, function, args, kwargs, result):
    _expect(function, kwargs, ("approximate",))
    x, dtype = g.name(args[0]), _dtype(result)
    if kwargs["approximate"] == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.scalar(0.044715, dtype)])])
        gate = g.node("Tanh", [g.node("Mul", [inner, g.scalar(math.sqrt(2 / math.pi), dtype)])])
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        gate = g.node("Erf", [g.node("Div", [x, g.scalar(math.sqrt(2.0), dtype)])])
    half = g.node("Mul", [x, g.scalar(0.5, dtype)])
    return g.node("Mul", [half, g.node("Add", [gate, g.scalar(1.0, dtype)])])


def _hardsigmoid(g, function, args, kwargs, result):
    _expect(function, kwargs, ())
    # PyTorch's relu6(x + 3) / 6 is ONNX's max(0, min(1, alpha x + beta)) with 1/6 and 1/2.
    return g.node("HardSigmoid", [g.name(args[0])], alpha=1.0 / 6.0, beta=0.5)


def _softplus(g, function, args, kwargs, result):
    _expect(function, kwargs, ("beta", "threshold"))
    x, dtype = g.name(args[0]), _dtype(result)
    beta, threshold = float(kwargs["beta"]), float(kwargs["threshold"])
    # Softplus(beta x) / beta, and x itself where beta x > threshold (PyTorch's switch)
    scaled = g.node("Mul", [x, g.scalar(beta, dtype)])
    smooth = g.node("Div", [g.node("Softplus", [scaled]), g.scalar(beta, dtype)])
    linear = g.node("Greater", [scaled, g.scalar(threshold, dtype)])
    return g.node("Where", [linear, x, smooth])


def _mish(g, function, args, kwargs, result):
    _expect(function, kwargs, ())
    x = g.name(args[0])  # x tanh(softplus(x)); ONNX's Mish op needs opset 18, this any
    return g.node("Mul", [x, g.node("Tanh", [g.node("Softplus", [x])])])


def _prelu(g, function, args, kwargs, result):
    _expect(function, kwargs, ())
    x, weight = args
    # PRelu broadcasts the slope from the right: (C,) must become (C, 1, ..., 1) for dim 1.
    per_channel = weight.size > 1 and x.ndim >= 2
    slope_shape = (weight.size,) + (1,) * (x.ndim - 2) if per_channel else (1,)
    slope = g.node("Reshape", [g.name(weight), g.ints(slope_shape)])
    return g.node("PRelu", [g.name(x), slope])


def _softmax(op_type):
    def convert(g, function, args, kwargs, result):
        _expect(function, kwargs, ("axis",))
        return g.node(op_type, [g.name(args[0])], axis=int(kwargs["axis"]))
    return convert


# ------------------------------------------------------------------ elementwise
def _clamp(g, function, args, kwargs, result):
    """``min(max(x, lo), hi)``: Clip for number bounds, Max/Min for tensor bounds (which
    broadcast; ONNX's Clip takes scalars only)."""
    _expect(function, kwargs, ())
    x, lo, hi = args
    dtype = _dtype(result)
    if all(bound is None or np.ndim(getattr(bound, "data", bound)) == 0 for bound in (lo, hi)):
        bounds = [g.name(b, dtype) if b is not None else "" for b in (lo, hi)]
        return g.node("Clip", [g.name(x)] + bounds)
    out = g.name(x)
    if lo is not None:
        out = g.node("Max", [out, g.name(lo, dtype)])
    return out if hi is None else g.node("Min", [out, g.name(hi, dtype)])


def _where(g, function, args, kwargs, result):
    _expect(function, kwargs, ())
    dtype = _dtype(result)
    condition = g.name(args[0], np.bool_)
    return g.node("Where", [condition, g.name(args[1], dtype), g.name(args[2], dtype)])


def _cast(g, function, args, kwargs, result):
    _expect(function, kwargs, ("dtype",))
    to = g.helper.np_dtype_to_tensor_dtype(np.dtype(_dtype(result)))
    return g.node("Cast", [g.name(args[0])], to=to)


def _channel_scale(g, function, args, kwargs, result):
    _expect(function, kwargs, ())
    x, scale = args
    scale_name = g.name(scale)
    if scale.ndim < x.ndim:  # (N, C) -> (N, C, 1, ..., 1), as the forward's _per_channel
        scale_name = g.node("Unsqueeze", [scale_name, g.ints(range(scale.ndim, x.ndim), "axes")])
    return g.node("Mul", [g.name(x), scale_name])


# ------------------------------------------------------------------ conv, norm, linear
def _conv_arguments(name, function, args, kwargs):
    """``(x, weight, bias, (top, bottom), (left, right))`` of a traced Conv2d or
    ConvTranspose2d; ONNX's Conv/ConvTranspose take only batched 4-D inputs."""
    _expect(function, kwargs, ("stride", "padding", "dilation", "groups", "out_size"))
    x, weight, bias = args
    if x.ndim != 4:
        raise OnnxExportError(f"{name}: ONNX export needs a batched (N, C, H, W) input, got "
                              f"shape {tuple(x.shape)}")
    return (x, weight, bias, *kwargs["padding"])


def _conv(g, function, args, kwargs, result):
    x, weight, bias, (top, bottom), (left, right) = _conv_arguments("Conv2d", function, args,
                                                                    kwargs)
    inputs = [g.name(x), g.name(weight)] + ([g.name(bias)] if bias is not None else [])
    return g.node("Conv", inputs, kernel_shape=list(weight.shape[2:]),
                  strides=list(kwargs["stride"]), dilations=list(kwargs["dilation"]),
                  pads=[top, left, bottom, right], group=int(kwargs["groups"]))


def _conv_transpose(g, function, args, kwargs, result):
    x, weight, bias, (top, bottom), (left, right) = _conv_arguments("ConvTranspose2d", function,
                                                                    args, kwargs)
    stride, dilation = kwargs["stride"], kwargs["dilation"]
    # ONNX: out = s (in - 1) + output_padding + d (k - 1) + 1 - pad_begin - pad_end
    output_padding = [out - (s * (n - 1) + d * (k - 1) + 1 - p0 - p1)
                      for out, s, n, d, k, p0, p1 in zip(kwargs["out_size"], stride, x.shape[2:],
                                                         dilation, weight.shape[2:],
                                                         (top, left), (bottom, right))]
    inputs = [g.name(x), g.name(weight)] + ([g.name(bias)] if bias is not None else [])
    return g.node("ConvTranspose", inputs, kernel_shape=list(weight.shape[2:]),
                  strides=list(stride), dilations=list(dilation), pads=[top, left, bottom, right],
                  output_padding=output_padding, group=int(kwargs["groups"]))


def _batch_norm(g, function, args, kwargs, result):
    _expect(function, kwargs, ("running_mean", "running_var", "training", "momentum", "eps"))
    x, weight, bias = args
    mean, var = kwargs["running_mean"], kwargs["running_var"]
    if kwargs["training"] or mean is None or var is None:
        raise OnnxExportError("BatchNorm: only eval-mode batch norm with running statistics "
                              "exports (ONNX's BatchNormalization); this one normalises with "
                              "the batch's statistics")
    channels = x.shape[1]
    dtype = _dtype(result)
    scale = g.name(weight) if weight is not None else g.constant(np.ones(channels, dtype))
    shift = g.name(bias) if bias is not None else g.constant(np.zeros(channels, dtype))
    return g.node("BatchNormalization", [g.name(x), scale, shift, g.constant(mean),
                                         g.constant(var)], epsilon=float(kwargs["eps"]))


def _linear(g, function, args, kwargs, result):
    _expect(function, kwargs, ())
    x, weight, bias = args
    if x.ndim == 2:  # y = x W^T + b: one Gemm
        inputs = [g.name(x), g.name(weight)] + ([g.name(bias)] if bias is not None else [])
        return g.node("Gemm", inputs, transB=1)
    out = g.node("MatMul", [g.name(x), g.node("Transpose", [g.name(weight)], perm=[1, 0])])
    return g.node("Add", [out, g.name(bias)]) if bias is not None else out


# ------------------------------------------------------------------ pooling
def _window_attributes(function, x, rows, cols):
    if x.ndim != 4:
        raise OnnxExportError(f"{function.__name__}: ONNX export needs a batched (N, C, H, W) "
                              f"input, got shape {tuple(x.shape)}")
    floor_out = [pooling._output_size(a.size, a.kernel, a.stride, a.padding, a.dilation, False)
                 for a in (rows, cols)]
    ceil_mode = int([rows.out, cols.out] != floor_out)
    return dict(kernel_shape=[rows.kernel, cols.kernel], strides=[rows.stride, cols.stride],
                pads=[rows.padding, cols.padding, rows.padding, cols.padding],
                ceil_mode=ceil_mode)


def _max_pool(g, function, args, kwargs, result):
    _expect(function, kwargs, ("rows", "cols"))
    x = args[0]
    attributes = _window_attributes(function, x, kwargs["rows"], kwargs["cols"])
    attributes["dilations"] = [kwargs["rows"].dilation, kwargs["cols"].dilation]
    return g.node("MaxPool", [g.name(x)], **attributes)


def _avg_pool(g, function, args, kwargs, result):
    _expect(function, kwargs, ("rows", "cols", "divisor"))
    x, rows, cols = args[0], kwargs["rows"], kwargs["cols"]
    attributes = _window_attributes(function, x, rows, cols)
    # The divisor array tells count_include_pad apart; a divisor_override has no ONNX twin.
    divisor = np.asarray(kwargs["divisor"])
    for include in (0, 1):
        if np.array_equal(np.broadcast_to(pooling._avg_divisor(rows, cols, include, None),
                                          divisor.shape), divisor):
            return g.node("AveragePool", [g.name(x)], count_include_pad=include, **attributes)
    raise OnnxExportError("AvgPool2d: divisor_override has no ONNX equivalent")


def _adaptive_pool(global_op, window_op):
    def convert(g, function, args, kwargs, result):
        _expect(function, kwargs, ("output_size",))
        x = args[0]
        if x.ndim != 4:
            raise OnnxExportError(f"{function.__name__}: ONNX export needs a batched "
                                  f"(N, C, H, W) input, got shape {tuple(x.shape)}")
        size, out = tuple(x.shape[2:]), tuple(kwargs["output_size"])
        if out == (1, 1):
            return g.node(global_op, [g.name(x)])
        if any(n % m for n, m in zip(size, out)):
            raise OnnxExportError(f"{function.__name__}: output_size {out} does not divide the "
                                  f"input size {size}: its uneven bins have no ONNX equivalent")
        kernel = [n // m for n, m in zip(size, out)]  # even bins: a plain pooling
        return g.node(window_op, [g.name(x)], kernel_shape=kernel, strides=kernel)
    return convert


# ------------------------------------------------------------------ reductions
def _reduction(op_type, axes_input_from):
    """ReduceSum takes its axes as an input from opset 13, the others from opset 18."""
    def convert(g, function, args, kwargs, result):
        _expect(function, kwargs, ("axes", "keepdims", "reduce"))
        op = op_type if kwargs.get("reduce", "max") == "max" else "ReduceMin"  # amax / amin
        x = args[0]
        axes = kwargs["axes"]
        axes = (list(range(x.ndim)) if axes is None
                else [int(a) % x.ndim for a in np.atleast_1d(axes)])
        keepdims = int(bool(kwargs["keepdims"]))
        if g.opset >= axes_input_from:
            return g.node(op, [g.name(x), g.ints(axes, "axes")], keepdims=keepdims)
        return g.node(op, [g.name(x)], axes=axes, keepdims=keepdims)
    return convert


# ------------------------------------------------------------------ shapes
def _reshape(g, function, args, kwargs, result):
    _expect(function, kwargs, ("shape",))
    x = args[0]
    target = g.batch_dim(result.shape, x.shape, "Reshape")
    return g.node("Reshape", [g.name(x), g.ints(target)])


def _permute(g, function, args, kwargs, result):
    _expect(function, kwargs, ("dims",))
    dims = [int(d) for d in kwargs["dims"]]
    if g.dynamic_batch and dims and dims[0] != 0:
        raise OnnxExportError(f"Permute: dims {tuple(dims)} move the batch axis; export with "
                              f"dynamic_batch=False")
    return g.node("Transpose", [g.name(args[0])], perm=dims)


def _cat(g, function, args, kwargs, result):
    _expect(function, kwargs, ("axis",))
    return g.node("Concat", [g.name(a) for a in args], axis=int(kwargs["axis"]) % result.ndim)


def _stack(g, function, args, kwargs, result):
    _expect(function, kwargs, ("axis",))
    axis = int(kwargs["axis"]) % result.ndim
    parts = [g.node("Unsqueeze", [g.name(a), g.ints([axis], "axes")]) for a in args]
    return g.node("Concat", parts, axis=axis)


def _pad(g, function, args, kwargs, result):
    _expect(function, kwargs, ("widths", "value"))
    widths = kwargs["widths"]
    if g.dynamic_batch and tuple(widths[0]) != (0, 0):
        raise OnnxExportError("Pad: pads the batch axis; export with dynamic_batch=False")
    pads = [int(b) for b, _ in widths] + [int(a) for _, a in widths]  # ONNX: all befores, afters
    value = 0 if kwargs["value"] is None else kwargs["value"]
    return g.node("Pad", [g.name(args[0]), g.ints(pads, "pads"), g.scalar(value, _dtype(result))],
                  mode="constant")


def _index(g, function, args, kwargs, result):
    """Basic indexing (slices and ints; an Ellipsis): one Slice, then a Gather per int."""
    _expect(function, kwargs, ("index",))
    x = args[0]
    index = kwargs["index"] if isinstance(kwargs["index"], tuple) else (kwargs["index"],)
    if any(item is None or isinstance(item, (list, np.ndarray)) or hasattr(item, "shape")
           for item in index) or sum(item is Ellipsis for item in index) > 1:
        raise OnnxExportError(f"Index: only slices, ints and one Ellipsis export, got "
                              f"index {index!r}")
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (x.ndim - len(index) + 1) + index[at + 1:]
    starts, ends, axes, steps, picks = [], [], [], [], []
    for axis, item in enumerate(index):
        if isinstance(item, slice):
            if item == slice(None):
                continue
            start, stop, step = item.indices(x.shape[axis])
            if step < 0 and stop < 0:
                stop = -(2 ** 62)  # "before the first element": ONNX clamps it to -1
        else:
            picks.append((axis, int(item) % x.shape[axis]))
            continue
        if axis == 0 and g.dynamic_batch:
            raise OnnxExportError("Index: slices the batch axis; export with dynamic_batch=False")
        starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
    out = g.name(x)
    if axes:
        out = g.node("Slice", [out, g.ints(starts, "starts"), g.ints(ends, "ends"),
                               g.ints(axes, "axes"), g.ints(steps, "steps")])
    for axis, position in reversed(picks):  # highest axis first: lower axes keep their numbers
        if axis == 0 and g.dynamic_batch:
            raise OnnxExportError("Index: picks one sample of the batch; export with "
                                  "dynamic_batch=False")
        out = g.node("Gather", [out, g.constant(np.asarray(position, np.int64))], axis=axis)
    return out if (axes or picks) else g.node("Identity", [out])


def _expand(g, function, args, kwargs, result):
    """ONNX's Expand broadcasts both ways, so an axis the input already has at full size can be
    asked for as 1: the batch axis then follows the input's size."""
    _expect(function, kwargs, ("shape",))
    x, target = args[0], [int(n) for n in result.shape]
    offset = len(target) - x.ndim
    for axis, size in enumerate(x.shape):
        if size == target[offset + axis]:
            target[offset + axis] = 1
    return g.node("Expand", [g.name(x), g.ints(target)])


def _repeat(g, function, args, kwargs, result):
    _expect(function, kwargs, ("repeats",))
    x, repeats = args[0], [int(r) for r in kwargs["repeats"]]
    out = g.name(x)
    if len(repeats) > x.ndim:  # leading size-1 axes first, as the forward's reshape
        out = g.node("Unsqueeze", [out, g.ints(range(len(repeats) - x.ndim), "axes")])
    return g.node("Tile", [out, g.ints(repeats, "repeats")])


def _pixel_shuffle(g, function, args, kwargs, result):
    """ONNX's DepthToSpace in CRD order is PyTorch's pixel_shuffle."""
    _expect(function, kwargs, ("factor",))
    if args[0].ndim != 4:
        raise OnnxExportError(f"PixelShuffle: ONNX export needs a batched (N, C, H, W) input, "
                              f"got shape {tuple(args[0].shape)}")
    return g.node("DepthToSpace", [g.name(args[0])], blocksize=int(kwargs["factor"]), mode="CRD")


def _pixel_unshuffle(g, function, args, kwargs, result):
    """(N, C, H r, W r) -> (N, C, H, r, W, r) -> (N, C, r, r, H, W) -> (N, C r^2, H, W) (ONNX's
    SpaceToDepth orders the channels the other way: block offset first)."""
    _expect(function, kwargs, ("factor",))
    x, factor = args[0], int(kwargs["factor"])
    if x.ndim != 4:
        raise OnnxExportError(f"PixelUnshuffle: ONNX export needs a batched (N, C, H, W) input, "
                              f"got shape {tuple(x.shape)}")
    channels, height, width = x.shape[1], x.shape[2] // factor, x.shape[3] // factor
    split = g.node("Reshape", [g.name(x), g.ints([0, channels, height, factor, width, factor])])
    moved = g.node("Transpose", [split], perm=[0, 1, 3, 5, 2, 4])
    return g.node("Reshape", [moved, g.ints([0, channels * factor ** 2, height, width])])


def _interpolate(g, function, args, kwargs, result):
    """The resize as minicnn computes it (ops/resample.py): along W, then along H, gather the
    source pixels and blend them, ``l0 x[i0] + l1 x[i1]`` (nearest: the gather alone). The
    indices and weights are the traced ones, so every mode, size and scale_factor of
    ``interpolate`` is exact, without matching ONNX Resize's coordinate rules to PyTorch's."""
    _expect(function, kwargs, ("rows", "cols"))
    x, dtype = args[0], _dtype(result)
    out = g.name(x)
    for axis, axis_map in ((3, kwargs["cols"]), (2, kwargs["rows"])):
        picked = g.node("Gather", [out, g.constant(np.asarray(axis_map.index0, np.int64))],
                        axis=axis)
        if axis_map.weight0 is None:  # nearest: a copy
            out = picked
            continue
        shape = (-1,) + (1,) * (x.ndim - 1 - axis)  # the weights along ``axis``
        weight0 = g.constant(axis_map.weight0.astype(dtype).reshape(shape), "weight")
        weight1 = g.constant(axis_map.weight1.astype(dtype).reshape(shape), "weight")
        other = g.node("Gather", [out, g.constant(np.asarray(axis_map.index1, np.int64))],
                       axis=axis)
        out = g.node("Add", [g.node("Mul", [weight0, picked]), g.node("Mul", [weight1, other])])
    return out


def _channel_shuffle(g, function, args, kwargs, result):
    """(N, C, *S) -> (N, g, C/g, *S) -> swap the two group axes -> (N, C, *S)."""
    _expect(function, kwargs, ("groups",))
    x, groups = args[0], int(kwargs["groups"])
    channels, spatial = x.shape[1], list(x.shape[2:])
    split = g.node("Reshape", [g.name(x), g.ints([0, groups, channels // groups] + spatial)])
    perm = [0, 2, 1] + list(range(3, 3 + len(spatial)))
    swapped = g.node("Transpose", [split], perm=perm)
    return g.node("Reshape", [swapped, g.ints([0, channels] + spatial)])


CONVERTERS = {
    **{function: _unary(op) for function, op in _UNARY.items()},
    **{function: _binary(op) for function, op in _BINARY.items()},
    elementwise.Add: _add_sub("Add"), elementwise.Sub: _add_sub("Sub"),
    activation.ReLU6: _relu6, activation.LeakyReLU: _leaky_relu, activation.ELU: _elu,
    activation.SiLU: _silu, activation.GELU: _gelu, activation.Hardsigmoid: _hardsigmoid,
    activation.Softmax: _softmax("Softmax"), activation.LogSoftmax: _softmax("LogSoftmax"),
    softplus.Softplus: _softplus, softplus.Mish: _mish, prelu.PReLU: _prelu,
    elementwise.Clamp: _clamp, elementwise.Where: _where, elementwise.Cast: _cast,
    channel_scale.ChannelScale: _channel_scale,
    conv.Conv2d: _conv, norm.BatchNorm: _batch_norm, linalg.Linear: _linear,
    pooling.MaxPool2d: _max_pool, pooling.AvgPool2d: _avg_pool,
    pooling.AdaptiveAvgPool2d: _adaptive_pool("GlobalAveragePool", "AveragePool"),
    pooling.AdaptiveMaxPool2d: _adaptive_pool("GlobalMaxPool", "MaxPool"),
    reduce.Sum: _reduction("ReduceSum", 13), reduce.Mean: _reduction("ReduceMean", 18),
    reduce.AMax: _reduction("ReduceMax", 18),
    shape.Reshape: _reshape, shape.Permute: _permute, shape.Cat: _cat, shape.Stack: _stack,
    shape.Pad: _pad, shape.Index: _index, shuffle.ChannelShuffle: _channel_shuffle,
    resample.Interpolate: _interpolate, conv.ConvTranspose2d: _conv_transpose,
    shape.Expand: _expand, shape.Repeat: _repeat, shuffle.PixelShuffle: _pixel_shuffle,
    shuffle.PixelUnshuffle: _pixel_unshuffle,
}
