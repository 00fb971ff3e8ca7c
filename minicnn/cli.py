"""The ``minicnn`` command line (also ``python -m minicnn``).

Subcommands:

* ``minicnn check [OP ...]``: for each operator (all by default), run the
  float64 gradient check and, when PyTorch is installed, the float32 parity
  check on a few configurations; print a table; exit 1 if anything fails.
"""
import argparse
import sys
import time


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _format_error(value: float) -> str:
    return "-" if value != value else f"{value:.2e}"  # nan (a crash) prints as "-"


def run_check(ops, seed: int, use_torch: bool, out=None) -> int:
    from .checks import all_cases, run_case

    out = out or sys.stdout

    cases = all_cases()
    known = sorted({c.op for c in cases})
    if ops:
        unknown = [op for op in ops if op not in known]
        if unknown:
            print(f"minicnn check: unknown operator(s) {', '.join(unknown)}; "
                  f"valid: {', '.join(known)}", file=sys.stderr)
            return 2
        cases = [c for c in cases if c.op in ops]
    torch_ok = use_torch and _torch_available()
    if use_torch and not torch_ok:
        print("PyTorch is not installed: running the float64 gradient checks only "
              "(pip install 'minicnn[test]' adds the parity checks).", file=out)

    header = ("op", "configuration", "check", "max abs err", "max rel err", "result")
    rows, failures = [], []
    start = time.perf_counter()
    for case in cases:
        for result in run_case(case, seed=seed, torch_available=torch_ok):
            rows.append((result.op, result.config, result.check, _format_error(result.max_abs_error),
                         _format_error(result.max_rel_error), "pass" if result.passed else "FAIL"))
            if not result.passed:
                failures.append(result)
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = "  ".join("{:<%d}" % w for w in widths)
    print(line.format(*header), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in rows:
        print(line.format(*row), file=out)
    elapsed = time.perf_counter() - start
    print(f"\n{len(rows) - len(failures)} passed, {len(failures)} failed "
          f"({len(cases)} configurations of {len({c.op for c in cases})} operators, "
          f"{elapsed:.1f} s)", file=out)
    for result in failures:
        print(f"FAIL {result.op} [{result.config}] {result.check}: {result.detail}", file=out)
    return 1 if failures else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="minicnn", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check", help="gradient-check every operator and compare it with PyTorch",
        description="Run the float64 central-difference gradient check and (with PyTorch "
                    "installed) the float32 PyTorch parity check of each operator.")
    check.add_argument("ops", nargs="*", metavar="OP", help="operators to check (default: all)")
    check.add_argument("--seed", type=int, default=0, help="seed for inputs and upstream gradients")
    check.add_argument("--no-torch", action="store_true", help="skip the PyTorch parity checks")
    args = parser.parse_args(argv)
    if args.command == "check":
        return run_check(args.ops, args.seed, not args.no_torch)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
