"""Check cases for the reduce operators (see minicnn.checks.case)."""

CASES = []
