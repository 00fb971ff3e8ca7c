"""Check cases for the loss operators (see minicnn.checks.case)."""

CASES = []
