"""Run a command under ``mpiexec -n N`` (the MPICH wheel's, next to this Python) from a test."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    assert found, "mpiexec not found: install the test extra (mpi4py, mpich)"
    return found


def run_mpi(ranks, args, timeout=240, cwd=None):
    """``mpiexec -n ranks python args...``; one thread per rank (2 cores in CI)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.run([mpiexec(), "-n", str(ranks), sys.executable, *args], env=env,
                          cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout)
