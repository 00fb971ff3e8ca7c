"""The guard of the test modules that must run under Numba's CUDA simulator."""
import os

import pytest


def require_simulator():
    """Skip the calling module unless this process runs Numba's CUDA simulator.

    Numba picks the simulator or the real CUDA target when it is first imported
    (``NUMBA_ENABLE_CUDASIM``); the main pytest run has the real one, and
    ``test_kernels_subprocess.py`` reruns these modules in a process with the
    simulator, so a skip here is never the only run.
    """
    if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        pytest.skip("needs NUMBA_ENABLE_CUDASIM=1 set before numba is imported; "
                    "test_kernels_subprocess.py runs this file in such a process",
                    allow_module_level=True)
    import numba

    if not numba.config.ENABLE_CUDASIM:
        pytest.skip("numba was imported before NUMBA_ENABLE_CUDASIM=1 took effect "
                    "(run this file in a fresh process)", allow_module_level=True)
