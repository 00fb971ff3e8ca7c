"""Check cases for the pooling operators (see minicnn.checks.case)."""

CASES = []
