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

from collections.abc import Callable, Iterable
from typing import Any

import jax
import numpy as np

from scopejax._src import names
from scopejax._src.counters import ScopeCounts
from scopejax._src.errors import (
    DtypeMismatchError,
    ScopeTypeError,
    ShapeMismatchError,
    VariableNotFoundError,
    closest_names,
)
from scopejax._src.store import ParamStore
from scopejax._src.varinfo import VarInfo


def check_rng(rng: Any) -> Any:
    """Accepts a PRNG key (raw uint32 or typed), a tracer of one, or None."""
    if rng is None:
        return None
    dtype = getattr(rng, "dtype", None)
    if dtype is not None and (
        jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
        or (dtype == np.uint32 and np.ndim(rng) >= 1)
    ):
        return rng
    if isinstance(rng, int | np.integer):
        raise ScopeTypeError(
            f"init got the integer {rng!r} as rng; pass a PRNG key such as "
            f"jax.random.key({rng}) (or jax.random.PRNGKey({rng}))."
        )
    raise ScopeTypeError(
        f"init expects a PRNG key as its first argument (jax.random.key(0)), got "
        f"{type(rng).__name__} with dtype {dtype}. Pass None only if every initializer is "
        "deterministic."
    )


def _key_for(rng: Any, name: str, needs_key: bool) -> Any:
    return names.variable_key(rng, name) if needs_key and rng is not None else None


class _Bookkeeping:
    """TF1's per-thread scope store, per transformed call: counters and reused scope tokens."""

    def __init__(self) -> None:
        self.counts = ScopeCounts()
        self.reused_tokens: set[object] = set()


class InitRun(_Bookkeeping):
    """Creates variables from ``rng`` during ``init``."""

    def __init__(self, rng: Any) -> None:
        super().__init__()
        self.rng = rng
        self.values: dict[str, Any] = {}
        self.infos: dict[str, VarInfo] = {}

    def existing(self, name: str) -> tuple[Any, VarInfo] | None:
        if name in self.values:
            return self.values[name], self.infos[name]
        return None

    def create(self, name: str, info: VarInfo, make_value: Callable[[Any], Any],
               needs_key: bool) -> Any:  # fmt: skip
        value = make_value(_key_for(self.rng, name, needs_key))
        self.values[name] = value
        self.infos[name] = info
        return value

    def known_names(self) -> Iterable[str]:
        return self.values.keys()

    def store(self) -> ParamStore:
        return ParamStore._from_parts(self.values, self.infos)


class ApplyRun(_Bookkeeping):
    """Reads variables from ``params`` during ``apply``, with the same reuse rules as init."""

    def __init__(self, params: ParamStore) -> None:
        super().__init__()
        self.params = params
        self.created: dict[str, tuple[Any, VarInfo]] = {}

    def existing(self, name: str) -> tuple[Any, VarInfo] | None:
        return self.created.get(name)

    def create(self, name: str, info: VarInfo, make_value: Callable[[Any], Any],
               needs_key: bool) -> Any:  # fmt: skip
        params = self.params
        if name not in params:
            raise VariableNotFoundError(
                f"Variable {name} is not in the params given to apply "
                f"({closest_names(name, params.names())}). The function created it at this "
                "point during init; pass the store that init returned for this function."
            )
        value = params[name]
        found_shape = tuple(getattr(value, "shape", None) or np.shape(value))
        if found_shape != info.shape:
            raise ShapeMismatchError(
                f"Variable {name} has shape {found_shape} in the params given to apply, but the "
                f"function asks for shape {info.shape}. Re-run init, or fix the store."
            )
        found_dtype = np.dtype(value.dtype)
        if found_dtype != info.dtype:
            raise DtypeMismatchError(
                f"Variable {name} has dtype {found_dtype.name} in the params given to apply, but "
                f"the function asks for dtype {info.dtype.name}. Cast the store "
                "(jax.tree.map(lambda x: x.astype(...), params)) or fix the function."
            )
        self.created[name] = (value, params.info(name))
        return value

    def known_names(self) -> Iterable[str]:
        return self.created.keys()


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
