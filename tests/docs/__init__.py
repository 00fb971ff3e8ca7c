"""Tests of the study material: operator cards, ``minicnn explain``, the article's blocks
and errata, the implementation ladder."""
