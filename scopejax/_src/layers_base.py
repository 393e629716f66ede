"""What every TF1 layer shares: its variable scope, its weights, argument checks.

``tf.compat.v1.layers`` (the legacy Keras layers) name variables in two steps, reproduced here:

1. ``_set_scope``: ``variable_scope(name)`` when a name is given (never uniquified), else
   ``variable_scope(None, default_name=<layer type>)`` (``dense``, ``dense_1``...). The scope is
   captured and exited at once.
2. The call and every ``add_weight`` *re-enter* the captured scope object with
   ``reuse=<layer's reuse>`` and ``auxiliary_name_scope=False``; weights are plain
   ``get_variable(<weight name>)`` calls there, so scope initializers, regularizers, partitioners
   and custom getters apply exactly as in TF1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import context
from scopejax._src.errors import ReuseError, ScopeTypeError, ShapeMismatchError
from scopejax._src.scope import Scope

Activation = Callable[[Any], Any] | None


@contextlib.contextmanager
def layer_scope(layer: str, name: str | None, reuse: Any) -> Iterator[Scope]:
    """The captured layer scope, re-entered as TF1's ``Layer.__call__`` does; yields it."""
    if name is not None and not isinstance(name, str):
        raise ScopeTypeError(
            f"{layer}: name must be a string or None, got {type(name).__name__} {name!r}."
        )
    if name is None and reuse:
        raise ReuseError(
            f"{layer}(reuse={reuse!r}) needs a name: an unnamed layer gets a fresh default name "
            f"({layer}, {layer}_1, ...), so there is nothing to reuse. Pass name='...' (the "
            "scope to share), or open variable_scope(<name>, reuse=True) around the layer. (TF1 "
            "falls back on Keras's graph-wide unique layer names here; scopejax refuses.)"
        )
    with context.variable_scope(name, default_name=layer) as captured:
        pass
    with context.variable_scope(captured, reuse=reuse, auxiliary_name_scope=False):
        yield captured


def add_weight(
    captured: Scope,
    reuse: Any,
    name: str,
    shape: Sequence[int],
    dtype: Any,
    initializer: Any = None,
    regularizer: Any = None,
    constraint: Any = None,
    trainable: bool = True,
    collections: Any = None,
) -> Any:
    """TF1's legacy ``Layer.add_weight``: ``get_variable`` inside the re-entered layer scope.

    The layer's regularizer is added on top of any scope regularizer, as in TF1 (which adds the
    scope's loss in ``get_variable`` and the layer's loss after it); here the two are one loss
    entry whose value is their sum.
    """
    with context.variable_scope(captured, reuse=reuse, auxiliary_name_scope=False) as scope:
        return context.get_variable(
            name, list(shape), dtype=dtype, initializer=initializer,
            regularizer=_with_scope_regularizer(scope.regularizer, regularizer),
            trainable=trainable, constraint=constraint, collections=collections,
        )  # fmt: skip


class _SumOfRegularizers:
    """The scope's regularizer plus the layer's (either may return None)."""

    def __init__(self, scope_reg: Callable[[Any], Any], layer_reg: Callable[[Any], Any]):
        self.scope_reg, self.layer_reg = scope_reg, layer_reg

    def __call__(self, value: Any) -> Any:
        losses = [loss for loss in (self.scope_reg(value), self.layer_reg(value))
                  if loss is not None]  # fmt: skip
        if not losses:
            return None
        return losses[0] if len(losses) == 1 else losses[0] + losses[1]

    def __repr__(self) -> str:
        return f"scope regularizer {self.scope_reg!r} + layer regularizer {self.layer_reg!r}"


def _with_scope_regularizer(scope_reg: Any, layer_reg: Any) -> Any:
    if layer_reg is None or scope_reg is None:
        return layer_reg  # None: get_variable applies the scope's own
    return _SumOfRegularizers(scope_reg, layer_reg)


def float_dtype(layer: str, inputs: Any) -> np.dtype:
    """The layer's variable dtype: the inputs' floating dtype (TF1 legacy layers do the same)."""
    dtype = np.dtype(inputs.dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ScopeTypeError(
            f"{layer}: inputs must be a floating array (the layer's variables take their dtype), "
            f"got dtype {dtype.name}. Cast first: inputs.astype(jnp.float32)."
        )
    return dtype


def as_array(layer: str, inputs: Any) -> Any:
    if isinstance(inputs, jax.Array | np.ndarray) or hasattr(inputs, "aval"):
        return inputs
    try:
        return jnp.asarray(inputs)
    except (TypeError, ValueError) as e:
        raise ScopeTypeError(
            f"{layer}: inputs must be an array, got {type(inputs).__name__} ({e})."
        ) from None


def check_rank(layer: str, inputs: Any, ranks: Sequence[int] | int, what: str = "") -> None:
    allowed = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if inputs.ndim not in allowed and not (isinstance(ranks, int) and ranks < 0
                                            and inputs.ndim >= -ranks):  # fmt: skip
        want = (f"rank >= {-ranks}" if isinstance(ranks, int) and ranks < 0
                else " or ".join(f"rank {r}" for r in allowed))  # fmt: skip
        raise ShapeMismatchError(
            f"{layer}: expected inputs of {want}{what}, found shape {tuple(inputs.shape)} (rank "
            f"{inputs.ndim})."
        )


def check_positive_int(layer: str, arg: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ScopeTypeError(f"{layer}: {arg} must be a positive integer, got {value!r}.")
    return int(value)


def activate(activation: Activation, outputs: Any, layer: str) -> Any:
    if activation is None:
        return outputs
    if not callable(activation):
        raise ScopeTypeError(
            f"{layer}: activation must be a callable (e.g. jax.nn.relu) or None, got "
            f"{activation!r}. TF1's string names are not accepted."
        )
    return activation(outputs)


def bias_shape(bias: Any, ndim: int, axis: int) -> Any:
    """``bias`` of shape [c] reshaped to broadcast along ``axis`` of a rank-``ndim`` array."""
    shape = [1] * ndim
    shape[axis] = bias.shape[0]
    return bias.reshape(shape)


__all__: list[str] = []
