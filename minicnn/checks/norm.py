"""Check cases for the norm operators (see minicnn.checks.case)."""

CASES = []
