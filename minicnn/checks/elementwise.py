"""Check cases for the elementwise operators (see minicnn.checks.case)."""

CASES = []
