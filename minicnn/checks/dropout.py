"""Check cases for the dropout operators (see minicnn.checks.case)."""

CASES = []
