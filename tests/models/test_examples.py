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
