"""Run the simulator tests under Numba's CUDA simulator, in a fresh process.

The simulator tests: ``test_kernels_sim.py`` (every kernel against its NumPy
twin) and ``test_gpu_dispatch_sim.py`` (the operators' GPU path, dispatch and
``minicnn/ops/_gpu.py`` glue, against the CPU operators).

Numba chooses between the CUDA target and the simulator once per process,
when ``numba`` is first imported, from ``NUMBA_ENABLE_CUDASIM``. This pytest
process has typically imported numba already (the CPU operators use
``numba.njit``; the PTX compile test needs the real CUDA target), so the
simulator tests run in a child ``python -m pytest`` with the variable set.
A failure shows the child's output.

Under ``NUMBA_ENABLE_CUDASIM=1`` this test skips: the simulator tests then run
in this very process.
"""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

SIM_TESTS = [Path(__file__).with_name(name)
             for name in ("test_kernels_sim.py", "test_gpu_dispatch_sim.py")]
REPO_ROOT = Path(__file__).resolve().parents[2]


def test_kernels_under_the_cuda_simulator():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        pytest.skip("NUMBA_ENABLE_CUDASIM=1: the simulator tests run in this process")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    command = [sys.executable, "-m", "pytest", *(str(path.relative_to(REPO_ROOT))
                                                  for path in SIM_TESTS),
               "-q", "-p", "no:cacheprovider", "--durations=5"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=900)
    elapsed = time.perf_counter() - start
    output = result.stdout + result.stderr
    print(f"simulator tests: {elapsed:.1f} s\n{output[-3000:]}")
    assert result.returncode == 0, \
        f"simulator tests failed ({' '.join(command)}):\n{output[-8000:]}"
    summary = re.search(r"(\d+) passed", output)
    assert summary and int(summary.group(1)) > 0, f"no simulator test ran:\n{output[-3000:]}"
    assert "skipped" not in output.splitlines()[-1], f"simulator tests skipped:\n{output[-3000:]}"
