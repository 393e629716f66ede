"""Lifted control flow: ``scan``, ``cond``, ``while_loop``, ``vmap``, ``remat`` that may create
variables (``scan_layers``, for deep stacks, is in ``stacking.py``).

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
import functools
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scopejax._src import context, rng
from scopejax._src.errors import ScopeTypeError
from scopejax._src.runs import CallState, InitRun


@contextlib.contextmanager
def lifted_body(run: CallState, blocking: bool = True) -> Iterator[None]:
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
    made = {n: (v, run.padded.get(n, v), run.infos[n]) for n, v in run.values.items()
            if n not in before}  # fmt: skip
    run.rollback(saved)
    return {**run.premade, **made} if run.premade else made


@contextlib.contextmanager
def serving(run: CallState, made: dict[str, Any] | None) -> Iterator[None]:
    if made is None:
        yield
        return
    saved, run.premade = run.premade, made
    try:
        yield
    finally:
        run.premade = saved


def current_run(what: str) -> tuple[CallState, str]:
    frame = context.current_frame(what)
    return frame.run, frame.scope.name


def check_callable(fn: Any, what: str, role: str) -> None:
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
    check_callable(f, "scan", "f")
    run, scope_name = current_run("scan")
    leaves = jax.tree.leaves(xs)
    if any(np.ndim(leaf) < 1 for leaf in leaves):
        raise ScopeTypeError(
            "scopejax.scan: every leaf of xs must be an array with a leading axis to scan over, "
            f"got {[type(leaf).__name__ for leaf in leaves if np.ndim(leaf) < 1][:3]}."
        )
    if length is not None and (not isinstance(length, int) or length < 0):
        raise ScopeTypeError(f"scopejax.scan: length must be an int >= 0, got {length!r}.")
    n = np.shape(leaves[0])[0] if leaves else length
    key = rng.draw(run, scope_name) if n is not None else None
    index = jnp.arange(n) if key is not None else None

    def body(carry: Any, inputs: Any) -> Any:
        i, x = inputs
        with lifted_body(run), _rng_stream(run, key, i):
            return f(carry, x)

    def probe() -> Any:
        step = (n - 1 if reverse else 0) if n else 0
        x0 = jax.tree.map(lambda a: a[step], xs)
        return body(init, (None if index is None else index[step], x0))

    made = _premake(run, probe) if n else None
    with serving(run, made):
        return jax.lax.scan(body, init, (index, xs), length=length, reverse=reverse,
                            unroll=unroll)  # fmt: skip


def cond(pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any],
         *operands: Any) -> Any:  # fmt: skip
    """``jax.lax.cond`` whose branches may call ``get_variable`` (TF1: ``tf.cond``).

    As in TF1, ``init`` creates the variables of *both* branches (true first), whatever ``pred``.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def gate(x, big):
    ...     return scopejax.cond(big, lambda v: v * scopejax.get_variable("a", []),
    ...                          lambda v: v + scopejax.get_variable("b", []), x)
    >>> model = scopejax.transform(gate)
    >>> params = model.init(jax.random.key(0), jnp.ones(2), True)
    >>> params.names()
    ('a', 'b')
    >>> jax.jit(model.apply)(params, jnp.ones(2), False).shape
    (2,)
    """
    check_callable(true_fun, "cond", "true_fun")
    check_callable(false_fun, "cond", "false_fun")
    run, _ = current_run("cond")

    def branch(fn: Callable[..., Any]) -> Callable[..., Any]:
        def run_branch(*ops: Any) -> Any:
            with lifted_body(run):
                return fn(*ops)

        return run_branch

    made = _premake(run, lambda: (branch(true_fun)(*operands), branch(false_fun)(*operands)))
    with serving(run, made):
        return jax.lax.cond(pred, branch(true_fun), branch(false_fun), *operands)


def while_loop(cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any],
               init_val: Any) -> Any:  # fmt: skip
    """``jax.lax.while_loop`` whose condition and body may call ``get_variable``.

    TF1 equivalent: ``tf.while_loop``. The body's variables are created as if it ran once.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def grow(x):
    ...     step = lambda v: v * (1.0 + jnp.abs(scopejax.get_variable("rate", [])))
    ...     return scopejax.while_loop(lambda v: v.sum() < 100.0, step, x)
    >>> model = scopejax.transform(grow)
    >>> params = model.init(jax.random.key(0), jnp.ones(2))
    >>> params = params.replace({"rate": 1.0})
    >>> model.apply(params, jnp.ones(2)).tolist()
    [64.0, 64.0]
    """
    check_callable(cond_fun, "while_loop", "cond_fun")
    check_callable(body_fun, "while_loop", "body_fun")
    run, _ = current_run("while_loop")

    def lifted(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def call(value: Any) -> Any:
            with lifted_body(run):
                return fn(value)

        return call

    made = _premake(run, lambda: (lifted(cond_fun)(init_val), lifted(body_fun)(init_val)))
    with serving(run, made):
        return jax.lax.while_loop(lifted(cond_fun), lifted(body_fun), init_val)


def vmap(fn: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0,
         axis_name: Any = None, axis_size: int | None = None) -> Callable[..., Any]:  # fmt: skip
    """``jax.vmap`` of a model function: variables are shared, not batched.

    Every example sees the same variables (created once, during init, from the first example)
    and draws its own ``next_rng_key`` keys. Keyword arguments are not mapped. To batch the
    *variables* instead (an ensemble), ``jax.vmap`` the transformed ``init``/``apply``.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def per_example(x):  # x: one example of shape (3,)
    ...     return x @ scopejax.get_variable("w", [3, 2])
    >>> model = scopejax.transform(lambda xs: scopejax.vmap(per_example)(xs))
    >>> params = model.init(jax.random.key(0), jnp.ones((4, 3)))
    >>> params["w"].shape, model.apply(params, jnp.ones((4, 3))).shape
    ((3, 2), (4, 2))
    """
    check_callable(fn, "vmap", "fn")

    @functools.wraps(fn)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        run, scope_name = current_run("vmap")
        axes = in_axes if isinstance(in_axes, list | tuple) else (in_axes,) * len(args)
        if len(axes) != len(args):
            raise ScopeTypeError(
                f"scopejax.vmap: in_axes has {len(axes)} entries for {len(args)} positional "
                "arguments; give one axis (or None) per argument, or a single int."
            )
        for i, (ax, arg) in enumerate(zip(axes, args, strict=True)):
            if ax is None:
                continue
            if not isinstance(ax, int) or isinstance(ax, bool):
                raise ScopeTypeError(
                    f"scopejax.vmap: in_axes entries must be ints or None, got {ax!r} for "
                    f"argument {i}."
                )
            if any(not -np.ndim(leaf) <= ax < np.ndim(leaf) for leaf in jax.tree.leaves(arg)):
                raise ScopeTypeError(
                    f"scopejax.vmap: argument {i} has no axis {ax} to map over (shapes "
                    f"{[np.shape(leaf) for leaf in jax.tree.leaves(arg)][:3]})."
                )
        size = axis_size
        if size is None:
            sizes = [np.shape(leaf)[ax] for ax, arg in zip(axes, args, strict=True)
                     if ax is not None for leaf in jax.tree.leaves(arg)]  # fmt: skip
            size = sizes[0] if sizes else None
        key = rng.draw(run, scope_name) if size is not None else None
        index = jnp.arange(size) if key is not None else None

        def one(i: Any, *example: Any) -> Any:
            with lifted_body(run), _rng_stream(run, key, i):
                return fn(*example, **kwargs)

        def probe() -> Any:
            first = [arg if ax is None else jax.tree.map(lambda a, ax=ax: jnp.take(a, 0, ax), arg)
                     for ax, arg in zip(axes, args, strict=True)]  # fmt: skip
            return one(None if index is None else index[0], *first)

        made = _premake(run, probe) if size else None
        with serving(run, made):
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

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def block(x):
    ...     return jnp.tanh(x @ scopejax.get_variable("w", [2, 2]))
    >>> model = scopejax.transform(lambda x: scopejax.remat(block)(x).sum())
    >>> params = model.init(jax.random.key(0), jnp.ones((1, 2)))
    >>> jax.grad(model.apply)(params, jnp.ones((1, 2)))["w"].shape
    (2, 2)
    """
    check_callable(fn, "remat", "fn")

    @functools.wraps(fn)
    def wrapped(*args: Any) -> Any:
        run, _ = current_run("remat")
        if isinstance(run, InitRun):
            return fn(*args)

        def inner(*inner_args: Any) -> Any:
            before = dict(run.assigned)
            with lifted_body(run, blocking=False):
                out = fn(*inner_args)
            changed = {k: v for k, v in run.assigned.items() if before.get(k) is not v}
            return out, changed

        out, changed = jax.checkpoint(inner, prevent_cse=prevent_cse, policy=policy,
                                      static_argnums=static_argnums)(*args)  # fmt: skip
        run.assigned.update(changed)
        return out

    return wrapped


__all__ = ["cond", "remat", "scan", "vmap", "while_loop"]
