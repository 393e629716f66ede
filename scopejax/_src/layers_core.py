"""``dense``, ``dropout``, ``flatten``: TF1's ``tf.compat.v1.layers`` core layers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import initializers, rng
from scopejax._src.errors import ScopeTypeError, ShapeMismatchError
from scopejax._src.layers_base import (
    Activation,
    activate,
    add_weight,
    as_array,
    check_positive_int,
    check_rank,
    float_dtype,
    layer_scope,
)

# TF1's layers default the bias initializer to zeros_initializer(); an explicit None means "the
# scope's initializer, else glorot uniform", as in TF1.
ZEROS = initializers.zeros_initializer()


def dense(
    inputs: Any,
    units: int,
    activation: Activation = None,
    use_bias: bool = True,
    kernel_initializer: Any = None,
    bias_initializer: Any = ZEROS,
    kernel_regularizer: Any = None,
    bias_regularizer: Any = None,
    kernel_constraint: Any = None,
    bias_constraint: Any = None,
    trainable: bool = True,
    name: str | None = None,
    reuse: Any = None,
) -> Any:
    """A fully connected layer: ``activation(inputs @ kernel + bias)``.

    Variables ``<scope>/kernel`` ``[inputs.shape[-1], units]`` (scope initializer if any, else
    glorot uniform) and ``<scope>/bias`` ``[units]`` (zeros; ``bias_initializer=None`` means the
    kernel's rule, as in TF1). ``<scope>`` is ``name`` as given
    (never uniquified: a second ``dense(..., name="query")`` in the same scope raises "already
    exists" unless reusing) or ``dense``, ``dense_1``... Inputs of rank > 2 contract their last
    axis.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> def mlp(x):
    ...     h = layers.dense(x, 8, activation=jax.nn.relu)
    ...     return layers.dense(h, 2, name="logits")
    >>> net = scopejax.transform(mlp)
    >>> params = net.init(jax.random.key(0), jnp.ones((4, 3)))
    >>> {n: params[n].shape for n in params.names()}  # doctest: +NORMALIZE_WHITESPACE
    {'dense/bias': (8,), 'dense/kernel': (3, 8),
     'logits/bias': (2,), 'logits/kernel': (8, 2)}

    TF1 equivalent: ``tf.compat.v1.layers.dense``.
    """
    layer = "dense"
    inputs = as_array(layer, inputs)
    check_rank(layer, inputs, -2)
    units = check_positive_int(layer, "units", units)
    dtype = float_dtype(layer, inputs)
    with layer_scope(layer, name, reuse) as captured:
        kernel = add_weight(captured, reuse, "kernel", [inputs.shape[-1], units], dtype,
                            kernel_initializer, kernel_regularizer, kernel_constraint,
                            trainable)  # fmt: skip
        bias = None
        if use_bias:
            bias = add_weight(captured, reuse, "bias", [units], dtype,
                              bias_initializer,
                              bias_regularizer, bias_constraint, trainable)  # fmt: skip
        if inputs.ndim == 2:
            outputs = inputs @ kernel
        else:
            outputs = jnp.tensordot(inputs, kernel, [[inputs.ndim - 1], [0]])
        if bias is not None:
            outputs = outputs + bias.reshape((1,) * (outputs.ndim - 1) + (units,))
        return activate(activation, outputs, layer)


def _check_rate(rate: Any) -> float:
    try:
        value = float(rate)
    except (TypeError, ValueError):
        raise ScopeTypeError(
            f"dropout: rate must be a number in [0, 1) (the fraction dropped), got {rate!r}."
        ) from None
    if not 0.0 <= value < 1.0:
        raise ScopeTypeError(
            f"dropout: rate must be in [0, 1) (the fraction of inputs dropped, TF1's `rate`), got "
            f"{value}. Note: TF1's tf.nn.dropout(keep_prob=p) corresponds to rate=1-p."
        )
    return value


def _noise_shape(inputs: Any, noise_shape: Sequence[int | None] | None) -> tuple[int, ...]:
    if noise_shape is None:
        return tuple(inputs.shape)
    shape = tuple(inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    if len(shape) != inputs.ndim or any(
            d not in (1, n) for d, n in zip(shape, inputs.shape, strict=True)):
        raise ShapeMismatchError(
            f"dropout: noise_shape {tuple(noise_shape)} does not broadcast to the inputs' shape "
            f"{tuple(inputs.shape)}; give one entry per input dimension, each 1, None or that "
            "dimension's size."
        )
    return shape


def dropout(
    inputs: Any,
    rate: float = 0.5,
    noise_shape: Sequence[int | None] | None = None,
    seed: int | None = None,
    training: Any = False,
    name: str | None = None,
) -> Any:
    """Sets a fraction ``rate`` of the inputs to 0 and scales the rest by ``1 / (1 - rate)``.

    Only when ``training`` is true (TF1's default is ``training=False``: the inputs are returned
    unchanged). ``training`` may be a Python bool or a scalar boolean array (then both branches
    are computed and selected). The mask is drawn from :func:`scopejax.next_rng_key` inside the
    layer's scope (``dropout``, ``dropout_1``...), so give the call a key:
    ``apply(params, x, rng=key)``; masks differ from TF's random ops. ``seed`` is folded into the
    key. ``noise_shape`` entries of 1 share the mask along that axis (``None``: the input's size).

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> net = scopejax.transform(lambda x: layers.dropout(x, 0.5, training=True))
    >>> y = net.apply(net.init(jax.random.key(0), jnp.ones(8)), jnp.ones(8),
    ...               rng=jax.random.key(1))
    >>> sorted(set(y.tolist())) in ([0.0, 2.0], [2.0], [0.0])
    True

    TF1 equivalent: ``tf.compat.v1.layers.dropout``.
    """
    layer = "dropout"
    inputs = as_array(layer, inputs)
    value = _check_rate(rate)
    if seed is not None and not isinstance(seed, int | np.integer):
        raise ScopeTypeError(f"dropout: seed must be an int or None, got {seed!r}.")
    static = training if isinstance(training, bool) else None
    if static is None and not (isinstance(training, jax.Array | np.ndarray | np.bool_)
                               and jnp.shape(training) == ()):  # fmt: skip
        raise ScopeTypeError(
            f"dropout: training must be a bool or a scalar boolean array, got {training!r:.60}."
        )
    with layer_scope(layer, name, None):
        if static is False or value == 0.0:
            return inputs
        key = rng.next_rng_key()
        if seed is not None:
            key = jax.random.fold_in(key, int(seed))
        keep = jax.random.bernoulli(key, 1.0 - value, _noise_shape(inputs, noise_shape))
        scaled = inputs * jnp.asarray(1.0 / (1.0 - value), inputs.dtype)
        dropped = jnp.where(jnp.broadcast_to(keep, inputs.shape), scaled,
                            jnp.zeros((), inputs.dtype))  # fmt: skip
        if static is None:
            return jnp.where(jnp.asarray(training, bool), dropped, inputs)
        return dropped


def flatten(inputs: Any, name: str | None = None, data_format: str = "channels_last") -> Any:
    """Flattens all but the first (batch) axis: ``[N, d1, d2...] -> [N, d1 * d2 * ...]``.

    With ``data_format="channels_first"`` the channel axis is moved last first, as TF1 does, so
    the result matches a channels_last model. Rank-1 inputs become ``[N, 1]``. Opens (and
    consumes) a ``flatten`` default-named scope like TF1; creates no variables.

    >>> import jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> net = scopejax.transform(lambda x: layers.flatten(x))
    >>> net.apply(net.init(None, jnp.ones((2, 3, 4))), jnp.ones((2, 3, 4))).shape
    (2, 12)

    TF1 equivalent: ``tf.compat.v1.layers.flatten``.
    """
    layer = "flatten"
    inputs = as_array(layer, inputs)
    check_rank(layer, inputs, -1)
    if data_format not in ("channels_last", "channels_first"):
        raise ScopeTypeError(
            f"flatten: data_format must be 'channels_last' or 'channels_first', got "
            f"{data_format!r}."
        )
    with layer_scope(layer, name, None):
        if data_format == "channels_first" and inputs.ndim > 2:
            inputs = jnp.moveaxis(inputs, 1, -1)
        return inputs.reshape(inputs.shape[0], -1)


__all__ = ["dense", "dropout", "flatten"]
