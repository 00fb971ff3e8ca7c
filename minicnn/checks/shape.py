"""Check cases for the shape operators (see minicnn.checks.case)."""

CASES = []
