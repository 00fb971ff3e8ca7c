"""``python -m minicnn.cards --write [DIR]`` regenerates docs/ops (pages and pictures);
``--check`` lists stale pages (and a stale picture manifest)."""
import argparse
import sys
from pathlib import Path

from . import stale_pages, write_docs

DEFAULT = Path(__file__).resolve().parents[2] / "docs" / "ops"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minicnn.cards", description=__doc__)
    parser.add_argument("directory", nargs="?", default=str(DEFAULT))
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="write every page")
    group.add_argument("--check", action="store_true", help="exit 1 if a page is stale")
    args = parser.parse_args(argv)
    if args.write:
        write_docs(args.directory)
        return 0
    stale = stale_pages(args.directory)
    from ..figures import stale_manifest

    if stale_manifest(Path(args.directory) / "figures"):
        stale.append("figures/manifest.json")
    for name in stale:
        print(f"stale: {name}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
