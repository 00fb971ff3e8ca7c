"""Check cases for the shuffle operators (see minicnn.checks.case)."""

CASES = []
