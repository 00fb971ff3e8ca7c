"""Kernel tests: prints the PTX compile times at the end of the run.

Imports nothing from Numba: which CUDA target Numba uses (real or simulator)
is fixed by the first import of numba in a process, and the test modules
decide that (see test_kernels_sim.py, test_kernels_subprocess.py).
"""
import pytest

#: (kernel id, seconds) for each PTX compile of test_kernels_ptx.py.
PTX_TIMES = pytest.StashKey()


def pytest_terminal_summary(terminalreporter, config):
    times = config.stash.get(PTX_TIMES, None)
    if not times:
        return
    total = sum(seconds for _, seconds in times)
    slowest = max(times, key=lambda item: item[1])
    terminalreporter.write_line(
        f"PTX compile (sm_90): {len(times)} kernels in {total:.1f} s "
        f"(slowest {slowest[0]}: {slowest[1]:.2f} s, includes loading NVVM)")
