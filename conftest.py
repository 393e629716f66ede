"""Test configuration shared by tests/ and the doctests in scopejax/.

Multi-device tests need 8 virtual CPU devices, which XLA only grants if the flag is set before
JAX is first imported, so it is set here, at the top of the root conftest.
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ banner, when TF is used.

import jax

jax.config.update("jax_numpy_rank_promotion", "raise")

# Public objects are relabelled `__module__ = "scopejax"`, so pytest would collect their doctests
# a second time from scopejax/__init__.py (with the wrong globals). Collect them where they live.
collect_ignore = ["scopejax/__init__.py"]
