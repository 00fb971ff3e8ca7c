"""Placeholder: being written in this session."""


def cross_entropy(*args, **kwargs):
    raise NotImplementedError("cross_entropy")


def nll_loss(*args, **kwargs):
    raise NotImplementedError("nll_loss")


def mse_loss(*args, **kwargs):
    raise NotImplementedError("mse_loss")


def binary_cross_entropy_with_logits(*args, **kwargs):
    raise NotImplementedError("binary_cross_entropy_with_logits")
