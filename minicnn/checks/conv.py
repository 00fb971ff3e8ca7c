"""Check cases for the conv operators (see minicnn.checks.case)."""

CASES = []
