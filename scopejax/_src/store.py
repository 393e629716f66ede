"""``ParamStore``: an immutable mapping from full variable names to arrays, registered as a pytree.

The leaves are only the values. The sorted names and their :class:`VarInfo` live in a private
``_StoreDef`` that is the treedef's aux data, so ``jax.tree.map``, ``jax.grad`` and optax keep the
metadata, and ``jax.jit`` does not retrace when only values change. Flattening hands JAX the tuple
the store already holds; nothing is sorted or copied per call.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from scopejax._src.errors import (
    DtypeMismatchError,
    ShapeMismatchError,
    StoreStructureError,
    StoreTypeError,
    VariableExistsError,
    VariableNotFoundError,
    call_user,
    closest_names,
)
from scopejax._src.placement import logical, pad
from scopejax._src.varinfo import VarInfo

Predicate = Callable[[str, VarInfo], bool]
_MASK = (1 << 64) - 1
_REPR_LIMIT = 10


class _StoreDef:
    """The static half of a store: sorted names and their infos (the treedef's aux data).

    Its hash is the sum of per-variable hashes, computed once at construction, so adding a variable
    or merging disjoint stores updates it without rehashing every ``VarInfo``. Lookups bisect the
    sorted names: no index to build, which matters for stores grown one variable at a time.
    """

    __slots__ = ("_hash", "infos", "names")

    def __init__(
        self, names: tuple[str, ...], infos: tuple[VarInfo, ...], hash_: int | None = None
    ):
        if hash_ is None:
            hash_ = sum(map(hash, zip(names, infos, strict=True))) & _MASK
        for slot, value in (("names", names), ("infos", infos), ("_hash", hash_)):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("_StoreDef is immutable")

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, _StoreDef):
            return NotImplemented
        return self._hash == other._hash and self.names == other.names and self.infos == other.infos

    def __reduce__(self) -> tuple[Any, ...]:  # Rehash on load: str hashes differ per process.
        return (_StoreDef, (self.names, self.infos))

    def __repr__(self) -> str:  # Shows up in JAX's tree-mismatch errors.
        shown = ", ".join(repr(n) for n in self.names[:_REPR_LIMIT])
        more = ", ..." if len(self.names) > _REPR_LIMIT else ""
        return f"StoreDef[{shown}{more}]"

    def index(self, name: Any) -> int | None:
        if not isinstance(name, str):
            return None
        i = bisect.bisect_left(self.names, name)
        return i if i < len(self.names) and self.names[i] == name else None


_EMPTY_DEF = _StoreDef((), ())


class ParamStore:
    """An immutable mapping ``full variable name -> array`` that is a JAX pytree.

    Names are TF's variable names without ``":0"`` (``"dense/kernel"``), kept in sorted order.
    Each variable also carries a static :class:`VarInfo` (shape, dtype, trainable, collections,
    partition), which JAX transforms preserve. Every method returns a new store.

    TF1 equivalent: the graph's variables plus the ``GLOBAL_VARIABLES`` / ``TRAINABLE_VARIABLES``
    collections, as a value.

    >>> import jax, jax.numpy as jnp
    >>> store = ParamStore.from_flat_dict({"dense/w": jnp.ones((2, 3)), "dense/b": jnp.zeros(3)})
    >>> store
    ParamStore(2 variables: 'dense/b': float32[3], 'dense/w': float32[2,3])
    >>> doubled = jax.tree.map(lambda x: 2 * x, store)
    >>> type(doubled).__name__, doubled["dense/w"].sum().item()
    ('ParamStore', 12.0)
    """

    __slots__ = ("_def", "_values")
    _def: _StoreDef
    _values: tuple[Any, ...]

    def __init__(self) -> None:
        """Creates an empty store; use the ``from_*`` constructors to fill one."""
        object.__setattr__(self, "_def", _EMPTY_DEF)
        object.__setattr__(self, "_values", ())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ParamStore is immutable; use replace(), with_variable() or merge()")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_make, (self._def, self._values))

    # ----------------------------------------------------------------------------- constructors

    @classmethod
    def from_flat_dict(
        cls,
        values: Mapping[str, ArrayLike | jax.ShapeDtypeStruct],
        infos: Mapping[str, VarInfo] | None = None,
    ) -> ParamStore:
        """Builds a store from ``{full_name: value}``.

        Args:
          values: the variables. Jax arrays, tracers and ``ShapeDtypeStruct``s are kept as they
            are; anything else goes through ``jnp.asarray``.
          infos: optional metadata per name; missing names get ``VarInfo(value.shape,
            value.dtype)`` (trainable, default collections).

        Raises:
          StoreTypeError: ``values`` is not a mapping, or a value is not array-like.
          VariableNotFoundError: ``infos`` names a variable that has no value.
          ShapeMismatchError, DtypeMismatchError: a value does not match its given info.

        >>> s = ParamStore.from_flat_dict({"b": 1.0, "a/w": jnp.ones(2)})
        >>> s.names(), s.info("b").shape
        (('a/w', 'b'), ())
        """
        where = "ParamStore.from_flat_dict"
        if not isinstance(values, Mapping):
            raise StoreTypeError(f"{where}: expected a mapping from variable names to arrays, "
                                 f"got {type(values).__name__}")
        infos = {} if infos is None else infos
        if not isinstance(infos, Mapping):
            raise StoreTypeError(f"{where}: infos must be a mapping from names to VarInfo, got "
                                 f"{type(infos).__name__}")
        extra = [name for name in infos if name not in values]
        if extra:
            raise VariableNotFoundError(
                f"{where}: infos given for variable(s) {extra!r} that have no value; "
                f"{closest_names(str(extra[0]), map(str, values))}")
        out_values, out_infos = {}, {}
        for name, value in values.items():
            if not isinstance(name, str):
                raise StoreTypeError(f"{where}: variable names must be str, got {name!r}")
            value = _as_value(name, value, where)
            info = infos.get(name)
            if info is None:
                info = VarInfo(value.shape, value.dtype)
            elif not isinstance(info, VarInfo):
                raise StoreTypeError(f"{where}: infos[{name!r}] must be a VarInfo, "
                                     f"got {type(info).__name__}")
            else:
                _check_value(name, value, info, where)
            out_values[name], out_infos[name] = value, info
        return cls._from_parts(out_values, out_infos)

    @classmethod
    def from_nested_dict(
        cls, tree: Mapping[str, Any], infos: Mapping[str, VarInfo] | None = None
    ) -> ParamStore:
        """Builds a store from ``{"foo": {"bar": {"v": value}}}`` (names joined with ``/``).

        >>> ParamStore.from_nested_dict({"foo": {"bar": {"v": jnp.zeros(2)}}}).names()
        ('foo/bar/v',)
        """
        if not isinstance(tree, Mapping):
            raise StoreTypeError("ParamStore.from_nested_dict: expected a nested mapping of "
                                 f"names to arrays, got {type(tree).__name__}")
        flat: dict[str, Any] = {}
        _flatten_nested(tree, "", flat)
        return cls.from_flat_dict(flat, infos)

    @staticmethod
    def _from_parts(
        values: dict[str, Any], infos: dict[str, VarInfo], hash_: int | None = None
    ) -> ParamStore:
        """Fast constructor for the getter: sorts the names once and validates nothing."""
        names = tuple(sorted(values))
        return _make(_StoreDef(names, tuple(infos[n] for n in names), hash_),
                     tuple(values[n] for n in names))

    def with_variable(self, name: str, value: Any, info: VarInfo | None = None) -> ParamStore:
        """Returns a store with one more variable (``info`` defaults from the value).

        Raises:
          VariableExistsError: ``name`` is already in the store.

        >>> ParamStore().with_variable("v", jnp.zeros(3)).info("v").shape
        (3,)
        """
        if not isinstance(name, str):
            raise StoreTypeError(f"ParamStore.with_variable: the name must be a str, got {name!r}")
        if info is not None and not isinstance(info, VarInfo):
            raise StoreTypeError(f"ParamStore.with_variable: info of {name!r} must be a VarInfo, "
                                 f"got {type(info).__name__}")
        names, infos, values = self._def.names, self._def.infos, self._values
        i = bisect.bisect_left(names, name)
        if i < len(names) and names[i] == name:
            raise VariableExistsError(
                f"Variable {name!r} already exists, disallowed. with_variable() only adds new "
                "variables; use replace() to give an existing one a new value.")
        value = _as_value(name, value, "ParamStore.with_variable")
        if info is None:
            info = VarInfo(value.shape, value.dtype)
        else:
            _check_value(name, value, info, "ParamStore.with_variable")
        new_def = _StoreDef((*names[:i], name, *names[i:]), (*infos[:i], info, *infos[i:]),
                            (self._def._hash + hash((name, info))) & _MASK)
        return _make(new_def, (*values[:i], value, *values[i:]))

    # ------------------------------------------------------------------------- mapping protocol

    def _index_or_raise(self, name: Any) -> int:
        i = self._def.index(name)
        if i is None:
            raise VariableNotFoundError(
                f"Variable {name!r} does not exist in this ParamStore ({len(self)} variables); "
                f"{closest_names(str(name), self._def.names)}.")
        return i

    def __getitem__(self, name: str) -> Any:
        """The value of ``name`` with its logical shape (padding of sharded variables removed)."""
        i = self._index_or_raise(name)
        info = self._def.infos[i]
        return self._values[i] if info.physical_shape is None else logical(self._values[i], info)

    def __contains__(self, name: object) -> bool:
        return self._def.index(name) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._def.names)

    def __len__(self) -> int:
        return len(self._values)

    def names(self) -> tuple[str, ...]:
        """The variable names, sorted."""
        return self._def.names

    keys = names

    def values(self) -> tuple[Any, ...]:
        """The values (logical shapes, like ``store[name]``), in name order."""
        return self._logical_values()

    def items(self) -> tuple[tuple[str, Any], ...]:
        """``(name, value)`` pairs, in name order."""
        return tuple(zip(self._def.names, self._logical_values(), strict=True))

    def get(self, name: str, default: Any = None) -> Any:
        """``store[name]``, or ``default`` when there is no such variable."""
        return default if self._def.index(name) is None else self[name]

    def _logical_values(self) -> tuple[Any, ...]:
        if all(info.physical_shape is None for info in self._def.infos):
            return self._values
        return tuple(logical(v, info) for v, info in zip(self._values, self._def.infos,
                                                          strict=True))  # fmt: skip

    def info(self, name: str) -> VarInfo:
        """The static metadata of one variable (``VariableNotFoundError`` if missing)."""
        return self._def.infos[self._index_or_raise(name)]

    def infos(self) -> dict[str, VarInfo]:
        """A new ``{name: VarInfo}`` dict."""
        return dict(zip(self._def.names, self._def.infos, strict=True))

    def collection(self, key: str) -> tuple[str, ...]:
        """Names of the variables in collection ``key``.

        TF1 equivalent: ``tf.get_collection(key)`` (names instead of variables).

        >>> from scopejax._src.varinfo import VarInfo
        >>> s = ParamStore.from_flat_dict({"w": jnp.ones(2), "step": jnp.zeros((), jnp.int32)},
        ...                               {"step": VarInfo((), jnp.int32, False, ("variables",))})
        >>> s.collection("trainable_variables"), s.collection("variables")
        (('w',), ('step', 'w'))
        """
        return tuple(n for n, info in zip(self._def.names, self._def.infos, strict=True)
                     if key in info.collections)

    # ---------------------------------------------------------------------- selection and union

    def filter(
        self,
        prefix: str | None = None,
        *,
        collection: str | None = None,
        trainable: bool | None = None,
        predicate: Predicate | None = None,
    ) -> ParamStore:
        """The variables that pass every given criterion.

        Args:
          prefix: a scope path. ``"foo"`` selects the variables under scope ``foo``, i.e. names
            starting with ``"foo/"`` (not ``"foo_1/x"``, as in TF); a prefix ending in ``/`` is
            used as is; ``""`` is the root scope and selects everything.
          collection: keep variables in this collection.
          trainable: keep variables whose ``info.trainable`` equals this.
          predicate: ``predicate(name, info) -> bool``.

        >>> s = ParamStore.from_flat_dict({k: jnp.zeros(1) for k in ["foo/v", "foo_/v", "bar/v"]})
        >>> s.filter("foo").names()
        ('foo/v',)
        """
        if prefix is not None and not isinstance(prefix, str):
            raise StoreTypeError(f"ParamStore.filter: prefix must be a scope path (str) or None, "
                                 f"got {prefix!r}")
        if predicate is not None and not callable(predicate):
            raise StoreTypeError(f"ParamStore.filter: predicate must be callable (name, info) -> "
                                 f"bool, got {predicate!r}")
        names, infos = self._def.names, self._def.infos
        lo, hi = 0, len(names)
        if prefix:
            prefix = prefix if prefix.endswith("/") else prefix + "/"
            # Names starting with "p/" are exactly those in ["p/", "p0") since "0" follows "/".
            lo = bisect.bisect_left(names, prefix)
            hi = bisect.bisect_left(names, prefix[:-1] + "0", lo)
        keep = [
            i for i in range(lo, hi)
            if (collection is None or collection in infos[i].collections)
            and (trainable is None or infos[i].trainable == trainable)
            and (predicate is None or predicate(names[i], infos[i]))
        ]
        return self._select(keep)

    def split(self, predicate: Predicate | None = None) -> tuple[ParamStore, ParamStore]:
        """``(selected, rest)``; the default predicate selects trainable variables.

        >>> s = ParamStore.from_flat_dict({"w": jnp.ones(2), "n": jnp.zeros(())},
        ...                               {"n": VarInfo((), jnp.float32, trainable=False)})
        >>> trainable, rest = s.split()
        >>> trainable.names(), rest.names(), trainable.merge(rest).names()
        (('w',), ('n',), ('n', 'w'))
        """
        names, infos = self._def.names, self._def.infos
        if predicate is not None and not callable(predicate):
            raise StoreTypeError(f"ParamStore.split: predicate must be callable (name, info) -> "
                                 f"bool, got {predicate!r}")
        if predicate is None:
            chosen = [info.trainable for info in infos]
        else:
            chosen = [bool(predicate(n, info)) for n, info in zip(names, infos, strict=True)]
        return (self._select([i for i, c in enumerate(chosen) if c]),
                self._select([i for i, c in enumerate(chosen) if not c]))

    def _select(self, indices: list[int]) -> ParamStore:
        if len(indices) == len(self._values):
            return self  # Immutable, so sharing is safe (and keeps the treedef identical).
        names, infos, values = self._def.names, self._def.infos, self._values
        new_def = _StoreDef(tuple(names[i] for i in indices), tuple(infos[i] for i in indices))
        return _make(new_def, tuple(values[i] for i in indices))

    def merge(self, *others: ParamStore) -> ParamStore:
        """The union of this store and ``others`` (see :meth:`merge_all`)."""
        return ParamStore.merge_all(self, *others)

    @staticmethod
    def merge_all(*stores: ParamStore) -> ParamStore:
        """The union of disjoint stores.

        Raises:
          VariableExistsError: a name is in more than one store.
          StoreTypeError: an argument is not a ``ParamStore``.
        """
        stores = tuple(ensure_store(s, f"ParamStore.merge argument {i}")
                       for i, s in enumerate(stores))
        non_empty = [s for s in stores if len(s)]
        if len(non_empty) <= 1:
            return non_empty[0] if non_empty else ParamStore()
        values: dict[str, Any] = {}
        infos: dict[str, VarInfo] = {}
        for store in non_empty:
            for name, value, info in zip(store._def.names, store._values, store._def.infos,
                                         strict=True):
                if name in values:
                    raise VariableExistsError(
                        f"Variable {name!r} already exists, disallowed: it is in more than one of "
                        "the stores being merged. Merged stores must be disjoint; use replace() "
                        "to overwrite values, or filter()/split() to drop one copy.")
                values[name], infos[name] = value, info
        # Disjoint stores: the sum of their hashes is the hash of the union.
        return ParamStore._from_parts(values, infos, sum(s._def._hash for s in non_empty) & _MASK)

    def replace(self, values: Mapping[str, ArrayLike] | ParamStore) -> ParamStore:
        """New values for existing variables; shapes, dtypes and infos stay as they are.

        Raises:
          VariableNotFoundError: a name is not in the store.
          ShapeMismatchError, DtypeMismatchError: a value does not fit its variable.

        >>> s = ParamStore.from_flat_dict({"v": jnp.zeros(2)})
        >>> s.replace({"v": jnp.ones(2)})["v"].tolist()
        [1.0, 1.0]
        """
        where = "ParamStore.replace"
        if not isinstance(values, Mapping | ParamStore):
            raise StoreTypeError(f"{where}: expected a mapping from variable names to arrays (or "
                                 f"a ParamStore), got {type(values).__name__}")
        new = list(self._values)
        for name, value in values.items():
            i = self._index_or_raise(name)
            info = self._def.infos[i]
            value = _as_value(name, value, where)
            if info.physical_shape is not None and tuple(value.shape) == info.shape:
                value = pad(value, info, info.physical_shape)  # a logical value: pad it
            _check_value(name, value, info, where)
            new[i] = value
        return _make(self._def, tuple(new))

    def apply_constraints(self) -> ParamStore:
        """Projects every variable that has a ``constraint`` (e.g. after an optimiser step).

        Jit-safe; variables without a constraint are returned as they are. A constraint must
        keep the shape and dtype.

        TF1 equivalent: running each variable's ``constraint`` after ``optimizer.minimize``.

        >>> clip = lambda x: jnp.clip(x, -1.0, 1.0)
        >>> s = ParamStore.from_flat_dict({"w": jnp.array([-3.0, 0.5])},
        ...                               {"w": VarInfo((2,), jnp.float32, constraint=clip)})
        >>> s.apply_constraints()["w"].tolist()
        [-1.0, 0.5]
        """
        values = list(self._values)
        changed = False
        for i, (name, info) in enumerate(zip(self._def.names, self._def.infos, strict=True)):
            if info.constraint is None:
                continue
            projected = call_user(info.constraint, f"constraint of variable {name}",
                                  "constraint(value)", logical(values[i], info))
            new = _as_value(name, projected, "ParamStore.apply_constraints")
            if info.physical_shape is not None and tuple(new.shape) == info.shape:
                new = pad(new, info, info.physical_shape)
            _check_value(name, new, info, f"ParamStore.apply_constraints (constraint of {name})")
            values[i], changed = new, True
        return _make(self._def, tuple(values)) if changed else self

    def unstack_layers(self) -> ParamStore:
        """Splits every ``scan_layers`` variable into its layers, with TF1's per-layer names.

        ``layer_*/dense/w`` of shape ``(n, ...)`` becomes ``layer_0/dense/w`` ...
        ``layer_{n-1}/dense/w``: the store the Python loop over layers creates (same values).

        >>> s = ParamStore.from_flat_dict(
        ...     {"layer_*/w": jnp.arange(4.0).reshape(2, 2)},
        ...     {"layer_*/w": VarInfo((2, 2), jnp.float32, stacked=2)})
        >>> {n: v.tolist() for n, v in s.unstack_layers().items()}
        {'layer_0/w': [0.0, 1.0], 'layer_1/w': [2.0, 3.0]}
        """
        if not any(info.stacked for info in self._def.infos):
            return self
        values: dict[str, Any] = {}
        infos: dict[str, VarInfo] = {}
        for name, value, info in zip(self._def.names, self._values, self._def.infos,
                                     strict=True):  # fmt: skip
            if not info.stacked:
                values[name], infos[name] = value, info
                continue
            layer_info = dataclasses.replace(info, shape=info.shape[1:], stacked=0)
            for i in range(info.stacked):
                layer_name = name.replace("*", str(i), 1)
                values[layer_name], infos[layer_name] = value[i], layer_info
        if len(values) != sum(info.stacked or 1 for info in self._def.infos):
            raise StoreStructureError(
                "ParamStore.unstack_layers: a per-layer name is also a variable of the store; "
                "filter() one of them out first."
            )
        return ParamStore._from_parts(values, infos)

    # ------------------------------------------------------------------------------ conversion

    def to_flat_dict(self) -> dict[str, Any]:
        """A new ``{full_name: value}`` dict (logical shapes: never the padding)."""
        return dict(zip(self._def.names, self._logical_values(), strict=True))

    def to_nested_dict(self) -> dict[str, Any]:
        """``{"foo": {"bar": {"v": value}}}``, splitting names on ``/``.

        Raises:
          StoreStructureError: a variable's name is also the scope of another (``a`` and
            ``a/b``), so it would have to be both a leaf and a sub-dict.

        >>> ParamStore.from_flat_dict({"foo/bar/v": 1.0}).to_nested_dict()["foo"]["bar"]["v"].item()
        1.0
        """
        root: dict[str, Any] = {}
        for name, value in zip(self._def.names, self._logical_values(), strict=True):
            *scopes, leaf = name.split("/")
            node = root
            for depth, part in enumerate(scopes):
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    other = "/".join(scopes[: depth + 1])
                    raise StoreStructureError(
                        f"ParamStore.to_nested_dict: variable {other!r} is also the scope of "
                        f"variable {name!r}, so it would be both an array and a sub-dict. Use "
                        "to_flat_dict() for such stores.")
            node[leaf] = value
        return root

    def __repr__(self) -> str:
        n = len(self)
        entries = [f"{name!r}: {_describe(value, info)}"
                   for name, value, info in zip(self._def.names[:_REPR_LIMIT],
                                                self._values[:_REPR_LIMIT],
                                                self._def.infos[:_REPR_LIMIT], strict=True)]
        if n > _REPR_LIMIT:
            entries.append(f"... ({n - _REPR_LIMIT} more)")
        head = f"{n} variable{'' if n == 1 else 's'}"
        return f"ParamStore({head}: {', '.join(entries)})" if n else "ParamStore(0 variables)"


def ensure_store(obj: Any, what: str) -> ParamStore:
    """Returns ``obj`` if it is a ``ParamStore``; otherwise raises a ``StoreTypeError`` with a fix.

    Args:
      obj: the object to check.
      what: what ``obj`` is, for the message (``"params"``, ``"apply(params)"``...).

    >>> try:
    ...     ensure_store({"v": 1.0}, "params")
    ... except TypeError as e:
    ...     print(e)
    params: expected a scopejax.ParamStore, got dict; convert with ParamStore.from_flat_dict(d)
    """
    if isinstance(obj, ParamStore):
        return obj
    message = f"{what}: expected a scopejax.ParamStore, got {type(obj).__name__}"
    if isinstance(obj, Mapping):
        nested = any(isinstance(v, Mapping) for v in obj.values())
        message += f"; convert with ParamStore.from_{'nested' if nested else 'flat'}_dict(d)"
    raise StoreTypeError(message)


# ------------------------------------------------------------------------------------ helpers


def _make(store_def: _StoreDef, values: tuple[Any, ...],
          _new: Any = object.__new__, _set_def: Any = ParamStore._def.__set__,  # type: ignore[attr-defined]
          _set_values: Any = ParamStore._values.__set__) -> ParamStore:  # type: ignore[attr-defined]  # fmt: skip
    # The slots' own setters: cheaper than object.__setattr__ (this runs on every unflatten).
    store = _new(ParamStore)
    _set_def(store, store_def)
    _set_values(store, values)
    return store


def _as_value(name: str, value: Any, where: str) -> Any:
    if isinstance(value, jax.Array | jax.ShapeDtypeStruct):  # Tracers are jax.Arrays too.
        return value
    try:
        return jnp.asarray(value)
    except (TypeError, ValueError) as e:
        hint = " (a nested dict? use ParamStore.from_nested_dict)" if isinstance(
            value, Mapping) else ""
        raise StoreTypeError(f"{where}: the value of variable {name!r} is not an array: "
                             f"{type(value).__name__}{hint}") from e


def _check_value(name: str, value: Any, info: VarInfo, where: str) -> None:
    shape, dtype, expected = tuple(value.shape), value.dtype, info.stored_shape
    fix = ("a variable's shape and dtype are static metadata; build a new store with "
           "ParamStore.from_flat_dict to change them.")
    if shape != expected:
        raise ShapeMismatchError(f"{where}: variable {name!r} expected shape={expected}, "
                                 f"found shape={shape}; {fix}")
    if dtype != info.dtype:
        raise DtypeMismatchError(f"{where}: variable {name!r} expected dtype={info.dtype}, "
                                 f"found dtype={np.dtype(dtype)}; {fix}")


def _flatten_nested(tree: Mapping[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for key, value in tree.items():
        if not isinstance(key, str):
            raise StoreTypeError(f"ParamStore.from_nested_dict: keys must be str, got {key!r} "
                                 f"under {prefix!r}")
        name = prefix + key
        if isinstance(value, Mapping):
            _flatten_nested(value, name + "/", out)
        elif name in out:
            raise StoreStructureError(
                f"ParamStore.from_nested_dict: variable {name!r} is given twice (once through a "
                "key containing '/').")
        else:
            out[name] = value


def _describe(value: Any, info: VarInfo | None = None) -> str:
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is None or dtype is None:
        return type(value).__name__
    if info is not None and info.physical_shape is not None:
        shape = info.shape  # the logical shape; the stored array carries padding
    return f"{getattr(dtype, 'name', dtype)}[{','.join(map(str, shape))}]"


def _flatten(store: ParamStore) -> tuple[tuple[Any, ...], _StoreDef]:
    return store._values, store._def


def _flatten_with_keys(store: ParamStore) -> tuple[Any, _StoreDef]:
    keys = map(jax.tree_util.DictKey, store._def.names)
    return tuple(zip(keys, store._values, strict=True)), store._def


def _unflatten(store_def: _StoreDef, children: Any) -> ParamStore:
    return _make(store_def, children if type(children) is tuple else tuple(children))


jax.tree_util.register_pytree_with_keys(
    ParamStore, _flatten_with_keys, _unflatten, flatten_func=_flatten)

# Doctest finds class docstrings only when ``__module__`` is this module; keep them collected if
# the package re-labels ParamStore as ``scopejax.ParamStore``.
__test__ = {"ParamStore": ParamStore}
