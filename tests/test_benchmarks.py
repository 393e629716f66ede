"""The benchmark script runs (smoke size) and its models agree; timings are never asserted."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_core_quick_runs():
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_core.py"), "--quick",
         "--metrics", "init_eager,apply_jit_b1,tree_flatten"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    assert "| init_eager | 8 | 16 |" in out.stdout
    assert "| tree_flatten | 64 | 16 |" in out.stdout
