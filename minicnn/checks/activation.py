"""Check cases for the activation operators (see minicnn.checks.case)."""

CASES = []
