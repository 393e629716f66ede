"""``python -m scopejax inspect CKPT``: the table, filters, and errors without tracebacks."""

from __future__ import annotations

import subprocess
import sys

import ml_dtypes
import numpy as np

from scopejax.__main__ import main
from scopejax._src.tf_writer import write_bundle


def make(tmp_path):
    return write_bundle(str(tmp_path / "model.ckpt-5"), {
        "encoder/dense/kernel": np.zeros((784, 256), np.float32),
        "encoder/dense/bias": np.zeros(256, ml_dtypes.bfloat16),
        "global_step": np.array(5, np.int64),
    })


def test_inspect_prints_a_table(tmp_path, capsys):
    prefix = make(tmp_path)
    assert main(["inspect", str(tmp_path)]) == 0  # a directory: its only checkpoint
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "dtype", "shape", "slices", "size"]
    assert lines[2].split() == ["encoder/dense/bias", "bfloat16", "[256]", "-", "512", "B"]
    assert lines[3].split() == ["encoder/dense/kernel", "float32", "[784,", "256]", "-", "784.0",
                                "KiB"]
    assert lines[4].split() == ["global_step", "int64", "[]", "-", "8", "B"]
    assert lines[-1] == f"3 tensors, 784.5 KiB, in {prefix} (1 data file)"


def test_filter_and_errors(tmp_path, capsys):
    prefix = make(tmp_path)
    assert main(["inspect", prefix + ".index", "--filter", "bias$"]) == 0
    out = capsys.readouterr().out
    assert "encoder/dense/bias" in out and "kernel" not in out and out.count("\n") == 4
    assert main(["inspect", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No TF checkpoint at ") and "model.ckpt-5" in err
    assert main(["inspect", prefix, "--filter", "("]) == 1
    assert capsys.readouterr().err.startswith("error: missing ), unterminated subpattern")


def test_runs_as_a_module(tmp_path):
    prefix = make(tmp_path)
    done = subprocess.run([sys.executable, "-m", "scopejax", "inspect", prefix],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "encoder/dense/kernel" in done.stdout and "global_step" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "scopejax", "inspect", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "No TF checkpoint" in bad.stderr
