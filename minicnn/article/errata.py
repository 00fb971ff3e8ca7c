"""Run the snippets of ``docs/article-errata.md`` and write (or check) their outputs.

Every ```python block of the page is followed by a ```text block holding what that
snippet prints. ``python -m minicnn.article.errata --write`` runs each snippet (in a
fresh namespace, in order) and rewrites the text blocks; ``--check`` (and
``tests/docs/test_article.py``) fails when any recorded output differs from a fresh run,
so the page can never show output the code no longer produces.
"""
import argparse
import contextlib
import io
import re
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "docs" / "article-errata.md"

# a python block, optionally followed (after blank lines) by its text block
_BLOCK = re.compile(r"```python\n(?P<code>.*?)```\n(?:\s*```text\n(?P<out>.*?)```\n)?", re.S)


def run_snippet(code):
    """Execute one snippet; returns what it printed (exceptions propagate)."""
    buffer = io.StringIO()
    namespace = {"__name__": "__errata__"}
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, "<errata snippet>", "exec"), namespace)  # noqa: S102 (the doc's own code)
    return buffer.getvalue()


def snippets(markdown):
    """``[(code, recorded output or None), ...]`` in page order."""
    return [(m.group("code"), m.group("out")) for m in _BLOCK.finditer(markdown)]


def refresh(markdown):
    """The page with every text block replaced by its snippet's fresh output."""
    def replace(match):
        try:
            output = run_snippet(match.group("code"))
        except Exception as error:
            raise RuntimeError(f"the snippet starting {match.group('code')[:120]!r} raised "
                               f"{type(error).__name__}: {error}") from error
        return f"```python\n{match.group('code')}```\n\n```text\n{output}```\n"
    return _BLOCK.sub(replace, markdown)


def stale(markdown):
    """``[(index, code, recorded, fresh), ...]`` for every snippet whose recorded output is stale."""
    found = []
    for index, (code, recorded) in enumerate(snippets(markdown)):
        fresh = run_snippet(code)
        if recorded != fresh:
            found.append((index, code, recorded, fresh))
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minicnn.article.errata", description=__doc__)
    parser.add_argument("path", nargs="?", default=str(DEFAULT))
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true")
    group.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    path = Path(args.path)
    text = path.read_text(encoding="utf-8")
    if args.write:
        path.write_text(refresh(text), encoding="utf-8")
        return 0
    problems = stale(text)
    for index, code, recorded, fresh in problems:
        print(f"snippet {index} is stale:\n{code}\nrecorded:\n{recorded}\nfresh:\n{fresh}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
