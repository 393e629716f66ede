"""The examples run, learn, and the README's training-loop recipe is the one they run."""

import pathlib
import re
import sys

import jax.numpy as jnp
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import tf1_batchnorm_dropout  # noqa: E402


def test_batchnorm_dropout_example_learns_and_keeps_its_invariants():
    result = tf1_batchnorm_dropout.train(steps=60, log=False)
    losses, params = result["losses"], result["params"]
    assert np.mean(losses[-10:]) < 0.3 * np.mean(losses[:5])
    assert result["accuracy"] > 0.9
    # Moving averages moved away from their initial values; only through mutable=.
    assert not np.allclose(params["model/batch_normalization/moving_variance"], 1.0)
    assert params.info("model/batch_normalization/moving_mean").trainable is False
    # The max-norm constraint held after every step.
    for name in ("model/dense/kernel", "model/dense_1/kernel"):
        assert float(jnp.linalg.norm(params[name], axis=0).max()) <= 3.0 + 1e-5


def test_readme_training_recipe_is_the_example_code():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("**A training loop with optax.**", 1)[1].split("```python", 1)[1]
    block = block.split("```", 1)[0]
    source = (ROOT / "examples" / "tf1_batchnorm_dropout.py").read_text()
    code_lines = [re.sub(r"\s+#.*", "", line).strip() for line in block.splitlines()]
    missing = [line for line in code_lines if line and line not in source]
    assert not missing, f"README lines not in the example: {missing}"


def test_flagship_char_lstm_trains_summarises_checkpoints_and_resumes(tmp_path, capsys):
    import char_lstm

    ckpt = str(tmp_path / "ckpt")
    result = char_lstm.main(["--tiny", "--ckpt-dir", ckpt, "--no-progress"])
    out = capsys.readouterr().out
    losses, params = result["losses"], result["params"]
    assert len(losses) == 30 and np.mean(losses[-5:]) < 0.85 * np.mean(losses[:5])
    # TF1 names, the partitioned (uneven: vocab % 8 != 0) embedding and softmax, the summary.
    assert set(params.names()) == {
        "lm/embedding", "lm/softmax_w", "lm/softmax_b",
        "lm/rnn/multi_rnn_cell/cell_0/lstm_cell/kernel",
        "lm/rnn/multi_rnn_cell/cell_0/lstm_cell/bias"}  # fmt: skip
    vocab = result["config"].vocab
    assert vocab % 8 and params["lm/embedding"].shape == (vocab, 16)
    assert params.info("lm/softmax_w").partition is not None
    assert "lm/embedding" in out and "8 on axis 0" in out and "Total: 5 variables" in out
    assert result["sample"].startswith("def ") and len(result["sample"]) == 4 + 60
    assert "validation loss" in out
    # A second run resumes from the last checkpoint and continues the same data stream.
    again = char_lstm.main(["--tiny", "--steps", "33", "--ckpt-dir", ckpt, "--no-progress",
                            "--no-summary"])  # fmt: skip
    assert "Resumed from step 29" in capsys.readouterr().out
    assert again["start"] == 30 and len(again["losses"]) == 3


def test_tf1_style_mlp_example_runs():
    import subprocess

    out = subprocess.run([sys.executable, str(ROOT / "examples" / "tf1_style_mlp.py"),
                          "--steps", "60"], capture_output=True, text=True, timeout=300,
                         check=True).stdout  # fmt: skip
    assert "mlp/dense_1/kernel" in out and "mlp/logits/bias" in out
    losses = [float(m) for m in re.findall(r"loss (\d+\.\d+)", out)]
    assert losses[-1] < losses[0]
