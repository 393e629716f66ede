"""examples/bert_tf1.py against a TF1 BERT checkpoint written by real TensorFlow.

``layers_tf_oracle.bert_tf1_graph`` builds the same encoder in plain TF1 (``tf.layers.dense``,
tf-slim's ``layer_norm``, ``embedding_lookup``, google-research/bert's scope structure) in a
subprocess and saves it with ``tf.compat.v1.train.Saver``. The scopejax example must have exactly
the checkpoint's variables (names, shapes), load it strictly with
``scopejax.tf_checkpoint.load_checkpoint`` (no TensorFlow) and reproduce TF's outputs under
``jax.jit`` to 1e-5.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from layers_tf_oracle import tf_results

import scopejax as sj
from scopejax import tf_checkpoint

pytest.importorskip("tensorflow", reason="the checkpoint is written by TF (pip install "
                    "'scopejax[tf]')")  # fmt: skip
pytest.importorskip("tf_keras", reason="legacy tf.compat.v1.layers need tf-keras")
pytest.importorskip("tf_slim", reason="contrib's layer_norm comes from tf-slim")

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bert_tf1", ROOT / "examples" / "bert_tf1.py")
bert_tf1 = importlib.util.module_from_spec(_spec)
sys.modules["bert_tf1"] = bert_tf1
_spec.loader.exec_module(bert_tf1)

PUBLIC_BERT_NAMES = [
    "bert/embeddings/word_embeddings",
    "bert/embeddings/token_type_embeddings",
    "bert/embeddings/position_embeddings",
    "bert/embeddings/LayerNorm/beta",
    "bert/embeddings/LayerNorm/gamma",
    "bert/encoder/layer_0/attention/self/query/kernel",
    "bert/encoder/layer_0/attention/self/key/bias",
    "bert/encoder/layer_0/attention/self/value/kernel",
    "bert/encoder/layer_0/attention/output/dense/kernel",
    "bert/encoder/layer_0/attention/output/LayerNorm/gamma",
    "bert/encoder/layer_0/intermediate/dense/kernel",
    "bert/encoder/layer_0/output/dense/bias",
    "bert/encoder/layer_0/output/LayerNorm/beta",
    "bert/encoder/layer_1/output/LayerNorm/gamma",
    "bert/pooler/dense/kernel",
    "bert/pooler/dense/bias",
]


@pytest.fixture(scope="module")
def ref():
    return tf_results()["__bert__"]


@pytest.fixture(scope="module")
def setup(ref):
    config = bert_tf1.BertConfig(**ref["config"])
    net = bert_tf1.model(config)
    target = net.init_abstract(jax.random.key(0), *ref["inputs"])
    return config, net, target


def test_default_config_is_the_tested_one(ref):
    assert bert_tf1.BertConfig() == bert_tf1.BertConfig(**ref["config"])


def test_every_variable_has_the_checkpoint_name_and_shape(ref, setup):
    _, _, target = setup
    ours = sorted((name, target.info(name).shape) for name in target.names())
    assert ours == sorted(ref["vars"])
    assert set(PUBLIC_BERT_NAMES) <= set(target.names())
    # contrib layer_norm's variables are model variables, in TF and here
    assert sorted(target.collection(sj.GraphKeys.MODEL_VARIABLES)) == ref["model_variables"]


def test_loads_tf_checkpoint_and_reproduces_outputs_under_jit(ref, setup):
    _, net, target = setup
    params = tf_checkpoint.load_checkpoint(ref["prefix"], target)  # strict: every name used
    np.testing.assert_array_equal(params["bert/encoder/layer_0/attention/self/query/kernel"],
                                  ref["query_kernel"])  # fmt: skip
    apply = jax.jit(net.apply, static_argnums=4)
    seq, pooled = apply(params, *ref["inputs"], False)
    np.testing.assert_allclose(seq, ref["sequence_output"], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pooled, ref["pooled_output"], rtol=1e-5, atol=1e-5)
    # Training mode: dropout from apply's key, deterministic per key, different from eval.
    a = apply(params, *ref["inputs"], True, rng=jax.random.key(1))[1]
    b = apply(params, *ref["inputs"], True, rng=jax.random.key(1))[1]
    c = apply(params, *ref["inputs"], True, rng=jax.random.key(2))[1]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c) and not np.allclose(a, pooled)
    with pytest.raises(sj.NoRngError, match=r"rng=jax\.random\.key"):
        net.apply(params, *ref["inputs"], True)


def test_truncated_normal_is_tf1s_unscaled_one(setup):
    config, _, _ = setup
    net = sj.transform(lambda: sj.get_variable("t", [256, 256], initializer=bert_tf1._init(config)))
    table = np.asarray(net.init(jax.random.key(0))["t"])
    assert np.abs(table).max() <= 0.04 and abs(table.std() / 0.02 - 0.88) < 0.02


def test_main_runs_on_the_checkpoint(ref, monkeypatch, capsys):
    """The example's defaults are the tested config, so its CLI loads the TF checkpoint."""
    monkeypatch.setattr(sys, "argv", ["bert_tf1.py", "--checkpoint", ref["prefix"]])
    bert_tf1.main()
    out = capsys.readouterr().out
    assert "bert/encoder" in out and "pooled_output (2, 32)" in out
