"""Lifted control flow: ``scan``, ``cond``, ``while_loop``, ``vmap``, ``remat`` that may create
variables, and ``scan_layers`` for deep stacks.

A plain ``jax.lax.scan`` traces its body in a trace of its own: a variable created there during
``init`` would be a tracer of the loop and leak out of it. The lifted versions run the body once
at the calling level first (during ``init`` only), which creates its variables exactly as TF1's
graph-building did, roll the call's bookkeeping back, and then trace the real JAX primitive with
those values served to the body. The body is therefore traced with the same names, reuse
decisions and counters as TF1 builds a ``tf.while_loop`` body: once. During ``apply`` they are the
JAX primitive plus per-step random keys. Everything returns exactly what the JAX primitive
returns.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import context, names, rng
from scopejax._src.errors import ScopeTypeError, TransformLeakError, VariableNotFoundError
from scopejax._src.runs import ApplyRun, CallState, InitRun


@contextlib.contextmanager
def _lifted(run: CallState, blocking: bool = True) -> Iterator[None]:
    run.lift_depth += 1
    run.blocking_lifts += blocking
    try:
        yield
    finally:
        run.lift_depth -= 1
        run.blocking_lifts -= blocking


@contextlib.contextmanager
def _rng_stream(run: CallState, key: Any, index: Any) -> Iterator[None]:
    """Inside a body: ``next_rng_key`` draws from ``fold_in(key, index)`` with fresh counts."""
    if key is None:
        yield
        return
    saved = run.rng_base, run.rng_counts
    run.rng_base, run.rng_counts = jax.random.fold_in(key, index), {}
    try:
        yield
    finally:
        run.rng_base, run.rng_counts = saved


def _premake(run: CallState, probe: Callable[[], Any]) -> dict[str, Any] | None:
    """During init: runs ``probe`` (the body, once) and returns what it created, rolled back."""
    if not isinstance(run, InitRun):
        return None
    saved = run.save()
    before = set(run.values)
    probe()
    made = {n: v for n, v in run.values.items() if n not in before}
    run.rollback(saved)
    return {**run.premade, **made} if run.premade else made


@contextlib.contextmanager
def _serving(run: CallState, made: dict[str, Any] | None) -> Iterator[None]:
    if made is None:
        yield
        return
    saved, run.premade = run.premade, made
    try:
        yield
    finally:
        run.premade = saved


def _frame(what: str) -> tuple[CallState, str]:
    frame = context.current_frame(what)
    return frame.run, frame.scope.name


def _check_callable(fn: Any, what: str, role: str) -> None:
    if not callable(fn):
        raise ScopeTypeError(f"scopejax.{what}: {role} must be callable, got {type(fn).__name__}.")


def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> Any:
    """``jax.lax.scan`` whose body may call ``get_variable`` (TF1: ``tf.nn.dynamic_rnn``).

    Variables the body gets are created on the first step and reused by every later one, like a
    TF1 RNN cell inside ``dynamic_rnn``; each step draws its own ``next_rng_key`` keys.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def rnn(xs):
    ...     def cell(h, x):
    ...         w = scopejax.get_variable("w", [2, 2])
    ...         h = jnp.tanh(x + h @ w)
    ...         return h, h
    ...     with scopejax.variable_scope("rnn"):
    ...         return scopejax.scan(cell, jnp.zeros(2), xs)[1]
    >>> model = scopejax.transform(rnn)
    >>> params = model.init(jax.random.key(0), jnp.ones((5, 2)))
    >>> params.names(), jax.jit(model.apply)(params, jnp.ones((5, 2))).shape
    (('rnn/w',), (5, 2))
    """
    _check_callable(f, "scan", "f")
    run, scope_name = _frame("scan")
    leaves = jax.tree.leaves(xs)
    n = leaves[0].shape[0] if leaves else length
    key = rng.draw(run, scope_name) if n is not None else None
    index = jnp.arange(n) if key is not None else None

    def body(carry: Any, inputs: Any) -> Any:
        i, x = inputs
        with _lifted(run), _rng_stream(run, key, i):
            return f(carry, x)

    def probe() -> Any:
        step = (n - 1 if reverse else 0) if n else 0
        x0 = jax.tree.map(lambda a: a[step], xs)
        return body(init, (None if index is None else index[step], x0))

    made = _premake(run, probe) if n else None
    with _serving(run, made):
        return jax.lax.scan(body, init, (index, xs), length=length, reverse=reverse,
                            unroll=unroll)  # fmt: skip


def cond(pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any],
         *operands: Any) -> Any:  # fmt: skip
    """``jax.lax.cond`` whose branches may call ``get_variable`` (TF1: ``tf.cond``).

    As in TF1, ``init`` creates the variables of *both* branches (true first), whatever ``pred``.
    """
    _check_callable(true_fun, "cond", "true_fun")
    _check_callable(false_fun, "cond", "false_fun")
    run, _ = _frame("cond")

    def branch(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run_branch(*ops: Any) -> Any:
            with _lifted(run):
                return fn(*ops)

        return run_branch

    made = _premake(run, lambda: (branch(true_fun)(*operands), branch(false_fun)(*operands)))
    with _serving(run, made):
        return jax.lax.cond(pred, branch(true_fun), branch(false_fun), *operands)


def while_loop(cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any],
               init_val: Any) -> Any:  # fmt: skip
    """``jax.lax.while_loop`` whose condition and body may call ``get_variable``.

    TF1 equivalent: ``tf.while_loop``. The body's variables are created as if it ran once.
    """
    _check_callable(cond_fun, "while_loop", "cond_fun")
    _check_callable(body_fun, "while_loop", "body_fun")
    run, _ = _frame("while_loop")

    def lifted(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call(value: Any) -> Any:
            with _lifted(run):
                return fn(value)

        return call

    made = _premake(run, lambda: (lifted(cond_fun)(init_val), lifted(body_fun)(init_val)))
    with _serving(run, made):
        return jax.lax.while_loop(lifted(cond_fun), lifted(body_fun), init_val)


def vmap(fn: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0,
         axis_name: Any = None, axis_size: int | None = None) -> Callable[..., Any]:  # fmt: skip
    """``jax.vmap`` of a model function: variables are shared, not batched.

    Every example sees the same variables (created once, during init, from the first example)
    and draws its own ``next_rng_key`` keys. Keyword arguments are not mapped. To batch the
    *variables* instead (an ensemble), ``jax.vmap`` the transformed ``init``/``apply``.
    """
    _check_callable(fn, "vmap", "fn")

    @functools.wraps(fn)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        run, scope_name = _frame("vmap")
        axes = in_axes if isinstance(in_axes, list | tuple) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ScopeTypeError(
                f"scopejax.vmap: in_axes has {len(axes)} entries for {len(args)} positional "
                "arguments; give one axis (or None) per argument, or a single int."
            )
        size = axis_size
        if size is None:
            sizes = [leaf.shape[ax] for ax, arg in zip(axes, args, strict=True) if ax is not None
                     for leaf in jax.tree.leaves(arg)]  # fmt: skip
            size = sizes[0] if sizes else None
        key = rng.draw(run, scope_name) if size is not None else None
        index = jnp.arange(size) if key is not None else None

        def one(i: Any, *example: Any) -> Any:
            with _lifted(run), _rng_stream(run, key, i):
                return fn(*example, **kwargs)

        def probe() -> Any:
            first = [arg if ax is None else jax.tree.map(lambda a, ax=ax: jnp.take(a, 0, ax), arg)
                     for ax, arg in zip(axes, args, strict=True)]  # fmt: skip
            return one(None if index is None else index[0], *first)

        made = _premake(run, probe) if size else None
        with _serving(run, made):
            return jax.vmap(one, in_axes=(None if index is None else 0, *axes),
                            out_axes=out_axes, axis_name=axis_name,
                            axis_size=axis_size)(index, *args)  # fmt: skip

    return mapped


def remat(fn: Callable[..., Any], *, prevent_cse: bool = True, policy: Any = None,
          static_argnums: int | tuple[int, ...] = ()) -> Callable[..., Any]:  # fmt: skip
    """``jax.checkpoint`` (rematerialisation) of a model function; it may get and assign variables.

    ``init`` runs ``fn`` directly (the values are the same); ``apply`` recomputes ``fn``'s
    activations in the backward pass instead of storing them. Assignments inside ``fn`` (batch
    norm statistics) are carried out of the checkpoint.
    """
    _check_callable(fn, "remat", "fn")

    @functools.wraps(fn)
    def wrapped(*args: Any) -> Any:
        run, _ = _frame("remat")
        if isinstance(run, InitRun):
            return fn(*args)

        def inner(*inner_args: Any) -> Any:
            before = dict(run.assigned)
            with _lifted(run, blocking=False):
                out = fn(*inner_args)
            changed = {k: v for k, v in run.assigned.items() if before.get(k) is not v}
            return out, changed

        out, changed = jax.checkpoint(inner, prevent_cse=prevent_cse, policy=policy,
                                      static_argnums=static_argnums)(*args)  # fmt: skip
        run.assigned.update(changed)
        return out

    return wrapped


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
    _check_callable(fn, "scan_layers", "fn")
    if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers < 1:
        raise ScopeTypeError(f"scopejax.scan_layers: num_layers must be an int >= 1, got "
                             f"{num_layers!r}.")  # fmt: skip
    if (not isinstance(name_format, str) or "*" in name_format
            or name_format.format(0) == name_format.format(1)):  # fmt: skip
        raise ScopeTypeError(
            f"scopejax.scan_layers: name_format must be a str with a '{{}}' for the layer index "
            f"(like 'layer_{{}}'), got {name_format!r}."
        )
    run, scope_name = _frame("scan_layers")
    layers = [names.join(scope_name, name_format.format(i)) for i in range(num_layers)]
    star = names.join(scope_name, name_format.format("*"))
    premade = None
    if isinstance(run, InitRun):
        premade = _create_stacked(run, fn, carry, name_format.format(0), layers, star)
    with _serving(run, premade):
        return _scan_stacked(run, fn, carry, name_format.format(0), layers, star, unroll)


def _create_stacked(run: InitRun, fn: Callable[[Any], Any], carry: Any, first: str,
                    layers: list[str], star: str) -> dict[str, Any]:  # fmt: skip
    """Init: creates the stacked variables; returns the body's other (shared) variables."""
    saved, before = run.save(), set(run.values)
    run.recipes = {}
    try:
        with _lifted(run, blocking=False), context.variable_scope(first):
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
            shared[name] = value
            continue
        rest = name[len(layers[0]):]
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
            with _lifted(run, blocking=False), context.variable_scope(first):
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
                run.regularized.append((layer + rest, regularizer, stacked[star + rest][0][i]))
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


__all__ = ["cond", "remat", "scan", "scan_layers", "vmap", "while_loop"]
