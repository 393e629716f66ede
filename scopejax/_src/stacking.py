"""``scan_layers``: a deep stack of identical layers with stacked variables and one ``lax.scan``.

TF1 code builds deep models with a Python loop, ``for i in range(n): with
variable_scope(f"layer_{i}")``, which traces and compiles every layer. ``scan_layers`` keeps the
loop's semantics (each layer's initial values come from its own TF name, so
``unstack_layers()`` gives the loop's store bitwise) but stores each variable once, stacked on
axis 0 under a ``*`` name (``layer_*/dense/kernel``), and runs the layer body under
``jax.lax.scan``: traced once, compiled once, gradients arrive stacked.

The body is traced as layer 0 (its scope is ``layer_0``); the call's state serves it the
per-step slices of the stacked variables (``CallState.redirect``), draws each layer's own
``next_rng_key`` keys (``CallState.layer_stack``) and collects its assignments as scan outputs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import context, names
from scopejax._src.errors import (
    ScopeTypeError,
    TransformLeakError,
    UnsupportedFeatureError,
    VariableNotFoundError,
)
from scopejax._src.lift import check_callable, current_run, lifted_body, serving
from scopejax._src.runs import ApplyRun, CallState, InitRun, Lazy

MAX_LAYERS = 1 << 20  # far beyond real models; keeps the O(num_layers) Python work under seconds


def scan_layers(fn: Callable[[Any], Any], carry: Any, num_layers: int,
                name_format: str = "layer_{}", unroll: int | bool = 1) -> Any:  # fmt: skip
    """``num_layers`` layers ``carry = fn(carry)`` with stacked variables and one ``lax.scan``.

    Each variable the layer gets is stored once, with the layers stacked on axis 0 and ``*`` in
    place of the layer index: ``layer_*/dense/kernel`` of shape ``(num_layers, ...)``. Layer
    ``i``'s slice has the initial value the Python loop ``for i in range(n): with
    variable_scope(f"layer_{i}"): carry = fn(carry)`` would give ``layer_i/dense/kernel``, and
    ``params.unstack_layers()`` returns exactly that loop's store (TF1 names, for checkpoints).
    The layer is traced and compiled once, in ``init`` and ``apply`` alike; gradients arrive
    stacked, with no per-layer gather or scatter.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def mlp(x):
    ...     def layer(h):
    ...         return jnp.tanh(h @ scopejax.get_variable("w", [3, 3]))
    ...     return scopejax.scan_layers(layer, x, 4)
    >>> model = scopejax.transform(mlp)
    >>> params = model.init(jax.random.key(0), jnp.ones((1, 3)))
    >>> params
    ParamStore(1 variable: 'layer_*/w': float32[4,3,3])
    >>> params.unstack_layers().names()
    ('layer_0/w', 'layer_1/w', 'layer_2/w', 'layer_3/w')
    >>> jax.jit(model.apply)(params, jnp.ones((1, 3))).shape
    (1, 3)
    """
    check_callable(fn, "scan_layers", "fn")
    if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers < 1:
        raise ScopeTypeError(f"scopejax.scan_layers: num_layers must be an int >= 1, got "
                             f"{num_layers!r}.")  # fmt: skip
    if num_layers > MAX_LAYERS:
        raise ScopeTypeError(
            f"scopejax.scan_layers: num_layers={num_layers} is more than {MAX_LAYERS}. TF1's "
            "per-layer bookkeeping (one name, counter and key per layer) is kept in Python, so "
            "the count is capped to fail fast instead of hanging. For a long loop over shared "
            "variables use scopejax.scan."
        )
    try:
        distinct = name_format.format(0) != name_format.format(1)
    except (AttributeError, IndexError, KeyError, ValueError):
        distinct = False
    if not isinstance(name_format, str) or "*" in name_format or not distinct:
        raise ScopeTypeError(
            f"scopejax.scan_layers: name_format must be a str with a '{{}}' for the layer index "
            f"(like 'layer_{{}}'), got {name_format!r}."
        )
    run, scope_name = current_run("scan_layers")
    layers = [names.join(scope_name, name_format.format(i)) for i in range(num_layers)]
    star = names.join(scope_name, name_format.format("*"))
    premade = None
    if isinstance(run, InitRun):
        premade = _create_stacked(run, fn, carry, name_format.format(0), layers, star)
    with serving(run, premade):
        return _scan_stacked(run, fn, carry, name_format.format(0), layers, star, unroll)


def _create_stacked(run: InitRun, fn: Callable[[Any], Any], carry: Any, first: str,
                    layers: list[str], star: str) -> dict[str, Any]:  # fmt: skip
    """Init: creates the stacked variables; returns the body's other (shared) variables."""
    saved, before = run.save(), set(run.values)
    run.recipes = {}
    try:
        with lifted_body(run, blocking=False), context.variable_scope(first):
            fn(carry)
        recipes = run.recipes
    finally:
        run.recipes = None
    made = {n: (run.values[n], run.infos[n]) for n in run.values if n not in before}
    run.rollback(saved)
    shared = {}
    prefix = layers[0] + "/"
    for name, (value, info) in made.items():
        if not name.startswith(prefix):
            shared[name] = (value, run.padded.get(name, value), info)
            continue
        rest = name[len(layers[0]):]
        if info.partition is not None:
            raise UnsupportedFeatureError(
                f"Variable {name} is partitioned inside scopejax.scan_layers; stacked layer "
                "variables cannot be partitioned yet. Create it outside the layer stack, or use "
                "a Python loop over the layers."
            )
        make_value, needs_key = recipes[name]
        if needs_key and run.rng is not None:
            table = np.array([names.name_hash(layer + rest) for layer in layers], np.uint32)
            keys = jax.vmap(lambda h: names.key_from_hash(run.rng, h))(jnp.asarray(table))
            stacked = jax.vmap(make_value)(keys)
        else:
            stacked = jnp.broadcast_to(value, (len(layers), *value.shape))
        run.values[star + rest] = stacked
        run.infos[star + rest] = dataclasses.replace(
            info, shape=(len(layers), *info.shape), stacked=len(layers))
    return {**run.premade, **shared} if run.premade else shared


def _scan_stacked(run: CallState, fn: Callable[[Any], Any], carry: Any, first: str,
                  layers: list[str], star: str, unroll: int | bool) -> Any:  # fmt: skip
    if isinstance(run, InitRun):
        stacked = {n: (v, run.infos[n]) for n, v in run.values.items()
                   if n.startswith(star + "/")}  # fmt: skip
    else:
        stacked = {n: (run.params[n], run.params.info(n))
                   for n in run.params.filter(star).names()}  # fmt: skip
    xs = {layers[0] + n[len(star):]: value for n, (value, _) in stacked.items()}
    index = jnp.arange(len(layers)) if run.rng_base is not None else None

    def body(h: Any, inputs: tuple[Any, dict[str, Any]]) -> Any:
        step, layer_values = inputs
        saved = run.redirect, run.layer_stack, run.layer_created, run.assigned
        run.redirect, run.layer_created, run.assigned = layer_values, {}, dict(run.assigned)
        run.layer_stack = (layers[0], layers, step) if step is not None else None
        try:
            with lifted_body(run, blocking=False), context.variable_scope(first):
                h = fn(h)
            # Each layer's assignments (batch-norm statistics) leave the loop as scan outputs.
            new = {k: v for k, v in run.assigned.items() if saved[3].get(k) is not v}
            outside = [k for k in new if k not in layer_values]
            if outside:
                raise TransformLeakError(
                    f"Variable {outside[0]} is assigned inside scopejax.scan_layers' layer but "
                    "is not one of the layer's own (stacked) variables, so every layer would "
                    "assign it. Assign it after scan_layers, or create it inside the layer."
                )
            return h, new
        finally:
            run.redirect, run.layer_stack, run.layer_created, run.assigned = saved

    n_reg = len(run.regularized)
    counts_before = dict(run.rng_counts)
    carry, assigned = jax.lax.scan(body, carry, (index, xs), length=len(layers), unroll=unroll)
    for name, values in assigned.items():
        run.assigned[star + name[len(layers[0]):]] = values
    # Bookkeeping at the calling level: the stacked variables were used (apply) and each layer's
    # slice carries its regulariser loss, in the Python loop's order.
    if isinstance(run, ApplyRun):
        per_layer = [n for n in run.created if n.startswith(layers[0] + "/")]
        if per_layer:
            raise VariableNotFoundError(
                f"scopejax.scan_layers read the per-layer variable {per_layer[0]} from the "
                f"params, but it stores its layers stacked, as "
                f"{star + per_layer[0][len(layers[0]):]} of shape ({len(layers)}, ...). Pass the "
                "store init returned for this function."
            )
        for n, entry in stacked.items():
            run.created.setdefault(n, entry)
    body_losses = run.regularized[n_reg:]
    del run.regularized[n_reg:]
    for i, layer in enumerate(layers):
        for name, regularizer, _ in body_losses:
            if name.startswith(layers[0] + "/"):
                rest = name[len(layers[0]):]
                layer_value = Lazy(stacked[star + rest][0], i)
                run.regularized.append((layer + rest, regularizer, layer_value))
            elif i == 0:
                run.regularized.append((name, regularizer, _))
    for scope, count in list(run.rng_counts.items()):  # the other layers drew as many keys
        if count != counts_before.get(scope) and (scope == layers[0]
                                                  or scope.startswith(layers[0] + "/")):
            for other in layers[1:]:
                run.rng_counts[other + scope[len(layers[0]):]] = count
    for layer in layers[1:]:  # the body opened layer 0
        run.counts.open(layer)
        run.counts.close_subscopes(layer)
    return carry


__all__ = ["scan_layers"]
