"""The operator checks behind ``minicnn check``: a few configurations per operator.

Each family module lists ``CASES`` (:class:`~minicnn.checks.case.Case`).
"""
from importlib import import_module

from .case import Case, CaseResult, run_case

FAMILIES = ("elementwise", "reduce", "shape", "select", "linalg", "conv", "fold", "pooling",
            "norm", "shuffle", "resample", "activation", "dropout", "loss")


def all_cases() -> list:
    cases = []
    for family in FAMILIES:
        cases.extend(import_module(f"{__name__}.{family}").CASES)
    return cases


__all__ = ["Case", "CaseResult", "run_case", "all_cases", "FAMILIES"]
