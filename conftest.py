"""Test configuration shared by tests/ and the doctests in scopejax/.

Multi-device tests need 8 virtual CPU devices, which XLA only grants if the flag is set before
JAX is first imported, so it is set here, at the top of the root conftest.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ banner, when TF is used.

import jax
from hypothesis import settings

jax.config.update("jax_numpy_rank_promotion", "raise")

# Hypothesis profiles: `ci` (the default) is derandomized, so a CI run is reproducible; `long`
# explores 2,000 random examples per property and keeps failures in the local example database
# (.hypothesis/): HYPOTHESIS_PROFILE=long bash scripts/test.sh tests/reliability
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("long", max_examples=2000, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Public objects are relabelled `__module__ = "scopejax"`, so pytest would collect their doctests
# a second time from scopejax/__init__.py (with the wrong globals). Collect them where they live.
collect_ignore = ["scopejax/__init__.py"]
