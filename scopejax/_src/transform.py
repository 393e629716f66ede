"""``transform``: turns a TF1-style function into pure ``init`` and ``apply`` functions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh

from scopejax._src import context
from scopejax._src.errors import ScopeTypeError, TransformLeakError
from scopejax._src.placement import resolve_mesh, stored_sharding
from scopejax._src.runs import ApplyRun, InitRun, check_rng, is_tracer
from scopejax._src.scope import Scope
from scopejax._src.store import ParamStore, ensure_store


class Transformed(NamedTuple):
    """The pure functions of a transformed TF1-style function.

    Attributes:
      init: ``init(rng, *args, **kwargs) -> ParamStore`` runs the function, creating every
        variable it gets; each variable's value depends only on ``rng`` and its full name.
      apply: ``apply(params, *args, rng=None, mutable=False, **kwargs)`` runs it again, reading
        variables from ``params`` under the same reuse rules. ``rng`` feeds
        ``scopejax.next_rng_key`` (dropout); with ``mutable`` (``True``, or collection keys
        whose variables may be assigned) it returns ``(output, updated_params)``, else
        ``output``.
      init_with_output: ``(rng, *args, **kwargs) -> (output, ParamStore)``.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> model = scopejax.transform(lambda x: x @ scopejax.get_variable("w", [2, 3]))
    >>> out, params = model.init_with_output(jax.random.key(0), jnp.ones((1, 2)))
    >>> bool((model.apply(params, jnp.ones((1, 2))) == out).all())
    True
    >>> model.init_abstract(jax.random.key(0), jnp.ones((1, 2)))["w"]
    ShapeDtypeStruct(shape=(2, 3), dtype=float32)
    """

    init: Callable[..., ParamStore]
    apply: Callable[..., Any]
    init_with_output: Callable[..., tuple[Any, ParamStore]]
    mesh: Mesh | None = None

    def init_abstract(self, rng: Any, *args: Any, **kwargs: Any) -> ParamStore:
        """The store ``init`` would return, as ``jax.ShapeDtypeStruct`` leaves: no computation.

        Each leaf has the stored shape and, with a mesh (``transform(fn, mesh=...)`` or
        ``jax.set_mesh``), the ``NamedSharding`` ``init`` gives it; the ``VarInfo`` metadata is
        complete. Use it as a checkpoint restore target or for summaries.
        """
        traced, arrays = arrays_traced(lambda key, a, k: self.init(key, *a, **k), args, kwargs)
        abstract = jax.eval_shape(traced, rng, arrays)
        mesh = resolve_mesh(self.mesh, "init_abstract")
        if mesh is None:
            return abstract
        return jax.tree.map(lambda leaf, sharding: jax.ShapeDtypeStruct(
            leaf.shape, leaf.dtype, sharding=sharding), abstract, store_shardings(abstract, mesh))


def transform(fn: Callable[..., Any], *, root: Scope | None = None,
              mesh: Mesh | None = None) -> Transformed:  # fmt: skip
    """Makes pure ``init``/``apply`` functions out of a function that calls ``get_variable``.

    Both are plain functions of arrays and ``ParamStore`` pytrees: use them under ``jax.jit``,
    ``jax.vmap`` (e.g. ``vmap(init)`` over keys for an ensemble), ``jax.grad`` and
    ``jax.eval_shape``.

    Args:
      fn: the model function. It may open ``variable_scope``s and call ``get_variable``.
      root: the scope the function starts in (default: ``Scope.root()``, reuse False). Use it to
        set model-wide defaults such as ``Scope.root(dtype=jnp.bfloat16)``.
      mesh: the ``jax.sharding.Mesh`` that partitioned variables are sharded over (default: the
        mesh set with ``jax.set_mesh`` when ``init`` runs; with neither, partitions are logical
        only and variables live on the default device). With a mesh, ``init`` runs under
        ``jax.jit`` so that every partitioned variable is created already sharded: no device
        ever holds a whole one.

    >>> import jax, jax.numpy as jnp, scopejax
    >>> def dense(x):
    ...     w = scopejax.get_variable("w", [x.shape[-1], 2])
    ...     b = scopejax.get_variable("b", [2], initializer=scopejax.zeros_initializer())
    ...     return x @ w + b[None, :]
    >>> model = scopejax.transform(dense)
    >>> params = model.init(jax.random.key(0), jnp.ones((1, 3)))
    >>> params
    ParamStore(2 variables: 'b': float32[2], 'w': float32[3,2])
    >>> jax.jit(model.apply)(params, jnp.ones((1, 3))).shape
    (1, 2)

    TF1 equivalent: building the graph once (init) and running it with a session (apply).
    """
    if not callable(fn):
        raise ScopeTypeError(f"transform expects a function, got {type(fn).__name__} {fn!r}.")
    root_scope = Scope.root() if root is None else root
    if not isinstance(root_scope, Scope):
        raise ScopeTypeError(
            f"transform: root must be a scopejax.Scope (e.g. Scope.root(dtype=jnp.bfloat16)), got "
            f"{type(root_scope).__name__}."
        )

    # get_variable's argument work, remembered across this model's init/apply calls (a pure
    # function of each request's arguments; see getter._Prepared). Owned by this transform only.
    prepared: dict[Any, Any] = {}

    def run_init(rng: Any, mesh: Any, args: Any, kwargs: Any) -> tuple[Any, ParamStore]:
        run = InitRun(rng, mesh)
        run.prepared = prepared
        run.inputs, run.under_jit = (rng, args, kwargs), is_tracer(jnp.zeros(()))
        with context.activate(run, root_scope):
            try:
                out = fn(*args, **kwargs)
            except jax.errors.UnexpectedTracerError as e:
                raise TransformLeakError(
                    "init hit a leaked tracer. The usual cause: a variable was created inside a "
                    "plain JAX transform (jax.lax.scan, cond, while_loop, jax.vmap, "
                    "jax.checkpoint) in the model; use scopejax.scan / cond / while_loop / vmap "
                    f"/ remat instead. JAX said: {str(e).splitlines()[0]}"
                ) from e
        return out, run.store()

    def sharded_init(rng: Any, active: Mesh, args: Any, kwargs: Any, with_output: bool) -> Any:
        """One jitted init: XLA creates each sharded variable shard by shard on its devices.

        Array arguments are traced; everything else (flags, sizes) stays static Python.
        """

        def call(key: Any, call_args: Any, call_kwargs: Any) -> Any:
            out, store = run_init(key, active, call_args, call_kwargs)
            return (out, store) if with_output else store  # `init` lets XLA drop the output

        traced_init, arrays = arrays_traced(call, args, kwargs)
        # The stores' shardings, given to jit: JAX would otherwise name every output sharding on
        # one mesh, which cannot express a partition count laid out on a reshaped mesh. Costs
        # one abstract trace.
        abstract = jax.eval_shape(traced_init, rng, arrays)
        store = store_shardings(abstract[1] if with_output else abstract, active)
        out_shardings = (None, store) if with_output else store
        # Explicit-axis meshes need a mesh context for jit (not possible inside a trace, where
        # the caller's jax.set_mesh applies).
        explicit = AxisType.Explicit in active.axis_types
        context_mesh = jax.set_mesh(active) if explicit and not is_tracer(rng) else nullcontext()
        with context_mesh:
            return jax.jit(traced_init, out_shardings=out_shardings)(rng, arrays)

    @functools.wraps(fn)
    def init_with_output(rng: Any, *args: Any, **kwargs: Any) -> tuple[Any, ParamStore]:
        rng = check_rng(rng)
        active = resolve_mesh(mesh, "transform")
        if active is None:
            return run_init(rng, None, args, kwargs)
        return sharded_init(rng, active, args, kwargs, with_output=True)

    @functools.wraps(fn)
    def init(rng: Any, *args: Any, **kwargs: Any) -> ParamStore:
        rng = check_rng(rng)
        active = resolve_mesh(mesh, "transform")
        if active is None:
            return run_init(rng, None, args, kwargs)[1]
        return sharded_init(rng, active, args, kwargs, with_output=False)

    @functools.wraps(fn)
    def apply(params: ParamStore, *args: Any, rng: Any = None, mutable: Any = False,
              **kwargs: Any) -> Any:  # fmt: skip
        store = ensure_store(params, "apply's first argument (params)")
        run = ApplyRun(store, check_rng(rng, "apply's rng="), _check_mutable(mutable), mesh)
        run.prepared = prepared
        run.inputs, run.under_jit = (store, run.rng, args, kwargs), is_tracer(jnp.zeros(()))
        with context.activate(run, root_scope):
            out = fn(*args, **kwargs)
        if mutable is False:
            return out
        return out, store.replace(run.assigned) if run.assigned else store

    for pure_fn in (init, apply, init_with_output):
        # Keep fn's name and docs but not its signature: jax.jit(apply, static_argnums=...)
        # must see (params, *args), not fn's own parameters.
        del pure_fn.__wrapped__
    return Transformed(init=init, apply=apply, init_with_output=init_with_output, mesh=mesh)


def store_shardings(abstract: ParamStore, mesh: Mesh) -> ParamStore:
    """The shardings ``init`` gives ``abstract``'s variables on ``mesh``, as a store-shaped tree."""
    infos = abstract.infos()
    shardings = [stored_sharding(name, infos[name], mesh)[0] for name in abstract.names()]
    return jax.tree.unflatten(jax.tree.structure(abstract), shardings)


def arrays_traced(call: Callable[[Any, Any, Any], Any], args: Any,
                  kwargs: Any) -> tuple[Callable[[Any, list[Any]], Any], list[Any]]:  # fmt: skip
    """``(traced(key, arrays), arrays)``: ``call(key, args, kwargs)`` with only the array leaves
    of ``args``/``kwargs`` as arguments, so a transform (jit, eval_shape) traces those and keeps
    everything else (flags, sizes) static Python -- as an eager ``init`` sees them."""
    leaves, treedef = jax.tree.flatten((args, kwargs))
    where = [i for i, leaf in enumerate(leaves)
             if isinstance(leaf, jax.Array | np.ndarray | jax.ShapeDtypeStruct)]  # fmt: skip

    def traced(key: Any, array_leaves: list[Any]) -> Any:
        filled = list(leaves)
        for i, leaf in zip(where, array_leaves, strict=True):
            filled[i] = leaf
        call_args, call_kwargs = jax.tree.unflatten(treedef, filled)
        return call(key, call_args, call_kwargs)

    return traced, [leaves[i] for i in where]


def _check_mutable(mutable: Any) -> bool | frozenset[str]:
    """``apply``'s ``mutable=``: a bool, a collection key, or an iterable of keys."""
    if isinstance(mutable, bool):
        return mutable
    keys = [mutable] if isinstance(mutable, str) else mutable
    try:
        keys = list(keys)
    except TypeError:
        keys = [None]
    if not keys or not all(isinstance(k, str) for k in keys):
        raise ScopeTypeError(
            f"apply's mutable= must be True, False, a collection key or a list of keys (e.g. "
            f"scopejax.GraphKeys.MOVING_AVERAGE_VARIABLES), got {mutable!r}."
        )
    return frozenset(keys)
