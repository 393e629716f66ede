"""``batch_normalization`` (``tf.compat.v1.layers``) and ``layer_norm`` (contrib / tf-slim).

Batch norm's moving statistics are state: with ``training=True`` they are updated through
:func:`scopejax.assign_moving_average` and come back from ``apply(..., mutable=True)``. TF1
put those updates in ``UPDATE_OPS`` for the user to run; here they happen whenever the call is
mutable, and an ``apply`` that is not raises ``NotMutableError`` (so a forgotten update cannot
pass silently).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import context, initializers, state
from scopejax._src.errors import ScopeTypeError, ShapeMismatchError
from scopejax._src.graph_keys import GraphKeys
from scopejax._src.layers_base import (
    Activation,
    activate,
    add_weight,
    as_array,
    float_dtype,
    layer_scope,
)

_ZEROS = initializers.zeros_initializer()
_ONES = initializers.ones_initializer()


def _normalize(x: Any, mean: Any, variance: Any, offset: Any, scale: Any, eps: float) -> Any:
    """TF's ``nn.batch_normalization``: ``x * inv + (offset - mean * inv)``."""
    inv = jax.lax.rsqrt(variance + jnp.asarray(eps, variance.dtype))
    if scale is not None:
        inv = inv * scale
    shift = -mean * inv if offset is None else offset - mean * inv
    return x * inv + shift


def _axes(inputs: Any, axis: int | Sequence[int]) -> list[int]:
    given = [axis] if isinstance(axis, int) else list(axis)
    out = []
    for a in given:
        if not isinstance(a, int) or not -inputs.ndim <= a < inputs.ndim:
            raise ShapeMismatchError(
                f"batch_normalization: axis {axis!r} is out of range for inputs of shape "
                f"{tuple(inputs.shape)}; give an int (or list of ints) in [-{inputs.ndim}, "
                f"{inputs.ndim})."
            )
        out.append(a % inputs.ndim)
    if len(set(out)) != len(out):
        raise ShapeMismatchError(f"batch_normalization: duplicate axis in {axis!r}.")
    return sorted(out)


def _training_flag(layer: str, training: Any) -> bool | Any:
    if isinstance(training, bool):
        return training
    if isinstance(training, jax.Array | np.ndarray | np.bool_) and jnp.shape(training) == ():
        return jnp.asarray(training, bool)
    raise ScopeTypeError(
        f"{layer}: training must be a bool or a scalar boolean array, got {training!r:.60}."
    )


def batch_normalization(
    inputs: Any,
    axis: int | Sequence[int] = -1,
    momentum: float = 0.99,
    epsilon: float = 1e-3,
    center: bool = True,
    scale: bool = True,
    beta_initializer: Any = _ZEROS,
    gamma_initializer: Any = _ONES,
    moving_mean_initializer: Any = _ZEROS,
    moving_variance_initializer: Any = _ONES,
    beta_regularizer: Any = None,
    gamma_regularizer: Any = None,
    beta_constraint: Any = None,
    gamma_constraint: Any = None,
    training: Any = False,
    trainable: bool = True,
    name: str | None = None,
    reuse: Any = None,
    fused: bool | None = None,
) -> Any:
    """Batch normalization with TF1's variables, defaults and update rule.

    Variables, in TF1's creation order: ``<scope>/gamma`` (if ``scale``), ``<scope>/beta`` (if
    ``center``), ``<scope>/moving_mean``, ``<scope>/moving_variance`` (non-trainable, in
    ``GLOBAL_VARIABLES`` only, as TF1); scope ``batch_normalization``, ``batch_normalization_1``...
    or ``name``. ``training=False`` (TF1's default) normalises with the moving statistics.
    ``training=True`` normalises with the batch's (biased) moments and updates
    ``moving = moving - (moving - batch) * (1 - momentum)``: the call must be mutable,
    ``apply(params, x, training=True, mutable=True)`` returns ``(y, new_params)``. As in TF1, a
    4-D/5-D input normalised over its channel axis uses TF's fused kernel, whose moving variance
    receives the *unbiased* batch variance (``n / (n - 1)``); other inputs (e.g. rank 2) the
    biased one. ``fused=False`` selects the latter everywhere. 16-bit inputs are normalised in
    float32 with float32 variables. ``training`` may be a scalar boolean array.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> net = scopejax.transform(lambda x, t: layers.batch_normalization(x, training=t))
    >>> x = jnp.arange(8.0).reshape(4, 2)
    >>> params = net.init(jax.random.key(0), x, False)
    >>> params.names()
    ('batch_normalization/beta', 'batch_normalization/gamma', \
'batch_normalization/moving_mean', 'batch_normalization/moving_variance')
    >>> y, params = net.apply(params, x, True, mutable=True)
    >>> [round(float(v), 4) for v in params["batch_normalization/moving_mean"]]
    [0.03, 0.04]

    TF1 equivalent: ``tf.compat.v1.layers.batch_normalization`` (updates in ``UPDATE_OPS``).
    """
    layer = "batch_normalization"
    inputs = as_array(layer, inputs)
    axes = _axes(inputs, axis)
    flag = _training_flag(layer, training)
    in_dtype = float_dtype(layer, inputs)
    low = in_dtype in (jnp.float16, jnp.bfloat16)
    param_dtype = np.dtype(np.float32) if low else in_dtype
    rank = inputs.ndim
    if len(axes) == 1:
        param_shape = [inputs.shape[axes[0]]]
    else:
        param_shape = [inputs.shape[i] if i in axes else 1 for i in range(rank)]
    is_fused = fused is not False and len(axes) == 1 and in_dtype != np.float64 and (
        (rank == 4 and axes[0] in (1, 3)) or (rank == 5 and axes[0] in (1, 4)))
    reduce_axes = tuple(i for i in range(rank) if i not in axes)
    broadcast = [inputs.shape[i] if i in axes else 1 for i in range(rank)]

    def shaped(v: Any) -> Any:
        return None if v is None else v.reshape(broadcast)

    with layer_scope(layer, name, reuse) as captured:
        gamma = beta = None
        if scale:
            gamma = add_weight(captured, reuse, "gamma", param_shape, param_dtype,
                               gamma_initializer, gamma_regularizer, gamma_constraint,
                               trainable)  # fmt: skip
        if center:
            beta = add_weight(captured, reuse, "beta", param_shape, param_dtype,
                              beta_initializer, beta_regularizer, beta_constraint,
                              trainable)  # fmt: skip
        moving_mean = add_weight(captured, reuse, "moving_mean", param_shape, param_dtype,
                                 moving_mean_initializer, trainable=False)  # fmt: skip
        moving_variance = add_weight(captured, reuse, "moving_variance", param_shape,
                                     param_dtype, moving_variance_initializer,
                                     trainable=False)  # fmt: skip
        x = inputs.astype(param_dtype) if low else inputs
        mean = variance = None
        if flag is not False:
            mean = x.mean(reduce_axes)
            variance = jnp.square(x - jax.lax.stop_gradient(mean.reshape(broadcast))).mean(
                reduce_axes)
            if len(axes) > 1:
                mean, variance = mean.reshape(param_shape), variance.reshape(param_shape)
            n = int(np.prod([inputs.shape[i] for i in reduce_axes]))
            update_variance = variance * (n / max(n - 1, 1)) if is_fused else variance
            if flag is not True:  # a traced flag: the moving statistics stay when it is false
                mean = jnp.where(flag, mean, moving_mean)
                variance = jnp.where(flag, variance, moving_variance)
                update_variance = jnp.where(flag, update_variance, moving_variance)
            # By name (relative to the layer scope, active here): robust to casting getters.
            state.assign_moving_average("moving_mean", mean, momentum)
            state.assign_moving_average("moving_variance", update_variance, momentum)
        else:
            mean, variance = moving_mean, moving_variance
        outputs = _normalize(x, shaped(mean), shaped(variance), shaped(beta), shaped(gamma),
                             epsilon)  # fmt: skip
        return outputs.astype(in_dtype) if low else outputs


def _collections(variables_collections: Any, name: str) -> list[str]:
    keys = (variables_collections.get(name) if isinstance(variables_collections, dict)
            else variables_collections)  # fmt: skip
    if keys is None:
        keys = []
    elif isinstance(keys, str):
        keys = [keys]
    return [*keys, GraphKeys.GLOBAL_VARIABLES, GraphKeys.MODEL_VARIABLES]


def layer_norm(
    inputs: Any,
    center: bool = True,
    scale: bool = True,
    activation_fn: Activation = None,
    reuse: Any = None,
    variables_collections: Any = None,
    trainable: bool = True,
    begin_norm_axis: int = 1,
    begin_params_axis: int = -1,
    scope: str | None = None,
) -> Any:
    """Layer normalization as ``tf.contrib.layers.layer_norm`` / ``tf_slim.layers.layer_norm``.

    Opens ``variable_scope(scope, default_name="LayerNorm")``: unnamed calls are ``LayerNorm``,
    ``LayerNorm_1``... Variables ``<scope>/beta`` (zeros) and ``<scope>/gamma`` (ones) of shape
    ``inputs.shape[begin_params_axis:]``, in ``GLOBAL_VARIABLES``, ``MODEL_VARIABLES`` (and
    ``TRAINABLE_VARIABLES``) plus ``variables_collections``. Moments over axes
    ``begin_norm_axis..rank-1`` (default: all but the batch axis; BERT passes
    ``begin_norm_axis=-1``), epsilon 1e-12 (1e-3 for float16).

    >>> import jax, jax.numpy as jnp, scopejax
    >>> from scopejax import layers
    >>> net = scopejax.transform(lambda x: layers.layer_norm(x, begin_norm_axis=-1))
    >>> params = net.init(jax.random.key(0), jnp.ones((2, 4)))
    >>> params.names(), params.collection("model_variables")
    (('LayerNorm/beta', 'LayerNorm/gamma'), ('LayerNorm/beta', 'LayerNorm/gamma'))
    >>> [round(float(v), 3) for v in net.apply(params, jnp.array([[1.0, 2.0, 3.0, 4.0]]))[0]]
    [-1.342, -0.447, 0.447, 1.342]

    TF1 equivalent: ``tf.contrib.layers.layer_norm`` (``tf_slim.layers.layer_norm``).
    """
    layer = "layer_norm"
    inputs = as_array(layer, inputs)
    rank = inputs.ndim
    dtype = float_dtype(layer, inputs)
    norm_axis = begin_norm_axis + rank if begin_norm_axis < 0 else begin_norm_axis
    if begin_params_axis >= rank or norm_axis >= rank or norm_axis < 0 or (
            begin_params_axis < -rank):
        raise ShapeMismatchError(
            f"layer_norm: begin_params_axis ({begin_params_axis}) and begin_norm_axis "
            f"({begin_norm_axis}) must be < rank(inputs) ({rank}); inputs have shape "
            f"{tuple(inputs.shape)}."
        )
    params_shape = list(inputs.shape[begin_params_axis:])
    with context.variable_scope(scope, default_name="LayerNorm", reuse=reuse):
        beta = gamma = None
        if center:
            beta = context.get_variable("beta", params_shape, dtype=dtype, initializer=_ZEROS,
                                        collections=_collections(variables_collections, "beta"),
                                        trainable=trainable)  # fmt: skip
        if scale:
            gamma = context.get_variable("gamma", params_shape, dtype=dtype, initializer=_ONES,
                                         collections=_collections(variables_collections,
                                                                  "gamma"),
                                         trainable=trainable)  # fmt: skip
        axes = tuple(range(norm_axis, rank))
        x = inputs.astype(jnp.float32) if dtype == jnp.float16 else inputs
        mean = x.mean(axes, keepdims=True)
        variance = jnp.square(x - jax.lax.stop_gradient(mean)).mean(axes, keepdims=True)
        mean, variance = mean.astype(dtype), variance.astype(dtype)
        lead = (1,) * (rank - len(params_shape))
        outputs = _normalize(inputs, mean, variance,
                             None if beta is None else beta.reshape(lead + beta.shape),
                             None if gamma is None else gamma.reshape(lead + gamma.shape),
                             1e-3 if dtype == jnp.float16 else 1e-12)  # fmt: skip
        return activate(activation_fn, outputs, layer)


__all__ = ["batch_normalization", "layer_norm"]
