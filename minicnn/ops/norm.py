"""Placeholder: being written in this session."""


def batch_norm(*args, **kwargs):
    raise NotImplementedError("batch_norm")
