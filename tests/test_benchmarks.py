"""The benchmark script runs (smoke size) and its models agree; timings are never asserted."""

import json
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


def test_bench_frameworks_quick_runs(tmp_path):
    """Every framework builds the same models (checked by the script) and every metric runs."""
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_frameworks.py"), "--quick",
         "--json", str(tmp_path / "frameworks.json")],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    assert "| mlp 2x8 | (a) init_eager |" in out.stdout
    assert "| tfm 1 | (f) train_step_jit |" in out.stdout
    assert "Per-leaf slopes" in out.stdout and "Targets" in out.stdout
    report = json.loads((tmp_path / "frameworks.json").read_text())
    assert [c["label"] for c in report["configs"]] == ["mlp 2x8", "mlp 6x8", "tfm 1"]
    frameworks = {"jax_dict", "jax_list", "scopejax", "haiku", "linen", "nnx"}
    for config in report["configs"]:
        assert config["checked"]
        for result in config["results"]:
            assert set(result["samples_s"]) == frameworks
            assert all(len(s) >= 2 for s in result["samples_s"].values())
