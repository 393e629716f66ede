"""TF1's collections inside a transformed call: ``GraphKeys``, ``get_collection``, losses.

A TF1 graph kept variables and losses in named collections. Here a collection is a view of the
current ``init``/``apply`` call: the variables it created (or, in apply, used) so far, the
regularisation losses of those variables, and values added with ``add_to_collection``. Losses are
computed from the variables' values when asked for, so they are differentiable with respect to
the params given to ``apply`` and safe under ``jax.jit``. Outside a call, a ``ParamStore`` answers
``store.collection(key)`` with names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import jax.numpy as jnp

from scopejax._src import context
from scopejax._src.errors import ScopeNameError, ScopeTypeError, TransformLeakError, call_user
from scopejax._src.runs import resolve
from scopejax._src.varinfo import GLOBAL_VARIABLES, TRAINABLE_VARIABLES


class GraphKeys:
    """The standard collection keys (TF1: ``tf.compat.v1.GraphKeys``), same strings as TF.

    Any other string is a custom collection.

    >>> GraphKeys.TRAINABLE_VARIABLES, GraphKeys.REGULARIZATION_LOSSES
    ('trainable_variables', 'regularization_losses')
    """

    GLOBAL_VARIABLES = GLOBAL_VARIABLES
    TRAINABLE_VARIABLES = TRAINABLE_VARIABLES
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    LOSSES = "losses"


def _check_key(key: Any, what: str) -> str:
    if not isinstance(key, str):
        raise ScopeTypeError(
            f"{what}: collection keys are strings (e.g. scopejax.GraphKeys.TRAINABLE_VARIABLES), "
            f"got {type(key).__name__} {key!r}."
        )
    return key


def _check_loss(name: str, regularizer: Any, loss: Any) -> Any:
    """A regulariser's result as a numeric array, or a ScopeTypeError naming the variable."""
    try:
        value = jnp.asarray(loss)
    except (TypeError, ValueError):
        value = None
    if value is None or not (jnp.issubdtype(value.dtype, jnp.number)):
        raise ScopeTypeError(
            f"The regularizer of variable {name} returned {type(loss).__name__} {loss!r:.60}; a "
            f"regularizer returns a numeric scalar loss (or None). Regularizer: {regularizer!r}."
        )
    return loss


def _named_items(key: str) -> list[tuple[str, Any]]:
    """``(TF-style name, value)`` of collection ``key`` in the current call, in TF's order.

    Variables (or their losses) and values from ``add_to_collection`` interleave as they were
    added: each added value remembers how many variables and losses existed at that moment.
    """
    run = context.current_frame("get_collection").run
    added = run.added.get(key, [])
    items: list[tuple[str, Any]] = []
    k = 0
    if key == GraphKeys.REGULARIZATION_LOSSES:
        for j, (name, regularizer, value) in enumerate(run.regularized):
            while k < len(added) and added[k][3] <= j:
                items.append(added[k][:2])
                k += 1
            loss = call_user(regularizer, f"regularizer of variable {name}", "regularizer(value)",
                             resolve(value))
            if loss is not None:
                loss = _check_loss(name, regularizer, loss)
            if loss is not None:
                items.append((f"{name}/Regularizer:0", loss))
    else:
        for j, (name, value, info) in enumerate(run.created_items()):
            while k < len(added) and added[k][2] <= j:
                items.append(added[k][:2])
                k += 1
            if key not in info.collections:
                continue
            part = info.partition
            if part is None:
                items.append((f"{name}:0", value))
            else:  # TF1 collects the shards, not the partitioned variable
                items.extend((f"{shard}:0", value[part.part_index(i)])
                             for i, shard in enumerate(part.part_names(name)))  # fmt: skip
    items.extend(item[:2] for item in added[k:])
    return items


def get_collection(key: str, scope: str | None = None) -> list[Any]:
    """The values in collection ``key`` in this call, optionally filtered by ``scope``.

    Items are in the order they entered the collection, as in TF. Variables are in the
    collections they were created with (``GLOBAL_VARIABLES``,
    ``TRAINABLE_VARIABLES`` if trainable, plus ``collections=``); ``REGULARIZATION_LOSSES`` holds
    one loss per regularised variable created (or used, in apply) so far. ``scope`` is a regex
    matched (``re.match``) against TF's names: ``"foo/v:0"`` for variables,
    ``"foo/v/Regularizer:0"`` for their losses, ``"<scope>/<key>:0"`` for added values. As in TF,
    ``scope="foo"`` also matches ``"foo_1/..."``; write ``"foo/"`` to avoid that.

    >>> import jax, scopejax
    >>> def f():
    ...     with scopejax.variable_scope("enc"):
    ...         scopejax.get_variable("w", [2])
    ...     scopejax.get_variable("n", [], trainable=False)
    ...     return (len(scopejax.get_collection(scopejax.GraphKeys.GLOBAL_VARIABLES)),
    ...             len(scopejax.get_collection("trainable_variables", scope="enc/")))
    >>> scopejax.transform(f).init_with_output(jax.random.key(0))[0]
    (2, 1)

    TF1 equivalent: ``tf.compat.v1.get_collection(key, scope)``.
    """
    items = _named_items(_check_key(key, "get_collection"))
    if scope is None:
        return [value for _, value in items]
    if not isinstance(scope, str):
        raise ScopeTypeError(
            f"get_collection: scope must be a regex string or None, got {scope!r}."
        )
    try:
        pattern = re.compile(scope)
    except re.error as e:
        raise ScopeNameError(
            f"get_collection: scope={scope!r} is not a valid regular expression ({e}); escape it "
            "with re.escape() to match a scope name literally."
        ) from None
    return [value for name, value in items if pattern.match(name)]


def add_to_collection(key: str, value: Any) -> None:
    """Adds ``value`` to the custom collection ``key`` of this call.

    The value is named ``"<current scope>/<key>:0"`` for ``get_collection``'s scope filter.
    TF1 equivalent: ``tf.compat.v1.add_to_collection``.

    >>> import scopejax
    >>> def f():
    ...     with scopejax.variable_scope("head"):
    ...         scopejax.add_to_collection("metrics", 0.5)
    ...     scopejax.add_to_collection("metrics", 2.0)
    ...     return scopejax.get_collection("metrics"), scopejax.get_collection("metrics", "head")
    >>> scopejax.transform(f).init_with_output(None)[0]
    ([0.5, 2.0], [0.5])
    """
    add_to_collections([key], value)


def add_to_collections(keys: Iterable[str], value: Any) -> None:
    """Adds ``value`` to each collection in ``keys`` (TF1: ``tf.compat.v1.add_to_collections``).

    >>> import scopejax
    >>> def f():
    ...     scopejax.add_to_collections(["a", "b"], 1.0)
    ...     return scopejax.get_collection("a"), scopejax.get_collection("b")
    >>> scopejax.transform(f).init_with_output(None)[0]
    ([1.0], [1.0])
    """
    frame = context.current_frame("add_to_collection")
    if isinstance(keys, str):
        keys = [keys]
    elif not isinstance(keys, Iterable):
        raise ScopeTypeError(
            f"add_to_collections: keys must be a collection key or a list of keys, got {keys!r}."
        )
    keys = [_check_key(k, "add_to_collection") for k in keys]
    run = frame.run
    if run.lift_depth:
        raise TransformLeakError(
            f"add_to_collection({keys[0]!r}) was called inside a scopejax.scan / cond / "
            "while_loop / vmap / remat body; the value would be a tracer of that body. Return it "
            "from the body and add it after the loop."
        )
    prefix = f"{frame.scope.name}/" if frame.scope.name else ""
    position = (run.num_created(), len(run.regularized))
    for key in keys:
        run.added.setdefault(key, []).append((f"{prefix}{key}:0", value, *position))


def get_regularization_losses(scope: str | None = None) -> list[Any]:
    """The regularisation losses of this call (TF1: ``tf.losses.get_regularization_losses``).

    One loss per regularised variable created (or used, in apply) so far, in creation order,
    plus values added to ``GraphKeys.REGULARIZATION_LOSSES``; ``scope`` filters as in
    :func:`get_collection`.

    >>> import jax.numpy as jnp, scopejax
    >>> def f():
    ...     with scopejax.variable_scope("m", regularizer=scopejax.l2_regularizer(0.5)):
    ...         scopejax.get_variable("w", initializer=jnp.array([2.0]))
    ...         scopejax.get_variable("b", initializer=jnp.array([4.0]))
    ...     return [float(x) for x in scopejax.get_regularization_losses()]
    >>> scopejax.transform(f).init_with_output(None)[0]
    [1.0, 4.0]
    """
    return get_collection(GraphKeys.REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope: str | None = None) -> Any:
    """The sum of :func:`get_regularization_losses` (a float32 ``0.0`` when there are none).

    Differentiable with respect to the params: ``jax.grad`` of ``task_loss +
    get_regularization_loss()`` includes the regularisers' gradients.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def f():
    ...     w = scopejax.get_variable("w", [2], initializer=scopejax.ones_initializer(),
    ...                               regularizer=scopejax.l2_regularizer(0.5))
    ...     return scopejax.get_regularization_loss()
    >>> model = scopejax.transform(f)
    >>> params = model.init(None)
    >>> float(model.apply(params)), jax.grad(model.apply)(params)["w"].tolist()
    (0.5, [0.5, 0.5])

    TF1 equivalent: ``tf.compat.v1.losses.get_regularization_loss``.
    """
    losses = get_regularization_losses(scope)
    if not losses:
        return jnp.zeros((), jnp.float32)
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    return total


__all__ = [
    "GraphKeys",
    "add_to_collection",
    "add_to_collections",
    "get_collection",
    "get_regularization_loss",
    "get_regularization_losses",
]
