"""TF1's layers on scopejax's ``variable_scope`` / ``get_variable``: TF-identical variable names.

``tf.compat.v1.layers`` (``dense``, ``conv1d``/``2d``/``3d``, ``conv2d_transpose``,
``separable_conv2d``, ``batch_normalization``, ``dropout``, ``flatten``), contrib / tf-slim's
``layer_norm`` and ``tf.nn.embedding_lookup``, with TF1's signatures, variable names, shapes,
dtypes, initializers and collections, so TF1 model code ports line by line and TF1 checkpoints
load as they are (``scopejax.tf_checkpoint.load_checkpoint``). Call them inside a function given
to ``scopejax.transform``::

    from scopejax import layers

    def encoder(x, training):
        with scopejax.variable_scope("encoder"):
            h = layers.dense(x, 64, activation=jax.nn.relu, name="query")   # encoder/query/kernel
            h = layers.dropout(h, rate=0.1, training=training)             # key: next_rng_key()
            return layers.layer_norm(h, begin_norm_axis=-1)                # encoder/LayerNorm/...

Naming follows TF1 exactly: a layer given ``name="query"`` opens ``variable_scope("query")`` and
is never uniquified (a second one in the same scope raises "already exists" unless reusing);
an unnamed one takes ``dense``, ``dense_1``...; unnamed ``layer_norm`` calls are ``LayerNorm``,
``LayerNorm_1``. Batch norm's moving statistics are updated through the state API
(``apply(..., mutable=True)``), dropout draws from ``apply(..., rng=key)``.
"""

from scopejax._src.layers_conv import (
    conv1d,
    conv2d,
    conv2d_transpose,
    conv3d,
    separable_conv2d,
)
from scopejax._src.layers_core import dense, dropout, flatten
from scopejax._src.layers_embedding import embedding_lookup
from scopejax._src.layers_norm import batch_normalization, layer_norm

__all__ = [
    "batch_normalization",
    "conv1d",
    "conv2d",
    "conv2d_transpose",
    "conv3d",
    "dense",
    "dropout",
    "embedding_lookup",
    "flatten",
    "layer_norm",
    "separable_conv2d",
]
