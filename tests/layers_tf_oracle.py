"""Layer programs run on real TF1 (legacy ``tf.compat.v1.layers`` + tf-slim) and on scopejax.

A *program* is ``prog(L, *inputs) -> list of outputs`` written once against an engine ``L``
that has TF1's layer signatures: ``L.dense``, ``L.conv2d``..., ``L.layer_norm`` (tf-slim),
``L.embedding_lookup``, ``L.variable_scope``, ``L.get_variable`` and a few helpers. The same text
runs on TensorFlow (graph mode) and on scopejax, so names, shapes, dtypes, collections and, with
TF's initial values loaded, outputs must agree.

TensorFlow must see ``TF_USE_LEGACY_KERAS=1`` before it is first imported, and other tests
import it earlier in the pytest process, so TF runs here in ONE subprocess
(``python tests/layers_tf_oracle.py OUT.pkl CKPT_DIR``) that builds every program plus the
BERT-style checkpoint of ``tests/models/test_bert_example.py`` and pickles the results;
:func:`tf_results` runs it once per pytest process (TensorFlow's import dominates: ~5-12 s).
"""

from __future__ import annotations

import functools
import os
import pickle
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
KEY_PHRASES = ("already exists", "does not exist", "Trying to share variable",
               "cannot be used without a name_or_scope")  # fmt: skip


def rand(shape: tuple[int, ...], seed: int, dtype: str = "float32") -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


X2 = rand((4, 3), 1)
X3 = rand((2, 5, 3), 2)
X4 = rand((2, 7, 6, 3), 3)
X5 = rand((2, 4, 5, 3, 2), 4)
IDS = np.array([[0, 1, 2], [3, 9, 5]], np.int32)


# ------------------------------------------------------------------------------------ programs


def p_dense_naming(L, x):
    h = L.dense(x, 5, activation=L.relu, name="query")
    a = L.dense(h, 2)  # dense
    b = L.dense(h, 2)  # dense_1
    with L.variable_scope("enc"):
        c = L.dense(x, 2, use_bias=False)  # enc/dense
    with L.variable_scope("enc", reuse=True):
        d = L.dense(x, 2, use_bias=False, name="dense")  # shares enc/dense
    with L.variable_scope(None, default_name="dense"):  # the layers consumed dense, dense_1
        L.get_variable("v", [1])
    with L.variable_scope("tower", reuse=L.AUTO_REUSE):
        e = L.dense(x, 2, name="shared")
        f = L.dense(x, 2, name="shared")
    g = L.dense(x, 2, name="explicit", reuse=L.AUTO_REUSE)
    k = L.dense(x, 2, name="explicit", reuse=True)
    return [h, a, b, c, d, e, f, g, k]


def p_dense_named_twice_raises(L, x):
    L.dense(x, 2, name="query")
    return [L.dense(x, 2, name="query")]


def p_dense_reuse_missing_raises(L, x):
    with L.variable_scope("a"):
        return [L.dense(x, 2, name="q", reuse=True)]


def p_dense_rank3_initializers(L, x):
    with L.variable_scope("s", initializer=L.constant_initializer(0.5)):
        a = L.dense(x, 3)  # kernel from the scope initializer, bias zeros
        b = L.dense(x, 3, bias_initializer=None)  # None: the scope's initializer too
    c = L.dense(x, 4, kernel_initializer=L.constant_initializer(0.1), trainable=False,
                activation=L.tanh, name="frozen")  # fmt: skip
    return [a, b, c]


def p_regularizers(L, x):
    a = L.dense(x, 3, kernel_regularizer=L.l2(0.5), bias_regularizer=L.l2(0.25), name="top")
    b = L.conv1d(x[None], 2, 2, kernel_regularizer=L.l2(0.1))
    return [a, b, L.regularization_loss(), L.num_regularization_losses()]


def p_scope_and_layer_regularizer(L, x):
    with L.variable_scope("r", regularizer=L.l2(0.1)):
        a = L.dense(x, 3, kernel_regularizer=L.l2(0.5))
    return [a, L.regularization_loss()]


def p_conv1d(L, x):
    return [L.conv1d(x, 4, 2), L.conv1d(x, 4, 3, padding="same", strides=2),
            L.conv1d(x, 2, 2, padding="causal", dilation_rate=2, activation=L.relu),
            L.conv1d(x, 2, 3, use_bias=False, name="c")]  # fmt: skip


def p_conv2d(L, x):
    return [L.conv2d(x, 4, 3), L.conv2d(x, 4, (3, 2), strides=2, padding="same"),
            L.conv2d(x, 2, 3, padding="SAME", dilation_rate=2),
            L.conv2d(x, 2, 2, strides=(2, 3), name="named", activation=L.relu)]  # fmt: skip


def p_conv3d(L, x):
    return [L.conv3d(x, 3, 2), L.conv3d(x, 2, (3, 2, 1), strides=2, padding="same")]


def p_conv2d_transpose(L, x):
    return [L.conv2d_transpose(x, 2, 3), L.conv2d_transpose(x, 3, 3, strides=2, padding="same"),
            L.conv2d_transpose(x, 2, 4, strides=2), L.conv2d_transpose(x, 2, (2, 3), strides=3,
                                                                       padding="same"),
            L.conv2d_transpose(x, 2, 4, strides=(2, 1), padding="same")]  # fmt: skip


def p_separable_conv2d(L, x):
    return [L.separable_conv2d(x, 4, 3), L.separable_conv2d(x, 5, 3, strides=2, padding="same",
                                                            depth_multiplier=2),
            L.separable_conv2d(x, 2, 2, dilation_rate=2, use_bias=False, name="sep")]  # fmt: skip


def p_bn_2d_training(L, x):
    return [L.batch_normalization(x, training=True),
            L.batch_normalization(x, training=True, momentum=0.9, center=False, name="bn")]


def p_bn_3d_training(L, x):
    return [L.batch_normalization(x, training=True, epsilon=1e-2)]


def p_bn_4d_training_fused(L, x):
    return [L.batch_normalization(x, training=True), L.conv2d(x, 2, 1)]


def p_bn_4d_inference(L, x):
    return [L.batch_normalization(x), L.batch_normalization(x, training=False, scale=False)]


def p_layer_norm(L, x3):
    a = L.layer_norm(x3)  # LayerNorm: moments over axes 1, 2; params [3]
    b = L.layer_norm(x3, begin_norm_axis=-1, begin_params_axis=-1)  # LayerNorm_1
    with L.variable_scope("enc"):
        c = L.layer_norm(x3, scope="ln", activation_fn=L.relu, center=False)
        d = L.layer_norm(x3, begin_params_axis=1, variables_collections=["extra"])
    return [a, b, c, d]


def p_dropout_flatten_scopes(L, x, x4):
    a = L.dropout(x, 0.5)  # training=False by default: identity
    b = L.dropout(x, 0.3, training=False, name="drop")
    with L.variable_scope(None, default_name="dropout"):  # dropout_1: the first took dropout
        L.get_variable("v", [1])
    c = L.flatten(x4)
    with L.variable_scope(None, default_name="flatten"):
        L.get_variable("v", [1])
    return [a, b, c]


def p_embedding(L, ids):
    emb = L.get_variable("emb", [10, 4], partitioner=L.fixed_size_partitioner(3))
    plain = L.get_variable("plain", [10, 4])
    parts = L.parts(emb, [4, 3, 3])
    lookup = L.embedding_lookup
    return [lookup(emb, ids), lookup(emb, ids, partition_strategy="div"),
            lookup(parts, ids), lookup(parts, ids, partition_strategy="div"),
            lookup(plain, ids), lookup(plain, ids, max_norm=0.8)]


def p_initializer_statistics(L, x):
    with L.variable_scope("tn"):
        L.dense(x, 128, kernel_initializer=L.truncated_normal_initializer(0.02))
    L.dense(x, 128, name="glorot")
    L.conv2d(L.reshape(x, [2, 4, 4, 32]), 16, 3, padding="same", name="conv")
    return []


def model_twice(L, x):
    def build():
        with L.variable_scope("bert"):
            h = L.dense(L.layer_norm(x, begin_norm_axis=-1), 3)
            return L.dense(L.layer_norm(h, begin_norm_axis=-1), 3)

    a = build()
    with L.variable_scope(L.get_variable_scope(), reuse=True):
        b = build()
    return [a, b]


X512 = rand((2, 512), 5)
PROGRAMS: dict[str, tuple[Any, tuple[np.ndarray, ...]]] = {
    "dense_naming": (p_dense_naming, (X2,)),
    "dense_named_twice_raises": (p_dense_named_twice_raises, (X2,)),
    "dense_reuse_missing_raises": (p_dense_reuse_missing_raises, (X2,)),
    "dense_rank3_initializers": (p_dense_rank3_initializers, (X3,)),
    "regularizers": (p_regularizers, (X2,)),
    "scope_and_layer_regularizer": (p_scope_and_layer_regularizer, (X2,)),
    "conv1d": (p_conv1d, (X3,)),
    "conv2d": (p_conv2d, (X4,)),
    "conv3d": (p_conv3d, (X5,)),
    "conv2d_transpose": (p_conv2d_transpose, (X4,)),
    "separable_conv2d": (p_separable_conv2d, (X4,)),
    "bn_2d_training": (p_bn_2d_training, (X2,)),
    "bn_3d_training": (p_bn_3d_training, (X3,)),
    "bn_4d_training_fused": (p_bn_4d_training_fused, (X4,)),
    "bn_4d_inference": (p_bn_4d_inference, (X4,)),
    "layer_norm": (p_layer_norm, (X3,)),
    "dropout_flatten_scopes": (p_dropout_flatten_scopes, (X2, X4)),
    "embedding": (p_embedding, (IDS,)),
    "initializer_statistics": (p_initializer_statistics, (X512,)),
    "model_twice": (model_twice, (X2,)),
}


def error_key(e: BaseException) -> tuple[str, str]:
    kind = "ValueError" if isinstance(e, ValueError) else type(e).__name__
    return kind, next((p for p in KEY_PHRASES if p in str(e)), f"<no key phrase> {e}"[:300])


# ------------------------------------------------------------------------------------ engines


def sj_engine() -> types.SimpleNamespace:
    import jax
    import jax.numpy as jnp

    import scopejax as sj
    from scopejax import layers

    ns = types.SimpleNamespace(**{n: getattr(layers, n) for n in layers.__all__})
    ns.variable_scope, ns.get_variable = sj.variable_scope, sj.get_variable
    ns.get_variable_scope, ns.AUTO_REUSE = sj.get_variable_scope, sj.AUTO_REUSE
    ns.fixed_size_partitioner = sj.fixed_size_partitioner
    ns.constant_initializer = sj.constant_initializer
    ns.truncated_normal_initializer = lambda s: sj.truncated_normal_initializer(stddev=s)
    ns.relu, ns.tanh, ns.reshape = jax.nn.relu, jnp.tanh, jnp.reshape
    ns.l2 = lambda scale: lambda w: scale * jnp.sum(jnp.square(w))
    ns.regularization_loss = sj.get_regularization_loss
    ns.num_regularization_losses = lambda: jnp.asarray(len(sj.get_regularization_losses()))
    ns.parts = lambda v, sizes: [v[sum(sizes[:i]):sum(sizes[:i + 1])] for i in range(len(sizes))]
    return ns


def tf_engine(tf: Any) -> types.SimpleNamespace:
    import tf_slim

    tf1 = tf.compat.v1
    names = ("dense", "conv1d", "conv2d", "conv3d", "conv2d_transpose", "separable_conv2d",
             "batch_normalization", "dropout", "flatten")  # fmt: skip
    ns = types.SimpleNamespace(**{n: getattr(tf1.layers, n) for n in names})
    ns.layer_norm, ns.embedding_lookup = tf_slim.layers.layer_norm, tf1.nn.embedding_lookup
    ns.variable_scope, ns.get_variable = tf1.variable_scope, tf1.get_variable
    ns.get_variable_scope, ns.AUTO_REUSE = tf1.get_variable_scope, tf1.AUTO_REUSE
    ns.fixed_size_partitioner = tf1.fixed_size_partitioner
    ns.constant_initializer = tf1.constant_initializer
    ns.truncated_normal_initializer = lambda s: tf1.truncated_normal_initializer(stddev=s)
    ns.relu, ns.tanh, ns.reshape = tf.nn.relu, tf.tanh, tf.reshape
    ns.l2 = lambda scale: lambda w: scale * tf.reduce_sum(tf.square(w))
    ns.regularization_loss = tf1.losses.get_regularization_loss
    ns.num_regularization_losses = lambda: tf.constant(
        len(tf1.get_collection(tf1.GraphKeys.REGULARIZATION_LOSSES)))
    ns.parts = lambda v, sizes: list(v)
    return ns


def _run_tf_program(tf: Any, L: Any, prog: Any, inputs: tuple[np.ndarray, ...]) -> dict:
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(0)  # TF's random initial values are checked statistically: fix them
        try:
            outputs = prog(L, *[tf.constant(x) for x in inputs])
        except (ValueError, TypeError) as e:
            return {"error": error_key(e)}
        variables = tf1.global_variables()
        collections = {id(v): [] for v in variables}
        for key in graph.get_all_collection_keys():
            for item in graph.get_collection(key):
                if id(item) in collections:
                    collections[id(item)].append(key)
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            before = dict(zip([v.op.name for v in variables], sess.run(variables), strict=True))
            outs, _ = sess.run([outputs, tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)])
            after = dict(zip([v.op.name for v in variables], sess.run(variables), strict=True))
    return {
        "error": None,
        "vars": [(v.op.name, tuple(v.shape.as_list()), v.dtype.base_dtype.name,
                  tuple(sorted(collections[id(v)]))) for v in variables],
        "before": before,
        "after": after,
        "outputs": [np.asarray(o) for o in outs],
    }


# ------------------------------------------------------------- BERT, written as TF1 BERT code

BERT_CONFIG = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=37, max_position_embeddings=64, type_vocab_size=2,
                   hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                   initializer_range=0.02)  # fmt: skip
_rng = np.random.default_rng(7)
BERT_INPUTS = (_rng.integers(0, 99, (2, 8)).astype(np.int32),
               np.array([[0] * 4 + [1] * 4] * 2, np.int32),
               np.array([[1] * 6 + [0] * 2, [1] * 8], np.int32))  # fmt: skip


def bert_tf1_graph(tf: Any, input_ids: Any, token_type_ids: Any, input_mask: Any) -> Any:
    """A BERT encoder in plain TF1 (``tf.layers.dense``, contrib-style ``layer_norm``), the
    structure and scope names of google-research/bert's ``modeling.py``; inference mode."""
    import math

    import tf_slim

    tf1 = tf.compat.v1
    c = BERT_CONFIG
    hidden, heads = c["hidden_size"], c["num_attention_heads"]
    size = hidden // heads
    init = tf1.truncated_normal_initializer(stddev=c["initializer_range"])
    batch, seq = input_ids.shape.as_list()

    def layer_norm(x):
        return tf_slim.layers.layer_norm(inputs=x, begin_norm_axis=-1, begin_params_axis=-1)

    def gelu(x):
        return 0.5 * x * (1.0 + tf.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * tf.pow(x, 3))))

    with tf1.variable_scope("bert"):
        with tf1.variable_scope("embeddings"):
            table = tf1.get_variable("word_embeddings", [c["vocab_size"], hidden],
                                     initializer=init)  # fmt: skip
            x = tf1.nn.embedding_lookup(table, input_ids)
            types = tf1.get_variable("token_type_embeddings", [c["type_vocab_size"], hidden],
                                     initializer=init)  # fmt: skip
            x += tf1.nn.embedding_lookup(types, token_type_ids)
            positions = tf1.get_variable("position_embeddings",
                                         [c["max_position_embeddings"], hidden],
                                         initializer=init)  # fmt: skip
            x += tf.slice(positions, [0, 0], [seq, -1])[None]
            x = layer_norm(x)
        mask_bias = (1.0 - tf.cast(input_mask, tf.float32))[:, None, None, :] * -10000.0
        with tf1.variable_scope("encoder"):
            for i in range(c["num_hidden_layers"]):
                with tf1.variable_scope(f"layer_{i}"):
                    with tf1.variable_scope("attention"):
                        with tf1.variable_scope("self"):
                            def heads_of(name, x=x):
                                y = tf1.layers.dense(x, hidden, name=name,
                                                     kernel_initializer=init)  # fmt: skip
                                return tf.transpose(tf.reshape(y, [batch, seq, heads, size]),
                                                    [0, 2, 1, 3])  # fmt: skip
                            q, k, v = heads_of("query"), heads_of("key"), heads_of("value")
                            scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(size)
                            probs = tf.nn.softmax(scores + mask_bias)
                            ctx = tf.reshape(tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3]),
                                             [batch, seq, hidden])  # fmt: skip
                        with tf1.variable_scope("output"):
                            att = tf1.layers.dense(ctx, hidden, kernel_initializer=init)
                            att = layer_norm(att + x)
                    with tf1.variable_scope("intermediate"):
                        h = tf1.layers.dense(att, c["intermediate_size"], activation=gelu,
                                             kernel_initializer=init)  # fmt: skip
                    with tf1.variable_scope("output"):
                        h = tf1.layers.dense(h, hidden, kernel_initializer=init)
                        x = layer_norm(h + att)
        with tf1.variable_scope("pooler"):
            pooled = tf1.layers.dense(x[:, 0], hidden, activation=tf.tanh,
                                      kernel_initializer=init)  # fmt: skip
    return x, pooled


def bert_write_checkpoint(tf: Any, ckpt_dir: str) -> dict:
    """Builds the TF1 BERT, saves it with ``tf.compat.v1.train.Saver``; returns its outputs."""
    tf1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        tf1.set_random_seed(0)
        seq, pooled = bert_tf1_graph(tf, *[tf.constant(x) for x in BERT_INPUTS])
        variables = tf1.global_variables()
        kernel = next(v for v in variables if v.op.name.endswith("self/query/kernel"))
        with tf1.Session(graph=graph) as sess:
            sess.run(tf1.global_variables_initializer())
            prefix = tf1.train.Saver().save(sess, os.path.join(ckpt_dir, "bert.ckpt"))
            seq_v, pooled_v, kernel_v = sess.run([seq, pooled, kernel])
        model_variables = sorted(v.op.name for v in tf1.model_variables())
    return {"prefix": prefix, "config": BERT_CONFIG, "inputs": BERT_INPUTS,
            "sequence_output": seq_v, "pooled_output": pooled_v, "query_kernel": kernel_v,
            "vars": [(v.op.name, tuple(v.shape.as_list())) for v in variables],
            "model_variables": model_variables}  # fmt: skip


def main(out: str, ckpt_dir: str) -> None:
    import tensorflow as tf

    L = tf_engine(tf)
    results = {name: _run_tf_program(tf, L, prog, inputs)
               for name, (prog, inputs) in PROGRAMS.items()}  # fmt: skip
    results["__bert__"] = bert_write_checkpoint(tf, ckpt_dir)
    results["__versions__"] = {"tensorflow": tf.__version__}
    with open(out, "wb") as f:
        pickle.dump(results, f)


@functools.cache
def tf_results() -> dict:
    """Runs this file once in a subprocess (legacy Keras on); returns its pickled results.

    The BERT checkpoint lands in a temporary directory kept for the whole pytest process.
    """
    tmp = Path(tempfile.mkdtemp(prefix="scopejax_layers_oracle_"))
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3",
               CUDA_VISIBLE_DEVICES="", PYTHONWARNINGS="ignore")  # fmt: skip
    env.pop("XLA_FLAGS", None)
    done = subprocess.run([sys.executable, __file__, str(tmp / "out.pkl"), str(tmp / "bert")],
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the TF oracle subprocess failed:\n{done.stderr[-4000:]}")
    with open(tmp / "out.pkl", "rb") as f:
        results = pickle.load(f)
    results["__bert__"]["dir"] = str(tmp / "bert")
    return results


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
