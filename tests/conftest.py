"""Shared test setup: hypothesis profiles.

Profiles (select with HYPOTHESIS_PROFILE=name; default ``ci``):

* ``ci``: bounded example counts so the whole suite fits CI's 10 minutes on
  2 cores; derandomized, so a CI failure reproduces on every run.
* ``dev``: a few more examples, random seeds.
* ``thorough``: long runs (``HYPOTHESIS_PROFILE=thorough pytest``).

``deadline=None`` everywhere: the first call of a Numba kernel compiles it.
Failures print the falsifying example and a ``@reproduce_failure`` blob.
"""
import os

from hypothesis import HealthCheck, settings

_common = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=12, derandomize=True, **_common)
settings.register_profile("dev", max_examples=30, **_common)
settings.register_profile("thorough", max_examples=400, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
