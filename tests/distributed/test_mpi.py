"""The checks that need two processes, run under ``mpiexec -n 2`` (see mpi_checks.py)."""
import os

from ._launch import run_mpi

CHECKS = ["collectives", "gpu-error", "sync-batch-norm-function", "equivalence-float64",
          "equivalence-float32", "per-rank-batch-norm", "bad-use", "overlap", "no-sync"]


def test_two_ranks():
    result = run_mpi(2, [os.path.join(os.path.dirname(__file__), "mpi_checks.py")])
    passed = [line.split()[1] for line in result.stdout.splitlines() if line.startswith("OK ")]
    assert result.returncode == 0 and passed == CHECKS, (
        f"exit {result.returncode}, passed {passed}\n{result.stdout}\n{result.stderr}")
