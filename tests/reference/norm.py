"""Naive references for the per-sample normalisations, written from their docstrings.

One Python loop over the samples (and groups), each slice standardised with its own
mean and biased variance in float64: slow and obviously correct, for small inputs only.
"""
import numpy as np


def standardize(values, eps):
    """``(v - mean(v)) / sqrt(var(v) + eps)`` with the biased variance."""
    return (values - values.mean()) / np.sqrt(values.var() + eps)


def layer_norm(x, normalized_shape, weight, bias, eps):
    """Every index of the leading dims: its trailing ``normalized_shape`` block standardised."""
    k = len(normalized_shape)
    out = np.empty_like(x)
    for index in np.ndindex(*x.shape[:x.ndim - k]):
        out[index] = standardize(x[index], eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def group_norm(x, num_groups, weight, bias, eps):
    """Every sample n, every group of C/G consecutive channels: standardised together."""
    batch, channels = x.shape[:2]
    size = channels // num_groups
    out = np.empty_like(x)
    for n in range(batch):
        for group in range(num_groups):
            block = slice(group * size, (group + 1) * size)
            out[n, block] = standardize(x[n, block], eps)
    per_channel = (channels,) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(per_channel)
    if bias is not None:
        out = out + bias.reshape(per_channel)
    return out


def instance_norm_running_stats(x, running_mean, running_var, momentum):
    """The running statistics after one instance-norm call: each plane's mean and unbiased
    variance, averaged over the samples, blended in with ``momentum``."""
    planes = x.reshape(x.shape[0], x.shape[1], -1)
    mean = planes.mean(axis=2).mean(axis=0)
    var = planes.var(axis=2, ddof=1).mean(axis=0)
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)
