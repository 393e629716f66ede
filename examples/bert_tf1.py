"""A small BERT-style encoder written with ``scopejax.layers``, named like the public BERT.

Run: .venv/bin/python examples/bert_tf1.py [--layers N] [--hidden H] [--checkpoint PREFIX]
(the defaults are the config ``tests/models/test_bert_example.py`` checks against TF)

The model is written as TF1 BERT code was (``variable_scope`` + ``tf.layers.dense`` +
``tf.contrib.layers.layer_norm`` + ``embedding_lookup``), so its variables carry the public BERT
checkpoint names -- ``bert/embeddings/word_embeddings``, ``bert/embeddings/LayerNorm/gamma``,
``bert/encoder/layer_0/attention/self/query/kernel``, ``.../attention/output/dense``,
``.../intermediate/dense``, ``.../output/dense``, ``.../output/LayerNorm``, ``bert/pooler/dense``
-- and a TF1 checkpoint of the same architecture loads with
``scopejax.tf_checkpoint.load_checkpoint`` and no renaming (``--checkpoint``;
``tests/models/test_bert_example.py`` does this with a checkpoint written by real TensorFlow and
checks the outputs under ``jax.jit``). Dropout draws from ``apply(..., rng=key)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

import scopejax as sj
from scopejax import layers


@dataclasses.dataclass(frozen=True)
class BertConfig:
    """BERT's hyper-parameters (names as in BERT's ``bert_config.json``); small defaults."""

    vocab_size: int = 99
    hidden_size: int = 32
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 37
    max_position_embeddings: int = 64
    type_vocab_size: int = 2
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    initializer_range: float = 0.02


def gelu(x: jax.Array) -> jax.Array:
    """BERT's tanh approximation of GELU."""
    return 0.5 * x * (1.0 + jnp.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def _init(config: BertConfig) -> sj.TFInitializer:
    # TF1's truncated_normal_initializer is not rescaled: samples have std ~0.88 * stddev.
    return sj.truncated_normal_initializer(stddev=config.initializer_range)


def _layer_norm(x: jax.Array) -> jax.Array:
    return layers.layer_norm(x, begin_norm_axis=-1, begin_params_axis=-1)


def embeddings(config: BertConfig, input_ids: jax.Array, token_type_ids: jax.Array,
               training: bool) -> jax.Array:  # fmt: skip
    seq_len = input_ids.shape[1]
    with sj.variable_scope("embeddings"):
        table = sj.get_variable("word_embeddings", [config.vocab_size, config.hidden_size],
                                initializer=_init(config))  # fmt: skip
        x = layers.embedding_lookup(table, input_ids)
        types = sj.get_variable("token_type_embeddings",
                                [config.type_vocab_size, config.hidden_size],
                                initializer=_init(config))  # fmt: skip
        x = x + layers.embedding_lookup(types, token_type_ids)
        positions = sj.get_variable("position_embeddings",
                                    [config.max_position_embeddings, config.hidden_size],
                                    initializer=_init(config))  # fmt: skip
        x = x + positions[None, :seq_len, :]
        x = _layer_norm(x)  # bert/embeddings/LayerNorm
        return layers.dropout(x, config.hidden_dropout_prob, training=training)


def attention(config: BertConfig, x: jax.Array, mask_bias: jax.Array,
              training: bool) -> jax.Array:  # fmt: skip
    batch, seq_len, hidden = x.shape
    heads = config.num_attention_heads
    size = hidden // heads

    def project(name: str) -> jax.Array:
        y = layers.dense(x, hidden, kernel_initializer=_init(config), name=name)
        return y.reshape(batch, seq_len, heads, size).transpose(0, 2, 1, 3)

    with sj.variable_scope("self"):
        q, k, v = project("query"), project("key"), project("value")
        scores = jnp.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(size) + mask_bias
        probs = layers.dropout(jax.nn.softmax(scores, axis=-1),
                               config.attention_probs_dropout_prob, training=training)
        context = jnp.einsum("bhqk,bhkd->bhqd", probs, v)
        context = context.transpose(0, 2, 1, 3).reshape(batch, seq_len, hidden)
    with sj.variable_scope("output"):
        out = layers.dense(context, hidden, kernel_initializer=_init(config))  # output/dense
        out = layers.dropout(out, config.hidden_dropout_prob, training=training)
        return _layer_norm(out + x)  # output/LayerNorm


def encoder_layer(config: BertConfig, x: jax.Array, mask_bias: jax.Array,
                  training: bool) -> jax.Array:  # fmt: skip
    with sj.variable_scope("attention"):
        x = attention(config, x, mask_bias, training)
    with sj.variable_scope("intermediate"):
        h = layers.dense(x, config.intermediate_size, activation=gelu,
                         kernel_initializer=_init(config))  # fmt: skip
    with sj.variable_scope("output"):
        h = layers.dense(h, config.hidden_size, kernel_initializer=_init(config))
        h = layers.dropout(h, config.hidden_dropout_prob, training=training)
        return _layer_norm(h + x)


def bert(config: BertConfig, input_ids: jax.Array, token_type_ids: jax.Array,
         input_mask: jax.Array, training: bool = False,
         scope: str = "bert") -> tuple[jax.Array, jax.Array]:  # fmt: skip
    """Returns ``(sequence_output [batch, seq, hidden], pooled_output [batch, hidden])``."""
    with sj.variable_scope(scope):
        x = embeddings(config, input_ids, token_type_ids, training)
        mask_bias = (1.0 - input_mask.astype(x.dtype))[:, None, None, :] * -10000.0
        with sj.variable_scope("encoder"):
            for i in range(config.num_hidden_layers):
                with sj.variable_scope(f"layer_{i}"):
                    x = encoder_layer(config, x, mask_bias, training)
        with sj.variable_scope("pooler"):
            pooled = layers.dense(x[:, 0, :], config.hidden_size, activation=jnp.tanh,
                                  kernel_initializer=_init(config))  # fmt: skip
    return x, pooled


def model(config: BertConfig) -> sj.Transformed:
    """``scopejax.transform`` of :func:`bert`: ``init(key, ids, types, mask, training)``."""
    return sj.transform(lambda ids, types, mask, training=False: bert(
        config, ids, types, mask, training))


def example_batch(config: BertConfig, batch: int = 2, seq_len: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, config.vocab_size, (batch, seq_len)).astype(np.int32)
    types = (np.arange(seq_len)[None, :] >= seq_len // 2).astype(np.int32).repeat(batch, 0)
    mask = np.ones((batch, seq_len), np.int32)
    mask[0, seq_len - 2:] = 0  # padding at the end of the first sequence
    return ids, types, mask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default = BertConfig()
    parser.add_argument("--layers", type=int, default=default.num_hidden_layers)
    parser.add_argument("--hidden", type=int, default=default.hidden_size)
    parser.add_argument("--intermediate", type=int, default=default.intermediate_size)
    parser.add_argument("--checkpoint", default=None, help="a TF1 BERT checkpoint to load")
    args = parser.parse_args()
    config = BertConfig(hidden_size=args.hidden, num_hidden_layers=args.layers,
                        intermediate_size=args.intermediate)  # fmt: skip
    net = model(config)
    ids, types, mask = example_batch(config)
    if args.checkpoint:
        from scopejax import tf_checkpoint

        params = tf_checkpoint.load_checkpoint(
            args.checkpoint, net.init_abstract(jax.random.key(0), ids, types, mask))
    else:
        params = net.init(jax.random.key(0), ids, types, mask)
    sj.print_summary(params, depth=3)
    apply = jax.jit(net.apply, static_argnums=4)
    seq, pooled = apply(params, ids, types, mask, False)
    _, pooled_train = apply(params, ids, types, mask, True, rng=jax.random.key(1))
    print(f"sequence_output {seq.shape}, pooled_output {pooled.shape}")
    print("pooled[0, :4] eval :", np.asarray(pooled[0, :4]).round(4))
    print("pooled[0, :4] train:", np.asarray(pooled_train[0, :4]).round(4), "(dropout)")


if __name__ == "__main__":
    main()
