"""minicnn raises glibc's mmap and trim thresholds at import (minicnn/_allocator.py): a
freed multi-MB array is reused warm instead of being page-faulted in again."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Allocates, writes and frees a 40 MB array (above glibc's largest dynamic mmap threshold,
# 32 MB) 10 times after a first round, and prints the minor page faults per round.
PROGRAM = """
import resource, numpy as np
import minicnn, minicnn._allocator as allocator
def churn():
    a = np.empty(10 * 2**20, np.float32); a.fill(1.0)
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    churn()
print(allocator.state, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def run(**env_changes):
    env = {key: value for key, value in os.environ.items()
           if key not in ("MINICNN_MALLOC", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")}
    env.update(env_changes)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return " ".join(out[:-1]), float(out[-1])


glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or
                           not os.confstr("CS_GNU_LIBC_VERSION"),
                           reason="mallopt's thresholds are glibc's (this is not a glibc Linux)")


@glibc
def test_freed_arrays_are_reused_without_page_faults():
    state, faults = run()
    assert state == "tuned"
    assert faults < 2, f"{faults} page faults per 40 MB allocation after tuning"


@glibc
def test_opting_out_keeps_glibcs_behaviour():
    state, faults = run(MINICNN_MALLOC="default")
    assert state == "left as is: MINICNN_MALLOC=default"
    # 40 MB from a fresh mmap every time: at least one fault per 2 MB (huge) page
    assert faults >= 20, f"only {faults} page faults per fresh 40 MB mmap: is the test still valid?"


def test_a_users_malloc_environment_is_respected():
    state, _ = run(MALLOC_TRIM_THRESHOLD_="1000000")
    assert state == "left as is: the MALLOC_*_THRESHOLD_ environment variables are set"
