"""Variable sources: where ``get_variable`` finds and puts variables (init, apply, pure API).

* :class:`InitRun` creates values from a root PRNG key (each variable's key derived from the key
  and its full name only) and collects them into a new ``ParamStore``.
* :class:`ApplyRun` takes the values from a given ``ParamStore``, checking that each exists with
  the shape/dtype the program asks for. It tracks what this call "created" so that the reuse rules
  raise exactly the errors they raise during init.
* :class:`StoreSource` serves the pure API: variables already in a store exist.

A run also carries the per-call TF1 bookkeeping of the implicit API: default-name counters and
the scopes on which ``reuse_variables()`` was called.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

import jax
import numpy as np

from scopejax._src import caching, names, placement
from scopejax._src.counters import ScopeCounts
from scopejax._src.errors import (
    DtypeMismatchError,
    ScopeTypeError,
    ShapeMismatchError,
    TransformLeakError,
    VariableNotFoundError,
    closest_names,
)
from scopejax._src.store import ParamStore
from scopejax._src.varinfo import VarInfo


def check_rng(rng: Any, what: str = "init's first argument (rng)") -> Any:
    """Accepts a PRNG key (raw uint32 or typed), a tracer of one, or None."""
    if rng is None:
        return None
    dtype = getattr(rng, "dtype", None)
    typed = dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
    raw = dtype is not None and not typed and dtype == np.uint32 and np.ndim(rng) >= 1
    if typed or raw:
        shape = tuple(np.shape(rng))
        if (typed and shape != ()) or (raw and shape != (2,)):
            raise ScopeTypeError(
                f"{what} must be one PRNG key, got an array of shape {shape} "
                f"({'typed keys' if typed else 'raw uint32 keys have shape (2,)'}). For a batch "
                "of keys (an ensemble), jax.vmap the call over them."
            )
        return rng
    if isinstance(rng, int | np.integer):
        raise ScopeTypeError(
            f"{what} got the integer {rng!r}; pass a PRNG key such as "
            f"jax.random.key({rng}) (or jax.random.PRNGKey({rng}))."
        )
    raise ScopeTypeError(
        f"{what} must be a PRNG key (jax.random.key(0)), got {type(rng).__name__} with dtype "
        f"{dtype}. Pass None only if nothing random is needed (deterministic initializers, no "
        "next_rng_key)."
    )


def _key_for(rng: Any, name: str, needs_key: bool) -> Any:
    return names.variable_key(rng, name) if needs_key and rng is not None else None


_NOT_EAGER = object()
_MISSING = object()


def is_tracer(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)  # public in jax.core


def _check_found(name: str, value: Any, info: VarInfo, where: str) -> None:
    """The stored value of ``name`` must have the shape and dtype the program asks for."""
    shape = getattr(value, "shape", None)
    if type(shape) is tuple and shape == info.shape and value.dtype == info.dtype:
        return  # the common case, without building the values the errors need
    found_shape = tuple(getattr(value, "shape", None) or np.shape(value))
    if found_shape != info.shape:
        raise ShapeMismatchError(
            f"Variable {name} has shape {found_shape} in {where}, but the function asks for "
            f"shape {info.shape}. Re-run init, or fix the store."
        )
    found_dtype = np.dtype(value.dtype)
    if found_dtype != info.dtype:
        raise DtypeMismatchError(
            f"Variable {name} has dtype {found_dtype.name} in {where}, but the function asks "
            f"for dtype {info.dtype.name}. Cast the store "
            "(jax.tree.map(lambda x: x.astype(...), params)) or fix the function."
        )


class Lazy:
    """``array[index]``, computed only when a loss is asked for (shards, stacked layers)."""

    __slots__ = ("array", "index")

    def __init__(self, array: Any, index: Any) -> None:
        self.array, self.index = array, index

    def get(self) -> Any:
        return self.array[self.index]


def resolve(value: Any) -> Any:
    return value.get() if type(value) is Lazy else value


class CallState(abc.ABC):
    """The per-call state of the implicit API: TF1's per-thread scope store plus the session.

    * ``counts`` / ``reused_tokens``: default-name counters and scopes marked by
      ``reuse_variables()``.
    * ``regularized``: ``(name, regularizer, value)`` of every variable created (or first used,
      in apply) in this call, in order; losses are computed when asked for, from the stored
      value, so a variable first used inside ``lax.scan`` or ``jax.checkpoint`` does not leak the
      loss tracer out of it.
    * ``added``: values given to ``add_to_collection``, per key.
    * ``assigned``: new values of variables changed by ``assign`` in this call.
    * ``rng_base`` / ``rng_counts``: the base key of ``next_rng_key`` (the call's key, or a
      per-step key inside ``scopejax.scan``) and how many keys each scope drew from it.
    * ``lift_depth``: how many lifted transforms (``scopejax.scan``...) enclose the running code;
      ``blocking_lifts``: how many of them cannot carry assignments out (all but ``remat``).
    * ``premade``: while a lifted transform traces its body during init, the values it created
      beforehand at the outer level, served instead of creating them inside the trace.
    """

    mutable: Any = True  # init may assign; the initial values are what it returns

    def __init__(self, rng: Any) -> None:
        # The argument work of earlier get_variable requests (getter._Prepared), owned by the
        # transformed function this call belongs to; None: nothing is remembered.
        self.prepared: dict[Any, Any] | None = None
        self.counts = ScopeCounts()
        self.reused_tokens: set[object] = set()
        self.regularized: list[tuple[str, Callable[[Any], Any], Any]] = []
        self.added: dict[str, list[Any]] = {}
        self.assigned: dict[str, Any] = {}
        self.rng = rng
        self.rng_base = rng
        self.rng_counts: dict[str, int] = {}
        self.lift_depth = 0
        self.blocking_lifts = 0
        self.premade: dict[str, Any] | None = None
        # Inside scopejax.scan_layers' body: (layer 0's scope, every layer's scope, step index),
        # the per-step slices of the stacked variables keyed by layer 0's names, and what the
        # body created from them (body-local: the store holds the stacked variables).
        self.layer_stack: tuple[str, list[str], Any] | None = None
        self.redirect: dict[str, Any] | None = None
        self.layer_created: dict[str, tuple[Any, VarInfo]] = {}
        # While scan_layers probes its body during init: name -> (make_value, needs_key).
        self.recipes: dict[str, tuple[Callable[[Any], Any], bool]] | None = None
        self.eager: bool | object = _NOT_EAGER

    @abc.abstractmethod
    def created_items(self) -> Iterable[tuple[str, Any, VarInfo]]:
        """``(name, current value, info)`` of the variables created (apply: read), in order."""

    @abc.abstractmethod
    def num_created(self) -> int:
        """How many variables this call has created (apply: read) so far."""

    inputs: Any = ()  # what the call was given (params, rng, arguments): set by transform
    under_jit = False  # a constant made when the call started was a tracer: set by transform

    def is_eager(self) -> bool:
        """Whether this call runs outside any JAX transform (then values must be concrete).

        No outer jit (see ``under_jit``) and no input is a tracer (no outer vmap/grad); the
        inputs are scanned once, when first needed.
        """
        if self.eager is _NOT_EAGER:
            self.eager = not self.under_jit and not any(
                is_tracer(leaf) for leaf in jax.tree.leaves(self.inputs))
        return bool(self.eager)

    def check_not_leaked(self, name: str, value: Any, what: str) -> None:
        """Refuses a value computed inside a plain JAX transform of the model (eager calls)."""
        if self.lift_depth == 0 and is_tracer(value) and self.is_eager():
            raise TransformLeakError(
                f"Variable {name} was {what} inside a JAX transform (jax.lax.scan, cond, "
                "while_loop, jax.vmap, jax.checkpoint...) called by the model, so its value is a "
                "tracer of that transform and would leak out of it. Use the lifted versions "
                "scopejax.scan / scopejax.cond / scopejax.while_loop / scopejax.vmap / "
                "scopejax.remat, or create the variable before the loop."
            )

    def record(self, name: str, value: Any, info: VarInfo) -> None:
        if info.regularizer is None:
            return
        part = info.partition
        if part is None:
            self.regularized.append((name, info.regularizer, value))
        else:  # one loss per shard, as TF1
            for i, shard in enumerate(part.part_names(name)):
                self.regularized.append((shard, info.regularizer, Lazy(value, part.part_index(i))))

    def layer_existing(self, name: str) -> tuple[Any, VarInfo] | None:
        found = self.layer_created.get(name)
        if found is not None and self.assigned and name in self.assigned:
            return self.assigned[name], found[1]
        return found

    def layer_slice(self, name: str, info: VarInfo) -> Any:
        """Inside scan_layers' body: this step's slice of a stacked variable, as if created."""
        value = self.redirect[name]  # type: ignore[index]
        _check_found(name, value, info, "the stacked variables of scopejax.scan_layers")
        self.layer_created[name] = (value, info)
        if info.regularizer is not None:
            self.record(name, value, info)
        return value

    def save(self) -> tuple[Any, ...]:
        """Everything a lifted transform must roll back after probing its body."""
        return (self.counts.snapshot(), set(self.reused_tokens), len(self.regularized),
                {k: list(v) for k, v in self.added.items()}, dict(self.assigned),
                dict(self.rng_counts))  # fmt: skip

    def rollback(self, saved: tuple[Any, ...]) -> None:
        counts, tokens, n_reg, added, assigned, rng_counts = saved
        self.counts.restore(counts)
        self.reused_tokens = tokens
        del self.regularized[n_reg:]
        self.added, self.assigned, self.rng_counts = added, assigned, rng_counts


class InitRun(CallState):
    """Creates variables from ``rng`` during ``init``.

    With a ``mesh``, a partitioned variable is stored sharded (and padded, if its shard count
    does not divide it; see ``placement.py``) while the model gets its logical value.
    """

    def __init__(self, rng: Any, mesh: Any = None) -> None:
        super().__init__(rng)
        self.mesh = mesh
        self.values: dict[str, Any] = {}
        self.infos: dict[str, VarInfo] = {}
        # name -> the value the model sees when it differs from the stored one (padding removed,
        # placed by caching_device)
        self.padded: dict[str, Any] = {}

    def existing(self, name: str) -> tuple[Any, VarInfo] | None:
        if self.redirect is not None and name in self.redirect:
            return self.layer_existing(name)
        if name in self.values:
            if self.assigned and name in self.assigned:
                return self.assigned[name], self.infos[name]
            if self.padded and name in self.padded:
                return self.padded[name], self.infos[name]
            return self.values[name], self.infos[name]
        return None

    def create(self, name: str, info: VarInfo, make_value: Callable[[Any], Any],
               needs_key: bool) -> Any:  # fmt: skip
        if self.redirect is not None and name in self.redirect:
            return self.layer_slice(name, info)
        if self.recipes is not None:
            self.recipes[name] = (make_value, needs_key)
        blocked = getattr(make_value, "blocked", None) if self.mesh is not None else None
        if self.premade is not None:
            made = self.premade.get(name, _MISSING)
            if made is _MISSING:
                raise TransformLeakError(
                    f"Variable {name} was created while a scopejax.scan / cond / while_loop / "
                    "vmap traced its body, but not when the body ran once beforehand to create "
                    "the body's variables. The body must create the same variables every time "
                    "it runs (no creation that depends on Python state such as a step counter)."
                )
            # Made at the calling level before the body was traced: keep it as it was stored.
            stored, value, info = made
            self.values[name], self.infos[name] = stored, info
            if value is not stored:
                self.padded[name] = value
            if info.regularizer is not None:
                self.record(name, value, info)
            return value
        if blocked is None:
            value = make_value(_key_for(self.rng, name, needs_key))
            self.check_not_leaked(name, value, "created")
        else:
            value = None  # drawn sharded below
        stored = value
        if self.mesh is not None:
            sharding, physical = placement.stored_sharding(name, info, self.mesh)
            if physical != info.shape:
                info = dataclasses.replace(info, physical_shape=physical)
            if blocked is not None:  # each device draws its own rows, padding included
                stored = blocked.sharded(_key_for(self.rng, name, needs_key), sharding, physical)
                value = placement.logical(stored, info)
            elif physical != info.shape:
                stored = placement.pad(value, info, physical)
            stored = placement.place(stored, sharding)
        if info.caching_device is not None:
            value = caching.read_view(value, name, info, self.mesh, traced=is_tracer(value))
        if value is not stored:  # the model's view differs from the stored array
            self.padded[name] = value
        self.values[name] = stored
        self.infos[name] = info
        if info.regularizer is not None:
            self.record(name, value, info)
        return value

    def known_names(self) -> Iterable[str]:
        return self.values.keys()

    def num_created(self) -> int:
        return len(self.values)

    def created_items(self) -> Iterable[tuple[str, Any, VarInfo]]:
        for name, value in self.values.items():
            value = self.padded.get(name, value) if self.padded else value
            yield name, self.assigned.get(name, value), self.infos[name]

    def save(self) -> tuple[Any, ...]:
        return (*super().save(), dict(self.values), dict(self.infos), dict(self.padded))

    def rollback(self, saved: tuple[Any, ...]) -> None:
        *base, self.values, self.infos, self.padded = saved
        super().rollback(tuple(base))

    def store(self) -> ParamStore:
        return ParamStore._from_parts(self.values, self.infos)


class ApplyRun(CallState):
    """Reads variables from ``params`` during ``apply``, with the same reuse rules as init."""

    def __init__(self, params: ParamStore, rng: Any = None, mutable: Any = False,
                 mesh: Any = None) -> None:  # fmt: skip
        super().__init__(rng)
        self.params = params
        self.mesh = mesh
        self.mutable = mutable
        self.created: dict[str, tuple[Any, VarInfo]] = {}

    def existing(self, name: str) -> tuple[Any, VarInfo] | None:
        if self.redirect is not None and name in self.redirect:
            return self.layer_existing(name)
        found = self.created.get(name)
        if found is not None and self.assigned and name in self.assigned:
            return self.assigned[name], found[1]
        return found

    def create(self, name: str, info: VarInfo, make_value: Callable[[Any], Any],
               needs_key: bool) -> Any:  # fmt: skip
        if self.redirect is not None and name in self.redirect:
            return self.layer_slice(name, info)
        params = self.params
        i = params._def.index(name)  # one lookup for value and info: apply's hot path
        if i is None:
            raise VariableNotFoundError(
                f"Variable {name} is not in the params given to apply "
                f"({closest_names(name, params.names())}). The function created it at this "
                "point during init; pass the store that init returned for this function."
            )
        value, stored_info = params._values[i], params._def.infos[i]
        if stored_info.physical_shape is not None:
            value = placement.logical(value, stored_info)
        _check_found(name, value, info, "the params given to apply")
        if info.caching_device is not None:  # placed once; later reads reuse this copy
            value = caching.read_view(value, name, info, self.mesh, traced=is_tracer(value))
        self.created[name] = (value, stored_info)
        if info.regularizer is not None:
            self.record(name, value, info)
        return value

    def known_names(self) -> Iterable[str]:
        return self.created.keys()

    def num_created(self) -> int:
        return len(self.created)

    def created_items(self) -> Iterable[tuple[str, Any, VarInfo]]:
        for name, (value, info) in self.created.items():
            yield name, self.assigned.get(name, value), info

    def save(self) -> tuple[Any, ...]:
        return (*super().save(), dict(self.created))

    def rollback(self, saved: tuple[Any, ...]) -> None:
        *base, self.created = saved
        super().rollback(tuple(base))


class StoreSource:
    """The pure API's source: every variable already in ``store`` exists."""

    def __init__(self, store: ParamStore, rng: Any) -> None:
        self.store = store
        self.rng = rng

    def existing(self, name: str) -> tuple[Any, VarInfo] | None:
        if name in self.store:
            return self.store[name], self.store.info(name)
        return None

    def create(self, name: str, info: VarInfo, make_value: Callable[[Any], Any],
               needs_key: bool) -> Any:  # fmt: skip
        value = make_value(_key_for(self.rng, name, needs_key))
        self.store = self.store.with_variable(name, value, info)
        return value

    def known_names(self) -> Iterable[str]:
        return self.store.names()
