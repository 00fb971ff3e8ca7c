"""Naive loop references for the pooling operators, written from their docstrings.

Plain Python loops over every output element and every window position,
float64 throughout: slow and obviously correct, for small inputs only.
Each takes and returns NumPy arrays of shape (N, C, H, W) -> (N, C, H_out, W_out).
"""
import math

import numpy as np


def pool_output_size(size, kernel, stride, padding, dilation, ceil_mode):
    """``floor`` (or ``ceil``) of ``(n + 2p - d(k-1) - 1) / s`` plus one; with ceil_mode the
    last window must start inside the input or the left padding."""
    span = dilation * (kernel - 1) + 1
    exact = (size + 2 * padding - span) / stride
    out = (math.ceil(exact) if ceil_mode else math.floor(exact)) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pairs(*values):
    return [v if isinstance(v, tuple) else (v, v) for v in values]


def _max_windows(x, kernel_size, stride, padding, dilation, ceil_mode):
    """Yield ``(b, ch, i, j, best, best_index, holds_input)`` for every window.

    PyTorch's scan: start from ``max = -inf`` with the index at the window's
    first row and first column that are >= 0 (past the input when a dilated
    window holds no input position), visit the in-input positions row-major,
    and take a position when its value is ``> max`` or NaN (padding is never
    visited).
    """
    stride = kernel_size if stride is None else stride
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = _pairs(kernel_size, stride, padding, dilation)
    n, c, height, width = x.shape
    ho = pool_output_size(height, kh, sh, ph, dh, ceil_mode)
    wo = pool_output_size(width, kw, sw, pw, dw, ceil_mode)
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    first_h = next(i * sh + u * dh - ph for u in range(kh)
                                   if i * sh + u * dh - ph >= 0)
                    first_w = next(j * sw + v * dw - pw for v in range(kw)
                                   if j * sw + v * dw - pw >= 0)
                    best, best_index, holds_input = -math.inf, first_h * width + first_w, False
                    for u in range(kh):
                        for v in range(kw):
                            h, w = i * sh + u * dh - ph, j * sw + v * dw - pw
                            if not (0 <= h < height and 0 <= w < width):
                                continue
                            holds_input = True
                            value = float(x[b, ch, h, w])
                            if value > best or math.isnan(value):
                                best, best_index = value, h * width + w
                    yield b, ch, i, j, best, best_index, holds_input


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Max pooling (see ``_max_windows``): returns (values, flat indices ``h*W + w``)."""
    windows = list(_max_windows(x, kernel_size, stride, padding, dilation, ceil_mode))
    shape = x.shape[:2] + (windows[-1][2] + 1, windows[-1][3] + 1)
    out = np.empty(shape, dtype=np.float64)
    indices = np.empty(shape, dtype=np.int64)
    for b, ch, i, j, best, best_index, _ in windows:
        out[b, ch, i, j], indices[b, ch, i, j] = best, best_index
    return out, indices


def max_pool2d_grad(x, grad_out, kernel_size, stride=None, padding=0, dilation=1,
                    ceil_mode=False):
    """``dL/dx``: each window's ``grad_out`` added at the position it selected.

    A window of padding only outputs the constant -inf and passes nothing
    back (PyTorch adds it at its nominal index instead; see minicnn's MaxPool2d)."""
    grad = np.zeros(x.shape)
    width = x.shape[3]
    for b, ch, i, j, _, best_index, holds_input in _max_windows(
            x, kernel_size, stride, padding, dilation, ceil_mode):
        if holds_input:
            grad[b, ch, best_index // width, best_index % width] += grad_out[b, ch, i, j]
    return grad


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Average pooling with PyTorch's divisor rules.

    Along each axis the window is ``[i*s - p, min(i*s - p + k, n + p))`` (clipped to
    the padded input); the sum runs over its in-input part; the divisor is
    ``divisor_override``, else the clipped window's area (count_include_pad),
    else the in-input area.
    """
    stride = kernel_size if stride is None else stride
    (kh, kw), (sh, sw), (ph, pw) = _pairs(kernel_size, stride, padding)
    n, c, height, width = x.shape
    ho = pool_output_size(height, kh, sh, ph, 1, ceil_mode)
    wo = pool_output_size(width, kw, sw, pw, 1, ceil_mode)
    out = np.empty((n, c, ho, wo), dtype=np.float64)
    for i in range(ho):
        h0 = i * sh - ph
        h1 = min(h0 + kh, height + ph)
        for j in range(wo):
            w0 = j * sw - pw
            w1 = min(w0 + kw, width + pw)
            inside_h = range(max(h0, 0), min(h1, height))
            inside_w = range(max(w0, 0), min(w1, width))
            if divisor_override is not None:
                divisor = divisor_override
            elif count_include_pad:
                divisor = (h1 - h0) * (w1 - w0)
            else:
                divisor = len(inside_h) * len(inside_w)
            for b in range(n):
                for ch in range(c):
                    total = 0.0
                    for h in inside_h:
                        for w in inside_w:
                            total += float(x[b, ch, h, w])
                    out[b, ch, i, j] = total / divisor
    return out


def adaptive_bins(size, out):
    """Bin ``i``: ``[floor(i * size / out), ceil((i + 1) * size / out))``."""
    return [(math.floor(i * size / out), math.ceil((i + 1) * size / out)) for i in range(out)]


def adaptive_avg_pool2d(x, output_size):
    """Mean over each (row bin) x (column bin) rectangle."""
    n, c, height, width = x.shape
    ho, wo = output_size
    out = np.empty((n, c, ho, wo), dtype=np.float64)
    for i, (h0, h1) in enumerate(adaptive_bins(height, ho)):
        for j, (w0, w1) in enumerate(adaptive_bins(width, wo)):
            for b in range(n):
                for ch in range(c):
                    total = 0.0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            total += float(x[b, ch, h, w])
                    out[b, ch, i, j] = total / ((h1 - h0) * (w1 - w0))
    return out


def adaptive_max_pool2d(x, output_size):
    """Max over each bin rectangle with PyTorch's scan (see max_pool2d): (values, indices)."""
    n, c, height, width = x.shape
    ho, wo = output_size
    out = np.empty((n, c, ho, wo), dtype=np.float64)
    indices = np.empty((n, c, ho, wo), dtype=np.int64)
    for i, (h0, h1) in enumerate(adaptive_bins(height, ho)):
        for j, (w0, w1) in enumerate(adaptive_bins(width, wo)):
            for b in range(n):
                for ch in range(c):
                    best, best_index = -math.inf, h0 * width + w0
                    for h in range(h0, h1):
                        for w in range(w0, w1):
                            value = float(x[b, ch, h, w])
                            if value > best or math.isnan(value):
                                best, best_index = value, h * width + w
                    out[b, ch, i, j], indices[b, ch, i, j] = best, best_index
    return out, indices
