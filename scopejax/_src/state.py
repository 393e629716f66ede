"""Variables that change during a call: ``assign``, ``assign_add``, moving averages.

TF1 models update non-trainable state (batch-norm moving averages, step counters) with assign
ops. Here an assignment records the new value in the current call: later reads of the variable in
the same call see it (like resource variables under ``tf.function``), and
``apply(..., mutable=...)`` returns the store with every assigned value. ``init`` accepts
assignments too but returns the initial values, as TF1's initializers would.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import context, names
from scopejax._src.errors import (
    DtypeMismatchError,
    NotMutableError,
    ScopeJaxError,
    ScopeTypeError,
    ShapeMismatchError,
    TransformLeakError,
    UnsupportedFeatureError,
    VariableNotFoundError,
    closest_names,
)
from scopejax._src.runs import ApplyRun, CallState
from scopejax._src.varinfo import VarInfo


def _find(run: CallState, scope_name: str, variable: Any, what: str) -> tuple[str, Any, VarInfo]:
    """The ``(name, current value, info)`` of ``variable``: a name or a value from get_variable."""
    items = list(run.created_items())
    if isinstance(run, ApplyRun):
        originals = {n: v for n, (v, _) in run.created.items()}
    else:  # what init handed the model (placed/padded views differ from the stored arrays)
        originals = {n: run.padded.get(n, v) for n, v in run.values.items()}  # type: ignore
    # Inside scopejax.scan_layers' layer: the layer's own (per-step) variables come first.
    for name, (value, info) in run.layer_created.items():
        items.append((name, run.assigned.get(name, value), info))
        originals[name] = value
    if isinstance(variable, str):
        full = names.join(scope_name, variable)
        by_name = {name: (name, value, info) for name, value, info in items}
        found = by_name.get(full) or by_name.get(variable)  # relative first, then absolute
        if found is not None:
            return found
        raise VariableNotFoundError(
            f"{what}: variable {full} has not been created or used in this call "
            f"({closest_names(full, [n for n, _, _ in items])}). Call get_variable first; names "
            "are relative to the current variable scope."
        )
    for name, value, info in reversed(items):
        if variable is value or variable is originals[name]:
            return name, value, info
    raise ScopeTypeError(
        f"{what} expects a variable: the value get_variable returned, or the variable's name; got "
        f"{type(variable).__name__}. If a custom getter transformed the value (e.g. cast it), "
        "pass the variable's name instead."
    )


def _check_mutable(run: CallState, name: str, info: VarInfo) -> None:
    mutable = run.mutable
    if mutable is True:
        return
    if mutable is False:
        raise NotMutableError(
            f"Cannot assign to variable {name}: this apply call is not mutable. Call "
            "model.apply(params, ..., mutable=True) (or mutable=[collection keys]); it then "
            "returns (output, updated_params)."
        )
    if not set(info.collections) & mutable:
        raise NotMutableError(
            f"Cannot assign to variable {name}: it is in collections {list(info.collections)}, "
            f"none of which is mutable in this call (mutable={sorted(mutable)}). Add one of its "
            "collections to mutable=, or pass mutable=True."
        )


def assign(variable: Any, value: Any) -> Any:
    """Gives ``variable`` a new value for the rest of the call; returns the new value.

    Args:
      variable: what ``get_variable`` returned, or the variable's name relative to the current
        variable scope.
      value: an array of the variable's shape and dtype (Python scalars are cast).

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def count():
    ...     step = scopejax.get_variable("step", [], jnp.int32, trainable=False)
    ...     return scopejax.assign(step, step + 1)
    >>> model = scopejax.transform(count)
    >>> params = model.init(None)
    >>> out, params = model.apply(params, mutable=True)
    >>> int(out), int(params["step"])
    (1, 1)

    Raises:
      NotMutableError: the ``apply`` call was not given ``mutable=`` covering the variable.
      ShapeMismatchError, DtypeMismatchError: ``value`` does not fit the variable.

    TF1 equivalent: ``tf.compat.v1.assign(ref, value)``.
    """
    return _assign("assign", variable, lambda current: value)


def assign_add(variable: Any, delta: Any) -> Any:
    """``assign(variable, variable + delta)`` (TF1: ``tf.compat.v1.assign_add``).

    >>> import jax.numpy as jnp, scopejax
    >>> def count():
    ...     n = scopejax.get_variable("n", [], jnp.int32, trainable=False)
    ...     return scopejax.assign_add(n, 2)
    >>> model = scopejax.transform(count)
    >>> out, params = model.apply(model.init(None), mutable=True)
    >>> int(out), int(params["n"])
    (2, 2)
    """
    return _assign("assign_add", variable, lambda current: current + delta)


def assign_sub(variable: Any, delta: Any) -> Any:
    """``assign(variable, variable - delta)`` (TF1: ``tf.compat.v1.assign_sub``).

    >>> import jax.numpy as jnp, scopejax
    >>> def spend():
    ...     budget = scopejax.get_variable("budget", [], trainable=False,
    ...                                    initializer=scopejax.constant_initializer(10.0))
    ...     return scopejax.assign_sub(budget, 3.0)
    >>> model = scopejax.transform(spend)
    >>> _, params = model.apply(model.init(None), mutable=True)
    >>> float(params["budget"])
    7.0
    """
    return _assign("assign_sub", variable, lambda current: current - delta)


def assign_moving_average(variable: Any, value: Any, decay: Any, zero_debias: bool = False) -> Any:
    """``variable -= (variable - value) * (1 - decay)``, TF1's moving-average update.

    TF1 equivalent: ``tf.compat.v1.train.assign_moving_average(variable, value, decay,
    zero_debias=False)`` -- the form ``tf.layers.batch_normalization`` uses. TF's default
    ``zero_debias=True`` (extra ``biased``/``local_step`` variables) is not supported; pass
    ``zero_debias=False``.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def bn_mean(x):
    ...     mean = scopejax.get_variable("moving_mean", [2], trainable=False,
    ...                                  initializer=scopejax.zeros_initializer())
    ...     return scopejax.assign_moving_average(mean, x.mean(0), decay=0.9)
    >>> model = scopejax.transform(bn_mean)
    >>> params = model.init(None, jnp.ones((4, 2)))
    >>> _, params = model.apply(params, jnp.ones((4, 2)), mutable=True)
    >>> [round(float(v), 6) for v in params["moving_mean"]]
    [0.1, 0.1]
    """
    if zero_debias:
        raise UnsupportedFeatureError(
            "assign_moving_average(zero_debias=True) is not supported: it needs TF's extra "
            "'biased'/'local_step' variables. Pass zero_debias=False (what "
            "tf.layers.batch_normalization uses), or divide by (1 - decay**step) yourself."
        )

    decay_value = None
    if not isinstance(decay, str | bytes):
        try:
            decay_value = jnp.asarray(decay)
        except (TypeError, ValueError):
            pass
    if decay_value is None or decay_value.ndim or not (
            jnp.issubdtype(decay_value.dtype, jnp.floating)
            or jnp.issubdtype(decay_value.dtype, jnp.integer)):
        raise ScopeTypeError(
            f"assign_moving_average: decay must be a real number or a scalar array (e.g. 0.99), "
            f"got {type(decay).__name__} {decay!r:.60}."
        )

    def update(current: Any) -> Any:
        one_minus = jnp.asarray(1.0 - jnp.asarray(decay, current.dtype), current.dtype)
        return current - (current - value) * one_minus

    return _assign("assign_moving_average", variable, update)


def _assign(what: str, variable: Any, new_value: Any) -> Any:
    frame = context.current_frame(what)
    run = frame.run
    name, current, info = _find(run, frame.scope.name, variable, what)
    _check_mutable(run, name, info)
    if run.blocking_lifts:
        raise TransformLeakError(
            f"{what}: variable {name} is assigned inside a scopejax.scan / cond / while_loop / "
            "vmap body, which cannot carry the new value out. Return the new value from the body "
            "and assign it after the loop (scopejax.remat bodies may assign)."
        )
    try:
        value = new_value(current)
        if not isinstance(value, jax.Array):
            value = jnp.asarray(value)
    except ScopeJaxError:
        raise
    except (TypeError, ValueError) as e:
        raise ScopeTypeError(
            f"{what}: the new value of variable {name} must be an array or a number (shape "
            f"{info.shape}, dtype {info.dtype.name}); computing it failed with "
            f"{type(e).__name__}: {e}"
        ) from e
    if not jnp.issubdtype(value.dtype, jnp.number) and value.dtype != jnp.bool_:
        raise ScopeTypeError(
            f"{what}: the new value of variable {name} has dtype {value.dtype}, not a number; "
            f"expected shape {info.shape}, dtype {info.dtype.name}."
        )
    shape = tuple(np.shape(value))
    if shape != info.shape:
        raise ShapeMismatchError(
            f"{what}: variable {name} has shape {info.shape}, the new value has shape {shape}. "
            "Reshape or reduce the value first."
        )
    if np.dtype(value.dtype) != info.dtype:
        if not jax.typeof(value).weak_type:
            raise DtypeMismatchError(
                f"{what}: variable {name} has dtype {info.dtype.name}, the new value has dtype "
                f"{np.dtype(value.dtype).name}. Cast it: value.astype({info.dtype.name!r})."
            )
        value = value.astype(info.dtype)
    run.check_not_leaked(name, value, "assigned")
    run.assigned[name] = value
    return value


__all__ = ["assign", "assign_add", "assign_moving_average", "assign_sub"]
