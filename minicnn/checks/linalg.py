"""Check cases for the linalg operators (see minicnn.checks.case)."""

CASES = []
